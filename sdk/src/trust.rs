//! Trust roots: which keys may sign for a log, and when (SPEC.md §8).

use crate::checkpoint::{CheckpointError, SignedCheckpoint};
use crate::code::ErrorCode;
use crate::limits::MAX_TRUST_ROOT_KEYS;
use crate::note::{NoteError, PublicKey, SignedNote};
use crate::time::Timestamp;
use crate::verified::Verified;
use crate::{Checkpoint, jcs};
use serde::{Deserialize, Serialize};

/// The trust-root file's `type` value.
pub const TRUST_ROOT_TYPE: &str = "evl.trust-root/v1";

/// Why a key lookup or trust-root parse failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The file is malformed.
    #[error("TRUST_ROOT_INVALID: {0}")]
    Invalid(String),
    /// No key in the trust root matches.
    #[error("KEY_UNKNOWN: no trusted key {0}")]
    Unknown(String),
    /// The key was not valid at the time given.
    #[error("KEY_EXPIRED: key {key} is valid {window}, not at {at}")]
    Expired {
        /// The key.
        key: String,
        /// Its validity window.
        window: String,
        /// The time checked.
        at: Timestamp,
    },
    /// The key is revoked.
    #[error("KEY_REVOKED: key {0} is revoked")]
    Revoked(String),
}

impl TrustError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            TrustError::Invalid(_) => ErrorCode::TrustRootInvalid,
            TrustError::Unknown(_) => ErrorCode::KeyUnknown,
            TrustError::Expired { .. } => ErrorCode::KeyExpired,
            TrustError::Revoked(_) => ErrorCode::KeyRevoked,
        }
    }
}

/// One trusted log key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    key: PublicKey,
    not_before: Timestamp,
    not_after: Option<Timestamp>,
    revoked: bool,
}

impl TrustedKey {
    /// A key valid from `not_before`, until `not_after` if given.
    pub fn new(key: PublicKey, not_before: Timestamp, not_after: Option<Timestamp>, revoked: bool) -> Self {
        Self {
            key,
            not_before,
            not_after,
            revoked,
        }
    }
    /// The key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
    /// Start of validity.
    pub fn not_before(&self) -> Timestamp {
        self.not_before
    }
    /// End of validity (inclusive), if any.
    pub fn not_after(&self) -> Option<Timestamp> {
        self.not_after
    }
    /// Whether revoked.
    pub fn revoked(&self) -> bool {
        self.revoked
    }
    /// Checks the key may sign at `at` (SPEC.md §8.2 steps 2–3).
    pub fn check_valid_at(&self, at: Timestamp) -> Result<(), TrustError> {
        if self.revoked {
            return Err(TrustError::Revoked(self.key.dsse_keyid()));
        }
        if at < self.not_before || self.not_after.is_some_and(|na| at > na) {
            let window = match self.not_after {
                Some(na) => format!("from {} to {}", self.not_before, na),
                None => format!("from {}", self.not_before),
            };
            return Err(TrustError::Expired {
                key: self.key.dsse_keyid(),
                window,
                at,
            });
        }
        Ok(())
    }
}

/// Evidence about a verified checkpoint: the body and the key that vouched for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointEvidence {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// `name+keyid` of the signing key.
    pub key: String,
}

/// A trust root: a log origin and the keys that may sign for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustRoot {
    origin: String,
    keys: Vec<TrustedKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    vkey: String,
    not_before: Timestamp,
    #[serde(default)]
    not_after: Option<Timestamp>,
    #[serde(default)]
    revoked: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustRootJson {
    #[serde(rename = "type")]
    kind: String,
    origin: String,
    keys: Vec<KeyJson>,
}

/// Why a signature check through the trust root failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedByError {
    /// Key lookup or validity.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The checkpoint or note.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

impl SignedByError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            SignedByError::Trust(e) => e.code(),
            SignedByError::Checkpoint(e) => e.code(),
        }
    }
}

impl TrustRoot {
    /// A trust root for `origin` with `keys`.
    pub fn new(origin: &str, keys: Vec<TrustedKey>) -> Result<Self, TrustError> {
        if !crate::checkpoint::is_valid_origin(origin) {
            return Err(TrustError::Invalid("invalid origin".into()));
        }
        if keys.is_empty() || keys.len() > MAX_TRUST_ROOT_KEYS {
            return Err(TrustError::Invalid(format!(
                "a trust root holds 1..={MAX_TRUST_ROOT_KEYS} keys"
            )));
        }
        Ok(Self {
            origin: origin.to_owned(),
            keys,
        })
    }

    /// Parses the JSON file (SPEC.md §8.1).
    pub fn from_json(bytes: &[u8]) -> Result<Self, TrustError> {
        let v = jcs::parse(bytes).map_err(|e| TrustError::Invalid(e.to_string()))?;
        let j: TrustRootJson = serde_json::from_value(v).map_err(|e| TrustError::Invalid(e.to_string()))?;
        if j.kind != TRUST_ROOT_TYPE {
            return Err(TrustError::Invalid(format!("type must be {TRUST_ROOT_TYPE:?}")));
        }
        let mut keys = Vec::new();
        for k in j.keys {
            let key = PublicKey::from_vkey(&k.vkey).map_err(|e| TrustError::Invalid(e.to_string()))?;
            keys.push(TrustedKey::new(key, k.not_before, k.not_after, k.revoked));
        }
        Self::new(&j.origin, keys)
    }

    /// The canonical JSON file.
    pub fn to_json(&self) -> Vec<u8> {
        let j = TrustRootJson {
            kind: TRUST_ROOT_TYPE.into(),
            origin: self.origin.clone(),
            keys: self
                .keys
                .iter()
                .map(|k| KeyJson {
                    vkey: k.key.vkey(),
                    not_before: k.not_before,
                    not_after: k.not_after,
                    revoked: k.revoked,
                })
                .collect(),
        };
        // A struct of strings, integers and bools always serializes.
        serde_jcs::to_vec(&j).unwrap_or_default()
    }

    /// The log origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// The keys.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Finds the key with this name and key ID.
    pub fn find(&self, name: &str, id: u32) -> Option<&TrustedKey> {
        self.keys
            .iter()
            .find(|k| k.key.name() == name && k.key.id() == id)
    }

    /// Finds a key by its DSSE keyid `name+hex`.
    pub fn find_dsse(&self, keyid: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.key.dsse_keyid() == keyid)
    }

    /// Verifies a signed note by any trusted key valid at `at` (SPEC.md §8.2).
    ///
    /// Tries every signature line whose name and key ID match a trusted key; the first that
    /// verifies under a valid key wins. If none does, the most specific failure is reported:
    /// `SIGNATURE_INVALID` over `KEY_REVOKED` over `KEY_EXPIRED` over `KEY_UNKNOWN`.
    pub fn verify_note(&self, note: &SignedNote, at: Timestamp) -> Result<Verified<String>, SignedByError> {
        self.signer_of(note, at)?;
        Ok(Verified::new(note.text().to_owned()))
    }

    fn signer_of(&self, note: &SignedNote, at: Timestamp) -> Result<&TrustedKey, SignedByError> {
        let mut err: Option<SignedByError> = None;
        let rank = |e: &SignedByError| match e.code() {
            ErrorCode::SignatureInvalid => 3,
            ErrorCode::KeyRevoked => 2,
            ErrorCode::KeyExpired => 1,
            _ => 0,
        };
        let mut keep = |e: SignedByError| {
            if err.as_ref().is_none_or(|old| rank(&e) > rank(old)) {
                err = Some(e);
            }
        };
        for s in note.signatures() {
            let Some(k) = self.find(&s.name, s.id) else {
                continue;
            };
            if let Err(e) = k.check_valid_at(at) {
                keep(e.into());
                continue;
            }
            match note.verify(&k.key) {
                Ok(_) => return Ok(k),
                Err(e) => keep(CheckpointError::Note(e).into()),
            }
        }
        Err(err.unwrap_or_else(|| TrustError::Unknown(format!("for origin {}", self.origin)).into()))
    }

    /// Verifies a signed checkpoint: origin, then signature by a key valid at `at`.
    pub fn verify_checkpoint(
        &self,
        cp: &SignedCheckpoint,
        at: Timestamp,
    ) -> Result<Verified<CheckpointEvidence>, SignedByError> {
        if cp.checkpoint().origin() != self.origin {
            return Err(CheckpointError::Origin {
                expected: self.origin.clone(),
                found: cp.checkpoint().origin().into(),
            }
            .into());
        }
        let key = self.signer_of(cp.note(), at)?.key.dsse_keyid();
        Ok(Verified::new(CheckpointEvidence {
            checkpoint: cp.checkpoint().clone(),
            key,
        }))
    }
}

impl From<NoteError> for SignedByError {
    fn from(e: NoteError) -> Self {
        SignedByError::Checkpoint(CheckpointError::Note(e))
    }
}

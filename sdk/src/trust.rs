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
    /// A trust root for `origin` with `keys` (SPEC.md §8.1 rules 2–4).
    ///
    /// Rejects with `TRUST_ROOT_INVALID`: an origin that is not a valid key name (§5.1 rule 3:
    /// no white space, no `+`), since every key is named by it; 0 or more than
    /// [`MAX_TRUST_ROOT_KEYS`] keys; a key whose name is not `origin`; two keys with the same
    /// name and key ID, which would make key selection (§8.2 step 1) ambiguous.
    pub fn new(origin: &str, keys: Vec<TrustedKey>) -> Result<Self, TrustError> {
        if !crate::note::is_valid_name(origin) {
            return Err(TrustError::Invalid(
                "origin must be a valid key name (no white space, no '+')".into(),
            ));
        }
        if keys.is_empty() || keys.len() > MAX_TRUST_ROOT_KEYS {
            return Err(TrustError::Invalid(format!(
                "a trust root holds 1..={MAX_TRUST_ROOT_KEYS} keys"
            )));
        }
        for (i, k) in keys.iter().enumerate() {
            if k.key.name() != origin {
                return Err(TrustError::Invalid(format!(
                    "key {} is not named by the origin {origin:?}",
                    k.key.dsse_keyid()
                )));
            }
            if keys[..i]
                .iter()
                .any(|o| o.key.name() == k.key.name() && o.key.id() == k.key.id())
            {
                return Err(TrustError::Invalid(format!(
                    "key {} is listed twice",
                    k.key.dsse_keyid()
                )));
            }
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
        // Bound the work before parsing (and decompressing) every vkey; `new` checks it too.
        if j.keys.len() > MAX_TRUST_ROOT_KEYS {
            return Err(TrustError::Invalid(format!(
                "a trust root holds 1..={MAX_TRUST_ROOT_KEYS} keys"
            )));
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

    /// Verifies a signed note by the trusted keys valid at `at` (SPEC.md §5.2 rules 5–7, §8.2).
    ///
    /// Lines whose name and key ID match no trusted key are skipped. Every other line is checked:
    /// a line by a revoked key or a key outside its window contributes `KEY_REVOKED` or
    /// `KEY_EXPIRED` (its signature is not checked); a line by a valid key that does not verify
    /// rejects the whole note with `SIGNATURE_INVALID`, even if another line verifies (as Go's
    /// `note.Open`). The note is accepted when at least one line by a valid key verifies;
    /// otherwise the highest-ranked code is reported: `KEY_REVOKED` over `KEY_EXPIRED` over
    /// `KEY_UNKNOWN`.
    pub fn verify_note(&self, note: &SignedNote, at: Timestamp) -> Result<Verified<String>, SignedByError> {
        self.signer_of(note, at)?;
        Ok(Verified::new(note.text().to_owned()))
    }

    /// The key of the first line that verifies; see [`TrustRoot::verify_note`].
    fn signer_of(&self, note: &SignedNote, at: Timestamp) -> Result<&TrustedKey, SignedByError> {
        let mut signer: Option<&TrustedKey> = None;
        let mut err: Option<TrustError> = None;
        for s in note.signatures() {
            // §5.2 rule 5, §8.2 step 1: unknown signers are skipped.
            let Some(k) = self.find(&s.name, s.id) else {
                continue;
            };
            // §8.2 steps 2–3: a key not valid at `at` is not used; its signature is not checked.
            if let Err(e) = k.check_valid_at(at) {
                if err.as_ref().is_none_or(|old| rank(e.code()) > rank(old.code())) {
                    err = Some(e);
                }
                continue;
            }
            // §5.2 rule 6, §8.2 step 4: every line by a valid trusted key must verify.
            if !k.key.verify_strict(note.text().as_bytes(), &s.sig) {
                return Err(NoteError::SignatureInvalid(k.key.dsse_keyid()).into());
            }
            signer.get_or_insert(k);
        }
        match signer {
            Some(k) => Ok(k),
            None => Err(err
                .unwrap_or_else(|| TrustError::Unknown(format!("for origin {}", self.origin)))
                .into()),
        }
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

/// Rank of a key-selection failure (SPEC.md §8.2): the highest-ranked one is reported.
pub(crate) fn rank(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::SignatureInvalid => 3,
        ErrorCode::KeyRevoked => 2,
        ErrorCode::KeyExpired => 1,
        _ => 0,
    }
}

impl From<NoteError> for SignedByError {
    fn from(e: NoteError) -> Self {
        SignedByError::Checkpoint(CheckpointError::Note(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::SecretKey;

    const ORIGIN: &str = "example.org/evl";
    const TEXT: &str = "example.org/evl\n3\nOpV1IL0E3VxxYIOxoDr+xdWWQmNTD70d39Oljtk4yOQ=\n";

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }
    fn key(seed: u8) -> SecretKey {
        SecretKey::from_seed(ORIGIN, &[seed; 32]).unwrap()
    }
    fn valid(k: &SecretKey) -> TrustedKey {
        TrustedKey::new(k.public().clone(), ts("2026-01-01T00:00:00Z"), None, false)
    }
    fn expired(k: &SecretKey) -> TrustedKey {
        TrustedKey::new(
            k.public().clone(),
            ts("2025-01-01T00:00:00Z"),
            Some(ts("2025-12-31T23:59:59Z")),
            false,
        )
    }
    fn revoked(k: &SecretKey) -> TrustedKey {
        TrustedKey::new(k.public().clone(), ts("2025-01-01T00:00:00Z"), None, true)
    }

    /// Keys 1 and 2 valid, 3 expired, 4 revoked; key 5 is not trusted.
    fn root() -> TrustRoot {
        TrustRoot::new(
            ORIGIN,
            vec![valid(&key(1)), valid(&key(2)), expired(&key(3)), revoked(&key(4))],
        )
        .unwrap()
    }

    /// A note over `TEXT` with one line per (key, signature verifies?).
    fn note(lines: &[(u8, bool)]) -> SignedNote {
        let mut s = format!("{TEXT}\n");
        for &(seed, good) in lines {
            let k = key(seed);
            let mut sig = k.sign_raw(TEXT.as_bytes());
            if !good {
                sig[10] ^= 1;
            }
            let mut raw = k.public().id().to_be_bytes().to_vec();
            raw.extend_from_slice(&sig);
            s.push_str(&format!("\u{2014} {ORIGIN} {}\n", crate::b64::encode(&raw)));
        }
        SignedNote::parse(s.as_bytes()).unwrap()
    }

    fn verdict(lines: &[(u8, bool)]) -> Result<String, ErrorCode> {
        let at = ts("2026-06-01T00:00:00Z");
        let tr = root();
        let n = note(lines);
        tr.verify_note(&n, at).map_err(|e| e.code())?;
        tr.signer_of(&n, at)
            .map(|k| k.key().dsse_keyid())
            .map_err(|e| e.code())
    }

    #[test]
    fn a_failing_line_by_a_valid_trusted_key_rejects_the_note() {
        use ErrorCode::*;
        let k1 = key(1).public().dsse_keyid();
        assert_eq!(verdict(&[(1, true)]), Ok(k1.clone()));
        assert_eq!(verdict(&[(1, true), (2, true)]), Ok(k1.clone()));
        // SPEC.md §5.2 rule 6: in either order, and for a repeated line by the same key.
        assert_eq!(verdict(&[(1, true), (2, false)]), Err(SignatureInvalid));
        assert_eq!(verdict(&[(2, false), (1, true)]), Err(SignatureInvalid));
        assert_eq!(verdict(&[(1, true), (1, false)]), Err(SignatureInvalid));
        assert_eq!(verdict(&[(1, false)]), Err(SignatureInvalid));
        // Unknown signers are skipped (rule 5); lines by keys not valid at `at` are not checked.
        assert_eq!(verdict(&[(5, false), (1, true)]), Ok(k1.clone()));
        assert_eq!(verdict(&[(3, false), (1, true)]), Ok(k1.clone()));
        assert_eq!(verdict(&[(4, false), (1, true)]), Ok(k1));
        // No line by a valid key: §8.2 ranking, whether or not the signatures verify.
        assert_eq!(verdict(&[(3, true)]), Err(KeyExpired));
        assert_eq!(verdict(&[(4, true)]), Err(KeyRevoked));
        assert_eq!(verdict(&[(4, false)]), Err(KeyRevoked));
        assert_eq!(verdict(&[(3, true), (4, true)]), Err(KeyRevoked));
        assert_eq!(verdict(&[(4, true), (3, true)]), Err(KeyRevoked));
        assert_eq!(verdict(&[(5, true)]), Err(KeyUnknown));
        // A revoked or expired line does not hide a failing line by a valid key.
        assert_eq!(verdict(&[(4, true), (2, false)]), Err(SignatureInvalid));
    }

    #[test]
    fn keys_must_be_named_by_the_origin() {
        let other = SecretKey::from_seed("example.org/other", &[1; 32]).unwrap();
        let tr = TrustRoot::new(ORIGIN, vec![valid(&key(1)), valid(&other)]);
        assert_eq!(tr.map_err(|e| e.code()), Err(ErrorCode::TrustRootInvalid));
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        // The same name and key ID twice, even with different validity.
        let tr = TrustRoot::new(ORIGIN, vec![valid(&key(1)), revoked(&key(1))]);
        assert_eq!(tr.map_err(|e| e.code()), Err(ErrorCode::TrustRootInvalid));
        let good = String::from_utf8(root().to_json()).unwrap();
        let vkey = key(1).public().vkey();
        let dup = good.replacen(
            "\"keys\":[",
            &format!("\"keys\":[{{\"not_before\":\"2026-01-01T00:00:00Z\",\"vkey\":\"{vkey}\"}},"),
            1,
        );
        assert_eq!(
            TrustRoot::from_json(dup.as_bytes()).map_err(|e| e.code()),
            Err(ErrorCode::TrustRootInvalid)
        );
        assert_eq!(TrustRoot::from_json(good.as_bytes()).unwrap(), root());
    }

    #[test]
    fn origins_follow_the_key_name_rules() {
        // A checkpoint origin may contain spaces (§5.3 rule 1); a trust-root origin may not.
        assert!(crate::checkpoint::is_valid_origin("go.sum database tree"));
        for origin in ["go.sum database tree", "a+b", "", "tab\there", &"x".repeat(257)] {
            let tr = TrustRoot::new(origin, vec![valid(&key(1))]);
            assert_eq!(
                tr.map_err(|e| e.code()),
                Err(ErrorCode::TrustRootInvalid),
                "{origin:?}"
            );
        }
        let long = "x".repeat(crate::limits::MAX_NAME_BYTES);
        let k = SecretKey::from_seed(&long, &[1; 32]).unwrap();
        assert!(TrustRoot::new(&long, vec![valid(&k)]).is_ok());
    }
}

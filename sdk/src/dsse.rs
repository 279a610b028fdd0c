//! DSSE v1 envelopes with Ed25519 (SPEC.md §6).

use crate::b64;
use crate::code::ErrorCode;
use crate::limits::{MAX_ENVELOPE_BYTES, MAX_ENVELOPE_SIGNATURES};
use crate::note::{PublicKey, SecretKey};
use crate::time::Timestamp;
use crate::trust::{TrustError, TrustRoot, TrustedKey, rank};
use crate::verified::Verified;
use serde::{Deserialize, Serialize};

/// Media type prefix of this project's payloads: `application/vnd.evidence-ledger.<thing>.v1+json`.
pub const MEDIA_TYPE_PREFIX: &str = "application/vnd.evidence-ledger.";

/// The anchor payload type (SPEC.md §7).
pub const ANCHOR_PAYLOAD_TYPE: &str = "application/vnd.evidence-ledger.anchor.v1+json";

/// DSSE pre-authentication encoding: `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Why an envelope was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsseError {
    /// Not a DSSE envelope.
    #[error("ENVELOPE_MALFORMED: {0}")]
    Malformed(&'static str),
    /// The payload type is not the one expected.
    #[error("ENVELOPE_MALFORMED: payload type is {found:?}, expected {expected:?}")]
    PayloadType {
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// Key lookup or validity.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// A signature by a trusted key did not verify.
    #[error("SIGNATURE_INVALID: DSSE signature by {0} does not verify")]
    SignatureInvalid(String),
}

impl DsseError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            DsseError::Malformed(_) | DsseError::PayloadType { .. } => ErrorCode::EnvelopeMalformed,
            DsseError::Trust(e) => e.code(),
            DsseError::SignatureInvalid(_) => ErrorCode::SignatureInvalid,
        }
    }
}

/// One DSSE signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DsseSignature {
    /// Optional key hint.
    pub keyid: Option<String>,
    /// Signature bytes.
    pub sig: Vec<u8>,
}

/// A parsed DSSE envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    payload_type: String,
    payload: Vec<u8>,
    signatures: Vec<DsseSignature>,
}

#[derive(Serialize, Deserialize)]
struct SigJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keyid: Option<String>,
    sig: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeJson {
    payload: String,
    payload_type: String,
    signatures: Vec<SigJson>,
}

/// What a verified envelope proves: this payload, of this type, was signed by this key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPayload {
    /// The payload type.
    pub payload_type: String,
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// DSSE keyid (`name+hex`) of the key whose signature verified.
    pub key: String,
}

impl Envelope {
    /// Signs `payload` (SPEC.md §6.2). The keyid is the key's `name+hex` form.
    pub fn sign(payload_type: &str, payload: &[u8], key: &SecretKey) -> Self {
        let sig = key.sign_raw(&pae(payload_type, payload)).to_vec();
        Self {
            payload_type: payload_type.to_owned(),
            payload: payload.to_vec(),
            signatures: vec![DsseSignature {
                keyid: Some(key.public().dsse_keyid()),
                sig,
            }],
        }
    }

    /// Parses envelope JSON (strict JSON; standard or URL-safe base64; SPEC.md §6.1). Unknown
    /// members are ignored, as DSSE allows.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DsseError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(DsseError::Malformed("envelope exceeds MAX_ENVELOPE_BYTES"));
        }
        Self::parse_json(bytes)
    }

    /// [`Envelope::from_json`] for a format with its own, larger size limit (a pack manifest,
    /// SPEC.md §9.2), checked by the caller.
    pub fn from_json_unbounded(bytes: &[u8]) -> Result<Self, DsseError> {
        Self::parse_json(bytes)
    }

    fn parse_json(bytes: &[u8]) -> Result<Self, DsseError> {
        let v = crate::jcs::parse(bytes).map_err(|_| DsseError::Malformed("not strict JSON"))?;
        let j: EnvelopeJson =
            serde_json::from_value(v).map_err(|_| DsseError::Malformed("not a DSSE envelope"))?;
        if j.signatures.is_empty() || j.signatures.len() > MAX_ENVELOPE_SIGNATURES {
            return Err(DsseError::Malformed("an envelope carries 1..=16 signatures"));
        }
        let payload = b64::decode(&j.payload).ok_or(DsseError::Malformed("payload is not base64"))?;
        let signatures = j
            .signatures
            .into_iter()
            .map(|s| {
                Ok(DsseSignature {
                    keyid: s.keyid.filter(|k| !k.is_empty()),
                    sig: b64::decode(&s.sig).ok_or(DsseError::Malformed("signature is not base64"))?,
                })
            })
            .collect::<Result<_, DsseError>>()?;
        Ok(Self {
            payload_type: j.payload_type,
            payload,
            signatures,
        })
    }

    /// Canonical JSON (RFC 8785) with standard base64.
    pub fn to_json(&self) -> Vec<u8> {
        let j = EnvelopeJson {
            payload: b64::encode(&self.payload),
            payload_type: self.payload_type.clone(),
            signatures: self
                .signatures
                .iter()
                .map(|s| SigJson {
                    keyid: s.keyid.clone(),
                    sig: b64::encode(&s.sig),
                })
                .collect(),
        };
        // Strings only: serialization cannot fail.
        serde_jcs::to_vec(&j).unwrap_or_default()
    }

    /// The payload type (unverified).
    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }
    /// The payload (unverified).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
    /// The signatures.
    pub fn signatures(&self) -> &[DsseSignature] {
        &self.signatures
    }

    /// Verifies against one known key: some signature must verify under it.
    pub fn verify_with_key(&self, key: &PublicKey) -> Result<Verified<SignedPayload>, DsseError> {
        let msg = pae(&self.payload_type, &self.payload);
        if self.signatures.iter().any(|s| key.verify_strict(&msg, &s.sig)) {
            return Ok(Verified::new(SignedPayload {
                payload_type: self.payload_type.clone(),
                payload: self.payload.clone(),
                key: key.dsse_keyid(),
            }));
        }
        Err(DsseError::SignatureInvalid(key.dsse_keyid()))
    }

    /// Verifies with a trust root (SPEC.md §6.3, §8.2): the payload type must be
    /// `expected_type`, and some signature must verify under a trusted key valid at `at`.
    ///
    /// Key selection and validity are those of signed notes ([`TrustRoot::verify_note`]): a
    /// signature whose `keyid` names no trusted key is skipped (`KEY_UNKNOWN`); one whose key is
    /// revoked or outside its window contributes `KEY_REVOKED` or `KEY_EXPIRED` whether or not
    /// it verifies (its signature is not checked); one by a valid key that does not verify
    /// contributes `SIGNATURE_INVALID`. A signature without `keyid` selects its key by
    /// verifying: every trusted key under which it verifies is then checked for validity, and
    /// one that verifies under none counts as `KEY_UNKNOWN`. Unlike notes, a failing signature
    /// does not reject the envelope when another one is valid (DSSE threshold 1, §6.3 step 4).
    /// On failure the highest-ranked code is reported: `SIGNATURE_INVALID` over `KEY_REVOKED`
    /// over `KEY_EXPIRED` over `KEY_UNKNOWN`.
    pub fn verify(
        &self,
        trust: &TrustRoot,
        expected_type: &str,
        at: Timestamp,
    ) -> Result<Verified<SignedPayload>, DsseError> {
        if self.payload_type != expected_type {
            return Err(DsseError::PayloadType {
                expected: expected_type.into(),
                found: self.payload_type.clone(),
            });
        }
        let msg = pae(&self.payload_type, &self.payload);
        let mut err: Option<DsseError> = None;
        let mut keep = |e: DsseError| {
            if err.as_ref().is_none_or(|old| rank(e.code()) > rank(old.code())) {
                err = Some(e);
            }
        };
        let accept = |k: &TrustedKey| {
            Verified::new(SignedPayload {
                payload_type: self.payload_type.clone(),
                payload: self.payload.clone(),
                key: k.key().dsse_keyid(),
            })
        };
        for s in &self.signatures {
            match &s.keyid {
                Some(id) => {
                    // §8.2 step 1: a keyid naming no trusted key makes the signature irrelevant.
                    let Some(k) = trust.find_dsse(id) else {
                        continue;
                    };
                    // §8.2 steps 2–3 before step 4, as for notes.
                    if let Err(e) = k.check_valid_at(at) {
                        keep(e.into());
                        continue;
                    }
                    if k.key().verify_strict(&msg, &s.sig) {
                        return Ok(accept(k));
                    }
                    keep(DsseError::SignatureInvalid(k.key().dsse_keyid()));
                }
                None => {
                    for k in trust.keys() {
                        if !k.key().verify_strict(&msg, &s.sig) {
                            continue;
                        }
                        match k.check_valid_at(at) {
                            Ok(()) => return Ok(accept(k)),
                            Err(e) => keep(e.into()),
                        }
                    }
                }
            }
        }
        Err(err.unwrap_or_else(|| TrustError::Unknown("for any envelope signature".into()).into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::ErrorCode::{self, *};
    use crate::trust::TrustedKey;

    const ORIGIN: &str = "example.org/evl";
    const TYPE: &str = ANCHOR_PAYLOAD_TYPE;
    const PAYLOAD: &[u8] = br#"{"example":true}"#;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }
    fn key(seed: u8) -> SecretKey {
        SecretKey::from_seed(ORIGIN, &[seed; 32]).unwrap()
    }

    /// Key 1 valid, 3 expired, 4 revoked; key 5 is not trusted.
    fn root() -> TrustRoot {
        let k = |seed: u8, nb: &str, na: Option<&str>, revoked: bool| {
            TrustedKey::new(key(seed).public().clone(), ts(nb), na.map(ts), revoked)
        };
        TrustRoot::new(
            ORIGIN,
            vec![
                k(1, "2026-01-01T00:00:00Z", None, false),
                k(3, "2025-01-01T00:00:00Z", Some("2025-12-31T23:59:59Z"), false),
                k(4, "2025-01-01T00:00:00Z", None, true),
            ],
        )
        .unwrap()
    }

    /// (signing key seed, signature verifies?, keyid set?)
    fn envelope(sigs: &[(u8, bool, bool)]) -> Envelope {
        let msg = pae(TYPE, PAYLOAD);
        Envelope {
            payload_type: TYPE.into(),
            payload: PAYLOAD.to_vec(),
            signatures: sigs
                .iter()
                .map(|&(seed, good, keyid)| {
                    let k = key(seed);
                    let mut sig = k.sign_raw(&msg);
                    if !good {
                        sig[10] ^= 1;
                    }
                    DsseSignature {
                        keyid: keyid.then(|| k.public().dsse_keyid()),
                        sig: sig.to_vec(),
                    }
                })
                .collect(),
        }
    }

    fn verdict(sigs: &[(u8, bool, bool)]) -> Result<u8, ErrorCode> {
        let v = envelope(sigs)
            .verify(&root(), TYPE, ts("2026-06-01T00:00:00Z"))
            .map_err(|e| e.code())?;
        let k = v.into_inner().key;
        Ok((1..=5).find(|&s| key(s).public().dsse_keyid() == k).unwrap())
    }

    #[test]
    fn key_validity_is_checked_before_the_signature() {
        assert_eq!(verdict(&[(1, true, true)]), Ok(1));
        assert_eq!(verdict(&[(1, false, true)]), Err(SignatureInvalid));
        // SPEC.md §8.2: revoked or expired whether or not the signature verifies.
        assert_eq!(verdict(&[(4, true, true)]), Err(KeyRevoked));
        assert_eq!(verdict(&[(4, false, true)]), Err(KeyRevoked));
        assert_eq!(verdict(&[(3, true, true)]), Err(KeyExpired));
        assert_eq!(verdict(&[(3, false, true)]), Err(KeyExpired));
        assert_eq!(verdict(&[(5, true, true)]), Err(KeyUnknown));
    }

    #[test]
    fn failures_are_ranked_and_failing_signatures_skipped() {
        assert_eq!(
            verdict(&[(1, false, true), (4, true, true)]),
            Err(SignatureInvalid)
        );
        assert_eq!(
            verdict(&[(4, true, true), (1, false, true)]),
            Err(SignatureInvalid)
        );
        assert_eq!(verdict(&[(3, true, true), (4, false, true)]), Err(KeyRevoked));
        assert_eq!(verdict(&[(5, true, true), (3, true, true)]), Err(KeyExpired));
        // Threshold 1 (§6.3 step 4): a failing signature does not reject the envelope.
        assert_eq!(verdict(&[(1, false, true), (1, true, true)]), Ok(1));
        assert_eq!(verdict(&[(4, false, true), (1, true, true)]), Ok(1));
    }

    #[test]
    fn a_signature_without_keyid_selects_its_key_by_verifying() {
        assert_eq!(verdict(&[(1, true, false)]), Ok(1));
        assert_eq!(verdict(&[(4, true, false)]), Err(KeyRevoked));
        assert_eq!(verdict(&[(3, true, false)]), Err(KeyExpired));
        // Verifies under no trusted key: KEY_UNKNOWN, even though revoked keys are trusted.
        assert_eq!(verdict(&[(1, false, false)]), Err(KeyUnknown));
        assert_eq!(verdict(&[(5, true, false)]), Err(KeyUnknown));
        assert_eq!(verdict(&[(1, false, false), (3, true, true)]), Err(KeyExpired));
    }

    /// One signature per (key, verifies?): notes and envelopes report the same code.
    #[test]
    fn notes_and_envelopes_agree() {
        let at = ts("2026-06-01T00:00:00Z");
        let text = "example.org/evl\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        for seed in [1, 3, 4, 5] {
            for good in [true, false] {
                let k = key(seed);
                let mut sig = k.sign_raw(text.as_bytes());
                if !good {
                    sig[10] ^= 1;
                }
                let mut raw = k.public().id().to_be_bytes().to_vec();
                raw.extend_from_slice(&sig);
                let note = format!("{text}\n\u{2014} {ORIGIN} {}\n", b64::encode(&raw));
                let note = crate::note::SignedNote::parse(note.as_bytes()).unwrap();
                let from_note = root().verify_note(&note, at).map(|_| ()).map_err(|e| e.code());
                let from_dsse = verdict(&[(seed, good, true)]).map(|_| ());
                assert_eq!(from_note, from_dsse, "key {seed}, verifies: {good}");
            }
        }
    }
}

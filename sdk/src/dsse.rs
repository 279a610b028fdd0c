//! DSSE v1 envelopes with Ed25519 (SPEC.md §6).

use crate::b64;
use crate::code::ErrorCode;
use crate::limits::{MAX_ENVELOPE_BYTES, MAX_ENVELOPE_SIGNATURES};
use crate::note::{PublicKey, SecretKey};
use crate::time::Timestamp;
use crate::trust::{TrustError, TrustRoot};
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

    /// Verifies with a trust root (SPEC.md §6.3): payload type must be `expected_type`; a
    /// signature must verify under a trusted key valid at `at`. Signatures whose keyid names
    /// no trusted key are skipped; signatures without keyid are tried against every key.
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
        for s in &self.signatures {
            let candidates: Vec<_> = match &s.keyid {
                Some(id) => trust.find_dsse(id).into_iter().collect(),
                None => trust.keys().iter().collect(),
            };
            for k in candidates {
                if !k.key().verify_strict(&msg, &s.sig) {
                    if s.keyid.is_some() {
                        err = Some(DsseError::SignatureInvalid(k.key().dsse_keyid()));
                    }
                    continue;
                }
                if let Err(e) = k.check_valid_at(at) {
                    if !matches!(err, Some(DsseError::SignatureInvalid(_))) {
                        err = Some(e.into());
                    }
                    continue;
                }
                return Ok(Verified::new(SignedPayload {
                    payload_type: self.payload_type.clone(),
                    payload: self.payload.clone(),
                    key: k.key().dsse_keyid(),
                }));
            }
        }
        Err(err.unwrap_or_else(|| TrustError::Unknown("for any envelope signature".into()).into()))
    }
}

//! The signed pack manifest (SPEC.md §9.2): the last entry of every pack, a DSSE envelope whose
//! payload lists every other entry with its SHA-256 and size, in archive order.

use super::PackError;
use super::report::PackKind;
use crate::code::ErrorCode;
use crate::dsse::Envelope;
use crate::node::NodeId;
use crate::note::SecretKey;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The manifest entry's path.
pub const MANIFEST_PATH: &str = "manifest.json";

/// The DSSE payload type of a pack manifest.
pub const MANIFEST_PAYLOAD_TYPE: &str = "application/vnd.evidence-ledger.pack-manifest.v1+json";

/// Largest `manifest.json` in bytes.
///
/// Rationale: an entry costs ~150 bytes of payload (~200 in the envelope's base64), so 16 MiB
/// lists ~80 000 entries: an evidence pack of [`super::MAX_PACK_NODES`] nodes (three entries
/// each) or an export of ~150 million leaves; larger ranges are split into delta exports.
/// SPEC floor: 16 MiB.
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

/// The `type` member of a manifest payload.
pub const MANIFEST_TYPE: &str = "evl.pack-manifest/v1";

/// One listed entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Entry path.
    pub path: String,
    /// Lowercase hex SHA-256 of the entry's bytes.
    pub sha256: String,
    /// Entry size in bytes.
    pub size: u64,
}

impl FileEntry {
    /// The entry for `path` holding `data`.
    pub fn of(path: &str, data: &[u8]) -> Self {
        Self {
            path: path.to_owned(),
            sha256: crate::hash::sha256(data).to_hex(),
            size: data.len() as u64,
        }
    }
}

/// The manifest payload (SPEC.md §9.2), canonical JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestPayload {
    /// Always [`MANIFEST_TYPE`].
    #[serde(rename = "type")]
    pub kind_tag: String,
    /// Evidence pack or export.
    pub kind: PackKind,
    /// The log origin.
    pub origin: String,
    /// The time of the pack's last anchor: the signing key must be valid then.
    pub time: Timestamp,
    /// Every other entry, in archive order.
    pub files: Vec<FileEntry>,
    /// Evidence packs: the nodes asked for, ascending. Exports: empty.
    pub subjects: Vec<NodeId>,
    /// Evidence packs: whether every node linked from a subject is included, transitively.
    pub include_deps: bool,
}

impl ManifestPayload {
    /// Canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Strings, integers, booleans and arrays of them: serialization cannot fail.
        serde_jcs::to_vec(self).unwrap_or_default()
    }

    /// The PackId: `sha256:` + hex SHA-256 of the canonical payload (SPEC.md §9.2 rule 4).
    pub fn pack_id(&self) -> NodeId {
        NodeId::of_canonical(&self.to_bytes())
    }

    /// Signs the manifest: the envelope JSON that is the `manifest.json` entry.
    pub fn sign(&self, key: &SecretKey) -> Vec<u8> {
        Envelope::sign(MANIFEST_PAYLOAD_TYPE, &self.to_bytes(), key).to_json()
    }
}

/// A parsed (not yet verified) manifest entry.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The envelope.
    pub envelope: Envelope,
    /// Its payload.
    pub payload: ManifestPayload,
    /// The PackId.
    pub id: NodeId,
}

impl Manifest {
    /// Parses `manifest.json` (SPEC.md §9.2 rules 1–3): envelope faults, and an envelope that is
    /// not exactly [`Envelope::to_json`] of itself, are `ENVELOPE_MALFORMED`; payload faults
    /// `PACK_MALFORMED`.
    pub fn parse(bytes: &[u8]) -> Result<Self, PackError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(PackError::at(
                ErrorCode::PackMalformed,
                MANIFEST_PATH,
                "manifest larger than MAX_MANIFEST_BYTES",
            ));
        }
        let envelope = Envelope::from_json_unbounded(bytes)
            .map_err(|e| PackError::at(e.code(), MANIFEST_PATH, e.to_string()))?;
        // One byte encoding, like the rest of the pack: DSSE accepts re-encodings (URL-safe
        // base64, unknown members, no keyid) that would let the file change and still verify.
        if envelope.to_json() != bytes {
            return Err(PackError::at(
                ErrorCode::EnvelopeMalformed,
                MANIFEST_PATH,
                "not the canonical JSON of its envelope (standard base64, keyid set, no other members)",
            ));
        }
        if envelope.payload_type() != MANIFEST_PAYLOAD_TYPE {
            return Err(PackError::at(
                ErrorCode::EnvelopeMalformed,
                MANIFEST_PATH,
                format!("payload type {:?}", envelope.payload_type()),
            ));
        }
        let bad = |m: String| PackError::at(ErrorCode::PackMalformed, MANIFEST_PATH, m);
        let v = crate::jcs::parse_canonical(envelope.payload()).map_err(|e| bad(format!("payload: {e}")))?;
        let payload: ManifestPayload = serde_json::from_value(v).map_err(|e| bad(format!("payload: {e}")))?;
        if payload.kind_tag != MANIFEST_TYPE {
            return Err(bad(format!("type is {:?}", payload.kind_tag)));
        }
        let lower_hex = |h: &str| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if payload.files.iter().any(|f| !lower_hex(&f.sha256)) {
            return Err(bad("a sha256 is not 64 lowercase hex digits".into()));
        }
        let id = NodeId::of_canonical(envelope.payload());
        Ok(Self {
            envelope,
            payload,
            id,
        })
    }
}

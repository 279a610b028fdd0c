//! Score manifests (`score.manifest/v1`) and proof bundles (`proof.bundle/v1`) (SPEC.md §15).
//!
//! A **score manifest** is a node that names every input of a computation (SBOM, rules, policy,
//! feed snapshots, …) by SHA-256 digest, in a fixed order, with an optional freeze time, and
//! commits to them with `root`: the RFC 6962 Merkle tree hash over the input digests (leaf data =
//! the 32 digest bytes, exactly the log's rule of SPEC.md §4.1). A **proof bundle** is a node
//! that carries a manifest, the computation's result, one RFC 6962 inclusion proof per input, and
//! a DSSE attestation whose signed statement binds the manifest's NodeId, its root, the SHA-256
//! of the canonical result and a time.
//!
//! What it does: parses both node types strictly ([`ScoreManifest::from_node`],
//! [`ProofBundle::from_node`], everything that needs no trust: schema, root, every proof, the
//! statement matching the manifest and result), builds them ([`ScoreManifest::build`],
//! [`ProofBundle::build`]), and verifies a bundle's attestation against a trust root
//! ([`TrustRoot::verify_bundle`]), which returns a [`BundleReport`].
//!
//! What it does not do: fetch or hash the inputs themselves (a caller holding an input compares
//! its SHA-256 with the reported digest), check that linked or input nodes are in a log, or judge
//! whether the result is right. A `vex.consensus` result can be replayed from its input nodes with
//! [`BundleReport::replay_vex_consensus`] (SPEC.md §14.8).
//!
//! ```
//! use evl_sdk::bundle::{ManifestInput, ProofBundle, ScoreManifest};
//! use evl_sdk::{SecretKey, Timestamp, TrustRoot, TrustedKey, sha256};
//!
//! let key = SecretKey::from_seed("example.org/evl", &[1; 32]).unwrap();
//! let t = Timestamp::parse("2026-03-01T00:00:00Z").unwrap();
//! let inputs = vec![
//!     ManifestInput::new("sbom", "sbom", sha256(b"the SBOM bytes")).unwrap(),
//!     ManifestInput::new("rules", "rules", sha256(b"the rules bytes")).unwrap(),
//! ];
//! let manifest = ScoreManifest::build(inputs, None).unwrap();
//! let result = serde_json::json!({"kind": "score", "value": 7});
//! let node = ProofBundle::build(&manifest, result, &key, t).unwrap();
//!
//! let bundle = ProofBundle::from_node(&node).unwrap(); // trust-free checks
//! let trust = TrustRoot::new(
//!     "example.org/evl",
//!     vec![TrustedKey::new(key.public().clone(), Timestamp::parse("2026-01-01T00:00:00Z").unwrap(), None, false)],
//! )
//! .unwrap();
//! let report = trust.verify_bundle(&bundle).unwrap();
//! assert_eq!(report.manifest, manifest.id());
//! assert_eq!(report.inputs[0].name(), "sbom");
//! assert_eq!(report.result.value(), &serde_json::json!(7));
//! ```

use crate::code::ErrorCode;
use crate::dsse::{DsseError, Envelope};
use crate::hash::{Digest, leaf_hash, sha256};
use crate::jcs;
use crate::limits::{MAX_MANIFEST_INPUTS, MAX_MANIFEST_KIND_BYTES, MAX_MANIFEST_NAME_BYTES};
use crate::node::{Node, NodeError, NodeId};
use crate::note::SecretKey;
use crate::proof::{InclusionProof, ProofError, TreeHead};
use crate::time::Timestamp;
use crate::tree::{LeafIndex, MemoryTree, prove_inclusion};
use crate::trust::TrustRoot;
use crate::verified::Verified;
use crate::vex::{ConsensusResult, VexError};
use serde::ser::SerializeStruct as _;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// `type` of a score manifest node.
pub const MANIFEST_TYPE: &str = "score.manifest/v1";
/// `type` of a proof bundle node.
pub const BUNDLE_TYPE: &str = "proof.bundle/v1";
/// `type` of the statement a bundle's attestation signs.
pub const STATEMENT_TYPE: &str = "evl.bundle-statement/v1";
/// DSSE `payloadType` of a bundle attestation (SPEC.md §6.2 registry).
pub const BUNDLE_PAYLOAD_TYPE: &str = "application/vnd.evidence-ledger.bundle.v1+json";
/// The result `kind` of a VEX consensus (SPEC.md §14), whose `node` is the consensus node.
pub const VEX_CONSENSUS_KIND: &str = "vex.consensus";

const MANIFEST_MEMBERS: &[&str] = &["type", "inputs", "freeze_time", "root", "links"];
const INPUT_MEMBERS: &[&str] = &["name", "kind", "digest"];
const BUNDLE_MEMBERS: &[&str] = &["type", "manifest", "result", "proofs", "attestation", "links"];
const RESULT_MEMBERS: &[&str] = &["kind", "value", "node"];
const STATEMENT_MEMBERS: &[&str] = &["type", "manifest", "root", "result", "time"];

/// Why a manifest or bundle was rejected (SPEC.md §15.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// The bytes are not a node at all (only from [`ProofBundle::from_json`]).
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A manifest or bundle breaks its schema: `BUNDLE_INVALID`. `pointer` is the RFC 6901 JSON
    /// Pointer of the offending member; below `/attestation/payload` it points into the decoded
    /// statement.
    #[error("BUNDLE_INVALID: {node_type} at {pointer:?}: {reason}")]
    Invalid {
        /// The node type being read.
        node_type: &'static str,
        /// JSON Pointer of the offending member ("" for the whole node).
        pointer: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The inclusion proof of input `index` is malformed (`PROOF_MALFORMED`) or does not
    /// reproduce the manifest root (`MERKLE_MISMATCH`).
    #[error("{error} (proofs/{index})")]
    Proof {
        /// Position of the input (and of its proof).
        index: usize,
        /// The proof fault.
        error: ProofError,
    },
    /// The attestation envelope is malformed or of the wrong type (`ENVELOPE_MALFORMED`), or its
    /// signature does not verify under a trusted key valid at the statement's time
    /// (`SIGNATURE_INVALID`, `KEY_UNKNOWN`, `KEY_EXPIRED`, `KEY_REVOKED`).
    #[error(transparent)]
    Attestation(#[from] DsseError),
    /// Replaying a `vex.consensus` result failed (`VEX_INVALID`, `CONSENSUS_MISMATCH`).
    #[error(transparent)]
    Vex(#[from] VexError),
}

impl BundleError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            BundleError::Node(e) => e.code(),
            BundleError::Invalid { .. } => ErrorCode::BundleInvalid,
            BundleError::Proof { error, .. } => error.code(),
            BundleError::Attestation(e) => e.code(),
            BundleError::Vex(e) => e.code(),
        }
    }
}

fn invalid(node_type: &'static str, pointer: impl Into<String>, reason: &'static str) -> BundleError {
    BundleError::Invalid {
        node_type,
        pointer: pointer.into(),
        reason,
    }
}

/// Appends an RFC 6901 reference token to a JSON Pointer (the VEX schemas' helper).
fn ptr(base: &str, token: &str) -> String {
    crate::vex::pointer_push(base, token)
}

/// The members of one JSON object, checked against the allowed names up front.
struct Members<'a> {
    map: &'a Map<String, Value>,
    node_type: &'static str,
    path: String,
}

impl<'a> Members<'a> {
    /// `v` must be an object.
    fn new(v: &'a Value, node_type: &'static str, path: String) -> Result<Self, BundleError> {
        let Value::Object(map) = v else {
            return Err(invalid(node_type, path, "must be an object"));
        };
        Ok(Self { map, node_type, path })
    }
    /// No member outside `allowed` (the first unknown one in canonical order is reported).
    fn only(&self, allowed: &[&str]) -> Result<(), BundleError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.err(k, "unknown member")),
            None => Ok(()),
        }
    }
    fn at(&self, member: &str) -> String {
        ptr(&self.path, member)
    }
    fn err(&self, member: &str, reason: &'static str) -> BundleError {
        invalid(self.node_type, self.at(member), reason)
    }
    fn opt(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }
    fn req(&self, name: &str) -> Result<&'a Value, BundleError> {
        self.opt(name)
            .ok_or_else(|| self.err(name, "required member missing"))
    }
    fn string(&self, name: &str) -> Result<&'a str, BundleError> {
        self.req(name)?
            .as_str()
            .ok_or_else(|| self.err(name, "must be a string"))
    }
    /// A string of 1..=`max` bytes.
    fn bounded(&self, name: &str, max: usize, reason: &'static str) -> Result<&'a str, BundleError> {
        let s = self.string(name)?;
        if s.is_empty() || s.len() > max {
            return Err(self.err(name, reason));
        }
        Ok(s)
    }
    fn timestamp(&self, name: &str) -> Result<Timestamp, BundleError> {
        Timestamp::parse(self.string(name)?)
            .map_err(|_| self.err(name, "must be a timestamp YYYY-MM-DDTHH:MM:SSZ"))
    }
    fn digest(&self, name: &str) -> Result<Digest, BundleError> {
        parse_digest(self.string(name)?)
            .ok_or_else(|| self.err(name, "must be \"sha256:\" followed by 64 lowercase hex digits"))
    }
    fn hash_b64(&self, name: &str) -> Result<Digest, BundleError> {
        Digest::from_base64(self.string(name)?).ok_or_else(|| self.err(name, "must be base64 of 32 bytes"))
    }
    fn node_type(&self, expected: &str) -> Result<(), BundleError> {
        if self.string("type")? != expected {
            return Err(self.err("type", "wrong type"));
        }
        Ok(())
    }
}

/// Parses `sha256:` + 64 lowercase hex digits: the NodeId syntax of SPEC.md §3.1 rule 2, used for
/// every digest in these formats.
fn parse_digest(s: &str) -> Option<Digest> {
    s.parse::<NodeId>().ok().map(|id| *id.digest())
}

/// `sha256:` + lowercase hex.
fn digest_string(d: &Digest) -> String {
    NodeId::from_digest(*d).to_string()
}

// ---- score.manifest/v1 ----

/// One input of a computation: a unique name, a free-form kind (`sbom`, `rules`, `policy`,
/// `feed`, …) and the SHA-256 of its bytes (SPEC.md §15.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestInput {
    name: String,
    kind: String,
    digest: Digest,
}

impl ManifestInput {
    /// An input; fails with `BUNDLE_INVALID` if `name` is not 1..=[`MAX_MANIFEST_NAME_BYTES`]
    /// bytes or `kind` not 1..=[`MAX_MANIFEST_KIND_BYTES`] bytes.
    pub fn new(name: &str, kind: &str, digest: Digest) -> Result<Self, BundleError> {
        if name.is_empty() || name.len() > MAX_MANIFEST_NAME_BYTES {
            return Err(invalid(
                MANIFEST_TYPE,
                "/inputs",
                "an input name must be 1..=MAX_MANIFEST_NAME_BYTES bytes",
            ));
        }
        if kind.is_empty() || kind.len() > MAX_MANIFEST_KIND_BYTES {
            return Err(invalid(
                MANIFEST_TYPE,
                "/inputs",
                "an input kind must be 1..=MAX_MANIFEST_KIND_BYTES bytes",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            kind: kind.to_owned(),
            digest,
        })
    }
    /// The input's name, unique within its manifest.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The input's kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }
    /// SHA-256 of the input's bytes (for an input that is a node: its NodeId's digest).
    pub fn digest(&self) -> &Digest {
        &self.digest
    }
    /// The input's leaf hash in the manifest tree: SHA-256(0x00 ‖ digest) (SPEC.md §4.1).
    pub fn leaf_hash(&self) -> Digest {
        leaf_hash(self.digest.as_bytes())
    }
    fn to_value(&self) -> Value {
        json!({"name": self.name, "kind": self.kind, "digest": digest_string(&self.digest)})
    }
}

impl serde::Serialize for ManifestInput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ManifestInput", 3)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("digest", &digest_string(&self.digest))?;
        st.end()
    }
}

/// The manifest tree: one leaf per input digest, in input order.
fn input_tree(inputs: &[ManifestInput]) -> MemoryTree {
    MemoryTree::from_leaf_hashes(inputs.iter().map(ManifestInput::leaf_hash))
}

/// The manifest root over `inputs` (SPEC.md §15.2 rule 6): `MTH` of RFC 9162 over the leaf data
/// `digest₀, digest₁, …` (32 bytes each), i.e. with leaf hashes SHA-256(0x00 ‖ digest).
pub fn manifest_root(inputs: &[ManifestInput]) -> Digest {
    input_tree(inputs).root()
}

/// A parsed `score.manifest/v1` node (SPEC.md §15.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreManifest {
    node: Node,
    inputs: Vec<ManifestInput>,
    freeze_time: Option<Timestamp>,
    root: Digest,
}

impl ScoreManifest {
    /// Parses a `score.manifest/v1` node (SPEC.md §15.2): exactly the members of the schema,
    /// 1..=[`MAX_MANIFEST_INPUTS`] inputs with unique names and well-formed digests, an optional
    /// freeze time, and `root` equal to the Merkle root of the input digests. Every fault is
    /// `BUNDLE_INVALID`, including a wrong root.
    pub fn from_node(node: &Node) -> Result<Self, BundleError> {
        Self::parse(node, "")
    }

    fn parse(node: &Node, base: &str) -> Result<Self, BundleError> {
        let value = node.value();
        let m = Members::new(&value, MANIFEST_TYPE, base.to_owned())?;
        m.node_type(MANIFEST_TYPE)?;
        m.only(MANIFEST_MEMBERS)?;
        let Value::Array(items) = m.req("inputs")? else {
            return Err(m.err("inputs", "must be an array"));
        };
        if items.is_empty() || items.len() > MAX_MANIFEST_INPUTS {
            return Err(m.err("inputs", "must hold 1..=MAX_MANIFEST_INPUTS inputs"));
        }
        let mut inputs = Vec::with_capacity(items.len());
        let mut names = BTreeSet::new();
        for (i, item) in items.iter().enumerate() {
            let at = ptr(&m.at("inputs"), &i.to_string());
            let o = Members::new(item, MANIFEST_TYPE, at)?;
            o.only(INPUT_MEMBERS)?;
            let name = o.bounded(
                "name",
                MAX_MANIFEST_NAME_BYTES,
                "must be 1..=MAX_MANIFEST_NAME_BYTES bytes",
            )?;
            let kind = o.bounded(
                "kind",
                MAX_MANIFEST_KIND_BYTES,
                "must be 1..=MAX_MANIFEST_KIND_BYTES bytes",
            )?;
            let digest = o.digest("digest")?;
            if !names.insert(name) {
                return Err(o.err("name", "duplicate input name"));
            }
            inputs.push(ManifestInput {
                name: name.to_owned(),
                kind: kind.to_owned(),
                digest,
            });
        }
        let freeze_time = match m.opt("freeze_time") {
            None => None,
            Some(_) => Some(m.timestamp("freeze_time")?),
        };
        let root = m.hash_b64("root")?;
        if root != manifest_root(&inputs) {
            return Err(m.err("root", "is not the Merkle root of the input digests"));
        }
        Ok(Self {
            node: node.clone(),
            inputs,
            freeze_time,
            root,
        })
    }

    /// Builds a `score.manifest/v1` node from `inputs` (in leaf order) and an optional freeze
    /// time, computing `root`. Fails with `BUNDLE_INVALID` for 0 or more than
    /// [`MAX_MANIFEST_INPUTS`] inputs or a repeated name.
    pub fn build(inputs: Vec<ManifestInput>, freeze_time: Option<Timestamp>) -> Result<Node, BundleError> {
        if inputs.is_empty() || inputs.len() > MAX_MANIFEST_INPUTS {
            return Err(invalid(
                MANIFEST_TYPE,
                "/inputs",
                "must hold 1..=MAX_MANIFEST_INPUTS inputs",
            ));
        }
        let mut names = BTreeSet::new();
        if let Some(i) = inputs.iter().position(|i| !names.insert(i.name.as_str())) {
            return Err(invalid(
                MANIFEST_TYPE,
                format!("/inputs/{i}/name"),
                "duplicate input name",
            ));
        }
        let mut v = json!({
            "type": MANIFEST_TYPE,
            "inputs": inputs.iter().map(ManifestInput::to_value).collect::<Vec<_>>(),
            "root": manifest_root(&inputs).to_base64(),
        });
        if let (Some(t), Value::Object(map)) = (freeze_time, &mut v) {
            map.insert("freeze_time".into(), json!(t.to_string()));
        }
        let node = Node::from_value(v)?;
        // Parsing what was built checks it against the same rules a verifier applies.
        Self::from_node(&node)?;
        Ok(node)
    }

    /// The manifest node.
    pub fn node(&self) -> &Node {
        &self.node
    }
    /// The manifest's NodeId.
    pub fn id(&self) -> NodeId {
        self.node.id()
    }
    /// The inputs, in leaf order.
    pub fn inputs(&self) -> &[ManifestInput] {
        &self.inputs
    }
    /// When the inputs were frozen, if recorded.
    pub fn freeze_time(&self) -> Option<Timestamp> {
        self.freeze_time
    }
    /// The Merkle root over the input digests.
    pub fn root(&self) -> Digest {
        self.root
    }
    /// The manifest tree's head: (number of inputs, root). Input proofs verify against it.
    pub fn head(&self) -> TreeHead {
        TreeHead::new(input_tree(&self.inputs).size(), self.root)
    }
    /// The RFC 6962 inclusion proof of input `index`, or `None` if there is no such input.
    pub fn prove(&self, index: usize) -> Option<InclusionProof> {
        let tree = input_tree(&self.inputs);
        let i = LeafIndex::new(u64::try_from(index).ok()?)?;
        prove_inclusion(&tree, i, tree.size()).ok()
    }
}

// ---- proof.bundle/v1 ----

/// The result a bundle attests (SPEC.md §15.3): a `kind`, any JSON `value`, and optionally the
/// NodeId of the node that records it (required for `vex.consensus`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleResult {
    kind: String,
    value: Value,
    node: Option<NodeId>,
    digest: Digest,
}

impl BundleResult {
    fn parse(v: &Value, base: &str) -> Result<Self, BundleError> {
        let o = Members::new(v, BUNDLE_TYPE, base.to_owned())?;
        o.only(RESULT_MEMBERS)?;
        let kind = o.bounded(
            "kind",
            MAX_MANIFEST_KIND_BYTES,
            "must be 1..=MAX_MANIFEST_KIND_BYTES bytes",
        )?;
        let value = o.req("value")?.clone();
        let node = match o.opt("node") {
            None => None,
            Some(Value::String(s)) => Some(s.parse().map_err(|_| o.err("node", "must be a NodeId"))?),
            Some(_) => return Err(o.err("node", "must be a NodeId string")),
        };
        if kind == VEX_CONSENSUS_KIND && node.is_none() {
            return Err(o.err("node", "a vex.consensus result names its vex.consensus/v1 node"));
        }
        // The canonical bytes of a value parsed from a node always re-parse; a hand-built value
        // (ProofBundle::build) may hold numbers outside I-JSON, which this rejects.
        let bytes = jcs::serialize(v).map_err(|_| invalid(BUNDLE_TYPE, base, "is not I-JSON"))?;
        jcs::parse(&bytes).map_err(|_| invalid(BUNDLE_TYPE, base, "is not I-JSON"))?;
        Ok(Self {
            kind: kind.to_owned(),
            value,
            node,
            digest: sha256(&bytes),
        })
    }

    /// What was computed, e.g. `score` or `vex.consensus`.
    pub fn kind(&self) -> &str {
        &self.kind
    }
    /// The result value.
    pub fn value(&self) -> &Value {
        &self.value
    }
    /// The node recording the result, if named.
    pub fn node(&self) -> Option<NodeId> {
        self.node
    }
    /// SHA-256 of the result object's canonical bytes: what the statement's `result` names.
    pub fn digest(&self) -> Digest {
        self.digest
    }
}

impl serde::Serialize for BundleResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("BundleResult", 4)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("value", &self.value)?;
        st.serialize_field("node", &self.node)?;
        st.serialize_field("digest", &digest_string(&self.digest))?;
        st.end()
    }
}

/// The statement a bundle's attestation signs (SPEC.md §15.4): canonical JSON
/// `{"manifest","result","root","time","type":"evl.bundle-statement/v1"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundleStatement {
    /// NodeId of the manifest.
    pub manifest: NodeId,
    /// The manifest's root.
    pub root: Digest,
    /// SHA-256 of the canonical result object.
    pub result: Digest,
    /// When the statement was signed; the time keys are checked at (SPEC.md §8.2).
    pub time: Timestamp,
}

impl BundleStatement {
    /// The canonical payload bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let v = json!({
            "type": STATEMENT_TYPE,
            "manifest": self.manifest.to_string(),
            "root": self.root.to_base64(),
            "result": digest_string(&self.result),
            "time": self.time.to_string(),
        });
        // Five short strings: always far below MAX_NODE_BYTES, so serialization cannot fail.
        jcs::serialize(&v).unwrap_or_default()
    }

    /// Parses a payload: canonical JSON (SPEC.md §2.4) with exactly the statement's members.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        const AT: &str = "/attestation/payload";
        let v =
            jcs::parse_canonical(bytes).map_err(|_| invalid(BUNDLE_TYPE, AT, "must be canonical JSON"))?;
        let o = Members::new(&v, BUNDLE_TYPE, AT.to_owned())?;
        o.node_type(STATEMENT_TYPE)?;
        o.only(STATEMENT_MEMBERS)?;
        let manifest = o
            .string("manifest")?
            .parse()
            .map_err(|_| o.err("manifest", "must be a NodeId"))?;
        Ok(Self {
            manifest,
            root: o.hash_b64("root")?,
            result: o.digest("result")?,
            time: o.timestamp("time")?,
        })
    }
}

/// A parsed `proof.bundle/v1` node whose trust-free checks passed (SPEC.md §15.5 steps 1–8).
/// Its attestation is not yet verified: see [`TrustRoot::verify_bundle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofBundle {
    node: Node,
    manifest: ScoreManifest,
    result: BundleResult,
    proofs: Vec<InclusionProof>,
    attestation: Envelope,
    statement: BundleStatement,
}

impl ProofBundle {
    /// Parses bundle JSON (any strict JSON; canonicalized as an append would) and applies
    /// [`ProofBundle::from_node`]. JSON and node faults keep their own codes (SPEC.md §3.2).
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        Self::from_node(&Node::from_json(bytes)?)
    }

    /// Parses a `proof.bundle/v1` node and runs every check that needs no trust root (SPEC.md
    /// §15.5 steps 1–8): the schema (`BUNDLE_INVALID`), the embedded manifest (`BUNDLE_INVALID`),
    /// one inclusion proof per input verifying against the manifest root (`PROOF_MALFORMED`,
    /// `MERKLE_MISMATCH`), the envelope's shape and payload type (`ENVELOPE_MALFORMED`), and the
    /// signed statement naming this manifest, its root and the result's hash, at a time not
    /// before the freeze time (`BUNDLE_INVALID`).
    pub fn from_node(node: &Node) -> Result<Self, BundleError> {
        let value = node.value();
        // Step 1.
        let b = Members::new(&value, BUNDLE_TYPE, String::new())?;
        b.node_type(BUNDLE_TYPE)?;
        b.only(BUNDLE_MEMBERS)?;
        // Step 2: the embedded manifest is a node in its own right.
        let mv = b.req("manifest")?;
        let mnode = Node::from_value(mv.clone())
            .map_err(|_| b.err("manifest", "must be a score.manifest/v1 node object"))?;
        let manifest = ScoreManifest::parse(&mnode, "/manifest")?;
        // Step 3.
        let result = BundleResult::parse(b.req("result")?, "/result")?;
        // Step 4: one proof per input, in input order.
        let Value::Array(items) = b.req("proofs")? else {
            return Err(b.err("proofs", "must be an array"));
        };
        if items.len() != manifest.inputs.len() {
            return Err(b.err("proofs", "must hold exactly one proof per manifest input"));
        }
        let head = manifest.head();
        let mut proofs = Vec::with_capacity(items.len());
        for (i, (item, input)) in items.iter().zip(&manifest.inputs).enumerate() {
            let at = ptr(&b.at("proofs"), &i.to_string());
            let Value::Object(map) = item else {
                return Err(invalid(BUNDLE_TYPE, at, "must be an object"));
            };
            if map.get("name").and_then(Value::as_str) != Some(input.name.as_str()) {
                return Err(invalid(
                    BUNDLE_TYPE,
                    ptr(&at, "name"),
                    "must be the name of the manifest input at the same position",
                ));
            }
            let mut rest = map.clone();
            rest.remove("name");
            let proof_err = |error| BundleError::Proof { index: i, error };
            let proof: InclusionProof = serde_json::from_value(Value::Object(rest))
                .map_err(|_| proof_err(ProofError::Malformed("not an inclusion proof object")))?;
            if usize::try_from(proof.index().get()).ok() != Some(i) {
                return Err(proof_err(ProofError::Malformed(
                    "leaf_index is not the input's position",
                )));
            }
            head.verify_inclusion(&input.leaf_hash(), &proof)
                .map_err(proof_err)?;
            proofs.push(proof);
        }
        // Step 6: the envelope (SPEC.md §6.1) and its payload type.
        let env_bytes = jcs::serialize(b.req("attestation")?)
            .map_err(|_| DsseError::Malformed("attestation is not an envelope"))?;
        let attestation = Envelope::from_json(&env_bytes)?;
        if attestation.payload_type() != BUNDLE_PAYLOAD_TYPE {
            return Err(DsseError::PayloadType {
                expected: BUNDLE_PAYLOAD_TYPE.into(),
                found: attestation.payload_type().into(),
            }
            .into());
        }
        // Steps 7–8: the statement and what it binds.
        let statement = BundleStatement::from_bytes(attestation.payload())?;
        check_statement(&statement, &manifest, &result)?;
        Ok(Self {
            node: node.clone(),
            manifest,
            result,
            proofs,
            attestation,
            statement,
        })
    }

    /// Builds and signs a `proof.bundle/v1` node: `manifest` (a `score.manifest/v1` node),
    /// `result` (an object `{"kind", "value"[, "node"]}`), one inclusion proof per input, and a
    /// DSSE attestation by `key` over the statement at `time`. Fails with `BUNDLE_INVALID` if the
    /// manifest or result breaks its rules or `time` is before the manifest's freeze time, and
    /// with the node codes if the bundle exceeds `MAX_NODE_BYTES`.
    pub fn build(
        manifest: &Node,
        result: Value,
        key: &SecretKey,
        time: Timestamp,
    ) -> Result<Node, BundleError> {
        let m = ScoreManifest::from_node(manifest)?;
        let r = BundleResult::parse(&result, "/result")?;
        let statement = BundleStatement {
            manifest: m.id(),
            root: m.root,
            result: r.digest,
            time,
        };
        check_statement(&statement, &m, &r)?;
        let tree = input_tree(&m.inputs);
        let mut proofs = Vec::with_capacity(m.inputs.len());
        for (i, input) in m.inputs.iter().enumerate() {
            let proof = LeafIndex::new(i as u64)
                .and_then(|li| prove_inclusion(&tree, li, tree.size()).ok())
                .ok_or(BundleError::Proof {
                    index: i,
                    error: ProofError::Malformed("no proof for this input"),
                })?;
            let mut p = json!({"name": input.name});
            if let (Value::Object(map), Ok(Value::Object(pj))) = (&mut p, serde_json::to_value(&proof)) {
                map.extend(pj);
            }
            proofs.push(p);
        }
        let envelope = Envelope::sign(BUNDLE_PAYLOAD_TYPE, &statement.to_bytes(), key);
        let attestation = jcs::parse(&envelope.to_json())
            .map_err(|_| DsseError::Malformed("attestation is not an envelope"))?;
        let node = Node::from_value(json!({
            "type": BUNDLE_TYPE,
            "manifest": manifest.value(),
            "result": result,
            "proofs": proofs,
            "attestation": attestation,
        }))?;
        // Parsing what was built checks it against the same rules a verifier applies.
        Self::from_node(&node)?;
        Ok(node)
    }

    /// The bundle node.
    pub fn node(&self) -> &Node {
        &self.node
    }
    /// The embedded manifest.
    pub fn manifest(&self) -> &ScoreManifest {
        &self.manifest
    }
    /// The result.
    pub fn result(&self) -> &BundleResult {
        &self.result
    }
    /// The inclusion proofs, one per manifest input, in input order (all verified).
    pub fn proofs(&self) -> &[InclusionProof] {
        &self.proofs
    }
    /// The attestation envelope (signature not yet verified).
    pub fn attestation(&self) -> &Envelope {
        &self.attestation
    }
    /// The signed statement (signature not yet verified).
    pub fn statement(&self) -> &BundleStatement {
        &self.statement
    }
}

/// SPEC.md §15.5 step 8 (repeated on the verified payload by step 9).
fn check_statement(s: &BundleStatement, m: &ScoreManifest, r: &BundleResult) -> Result<(), BundleError> {
    const AT: &str = "/attestation/payload";
    if s.manifest != m.id() {
        return Err(invalid(
            BUNDLE_TYPE,
            ptr(AT, "manifest"),
            "is not the NodeId of the embedded manifest",
        ));
    }
    if s.root != m.root {
        return Err(invalid(
            BUNDLE_TYPE,
            ptr(AT, "root"),
            "is not the manifest's root",
        ));
    }
    if s.result != r.digest {
        return Err(invalid(
            BUNDLE_TYPE,
            ptr(AT, "result"),
            "is not the SHA-256 of the canonical result",
        ));
    }
    if m.freeze_time.is_some_and(|f| s.time < f) {
        return Err(invalid(
            BUNDLE_TYPE,
            ptr(AT, "time"),
            "is before the manifest's freeze_time",
        ));
    }
    Ok(())
}

/// Checks a node of type `score.manifest/v1` or `proof.bundle/v1` by [`ScoreManifest::from_node`]
/// or [`ProofBundle::from_node`]; other types pass. What a log runs on append (SPEC.md §15.6).
pub fn check_node(node: &Node) -> Result<(), BundleError> {
    match node.node_type() {
        MANIFEST_TYPE => ScoreManifest::from_node(node).map(drop),
        BUNDLE_TYPE => ProofBundle::from_node(node).map(drop),
        _ => Ok(()),
    }
}

// ---- verification ----

/// What a verified bundle proves (SPEC.md §15.5 step 9): a key trusted at `time` signed that the
/// computation over these inputs (manifest, root, digests) gave this result.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BundleReport {
    /// NodeId of the bundle.
    pub bundle: NodeId,
    /// NodeId of the manifest.
    pub manifest: NodeId,
    /// The manifest root (standard base64 in JSON).
    #[serde(serialize_with = "ser_b64")]
    pub root: Digest,
    /// The inputs, in leaf order, with their digests.
    pub inputs: Vec<ManifestInput>,
    /// When the inputs were frozen, if recorded.
    pub freeze_time: Option<Timestamp>,
    /// The result (kind, value, optional node, digest).
    pub result: BundleResult,
    /// DSSE keyid (`name+hex`) of the key whose signature verified.
    pub signer: String,
    /// The statement's time, at which the key was valid.
    pub time: Timestamp,
}

fn ser_b64<S: serde::Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_base64())
}

impl TrustRoot {
    /// Verifies a bundle's attestation (SPEC.md §15.5 step 9): the DSSE signature must verify
    /// under a key of this trust root valid at the statement's own `time` (SPEC.md §6.3, §8.2, as
    /// for anchors). The trust-free checks already ran in [`ProofBundle::from_node`].
    ///
    /// Fails with `ENVELOPE_MALFORMED`, `SIGNATURE_INVALID`, `KEY_UNKNOWN`, `KEY_EXPIRED` or
    /// `KEY_REVOKED` (ranked as SPEC.md §8.2 says).
    pub fn verify_bundle(&self, bundle: &ProofBundle) -> Result<Verified<BundleReport>, BundleError> {
        let signed = bundle
            .attestation
            .verify(self, BUNDLE_PAYLOAD_TYPE, bundle.statement.time)?;
        // SPEC.md §6.3: read the verified payload bytes, not a copy taken before verification.
        let statement = BundleStatement::from_bytes(&signed.payload)?;
        check_statement(&statement, &bundle.manifest, &bundle.result)?;
        Ok(Verified::new(BundleReport {
            bundle: bundle.node.id(),
            manifest: bundle.manifest.id(),
            root: bundle.manifest.root,
            inputs: bundle.manifest.inputs.clone(),
            freeze_time: bundle.manifest.freeze_time,
            result: bundle.result.clone(),
            signer: signed.key.clone(),
            time: statement.time,
        }))
    }
}

impl BundleReport {
    /// Replays a `vex.consensus` result from its input nodes (SPEC.md §15.7): the result names
    /// `consensus` (`BUNDLE_INVALID` otherwise), every statement, the policy and the issuer
    /// registry are manifest inputs by digest (their NodeId's digest; `BUNDLE_INVALID`
    /// otherwise), and [`crate::vex::replay`] recomputes the consensus node byte for byte
    /// (`VEX_INVALID`, `CONSENSUS_MISMATCH`).
    pub fn replay_vex_consensus(
        &self,
        consensus: &Node,
        statements: &[Node],
        policy: &Node,
        issuers: &Node,
    ) -> Result<Verified<ConsensusResult>, BundleError> {
        if self.result.kind != VEX_CONSENSUS_KIND || self.result.node != Some(consensus.id()) {
            return Err(invalid(
                BUNDLE_TYPE,
                "/result/node",
                "does not name this vex.consensus/v1 node",
            ));
        }
        let listed: BTreeSet<[u8; 32]> = self.inputs.iter().map(|i| *i.digest.as_bytes()).collect();
        let all_listed = statements
            .iter()
            .chain([policy, issuers])
            .all(|n| listed.contains(n.id().digest().as_bytes()));
        if !all_listed {
            return Err(invalid(
                BUNDLE_TYPE,
                "/manifest/inputs",
                "a consensus input node is not a manifest input",
            ));
        }
        Ok(crate::vex::replay(consensus, statements, policy, issuers)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_seed("example.org/evl", &[1; 32]).unwrap()
    }
    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }
    fn inputs(n: usize) -> Vec<ManifestInput> {
        (0..n)
            .map(|i| ManifestInput::new(&format!("in{i}"), "feed", sha256(&[i as u8])).unwrap())
            .collect()
    }

    #[test]
    fn a_built_bundle_parses_and_every_proof_verifies() {
        for n in 1..=9 {
            let m = ScoreManifest::build(inputs(n), Some(ts("2026-01-01T00:00:00Z"))).unwrap();
            let b = ProofBundle::build(
                &m,
                json!({"kind":"score","value":n}),
                &key(),
                ts("2026-02-01T00:00:00Z"),
            )
            .unwrap();
            let b = ProofBundle::from_node(&b).unwrap();
            assert_eq!(b.proofs().len(), n);
            assert_eq!(b.manifest().id(), m.id());
            let parsed = ScoreManifest::from_node(&m).unwrap();
            for i in 0..n {
                assert_eq!(parsed.prove(i).as_ref(), Some(&b.proofs()[i]));
            }
            assert!(parsed.prove(n).is_none());
        }
    }

    #[test]
    fn the_attestation_may_not_predate_the_freeze_time() {
        let m = ScoreManifest::build(inputs(2), Some(ts("2026-01-01T00:00:00Z"))).unwrap();
        let r = ProofBundle::build(
            &m,
            json!({"kind":"score","value":1}),
            &key(),
            ts("2025-12-31T23:59:59Z"),
        );
        assert_eq!(r.map_err(|e| e.code()), Err(ErrorCode::BundleInvalid));
    }

    #[test]
    fn results_outside_i_json_are_rejected_by_the_builder() {
        let m = ScoreManifest::build(inputs(1), None).unwrap();
        for result in [
            json!({"kind":"score","value": u64::MAX}),
            json!({"kind":"score"}),
            json!({"kind":"","value":1}),
            json!({"kind":"vex.consensus","value":1}),
            json!({"kind":"score","value":1,"extra":1}),
            json!(["score", 1]),
        ] {
            let r = ProofBundle::build(&m, result.clone(), &key(), ts("2026-02-01T00:00:00Z"));
            assert_eq!(r.map_err(|e| e.code()), Err(ErrorCode::BundleInvalid), "{result}");
        }
    }
}

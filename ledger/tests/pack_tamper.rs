//! The acceptance tamper test for evidence packs and compliance exports (SPEC.md §9.7): every
//! file of an evidence pack and of an export is changed in turn (one byte flipped, truncated,
//! deleted, reordered, an anchor swapped for another log's, the log key expired, revoked or
//! replaced in the trust root) and verification fails every time with the code the verifier's
//! precedence gives; the untouched pack and export pass.
//!
//! Cases that must reach the content checks re-sign the manifest with the log key, as an
//! attacker holding the key would; without that, any change to a file is `MANIFEST_MISMATCH`.
//! Every verdict is given by the in-memory and the streaming verifier, which must agree.
//!
//! `EVL_WRITE_FUZZ_SEEDS=1 cargo test -p evl-ledger --test pack_tamper write_fuzz_seeds`
//! rewrites the seeds of the `pack` fuzz target (`fuzz/seeds.d/pack/`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_ledger::pack::{EvidenceRequest, ExportRequest, verify_pack_reader};
use evl_ledger::store::memory::MemoryStore;
use evl_ledger::{AnchorPolicy, Ledger, vex};
use evl_sdk::pack::manifest::{FileEntry, MANIFEST_PATH, Manifest, ManifestPayload};
use evl_sdk::pack::{
    MAX_INMEMORY_PACK_BYTES, NodeRole, PackError, PackKind, PackReport, TrustSource, decompress, tar,
    verify_pack_self_contained,
};
use evl_sdk::vex::GroupKey;
use evl_sdk::{ErrorCode, Node, NodeId, SecretKey, Timestamp, TrustRoot, TrustedKey};
use proptest::prelude::*;
use ruzstd::encoding::{CompressionLevel, compress_to_vec};
use std::sync::OnceLock;

/// The log under test. The `pack` fuzz target re-signs with this key: keep them in step.
const ORIGIN: &str = "tamper.example/log";
const SEED: [u8; 32] = [9; 32];
/// An unrelated log, for its anchors.
const OTHER_ORIGIN: &str = "other.example/log";
const TRUST_ROOT_PATH: &str = "trust-root.json";

fn key() -> SecretKey {
    SecretKey::from_seed(ORIGIN, &SEED).unwrap()
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn new_ledger(key: SecretKey) -> Ledger<MemoryStore> {
    Ledger::init(
        MemoryStore::new(),
        key,
        ts("2020-01-01T00:00:00Z"),
        AnchorPolicy::default(),
    )
    .unwrap()
}

fn append(l: &Ledger<MemoryStore>, doc: &str) -> NodeId {
    l.append_json(&[doc.as_bytes()]).unwrap()[0].receipt.node_id
}

/// Appends documents in batches (a debug build appends thousands one by one slowly).
fn append_all(l: &Ledger<MemoryStore>, docs: impl IntoIterator<Item = String>) {
    let docs: Vec<String> = docs.into_iter().collect();
    for batch in docs.chunks(512) {
        let refs: Vec<&[u8]> = batch.iter().map(|d| d.as_bytes()).collect();
        l.append_json(&refs).unwrap();
    }
}

fn fillers(from: u32, n: u32) -> impl Iterator<Item = String> {
    (from..from + n).map(|i| format!(r#"{{"type":"x-filler","i":{i}}}"#))
}

fn evidence_pack(l: &Ledger<MemoryStore>, req: &EvidenceRequest) -> Vec<u8> {
    let mut out = Vec::new();
    l.export_evidence(req, &mut out).unwrap();
    out
}

fn export_pack(l: &Ledger<MemoryStore>, req: &ExportRequest) -> Vec<u8> {
    let mut out = Vec::new();
    l.export(req, &mut out, &mut |_| {}).unwrap();
    out
}

// ---------------------------------------------------------------------------------------------
// The tamper helper: a pack split into its entries, changed, and rebuilt.

/// A pack's entries, in archive order, to be changed and rebuilt.
#[derive(Clone)]
struct Unpacked {
    files: Vec<(String, Vec<u8>)>,
}

impl Unpacked {
    fn of(pack: &[u8]) -> Self {
        let tar_bytes = decompress(pack, MAX_INMEMORY_PACK_BYTES).unwrap();
        let files = tar::entries(&tar_bytes)
            .unwrap()
            .into_iter()
            .map(|(p, d)| (p, d.to_vec()))
            .collect();
        Self { files }
    }

    fn paths(&self) -> Vec<String> {
        self.files.iter().map(|(p, _)| p.clone()).collect()
    }

    fn paths_under(&self, prefix: &str) -> Vec<String> {
        self.paths()
            .into_iter()
            .filter(|p| p.starts_with(prefix))
            .collect()
    }

    fn pos(&self, path: &str) -> usize {
        self.files
            .iter()
            .position(|(p, _)| p == path)
            .unwrap_or_else(|| panic!("no entry {path}"))
    }

    fn get(&self, path: &str) -> &[u8] {
        &self.files[self.pos(path)].1
    }

    fn data(&mut self, path: &str) -> &mut Vec<u8> {
        let i = self.pos(path);
        &mut self.files[i].1
    }

    fn remove(&mut self, path: &str) -> Vec<u8> {
        let i = self.pos(path);
        self.files.remove(i).1
    }

    /// The archive (strict ustar) of the entries as they are now.
    fn tar(&self) -> Vec<u8> {
        tar::build(&self.files).unwrap()
    }

    /// The pack file (`.tar.zst`) of the entries as they are now.
    fn pack(&self) -> Vec<u8> {
        compress_to_vec(self.tar().as_slice(), CompressionLevel::Fastest)
    }

    fn manifest(&self) -> ManifestPayload {
        Manifest::parse(self.get(MANIFEST_PATH)).unwrap().payload
    }

    /// Re-signs the manifest with the log key over the entries as they are now, after `edit`:
    /// what an attacker holding the key can do.
    fn resign_with(&mut self, edit: impl FnOnce(&mut ManifestPayload)) {
        let mut m = self.manifest();
        self.files.retain(|(p, _)| p != MANIFEST_PATH);
        m.files = self.files.iter().map(|(p, d)| FileEntry::of(p, d)).collect();
        edit(&mut m);
        self.files.push((MANIFEST_PATH.to_owned(), m.sign(&key())));
    }

    fn resign(&mut self) {
        self.resign_with(|_| {});
    }
}

/// Changes one byte (XOR 1).
fn flip(data: &mut [u8], at: usize) {
    data[at] ^= 0x01;
}

/// Lines of a JSON-lines file (without the final newline).
fn lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.strip_suffix(b"\n")
        .unwrap()
        .split(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn unlines(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

fn replace(hay: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = std::str::from_utf8(hay).unwrap();
    assert!(s.contains(from), "{from:?} not in {s}");
    s.replacen(from, to, 1).into_bytes()
}

/// The byte range of the first 32-byte hash (44 base64 characters in quotes) in a JSON file,
/// or on a line of its own in a tlog-proof.
fn first_hash(data: &[u8]) -> std::ops::Range<usize> {
    let is_b64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/');
    (0..data.len().saturating_sub(44))
        .find(|&i| {
            let w = &data[i..i + 44];
            (i == 0 || matches!(data[i - 1], b'"' | b'\n'))
                && w[..43].iter().all(is_b64)
                && w[43] == b'='
                && matches!(data.get(i + 44), Some(b'"' | b'\n'))
        })
        .map(|i| i..i + 44)
        .unwrap_or_else(|| panic!("no hash in {}", String::from_utf8_lossy(data)))
}

// ---------------------------------------------------------------------------------------------
// Verdicts.

/// Verifies in memory; `None` = the pack's own trust root.
fn verdict_in_memory(trust: Option<&TrustRoot>, pack: &[u8]) -> Result<PackReport, PackError> {
    match trust {
        Some(t) => t.verify_pack(pack),
        None => verify_pack_self_contained(pack),
    }
    .map(|v| v.into_inner())
}

/// Verifies with the in-memory and the streaming verifier, which must agree; `None` = the
/// pack's own trust root.
fn verdict(trust: Option<&TrustRoot>, pack: &[u8]) -> Result<PackReport, PackError> {
    let mem = verdict_in_memory(trust, pack);
    let streamed = verify_pack_reader(pack, trust.cloned(), &mut |_| {}).map(|v| v.into_inner());
    assert_eq!(
        mem.as_ref().map_err(PackError::code),
        streamed.as_ref().map_err(PackError::code),
        "the in-memory and streaming verifiers disagree"
    );
    mem
}

#[track_caller]
fn fails(case: &str, trust: Option<&TrustRoot>, pack: &[u8], want: ErrorCode) {
    match verdict(trust, pack) {
        Ok(_) => panic!("{case}: verified; expected {want}"),
        Err(e) => assert_eq!(e.code(), want, "{case}: {e}"),
    }
}

/// [`fails`] with the in-memory verifier alone, for the many variations of an export (each
/// verification of which takes ~0.3 s in a debug build); the streaming verifier is
/// cross-checked on every evidence-pack case and on the export's representative ones.
#[track_caller]
fn fails_in_memory(case: &str, trust: Option<&TrustRoot>, pack: &[u8], want: ErrorCode) {
    match verdict_in_memory(trust, pack) {
        Ok(_) => panic!("{case}: verified; expected {want}"),
        Err(e) => assert_eq!(e.code(), want, "{case}: {e}"),
    }
}

#[track_caller]
fn passes(case: &str, trust: Option<&TrustRoot>, pack: &[u8]) -> PackReport {
    verdict(trust, pack).unwrap_or_else(|e| panic!("{case}: {e}"))
}

fn trust_with(key: TrustedKey) -> TrustRoot {
    TrustRoot::new(ORIGIN, vec![key]).unwrap()
}

fn expired_trust() -> TrustRoot {
    trust_with(TrustedKey::new(
        key().public().clone(),
        ts("2020-01-01T00:00:00Z"),
        Some(ts("2021-01-01T00:00:00Z")),
        false,
    ))
}

fn revoked_trust() -> TrustRoot {
    trust_with(TrustedKey::new(
        key().public().clone(),
        ts("2020-01-01T00:00:00Z"),
        None,
        true,
    ))
}

fn unrelated_trust() -> TrustRoot {
    let stranger = SecretKey::from_seed(ORIGIN, &[3; 32]).unwrap();
    trust_with(TrustedKey::new(
        stranger.public().clone(),
        ts("2020-01-01T00:00:00Z"),
        None,
        false,
    ))
}

// ---------------------------------------------------------------------------------------------
// Fixtures, built once per test binary.

struct Fixture {
    name: &'static str,
    pack: Vec<u8>,
    trust: TrustRoot,
    /// Whether every case is also verified by the streaming verifier (see [`fails_in_memory`]).
    stream_every_case: bool,
}

impl Fixture {
    #[track_caller]
    fn fails(&self, case: &str, trust: Option<&TrustRoot>, pack: &[u8], want: ErrorCode) {
        let case = format!("{}: {case}", self.name);
        if self.stream_every_case {
            fails(&case, trust, pack, want);
        } else {
            fails_in_memory(&case, trust, pack, want);
        }
    }
}

/// An evidence pack with dependencies: subject `report` → `result` → two `input`s, proven at
/// anchor 3 with the chain 0–3 (trust point 0), so four anchors and three consistency proofs.
fn evidence() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let l = new_ledger(key());
        append_all(&l, fillers(0, 10));
        l.anchor().unwrap();
        let a = append(&l, r#"{"type":"x-input","note":"alpha input","v":1}"#);
        let c = append(&l, r#"{"type":"x-input","note":"gamma input","v":3}"#);
        l.anchor().unwrap();
        let b = append(
            &l,
            &format!(
                r#"{{"type":"x-result","links":[{{"rel":"input","id":"{a}"}},{{"rel":"input","id":"{c}"}}]}}"#
            ),
        );
        append_all(&l, fillers(10, 10));
        l.anchor().unwrap();
        let d = append(
            &l,
            &format!(r#"{{"type":"x-report","note":"delta","links":[{{"rel":"result","id":"{b}"}}]}}"#),
        );
        append_all(&l, fillers(20, 5));
        l.anchor().unwrap();
        let pack = evidence_pack(
            &l,
            &EvidenceRequest {
                subjects: vec![d],
                include_deps: true,
                trust_point: Some(0),
                ..Default::default()
            },
        );
        Fixture {
            name: "evidence pack",
            pack,
            trust: l.trust_root().clone(),
            stream_every_case: true,
        }
    })
}

/// A filtered export between anchors 1 and 4 (four anchors, three consistency proofs), 5 300
/// leaves in two chunks; types `x-keep` and `x-note` exported, `x-other` omitted.
fn export() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let l = new_ledger(key());
        let doc = |i: u32| {
            let t = match i % 5 {
                0 | 1 => "x-keep",
                2 => "x-note",
                _ => "x-other",
            };
            format!(r#"{{"type":"{t}","i":{i}}}"#)
        };
        let mut next = 0u32;
        let mut add = |n: u32| {
            append_all(&l, (next..next + n).map(doc));
            next += n;
        };
        add(50);
        l.anchor().unwrap();
        add(50);
        l.anchor().unwrap();
        add(2600);
        l.anchor().unwrap();
        add(2600);
        l.anchor().unwrap();
        add(100);
        l.anchor().unwrap();
        let pack = export_pack(
            &l,
            &ExportRequest {
                from_anchor: Some(1),
                to_anchor: Some(4),
                filter: Some(vec!["x-keep".into(), "x-note".into()]),
                ..Default::default()
            },
        );
        Fixture {
            name: "export",
            pack,
            trust: l.trust_root().clone(),
            stream_every_case: false,
        }
    })
}

/// Another log (its own key and origin) with anchors 0–5, as an evidence pack that carries
/// all of them.
fn other_log() -> &'static Vec<u8> {
    static F: OnceLock<Vec<u8>> = OnceLock::new();
    F.get_or_init(|| {
        let l = new_ledger(SecretKey::from_seed(OTHER_ORIGIN, &[5; 32]).unwrap());
        let mut last = None;
        for i in 0..6 {
            last = Some(append(&l, &format!(r#"{{"type":"x-other-log","i":{i}}}"#)));
            l.anchor().unwrap();
        }
        evidence_pack(
            &l,
            &EvidenceRequest {
                subjects: vec![last.unwrap()],
                trust_point: Some(0),
                ..Default::default()
            },
        )
    })
}

/// A small evidence pack: one node, one anchor, its own inclusion proof.
fn small() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let l = new_ledger(key());
        append_all(&l, fillers(0, 6));
        let n = append(&l, r#"{"type":"x-one","note":"small"}"#);
        l.anchor().unwrap();
        let pack = evidence_pack(
            &l,
            &EvidenceRequest {
                subjects: vec![n],
                ..Default::default()
            },
        );
        Fixture {
            name: "small evidence pack",
            pack,
            trust: l.trust_root().clone(),
            stream_every_case: true,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The untouched pack and export pass.

#[test]
fn untouched_pack_and_export_pass() {
    let fx = evidence();
    let r = passes("untouched evidence pack", Some(&fx.trust), &fx.pack);
    assert_eq!(r.kind, PackKind::Evidence);
    assert_eq!(r.nodes.len(), 4, "subject, result and two inputs");
    assert_eq!(r.anchors.len(), 4, "the chain from the trust point");
    let own = passes("untouched evidence pack, own trust root", None, &fx.pack);
    assert_eq!(own.trust_root, TrustSource::Pack);
    let u = Unpacked::of(&fx.pack);
    assert_eq!(u.paths_under("consistency/").len(), 3);
    passes("evidence pack rebuilt unchanged", Some(&fx.trust), &u.pack());

    let fx = export();
    let r = passes("untouched export", Some(&fx.trust), &fx.pack);
    let e = r.export.unwrap();
    assert_eq!(e.leaves, 5300);
    assert!(e.included > 0 && e.omitted > 0);
    assert_eq!(r.anchors.len(), 4);
    passes("untouched export, own trust root", None, &fx.pack);
    let u = Unpacked::of(&fx.pack);
    assert_eq!(
        u.paths_under("log/").len(),
        4,
        "two chunks, listing and nodes each"
    );
    passes("export rebuilt unchanged", Some(&fx.trust), &u.pack());

    let fx = small();
    passes("untouched small pack", Some(&fx.trust), &fx.pack);
}

// ---------------------------------------------------------------------------------------------
// Every entry in turn: one byte flipped, truncated by one byte, deleted.

fn every_entry(fx: &Fixture) {
    let base = Unpacked::of(&fx.pack);
    let trust = Some(&fx.trust);
    for path in base.paths() {
        let is_manifest = path == MANIFEST_PATH;
        let want = if is_manifest {
            ErrorCode::EnvelopeMalformed
        } else {
            ErrorCode::ManifestMismatch
        };
        // One byte flipped (the manifest's first, `{` becoming `z`: not JSON), with the given
        // trust root, in both verifiers, and self-contained: the pack's own trust root is held
        // to the listing before the manifest's signature is judged with it.
        let mut u = base.clone();
        let d = u.data(&path);
        let at = if is_manifest { 0 } else { d.len() / 2 };
        flip(d, at);
        let pack = u.pack();
        fails(
            &format!("{}: byte {at} of {path} flipped", fx.name),
            trust,
            &pack,
            want,
        );
        fx.fails(
            &format!("byte {at} of {path} flipped, own trust root"),
            None,
            &pack,
            want,
        );

        // Truncated by one byte (the manifest loses its closing brace).
        let mut u = base.clone();
        u.data(&path).pop();
        fx.fails(&format!("{path} truncated by one byte"), trust, &u.pack(), want);

        // Deleted: listed in the manifest but absent (or no manifest at all).
        let mut u = base.clone();
        u.remove(&path);
        let pack = u.pack();
        fx.fails(
            &format!("{path} deleted"),
            trust,
            &pack,
            ErrorCode::ManifestMissing,
        );
        if is_manifest || path == TRUST_ROOT_PATH {
            fx.fails(
                &format!("{path} deleted, own trust root"),
                None,
                &pack,
                ErrorCode::ManifestMissing,
            );
        }
    }
}

#[test]
fn evidence_pack_every_entry_flipped_truncated_deleted() {
    every_entry(evidence());
}

#[test]
fn export_every_entry_flipped_truncated_deleted() {
    every_entry(export());
}

// ---------------------------------------------------------------------------------------------
// The container: order, truncation, trailing bytes.

fn container(fx: &Fixture) {
    let base = Unpacked::of(&fx.pack);
    let trust = Some(&fx.trust);
    let n = base.files.len();
    // Two entries swapped: the first two, and the two before the manifest.
    for (i, j) in [(0, 1), (n - 3, n - 2)] {
        let mut u = base.clone();
        u.files.swap(i, j);
        fails(
            &format!(
                "{}: entries {} and {} swapped",
                fx.name, base.files[i].0, base.files[j].0
            ),
            trust,
            &u.pack(),
            ErrorCode::ManifestMismatch,
        );
    }
    // The manifest not last: an entry after it is a container fault.
    let mut u = base.clone();
    u.files.swap(n - 2, n - 1);
    fails(
        &format!("{}: manifest.json not last", fx.name),
        trust,
        &u.pack(),
        ErrorCode::PackMalformed,
    );
    // An entry twice: out of order (not strictly ascending).
    let mut u = base.clone();
    let dup = u.files[0].clone();
    u.files.insert(1, dup);
    fails(
        &format!("{}: first entry twice", fx.name),
        trust,
        &u.pack(),
        ErrorCode::ManifestMismatch,
    );
    // An unlisted entry (in order, at the end of the listed ones' paths).
    let mut u = base.clone();
    u.files.insert(n - 1, ("zz-extra.json".into(), b"{}".to_vec()));
    fails(
        &format!("{}: unlisted entry added", fx.name),
        trust,
        &u.pack(),
        ErrorCode::ManifestMismatch,
    );

    // The .tar.zst file truncated (by one byte, and to half), and with bytes appended.
    for cut in [1, fx.pack.len() / 2] {
        fails(
            &format!("{}: pack file truncated by {cut} bytes", fx.name),
            trust,
            &fx.pack[..fx.pack.len() - cut],
            ErrorCode::PackMalformed,
        );
    }
    for extra in [&[0u8][..], b"appended", &fx.pack[..16]] {
        let mut p = fx.pack.clone();
        p.extend_from_slice(extra);
        fails(
            &format!("{}: {} bytes appended to the pack file", fx.name, extra.len()),
            trust,
            &p,
            ErrorCode::PackMalformed,
        );
    }
    // The archive itself truncated or extended inside a good zstd frame.
    let tar_bytes = base.tar();
    for (what, t) in [
        (
            "archive without its end marker",
            tar_bytes[..tar_bytes.len() - 1024].to_vec(),
        ),
        (
            "archive truncated by one byte",
            tar_bytes[..tar_bytes.len() - 1].to_vec(),
        ),
        (
            "archive with a third zero block",
            [&tar_bytes[..], &[0u8; 512]].concat(),
        ),
    ] {
        let p = compress_to_vec(t.as_slice(), CompressionLevel::Fastest);
        fails(
            &format!("{}: {what}", fx.name),
            trust,
            &p,
            ErrorCode::PackMalformed,
        );
    }
    // A byte flipped in the compressed bytes: the frame's checksum (or its structure) fails.
    let mut p = fx.pack.clone();
    let mid = p.len() / 2;
    flip(&mut p, mid);
    fails(
        &format!("{}: compressed byte flipped", fx.name),
        trust,
        &p,
        ErrorCode::PackMalformed,
    );
}

#[test]
fn evidence_pack_container_faults() {
    container(evidence());
}

#[test]
fn export_container_faults() {
    container(export());
}

// ---------------------------------------------------------------------------------------------
// The manifest itself.

/// The byte offset of the first occurrence of `needle` in `hay`, plus `skip`.
fn offset(hay: &[u8], needle: &str, skip: usize) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap_or_else(|| panic!("{needle:?} not found"))
        + skip
}

/// Replaces a base64 character by another one of the alphabet (so it still decodes).
fn other_b64(c: u8) -> u8 {
    if c == b'A' { b'B' } else { b'A' }
}

fn manifest_cases(fx: &Fixture) {
    let base = Unpacked::of(&fx.pack);
    let trust = Some(&fx.trust);
    let m = base.get(MANIFEST_PATH).to_vec();
    let case = |what: &str, bytes: Vec<u8>, want: ErrorCode| {
        let mut u = base.clone();
        *u.data(MANIFEST_PATH) = bytes;
        fx.fails(&format!("manifest {what}"), trust, &u.pack(), want);
    };
    let edit = |at: usize, to: u8| {
        let mut b = m.clone();
        assert_ne!(b[at], to);
        b[at] = to;
        b
    };
    // The payload's first base64 character encodes the top six bits of `{`: changed, the
    // payload is not JSON (a manifest payload fault).
    let p = offset(&m, r#""payload":""#, 11);
    case(
        "payload's first character changed",
        edit(p, other_b64(m[p])),
        ErrorCode::PackMalformed,
    );
    case(
        "payload character outside base64",
        edit(p + 20, b'!'),
        ErrorCode::EnvelopeMalformed,
    );
    let t = offset(&m, r#""payloadType":""#, 20);
    case(
        "payloadType changed",
        edit(t, m[t] ^ 0x01),
        ErrorCode::EnvelopeMalformed,
    );
    // The keyid's last hex digit: the keyid names no trusted key, the signature is skipped.
    let k = offset(&m, r#"","sig""#, 0) - 1;
    case(
        "keyid changed",
        edit(k, if m[k] == b'0' { b'1' } else { b'0' }),
        ErrorCode::KeyUnknown,
    );
    // A signature character changed to another base64 character: 6 bits of R differ.
    let s = offset(&m, r#""sig":""#, 7 + 5);
    case(
        "signature changed",
        edit(s, other_b64(m[s])),
        ErrorCode::SignatureInvalid,
    );
    case(
        "signature character outside base64",
        edit(s, b'!'),
        ErrorCode::EnvelopeMalformed,
    );
    // Re-encodings that decode to the same envelope are refused too: the manifest has one
    // byte encoding (`keyid` renamed to an unknown member would drop the hint; URL-safe
    // base64 decodes to the same signature).
    case(
        "keyid member renamed (unknown member)",
        replace(&m, r#""keyid""#, r#""keyie""#),
        ErrorCode::EnvelopeMalformed,
    );
    let url_safe: Vec<u8> = m
        .iter()
        .map(|&b| match b {
            b'+' => b'-',
            b'/' => b'_',
            b => b,
        })
        .collect();
    if url_safe != m {
        case("in URL-safe base64", url_safe, ErrorCode::EnvelopeMalformed);
    }
    // A payload byte changed so that it is still a manifest: the signature fails.
    let env = evl_sdk::Envelope::from_json(&m).unwrap();
    let mut payload = Manifest::parse(&m).unwrap().payload;
    payload.files[0].size += 1;
    let forged = forge(&env, &payload.to_bytes());
    case(
        "payload changed (a listed size), signature kept",
        forged,
        ErrorCode::SignatureInvalid,
    );
    // Signed by another log's key: unknown to this trust root.
    let mut u = base.clone();
    let mut p = u.manifest();
    p.origin = OTHER_ORIGIN.into();
    *u.data(MANIFEST_PATH) = p.sign(&SecretKey::from_seed(OTHER_ORIGIN, &[5; 32]).unwrap());
    fx.fails(
        "manifest signed by another log",
        trust,
        &u.pack(),
        ErrorCode::KeyUnknown,
    );
    // Signed by the log key but naming another origin.
    let mut u = base.clone();
    u.resign_with(|p| p.origin = OTHER_ORIGIN.into());
    fx.fails(
        "re-signed manifest naming another origin",
        trust,
        &u.pack(),
        ErrorCode::OriginMismatch,
    );
    // Re-signed with another time: not the last anchor's.
    let mut u = base.clone();
    u.resign_with(|p| p.time = ts("2021-06-01T00:00:00Z"));
    fx.fails(
        "re-signed manifest with another time",
        trust,
        &u.pack(),
        ErrorCode::ManifestMismatch,
    );
    // Re-signed claiming the other kind.
    let mut u = base.clone();
    u.resign_with(|p| {
        p.kind = match p.kind {
            PackKind::Evidence => PackKind::Export,
            PackKind::Export | PackKind::Backup => PackKind::Evidence,
        }
    });
    fx.fails(
        "re-signed manifest with the other kind",
        trust,
        &u.pack(),
        ErrorCode::PackMalformed,
    );
    // Re-signed over the same entries: passes (the attacker holds the key; nothing changed).
    let mut u = base.clone();
    u.resign();
    passes(&format!("{}: re-signed unchanged", fx.name), trust, &u.pack());
}

/// The envelope `env` with its payload replaced and its signature kept.
fn forge(env: &evl_sdk::Envelope, payload: &[u8]) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_slice(&env.to_json()).unwrap();
    let mut v = v;
    v["payload"] = serde_json::Value::String(evl_sdk::b64::encode(payload));
    evl_sdk::jcs::serialize(&v).unwrap()
}

#[test]
fn evidence_pack_manifest_tampering() {
    manifest_cases(evidence());
}

#[test]
fn export_manifest_tampering() {
    manifest_cases(export());
}

// ---------------------------------------------------------------------------------------------
// Trust roots: the log key expired, revoked or replaced.

fn trust_cases(fx: &Fixture) {
    let pack = &fx.pack;
    fx.fails(
        "log key expired before the anchors' time",
        Some(&expired_trust()),
        pack,
        ErrorCode::KeyExpired,
    );
    let not_yet = trust_with(TrustedKey::new(
        key().public().clone(),
        ts("2099-01-01T00:00:00Z"),
        None,
        false,
    ));
    fx.fails(
        "log key valid only after the anchors' time",
        Some(&not_yet),
        pack,
        ErrorCode::KeyExpired,
    );
    fx.fails(
        "log key revoked",
        Some(&revoked_trust()),
        pack,
        ErrorCode::KeyRevoked,
    );
    fx.fails(
        "an unrelated key instead of the log key",
        Some(&unrelated_trust()),
        pack,
        ErrorCode::KeyUnknown,
    );
    let other = TrustRoot::new(
        OTHER_ORIGIN,
        vec![TrustedKey::new(
            SecretKey::from_seed(OTHER_ORIGIN, &[5; 32])
                .unwrap()
                .public()
                .clone(),
            ts("2020-01-01T00:00:00Z"),
            None,
            false,
        )],
    )
    .unwrap();
    fx.fails(
        "another log's trust root",
        Some(&other),
        pack,
        ErrorCode::KeyUnknown,
    );
    // The pack's own trust root swapped for one whose key expired, verified self-contained:
    // the swap shows in the listing; re-signed (an attacker with the key), the key's expiry.
    let mut u = Unpacked::of(pack);
    *u.data(TRUST_ROOT_PATH) = expired_trust().to_json();
    fx.fails(
        "own trust root swapped for an expired one",
        None,
        &u.pack(),
        ErrorCode::ManifestMismatch,
    );
    fx.fails(
        "own trust root swapped, verified with the real one",
        Some(&fx.trust),
        &u.pack(),
        ErrorCode::ManifestMismatch,
    );
    u.resign();
    fx.fails(
        "own trust root swapped for an expired one, re-signed",
        None,
        &u.pack(),
        ErrorCode::KeyExpired,
    );
    let mut u = Unpacked::of(pack);
    *u.data(TRUST_ROOT_PATH) = revoked_trust().to_json();
    u.resign();
    fx.fails(
        "own trust root swapped for a revoked one, re-signed",
        None,
        &u.pack(),
        ErrorCode::KeyRevoked,
    );
    // With the real trust root given, the pack's own copy is only integrity-checked: a
    // re-signed swap passes, and the report says the given trust root was used.
    let r = passes(
        &format!("{}: own trust root swapped, re-signed, real one given", fx.name),
        Some(&fx.trust),
        &u.pack(),
    );
    assert_eq!(r.trust_root, TrustSource::Argument);
    // The pack's own trust root unreadable, re-signed: TRUST_ROOT_INVALID.
    let mut u = Unpacked::of(pack);
    *u.data(TRUST_ROOT_PATH) = b"{}".to_vec();
    u.resign();
    fx.fails(
        "own trust root unreadable, re-signed",
        None,
        &u.pack(),
        ErrorCode::TrustRootInvalid,
    );
    // No trust root at all, re-signed, self-contained: nothing to judge with.
    let mut u = Unpacked::of(pack);
    u.remove(TRUST_ROOT_PATH);
    u.resign();
    fx.fails(
        "own trust root deleted, re-signed",
        None,
        &u.pack(),
        ErrorCode::PackIncomplete,
    );
    passes(
        &format!("{}: own trust root deleted, re-signed, real one given", fx.name),
        Some(&fx.trust),
        &u.pack(),
    );
}

#[test]
fn evidence_pack_expired_revoked_unknown_keys() {
    trust_cases(evidence());
}

#[test]
fn export_expired_revoked_unknown_keys() {
    trust_cases(export());
}

// ---------------------------------------------------------------------------------------------
// The anchor chain, with the manifest re-signed.

fn chain_cases(fx: &Fixture) {
    let base = Unpacked::of(&fx.pack);
    let trust = Some(&fx.trust);
    let other = Unpacked::of(other_log());
    let anchors = base.paths_under("anchors/");
    assert!(anchors.len() >= 3, "{}: a chain of three or more", fx.name);
    // Each anchor swapped for the other log's anchor of the same seq: not manifest-listed,
    // then, re-signed, signed by a key this trust root does not know (§7.2 step 1 before
    // step 2, so KEY_UNKNOWN and not ORIGIN_MISMATCH).
    for path in &anchors {
        let mut u = base.clone();
        *u.data(path) = other.get(path).to_vec();
        fx.fails(
            "{path} swapped for another log's",
            trust,
            &u.pack(),
            ErrorCode::ManifestMismatch,
        );
        u.resign();
        fx.fails(
            "{path} swapped for another log's, re-signed",
            trust,
            &u.pack(),
            ErrorCode::KeyUnknown,
        );
    }
    // A middle anchor deleted with its consistency proof, or alone: the next anchor does not
    // continue the one before.
    let mid = &anchors[1];
    let mut u = base.clone();
    u.remove(mid);
    u.remove(&mid.replace("anchors/", "consistency/"));
    u.resign();
    fx.fails(
        "{mid} and its consistency proof deleted, re-signed",
        trust,
        &u.pack(),
        ErrorCode::ChainBroken,
    );
    let mut u = base.clone();
    u.remove(mid);
    u.resign();
    fx.fails(
        "{mid} deleted, re-signed",
        trust,
        &u.pack(),
        ErrorCode::ChainBroken,
    );
    // The last anchor deleted: the proofs were made for its tree.
    let last = anchors.last().unwrap();
    let mut u = base.clone();
    u.remove(last);
    u.remove(&last.replace("anchors/", "consistency/"));
    u.resign();
    // Which check sees it first depends on whether the anchors were made in the same second
    // (the manifest's time is the last anchor's): the time, the proofs or the export's `to`.
    let e = verdict_in_memory(trust, &u.pack()).unwrap_err();
    assert!(
        [
            ErrorCode::ManifestMismatch,
            ErrorCode::MerkleMismatch,
            ErrorCode::ProofMalformed,
            ErrorCode::PackMalformed
        ]
        .contains(&e.code()),
        "{}: {last} deleted, re-signed: {e}",
        fx.name
    );
    // Two anchors swapped in content (same file names): the file name and seq differ.
    let mut u = base.clone();
    let a0 = u.get(&anchors[0]).to_vec();
    let a1 = u.get(&anchors[1]).to_vec();
    *u.data(&anchors[0]) = a1;
    *u.data(&anchors[1]) = a0;
    u.resign();
    fx.fails(
        "two anchors' contents swapped, re-signed",
        trust,
        &u.pack(),
        ErrorCode::PackMalformed,
    );
    // An anchor's signature changed, re-signed.
    let mut u = base.clone();
    let a = u.get(mid).to_vec();
    let s = offset(&a, r#""sig":""#, 7 + 5);
    u.data(mid)[s] = other_b64(a[s]);
    u.resign();
    fx.fails(
        "{mid} signature changed, re-signed",
        trust,
        &u.pack(),
        ErrorCode::SignatureInvalid,
    );
    // A consistency proof's hash changed (another base64 character), re-signed.
    let cons = base.paths_under("consistency/");
    let c = &cons[cons.len() - 1];
    let mut u = base.clone();
    let h = first_hash(u.get(c)).start + 5;
    let ch = u.get(c)[h];
    u.data(c)[h] = other_b64(ch);
    u.resign();
    fx.fails(
        "{c} hash changed, re-signed",
        trust,
        &u.pack(),
        ErrorCode::MerkleMismatch,
    );
    // A consistency proof deleted, re-signed: missing (§7.2 step 8).
    let mut u = base.clone();
    u.remove(c);
    u.resign();
    fx.fails(
        "{c} deleted, re-signed",
        trust,
        &u.pack(),
        ErrorCode::ProofMalformed,
    );
}

#[test]
fn evidence_pack_anchor_chain_tampering() {
    chain_cases(evidence());
}

#[test]
fn export_anchor_chain_tampering() {
    chain_cases(export());
}

#[test]
fn a_whole_pack_of_another_log_is_signed_by_an_unknown_key() {
    fails(
        "another log's pack against this log's trust root",
        Some(&evidence().trust),
        other_log(),
        ErrorCode::KeyUnknown,
    );
    passes("another log's pack, its own trust root", None, other_log());
}

// ---------------------------------------------------------------------------------------------
// Evidence-pack content, with the manifest re-signed.

#[test]
fn evidence_pack_content_tampering() {
    let fx = evidence();
    let base = Unpacked::of(&fx.pack);
    let trust = Some(&fx.trust);
    let report = passes("untouched", trust, &fx.pack);
    let subject = report.nodes[0].id;
    let dep = report.nodes.iter().find(|n| n.node_type == "x-input").unwrap().id;
    let node_path = |id: &NodeId| format!("nodes/{}.json", &id.to_string()[7..]);

    // A byte of every node flipped.
    for path in base.paths_under("nodes/") {
        let mut u = base.clone();
        let d = u.data(&path);
        let at = d.len() / 2;
        flip(d, at);
        u.resign();
        fails(
            &format!("evidence pack: byte {at} of {path} flipped, re-signed"),
            trust,
            &u.pack(),
            ErrorCode::NodeIdMismatch,
        );
    }
    // A proof hash: changed to another base64 character (still 32 bytes), or broken.
    let proofs = base.paths_under("proofs/");
    for path in &proofs {
        let mut u = base.clone();
        let h = first_hash(u.get(path)).start + 5;
        let ch = u.get(path)[h];
        u.data(path)[h] = other_b64(ch);
        u.resign();
        fails(
            &format!("evidence pack: {path} hash changed, re-signed"),
            trust,
            &u.pack(),
            ErrorCode::MerkleMismatch,
        );
        let mut u = base.clone();
        u.data(path)[h] = b'!';
        u.resign();
        fails(
            &format!("evidence pack: {path} hash not base64, re-signed"),
            trust,
            &u.pack(),
            ErrorCode::ProofMalformed,
        );
    }
    // A tlog-proof's hash changed.
    let tlog = base.paths_under("tlog-proofs/");
    assert_eq!(tlog.len(), 4);
    let mut u = base.clone();
    let h = first_hash(u.get(&tlog[0])).start + 5;
    let ch = u.get(&tlog[0])[h];
    u.data(&tlog[0])[h] = other_b64(ch);
    u.resign();
    fails(
        &format!("evidence pack: {} hash changed, re-signed", tlog[0]),
        trust,
        &u.pack(),
        ErrorCode::MerkleMismatch,
    );
    // A tlog-proof deleted.
    let mut u = base.clone();
    u.remove(&tlog[0]);
    u.resign();
    fails(
        &format!("evidence pack: {} deleted, re-signed", tlog[0]),
        trust,
        &u.pack(),
        ErrorCode::PackIncomplete,
    );
    // A dependency's node deleted from a pack with dependencies; the subject's node deleted.
    for (what, id) in [("a dependency's", dep), ("the subject's", subject)] {
        let mut u = base.clone();
        u.remove(&node_path(&id));
        u.resign();
        fails(
            &format!("evidence pack: {what} node deleted, re-signed"),
            trust,
            &u.pack(),
            ErrorCode::PackIncomplete,
        );
    }
    // A dependency also named as a subject: still proven, now as a subject.
    let mut u = base.clone();
    let mut both = vec![dep, subject];
    both.sort();
    u.resign_with(|m| m.subjects = both);
    let r = passes(
        "evidence pack: a dependency named as a subject too, re-signed",
        trust,
        &u.pack(),
    );
    assert_eq!(r.nodes.iter().filter(|n| n.role == NodeRole::Subject).count(), 2);
    // Subjects not ascending, re-signed: the manifest is malformed.
    let mut u = base.clone();
    let mut both = vec![dep, subject];
    both.sort();
    both.reverse();
    u.resign_with(|m| m.subjects = both);
    fails(
        "evidence pack: subjects not ascending, re-signed",
        trust,
        &u.pack(),
        ErrorCode::PackMalformed,
    );
}

#[test]
fn small_pack_single_proof_tampering() {
    let fx = small();
    let base = Unpacked::of(&fx.pack);
    let trust = Some(&fx.trust);
    let proofs = base.paths_under("proofs/");
    assert_eq!(proofs.len(), 1);
    assert!(!proofs[0].ends_with("multi.json"), "one node: its own proof");
    let path = &proofs[0];
    let mut u = base.clone();
    let h = first_hash(u.get(path)).start + 5;
    let ch = u.get(path)[h];
    u.data(path)[h] = other_b64(ch);
    u.resign();
    fails(
        "small pack: single proof hash changed, re-signed",
        trust,
        &u.pack(),
        ErrorCode::MerkleMismatch,
    );
    let mut u = base.clone();
    u.data(path)[h] = b'!';
    u.resign();
    fails(
        "small pack: single proof hash not base64, re-signed",
        trust,
        &u.pack(),
        ErrorCode::ProofMalformed,
    );
    let mut u = base.clone();
    u.remove(path);
    u.resign();
    fails(
        "small pack: proof deleted, re-signed",
        trust,
        &u.pack(),
        ErrorCode::PackIncomplete,
    );
}

// ---------------------------------------------------------------------------------------------
// Export content, with the manifest re-signed.

#[test]
fn export_content_tampering() {
    let fx = export();
    let base = Unpacked::of(&fx.pack);
    let trust = Some(&fx.trust);
    let log = base.paths_under("log/");
    let (leaves0, nodes0) = (&log[0], &log[1]);
    assert!(leaves0.ends_with(".leaves.jsonl") && nodes0.ends_with(".nodes.jsonl"));
    let listing = lines(base.get(leaves0));
    let nodes = lines(base.get(nodes0));
    assert_eq!(listing.len(), 4096, "the first chunk is full");

    // A node line deleted: first, middle, last of the chunk.
    for at in [0, nodes.len() / 2, nodes.len() - 1] {
        let mut u = base.clone();
        let mut n = nodes.clone();
        n.remove(at);
        *u.data(nodes0) = unlines(&n);
        u.resign();
        fails(
            &format!("export: node line {at} of {nodes0} deleted, re-signed"),
            trust,
            &u.pack(),
            ErrorCode::PackIncomplete,
        );
    }
    // A byte of a node line flipped.
    let mut u = base.clone();
    let mut n = nodes.clone();
    let mid = n[10].len() / 2;
    flip(&mut n[10], mid);
    *u.data(nodes0) = unlines(&n);
    u.resign();
    fails_in_memory(
        &format!("export: byte of node line 10 of {nodes0} flipped, re-signed"),
        trust,
        &u.pack(),
        ErrorCode::NodeIdMismatch,
    );
    // Two node lines swapped.
    let mut u = base.clone();
    let mut n = nodes.clone();
    n.swap(3, 4);
    *u.data(nodes0) = unlines(&n);
    u.resign();
    fails_in_memory(
        &format!("export: node lines 3 and 4 of {nodes0} swapped, re-signed"),
        trust,
        &u.pack(),
        ErrorCode::NodeIdMismatch,
    );
    // A whole chunk deleted (listing and nodes).
    let mut u = base.clone();
    u.remove(leaves0);
    u.remove(nodes0);
    u.resign();
    fails_in_memory(
        "export: first chunk deleted, re-signed",
        trust,
        &u.pack(),
        ErrorCode::PackIncomplete,
    );
    let mut u = base.clone();
    u.remove(&log[2]);
    u.remove(&log[3]);
    u.resign();
    fails_in_memory(
        "export: last chunk deleted, re-signed",
        trust,
        &u.pack(),
        ErrorCode::PackIncomplete,
    );
    // A chunk's nodes file deleted: its exported nodes are missing.
    let mut u = base.clone();
    u.remove(nodes0);
    u.resign();
    fails_in_memory(
        "export: first chunk's nodes file deleted, re-signed",
        trust,
        &u.pack(),
        ErrorCode::PackIncomplete,
    );

    let typed = |t: &str| {
        listing
            .iter()
            .position(|l| l.ends_with(format!(r#""type":"{t}"}}"#).as_bytes()))
            .unwrap()
    };
    let with_listing = |at: usize, line: Option<Vec<u8>>| {
        let mut u = base.clone();
        let mut l = listing.clone();
        match line {
            Some(x) => l[at] = x,
            None => {
                l.remove(at);
            }
        }
        *u.data(leaves0) = unlines(&l);
        u
    };
    let omitted = typed("x-other");
    let keep = typed("x-keep");
    // A listing line of an omitted leaf deleted: the chunks no longer meet.
    let mut u = with_listing(omitted, None);
    u.resign();
    fails_in_memory(
        "export: listing line of an omitted leaf deleted, re-signed",
        trust,
        &u.pack(),
        ErrorCode::PackIncomplete,
    );
    // A listing line's type changed. Not re-signed: the listing differs from the manifest.
    let u = with_listing(keep, Some(replace(&listing[keep], "x-keep", "x-note")));
    fails_in_memory(
        "export: listing type changed",
        trust,
        &u.pack(),
        ErrorCode::ManifestMismatch,
    );
    // Re-signed, to another exported type: the node says otherwise.
    let mut u = u;
    u.resign();
    fails_in_memory(
        "export: listing type changed to another exported type, re-signed",
        trust,
        &u.pack(),
        ErrorCode::PackMalformed,
    );
    // Re-signed, an exported leaf relabelled as omitted: its node is then one the listing
    // does not export at that place.
    let mut u = with_listing(keep, Some(replace(&listing[keep], "x-keep", "x-skip")));
    u.resign();
    fails_in_memory(
        "export: exported leaf relabelled as omitted, re-signed",
        trust,
        &u.pack(),
        ErrorCode::NodeIdMismatch,
    );
    // Re-signed, an omitted leaf relabelled as exported: its node is missing.
    let mut u = with_listing(omitted, Some(replace(&listing[omitted], "x-other", "x-keep")));
    u.resign();
    fails_in_memory(
        "export: omitted leaf relabelled as exported, re-signed",
        trust,
        &u.pack(),
        ErrorCode::PackIncomplete,
    );
    // Re-signed, an omitted leaf's NodeId changed: the listed leaves no longer hash to the end
    // anchor's root.
    let line = String::from_utf8(listing[omitted].clone()).unwrap();
    let i = line.find("sha256:").unwrap() + 7 + 10;
    let mut changed = line.into_bytes();
    changed[i] = if changed[i] == b'0' { b'1' } else { b'0' };
    let mut u = with_listing(omitted, Some(changed));
    u.resign();
    fails_in_memory(
        "export: an omitted leaf's NodeId changed, re-signed",
        trust,
        &u.pack(),
        ErrorCode::MerkleMismatch,
    );
    // The frontier's hash changed: it no longer hashes to the start anchor's root.
    let mut u = base.clone();
    let f = "frontier.json";
    let h = first_hash(u.get(f)).start + 5;
    let ch = u.get(f)[h];
    u.data(f)[h] = other_b64(ch);
    u.resign();
    fails_in_memory(
        "export: frontier hash changed, re-signed",
        trust,
        &u.pack(),
        ErrorCode::MerkleMismatch,
    );
    // export.json's filter widened: the omitted leaves' nodes are missing.
    let mut u = base.clone();
    *u.data("export.json") = replace(u.get("export.json"), r#""x-note"]"#, r#""x-note","x-other"]"#);
    u.resign();
    fails_in_memory(
        "export: filter widened, re-signed",
        trust,
        &u.pack(),
        ErrorCode::PackIncomplete,
    );
}

// ---------------------------------------------------------------------------------------------
// Consensus nodes: replayed from the pack.

#[test]
fn consensus_nodes_replay_and_a_wrong_result_is_consensus_mismatch() {
    let samples = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/vex"));
    let l = new_ledger(key());
    for f in [
        "openvex/vexctl__document1.vex.json",
        "openvex/vexctl__document2.vex.json",
    ] {
        vex::ingest_and_append(&l, &std::fs::read(samples.join(f)).unwrap()).unwrap();
    }
    let group = GroupKey::new("CVE-1234-5678", "pkg:apk/wolfi/bash@1.0.0").unwrap();
    let rec = vex::compute_consensus(&l, &group, None, ts("2026-01-01T00:00:00Z"), None).unwrap();
    let good = rec.result.node().clone();
    // A copy with the wrong result, logged through the generic append (as `evl append` would).
    let mut v = good.value();
    assert_eq!(v["status"], serde_json::json!("fixed"));
    v["status"] = serde_json::json!("not_affected");
    let bad = Node::from_value(v).unwrap();
    l.append(vec![bad.clone()]).unwrap();
    l.anchor().unwrap();
    let trust = l.trust_root().clone();
    let pack = |subjects: Vec<NodeId>, include_deps: bool| {
        evidence_pack(
            &l,
            &EvidenceRequest {
                subjects,
                include_deps,
                ..Default::default()
            },
        )
    };

    let r = passes(
        "honest consensus with dependencies",
        Some(&trust),
        &pack(vec![good.id()], true),
    );
    assert_eq!(r.consensus.len(), 1);
    assert_eq!(r.consensus[0].id, good.id());
    assert!(r.consensus[0].replayed, "an honest consensus replays");
    let r = passes(
        "honest consensus without dependencies",
        Some(&trust),
        &pack(vec![good.id()], false),
    );
    assert!(!r.consensus[0].replayed && r.consensus[0].note.is_some());

    fails(
        "consensus with a wrong recorded result",
        Some(&trust),
        &pack(vec![bad.id()], true),
        ErrorCode::ConsensusMismatch,
    );
    fails(
        "honest and wrong consensus together",
        Some(&trust),
        &pack(vec![good.id(), bad.id()], true),
        ErrorCode::ConsensusMismatch,
    );
    // Without its inputs the wrong one cannot be replayed: it is reported, not judged.
    let r = passes(
        "wrong consensus without dependencies",
        Some(&trust),
        &pack(vec![bad.id()], false),
    );
    assert!(!r.consensus[0].replayed);

    // An attacker with the key rewrites the honest node inside a pack: NODE_ID_MISMATCH, since
    // the file name is its NodeId; renamed to the new id, the replay catches it.
    let mut u = Unpacked::of(&pack(vec![good.id()], true));
    let hex = |id: NodeId| id.to_string()[7..].to_owned();
    let gp = format!("nodes/{}.json", hex(good.id()));
    *u.data(&gp) = replace(u.get(&gp), r#""status":"fixed""#, r#""status":"affected""#);
    u.resign();
    fails(
        "consensus node rewritten in the pack, re-signed",
        Some(&trust),
        &u.pack(),
        ErrorCode::NodeIdMismatch,
    );
}

// ---------------------------------------------------------------------------------------------
// Random single-byte mutations of the archive.

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any one byte of the decompressed archive of a small pack set to any value, then
    /// recompressed: verification never panics and passes only if nothing changed.
    #[test]
    fn single_byte_mutations_never_pass(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let fx = small();
        let mut t = Unpacked::of(&fx.pack).tar();
        let i = at.index(t.len());
        let unchanged = t[i] == byte;
        t[i] = byte;
        let pack = compress_to_vec(t.as_slice(), CompressionLevel::Fastest);
        let r = fx.trust.verify_pack(&pack);
        prop_assert_eq!(r.is_ok(), unchanged, "byte {} set to {:#04x}: {:?}", i, byte, r.err());
        let r = verify_pack_self_contained(&pack);
        prop_assert_eq!(r.is_ok(), unchanged, "self-contained, byte {}: {:?}", i, r.err());
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds for the `pack` fuzz target.

/// Writes a valid evidence pack and a valid export, compressed and as raw archives, to
/// `fuzz/seeds.d/pack/` when `EVL_WRITE_FUZZ_SEEDS` is set (libFuzzer's `-max_len` in
/// `fuzz/run.sh` is 64 KiB, so the seeds are kept below it).
#[test]
fn write_fuzz_seeds() {
    if std::env::var_os("EVL_WRITE_FUZZ_SEEDS").is_none() {
        return;
    }
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/seeds.d/pack"));
    std::fs::create_dir_all(dir).unwrap();
    let l = new_ledger(key());
    append_all(&l, fillers(0, 4));
    let a = append(&l, r#"{"type":"x-input","v":1}"#);
    l.anchor().unwrap();
    let b = append(
        &l,
        &format!(r#"{{"type":"x-result","links":[{{"rel":"input","id":"{a}"}}]}}"#),
    );
    append_all(&l, fillers(4, 40));
    l.anchor().unwrap();
    let ev = evidence_pack(
        &l,
        &EvidenceRequest {
            subjects: vec![b],
            include_deps: true,
            trust_point: Some(0),
            ..Default::default()
        },
    );
    let ex = export_pack(
        &l,
        &ExportRequest {
            from_anchor: Some(0),
            filter: Some(vec!["x-filler".into()]),
            ..Default::default()
        },
    );
    for (name, pack) in [("evidence", ev), ("export", ex)] {
        l.trust_root().verify_pack(&pack).unwrap();
        let t = Unpacked::of(&pack).tar();
        assert!(t.len() < 65536, "{name}: {} bytes", t.len());
        std::fs::write(dir.join(format!("{name}.tar.zst")), &pack).unwrap();
        std::fs::write(dir.join(format!("{name}.tar")), &t).unwrap();
    }
}

//! The vector cases. Each `fn` writes one family; mutations are derived from a good case.

use crate::material::*;
use evl_sdk::anchor::{ANCHOR_TYPE, ArchivedLink};
use evl_sdk::fork::{ConflictingLeaf, FORK_EVIDENCE_TYPE};
use evl_sdk::{
    AnchorPayload, ConsistencyProof, Digest, Envelope, ErrorCode, ForkEvidence, InclusionProof, LeafIndex,
    MemoryTree, Receipt, SecretKey, prove_consistency, prove_inclusion,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

type Out = BTreeMap<String, Vec<u8>>;

pub(crate) fn put(out: &mut Out, kind: &str, name: &str, mut v: Value, error: Option<ErrorCode>) {
    let n = out.keys().filter(|k| k.starts_with(&format!("{kind}/"))).count();
    if let Value::Object(m) = &mut v {
        m.insert("kind".into(), json!(kind));
        m.insert("error".into(), json!(error.map(ErrorCode::as_str)));
    }
    // Pretty JSON of a Value built here cannot fail to serialize.
    let mut bytes = serde_json::to_vec_pretty(&v).unwrap_or_default();
    bytes.push(b'\n');
    out.insert(format!("{kind}/{n:03}-{name}.json"), bytes);
}

fn b64s(h: &[Digest]) -> Vec<String> {
    h.iter().map(Digest::to_base64).collect()
}

fn flip(d: &Digest) -> Digest {
    let mut b = *d.as_bytes();
    b[0] ^= 1;
    Digest::from_bytes(b)
}

pub fn all(out: &mut Out) {
    canonical(out);
    nodes(out);
    inclusion(out);
    consistency(out);
    checkpoints(out);
    dsse(out);
    receipts(out);
    anchors(out);
    forks(out);
    trust_roots(out);
    crate::cases_proofs2::all(out);
    crate::cases_bundle::all(out);
}

fn canonical(out: &mut Out) {
    let good: &[(&str, &str)] = &[
        ("member-order", r#"{"b":1,"a":2,"c":{"z":true,"y":null}}"#),
        ("whitespace", "{ \"a\" :\n [ 1 , 2 ,\t3 ] }"),
        (
            "utf16-key-order",
            r#"{"\u20ac":1,"\r":2,"\ud83d\ude00":3,"1":4,"\u0080":5,"\ufb33":6}"#,
        ),
        (
            "string-escapes",
            r#"["\u0041\u00e9\u20ac\ud83d\ude00","\/\b\f\n\r\t\"\\","\u001f\u007f"]"#,
        ),
        (
            "numbers",
            "[0,-0,1.0,4.50,2e-3,1e-7,123456789.125,-9007199254740991,9007199254740991,0.1,1E2]",
        ),
        ("literals", "[true,false,null,[],{}]"),
        ("nested", r#"{"a":[{"b":[{"c":[]}]}]}"#),
    ];
    for (name, input) in good {
        let canon = evl_sdk::canonicalize(input.as_bytes()).map(|c| String::from_utf8_lossy(&c).into_owned());
        put(
            out,
            "canonical",
            name,
            json!({"desc": format!("canonicalize: {name}"), "input": input, "canonical": canon.ok()}),
            None,
        );
    }
    let bad: &[(&str, &str, ErrorCode)] = &[
        ("duplicate-key", r#"{"a":1,"a":1}"#, ErrorCode::DuplicateKey),
        (
            "duplicate-key-escaped",
            r#"{"a":1,"\u0061":2}"#,
            ErrorCode::DuplicateKey,
        ),
        (
            "integer-2-pow-53",
            "9007199254740992",
            ErrorCode::NumberOutOfRange,
        ),
        (
            "integer-huge",
            "123456789012345678901234567890",
            ErrorCode::NumberOutOfRange,
        ),
        ("float-beyond-safe-range", "1E30", ErrorCode::NumberOutOfRange),
        ("float-overflow", "1e400", ErrorCode::NumberOutOfRange),
        ("float-underflow", "1e-400", ErrorCode::NumberOutOfRange),
        ("lone-high-surrogate", r#""\ud800""#, ErrorCode::InvalidUtf8),
        ("lone-low-surrogate", r#""\udc00""#, ErrorCode::InvalidUtf8),
        ("leading-zero", "[01]", ErrorCode::JsonSyntax),
        ("trailing-comma", "[1,]", ErrorCode::JsonSyntax),
        ("nan", "[NaN]", ErrorCode::JsonSyntax),
        ("trailing-data", "{} {}", ErrorCode::JsonSyntax),
        ("control-char-in-string", "\"a\u{1}b\"", ErrorCode::JsonSyntax),
    ];
    for (name, input, code) in bad {
        put(
            out,
            "canonical",
            name,
            json!({"desc": format!("reject: {name}"), "input": input, "canonical": null}),
            Some(*code),
        );
    }
    let deep = "[".repeat(65) + &"]".repeat(65);
    put(
        out,
        "canonical",
        "depth-65",
        json!({"desc": "nesting one beyond MAX_JSON_DEPTH (64)", "input": deep, "canonical": null}),
        Some(ErrorCode::TooDeep),
    );
    let ok_deep = "[".repeat(64) + &"]".repeat(64);
    put(
        out,
        "canonical",
        "depth-64",
        json!({"desc": "nesting exactly MAX_JSON_DEPTH (64)", "input": ok_deep.clone(), "canonical": ok_deep}),
        None,
    );
    put(
        out,
        "canonical",
        "invalid-utf8",
        json!({"desc": "byte 0xff inside a string", "input_hex": hex_of(b"\"a\xffb\""), "canonical": null}),
        Some(ErrorCode::InvalidUtf8),
    );
    // SPEC.md §2.2 rule 5: the 2^53−1 bound holds in every notation, after rounding to a double.
    for (name, input) in [
        ("fraction-rounds-to-2-pow-53", "9007199254740993.0"),
        ("fraction-half-rounds-to-2-pow-53", "9007199254740991.5"),
        ("exponent-1e16", "1e16"),
    ] {
        put(
            out,
            "canonical",
            name,
            json!({"desc": format!("reject: {input} is a double beyond 2^53-1"), "input": input, "canonical": null}),
            Some(ErrorCode::NumberOutOfRange),
        );
    }
    for (name, input) in [
        (
            "fraction-rounds-to-max-safe",
            "[9007199254740991.4,-9007199254740991.4]",
        ),
        (
            "exponent-max-safe",
            "[9.007199254740991e15,90071992547409910e-1,1e15]",
        ),
    ] {
        let canon = evl_sdk::canonicalize(input.as_bytes()).map(|c| String::from_utf8_lossy(&c).into_owned());
        put(
            out,
            "canonical",
            name,
            json!({"desc": format!("canonicalize: {name} (doubles within 2^53-1)"), "input": input, "canonical": canon.ok()}),
            None,
        );
    }
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn nodes(out: &mut Out) {
    let n = node(0);
    let node_json = |desc: &str, bytes: &str, claimed: Option<String>| json!({"desc": desc, "bytes": bytes, "claimed_id": claimed, "node_id": null, "leaf_hash": null});
    let bytes = String::from_utf8_lossy(n.bytes()).into_owned();
    put(
        out,
        "node",
        "blob",
        json!({"desc": "a canonical blob node", "bytes": bytes, "claimed_id": n.id().to_string(),
               "node_id": n.id().to_string(), "leaf_hash": n.id().leaf_hash().to_hex()}),
        None,
    );
    let link = node(1).id();
    let linked = evl_sdk::Node::from_json(
        format!(r#"{{"type":"x-example.test/note","links":[{{"rel":"about","id":"{link}"}}],"text":"é ✓"}}"#)
            .as_bytes(),
    )
    .expect("fixed node");
    put(
        out,
        "node",
        "private-type-with-link",
        json!({"desc": "x- type linking another node", "bytes": String::from_utf8_lossy(linked.bytes()),
               "claimed_id": linked.id().to_string(), "node_id": linked.id().to_string(), "leaf_hash": linked.id().leaf_hash().to_hex()}),
        None,
    );
    put(
        out,
        "node",
        "non-canonical-order",
        node_json(
            "members out of order",
            r#"{"type":"blob/v1","data":"x","media_type":"text/plain"}"#,
            None,
        ),
        Some(ErrorCode::NonCanonicalJson),
    );
    put(
        out,
        "node",
        "non-canonical-space",
        node_json("whitespace", r#"{"data":"x", "type":"blob/v1"}"#, None),
        Some(ErrorCode::NonCanonicalJson),
    );
    put(
        out,
        "node",
        "unknown-type",
        node_json("unregistered type", r#"{"type":"vex.statement/v9"}"#, None),
        Some(ErrorCode::TypeUnknown),
    );
    put(
        out,
        "node",
        "no-type",
        node_json("no type member", r#"{"data":"x"}"#, None),
        Some(ErrorCode::NodeInvalid),
    );
    put(
        out,
        "node",
        "not-object",
        node_json("an array", r#"[{"type":"blob/v1"}]"#, None),
        Some(ErrorCode::NodeInvalid),
    );
    put(
        out,
        "node",
        "bad-link",
        node_json(
            "link id is not a NodeId",
            r#"{"links":[{"id":"sha256:AB","rel":"x"}],"type":"blob/v1"}"#,
            None,
        ),
        Some(ErrorCode::NodeInvalid),
    );
    put(
        out,
        "node",
        "id-mismatch",
        node_json(
            "bytes presented under another node's id",
            &bytes,
            Some(node(1).id().to_string()),
        ),
        Some(ErrorCode::NodeIdMismatch),
    );
}

fn inc_json(desc: &str, index: u64, size: u64, root: &Digest, leaf: &Digest, proof: &[Digest]) -> Value {
    json!({"desc": desc, "leafIdx": index, "treeSize": size, "root": root.to_base64(), "leafHash": leaf.to_base64(),
           "proof": b64s(proof), "wantErr": false})
}

fn inclusion(out: &mut Out) {
    let t = tree();
    let leaf = |i: u64| node(i).id().leaf_hash();
    let prove = |i: u64, n: u64| -> InclusionProof {
        prove_inclusion(&t, LeafIndex::new(i).expect("index"), size(n)).expect("in range")
    };
    for (n, i) in [
        (1, 0),
        (2, 0),
        (2, 1),
        (7, 0),
        (7, 3),
        (7, 6),
        (8, 5),
        (13, 12),
        (16, 9),
        (37, 0),
        (37, 20),
        (37, 36),
    ] {
        let p = prove(i, n);
        put(
            out,
            "inclusion",
            &format!("ok-size{n}-index{i}"),
            inc_json(
                &format!("leaf {i} in tree {n}"),
                i,
                n,
                &head(&t, n).root(),
                &leaf(i),
                p.hashes(),
            ),
            None,
        );
    }
    let (n, i) = (37u64, 20u64);
    let p = prove(i, n).hashes().to_vec();
    let root = head(&t, n).root();
    let mut bad = |name: &str, desc: &str, v: Value, code: ErrorCode| {
        let mut v = v;
        v["wantErr"] = json!(true);
        put(out, "inclusion", name, v, Some(code));
        let _ = desc;
    };
    let mut f0 = p.clone();
    f0[0] = flip(&f0[0]);
    bad(
        "bitflip-first",
        "",
        inc_json("bit flip in proof[0]", i, n, &root, &leaf(i), &f0),
        ErrorCode::MerkleMismatch,
    );
    let mut fl = p.clone();
    let last = fl.len() - 1;
    fl[last] = flip(&fl[last]);
    bad(
        "bitflip-last",
        "",
        inc_json("bit flip in the last proof hash", i, n, &root, &leaf(i), &fl),
        ErrorCode::MerkleMismatch,
    );
    bad(
        "truncated",
        "",
        inc_json("last hash removed", i, n, &root, &leaf(i), &p[..p.len() - 1]),
        ErrorCode::ProofMalformed,
    );
    let mut ext = p.clone();
    ext.push(leaf(0));
    bad(
        "extended",
        "",
        inc_json("extra trailing hash", i, n, &root, &leaf(i), &ext),
        ErrorCode::ProofMalformed,
    );
    let mut pre = vec![leaf(0)];
    pre.extend_from_slice(&p);
    bad(
        "prepended",
        "",
        inc_json("extra leading hash", i, n, &root, &leaf(i), &pre),
        ErrorCode::ProofMalformed,
    );
    bad(
        "wrong-index",
        "",
        inc_json("proof for 20 claimed at 21", i + 1, n, &root, &leaf(i), &p),
        ErrorCode::MerkleMismatch,
    );
    bad(
        "wrong-size",
        "",
        inc_json(
            "tree size 32: the path would have 5 hashes, not 6",
            i,
            32,
            &root,
            &leaf(i),
            &p,
        ),
        ErrorCode::ProofMalformed,
    );
    bad(
        "wrong-root",
        "",
        inc_json(
            "root of the tree of size 36",
            i,
            n,
            &head(&t, 36).root(),
            &leaf(i),
            &p,
        ),
        ErrorCode::MerkleMismatch,
    );
    bad(
        "wrong-leaf",
        "",
        inc_json("another leaf's hash", i, n, &root, &leaf(i + 1), &p),
        ErrorCode::MerkleMismatch,
    );
    bad(
        "leaf-data-not-hash",
        "",
        inc_json(
            "leaf data given where the leaf hash belongs",
            i,
            n,
            &root,
            node(i).id().digest(),
            &p,
        ),
        ErrorCode::MerkleMismatch,
    );
    bad(
        "index-equals-size",
        "",
        inc_json("index not below size", n, n, &root, &leaf(i), &p),
        ErrorCode::ProofMalformed,
    );
    bad(
        "empty-proof",
        "",
        inc_json("no hashes", i, n, &root, &leaf(i), &[]),
        ErrorCode::ProofMalformed,
    );
}

fn cons_json(desc: &str, m: u64, n: u64, r1: &Digest, r2: &Digest, proof: &[Digest]) -> Value {
    json!({"desc": desc, "size1": m, "size2": n, "root1": r1.to_base64(), "root2": r2.to_base64(), "proof": b64s(proof), "wantErr": false})
}

fn consistency(out: &mut Out) {
    let t = tree();
    let prove =
        |m: u64, n: u64| -> ConsistencyProof { prove_consistency(&t, size(m), size(n)).expect("in range") };
    let r = |n: u64| head(&t, n).root();
    for (m, n) in [
        (1, 1),
        (1, 2),
        (1, 37),
        (2, 5),
        (3, 7),
        (4, 8),
        (6, 8),
        (7, 37),
        (8, 37),
        (16, 37),
        (20, 37),
        (36, 37),
        (37, 37),
    ] {
        put(
            out,
            "consistency",
            &format!("ok-{m}-to-{n}"),
            cons_json(
                &format!("tree {m} is a prefix of tree {n}"),
                m,
                n,
                &r(m),
                &r(n),
                prove(m, n).hashes(),
            ),
            None,
        );
    }
    let (m, n) = (7u64, 37u64);
    let p = prove(m, n).hashes().to_vec();
    let mut bad = |name: &str, v: Value, code: ErrorCode| {
        let mut v = v;
        v["wantErr"] = json!(true);
        put(out, "consistency", name, v, Some(code));
    };
    let mut f0 = p.clone();
    f0[0] = flip(&f0[0]);
    bad(
        "bitflip-first",
        cons_json("bit flip in proof[0]", m, n, &r(m), &r(n), &f0),
        ErrorCode::MerkleMismatch,
    );
    let mut fl = p.clone();
    let last = fl.len() - 1;
    fl[last] = flip(&fl[last]);
    bad(
        "bitflip-last",
        cons_json("bit flip in the last hash", m, n, &r(m), &r(n), &fl),
        ErrorCode::MerkleMismatch,
    );
    bad(
        "truncated",
        cons_json("last hash removed", m, n, &r(m), &r(n), &p[..p.len() - 1]),
        ErrorCode::ProofMalformed,
    );
    let mut ext = p.clone();
    ext.push(r(1));
    bad(
        "extended",
        cons_json("extra trailing hash", m, n, &r(m), &r(n), &ext),
        ErrorCode::ProofMalformed,
    );
    bad(
        "swapped-roots",
        cons_json("root1 and root2 swapped", m, n, &r(n), &r(m), &p),
        ErrorCode::MerkleMismatch,
    );
    bad(
        "wrong-size1",
        cons_json(
            "size1 off by one (7 to 8: the proof no longer fits the path)",
            m + 1,
            n,
            &r(m),
            &r(n),
            &p,
        ),
        ErrorCode::ProofMalformed,
    );
    bad(
        "wrong-root2",
        cons_json("root2 of another size", m, n, &r(m), &r(n - 1), &p),
        ErrorCode::MerkleMismatch,
    );
    bad(
        "size1-zero",
        cons_json("from the empty tree", 0, n, &evl_sdk::empty_root(), &r(n), &[]),
        ErrorCode::ProofMalformed,
    );
    bad(
        "zero-to-zero",
        cons_json(
            "empty to empty",
            0,
            0,
            &evl_sdk::empty_root(),
            &evl_sdk::empty_root(),
            &[],
        ),
        ErrorCode::ProofMalformed,
    );
    bad(
        "shrink",
        cons_json("size1 larger than size2", n, m, &r(n), &r(m), &p),
        ErrorCode::ProofMalformed,
    );
    bad(
        "empty-proof",
        cons_json("no hashes", m, n, &r(m), &r(n), &[]),
        ErrorCode::ProofMalformed,
    );
    bad(
        "equal-size-nonempty-proof",
        cons_json("equal sizes with a hash", n, n, &r(n), &r(n), &p[..1]),
        ErrorCode::ProofMalformed,
    );
    bad(
        "equal-size-different-roots",
        cons_json("equal sizes, different roots", n, n, &r(n), &r(m), &[]),
        ErrorCode::MerkleMismatch,
    );
}

fn trust_json(tr: &evl_sdk::TrustRoot) -> Value {
    serde_json::from_slice(&tr.to_json()).unwrap_or(Value::Null)
}

/// A checkpoint vector, verified against [`trust_root`] at [`AT`]. `vkey` is the key a peer
/// that knows no trust root (Go's `note.Open`) is given.
fn cp_json(desc: &str, note: &str, vkey: &str) -> Value {
    json!({"desc": desc, "note": note, "vkey": vkey, "at": AT, "trust_root": trust_json(&trust_root())})
}

/// A note over `text` with one signature line per (key, signature altered?).
fn multi_signed(text: &str, lines: &[(&SecretKey, bool)]) -> String {
    let mut out = format!("{text}\n");
    for (k, alter) in lines {
        let mut sig = k.sign_raw(text.as_bytes());
        if *alter {
            sig[10] ^= 1;
        }
        let mut raw = k.public().id().to_be_bytes().to_vec();
        raw.extend_from_slice(&sig);
        out.push_str(&format!(
            "\u{2014} {} {}\n",
            k.public().name(),
            evl_sdk::b64::encode(&raw)
        ));
    }
    out
}

fn checkpoints(out: &mut Out) {
    let t = tree();
    let k = log_key();
    let vkey = k.public().vkey();
    let good = checkpoint(&t, LEAVES, &k).to_text();
    put(
        out,
        "checkpoint",
        "ok-size37",
        cp_json("checkpoint of the 37-leaf tree", &good, &vkey),
        None,
    );
    let one = checkpoint(&t, 1, &k).to_text();
    put(
        out,
        "checkpoint",
        "ok-size1",
        cp_json("checkpoint of the 1-leaf tree", &one, &vkey),
        None,
    );
    let empty = evl_sdk::Checkpoint::new(ORIGIN, evl_sdk::TreeHead::new(size(0), evl_sdk::empty_root()))
        .and_then(|c| c.sign(&k))
        .expect("fixed")
        .to_text();
    put(
        out,
        "checkpoint",
        "ok-empty-tree",
        cp_json("checkpoint of the empty tree", &empty, &vkey),
        None,
    );
    // Mutations.
    let changed_size = good.replacen("\n37\n", "\n38\n", 1);
    put(
        out,
        "checkpoint",
        "size-changed",
        cp_json("tree size edited after signing", &changed_size, &vkey),
        Some(ErrorCode::SignatureInvalid),
    );
    let sig_at = good.rfind(' ').map_or(0, |i| i + 10);
    let mut b = good.clone().into_bytes();
    b[sig_at] = if b[sig_at] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(b).unwrap_or_default();
    put(
        out,
        "checkpoint",
        "signature-flipped",
        cp_json("one base64 character of the signature changed", &flipped, &vkey),
        Some(ErrorCode::SignatureInvalid),
    );
    let stranger = checkpoint(&t, LEAVES, &stranger_key()).to_text();
    put(
        out,
        "checkpoint",
        "unknown-key",
        cp_json("signed by a key not in the trust root", &stranger, &vkey),
        Some(ErrorCode::KeyUnknown),
    );
    let old = checkpoint(&t, LEAVES, &old_key()).to_text();
    put(
        out,
        "checkpoint",
        "expired-key",
        cp_json(
            "signed by a key valid only in 2025, checked in 2026",
            &old,
            &old_key().public().vkey(),
        ),
        Some(ErrorCode::KeyExpired),
    );
    let revoked = checkpoint(&t, LEAVES, &revoked_key()).to_text();
    put(
        out,
        "checkpoint",
        "revoked-key",
        cp_json(
            "signed by a revoked key",
            &revoked,
            &revoked_key().public().vkey(),
        ),
        Some(ErrorCode::KeyRevoked),
    );
    let other_origin = evl_sdk::Checkpoint::new("example.org/other-log", head(&t, LEAVES))
        .and_then(|c| c.sign(&k))
        .expect("fixed")
        .to_text();
    put(
        out,
        "checkpoint",
        "wrong-origin",
        cp_json("another log's origin, signed by our key", &other_origin, &vkey),
        Some(ErrorCode::OriginMismatch),
    );
    let no_blank = good.replacen("\n\n", "\n", 1);
    put(
        out,
        "checkpoint",
        "no-blank-line",
        cp_json("signature block not separated by a blank line", &no_blank, &vkey),
        Some(ErrorCode::NoteMalformed),
    );
    let leading_zero = k
        .sign_note(&format!(
            "{ORIGIN}\n037\n{}\n",
            head(&t, LEAVES).root().to_base64()
        ))
        .expect("fixed")
        .to_text();
    put(
        out,
        "checkpoint",
        "size-leading-zero",
        cp_json("tree size 037 (signed)", &leading_zero, &vkey),
        Some(ErrorCode::NoteMalformed),
    );
    // SPEC.md §5.2 rules 5–7 with several signature lines.
    let text = evl_sdk::Checkpoint::new(ORIGIN, head(&t, LEAVES))
        .expect("fixed")
        .to_text();
    let next = next_key();
    let mut rotating = cp_json(
        "during a rotation both keys are valid; the current key's line verifies, the next key's \
         line does not: the whole note is rejected, as by Go's note.Open",
        &multi_signed(&text, &[(&k, false), (&next, true)]),
        &vkey,
    );
    rotating["trust_root"] = trust_json(&rotating_trust_root());
    rotating["extra_vkeys"] = json!([next.public().vkey()]);
    put(
        out,
        "checkpoint",
        "valid-key-line-fails",
        rotating,
        Some(ErrorCode::SignatureInvalid),
    );
    put(
        out,
        "checkpoint",
        "ok-unknown-signer-skipped",
        cp_json(
            "a line by an untrusted key with a bad signature is skipped",
            &multi_signed(&text, &[(&stranger_key(), true), (&k, false)]),
            &vkey,
        ),
        None,
    );
    put(
        out,
        "checkpoint",
        "ok-expired-key-line-not-checked",
        cp_json(
            "a line by a trusted key outside its window is not checked, even with a bad signature",
            &multi_signed(&text, &[(&old_key(), true), (&k, false)]),
            &vkey,
        ),
        None,
    );
    put(
        out,
        "checkpoint",
        "revoked-key-bad-signature",
        cp_json(
            "only a line by a revoked key, with a bad signature: KEY_REVOKED, not SIGNATURE_INVALID",
            &multi_signed(&text, &[(&revoked_key(), true)]),
            &revoked_key().public().vkey(),
        ),
        Some(ErrorCode::KeyRevoked),
    );
}

fn dsse_json(desc: &str, env: &[u8], key: &SecretKey, encoding: &str) -> Value {
    let env: Value = serde_json::from_slice(env).unwrap_or(Value::Null);
    json!({"desc": desc, "envelope": env, "public_key_hex": hex_of(key.public().raw()), "keyid": key.public().dsse_keyid(), "encoding": encoding})
}

fn dsse(out: &mut Out) {
    let k = log_key();
    let cases: &[(&str, &str, &[u8])] = &[
        (
            "anchor-type",
            "application/vnd.evidence-ledger.anchor.v1+json",
            br#"{"example":true}"#,
        ),
        (
            "export-type",
            "application/vnd.evidence-ledger.export.v1+json",
            b"{}",
        ),
        (
            "empty-payload",
            "application/vnd.evidence-ledger.blob.v1+json",
            b"",
        ),
        (
            "utf8-type",
            "application/vnd.evidence-ledger.\u{e9}t\u{e9}.v1+json",
            "caf\u{e9}".as_bytes(),
        ),
        ("binary-payload", "application/octet-stream", &[0, 255, 128, 10]),
    ];
    for (name, ty, payload) in cases {
        let env = Envelope::sign(ty, payload, &k);
        put(
            out,
            "dsse",
            name,
            dsse_json(&format!("sign: {name}"), &env.to_json(), &k, "standard"),
            None,
        );
    }
    let env = Envelope::sign(
        "application/vnd.evidence-ledger.anchor.v1+json",
        b"\xfb\xff\xfe payload",
        &k,
    );
    let url: Value = {
        let mut v: Value = serde_json::from_slice(&env.to_json()).unwrap_or(Value::Null);
        for f in ["payload"] {
            if let Some(s) = v[f].as_str() {
                v[f] = json!(s.replace('+', "-").replace('/', "_").to_string());
            }
        }
        if let Some(s) = v["signatures"][0]["sig"].as_str() {
            v["signatures"][0]["sig"] = json!(s.replace('+', "-").replace('/', "_").to_string());
        }
        v
    };
    put(
        out,
        "dsse",
        "url-safe-base64",
        json!({"desc": "URL-safe base64 (RFC 4648 §5) for payload and signature", "envelope": url,
        "public_key_hex": hex_of(k.public().raw()), "keyid": k.public().dsse_keyid(), "encoding": "url-safe"}),
        None,
    );
    // Mutations of the anchor-type envelope.
    let good = Envelope::sign(
        "application/vnd.evidence-ledger.anchor.v1+json",
        br#"{"example":true}"#,
        &k,
    );
    let gv: Value = serde_json::from_slice(&good.to_json()).unwrap_or(Value::Null);
    let mut m = |name: &str, desc: &str, f: &dyn Fn(&mut Value), code: ErrorCode| {
        let mut v = gv.clone();
        f(&mut v);
        put(
            out,
            "dsse",
            name,
            json!({"desc": desc, "envelope": v, "public_key_hex": hex_of(k.public().raw()),
            "keyid": k.public().dsse_keyid(), "encoding": "standard"}),
            Some(code),
        );
    };
    m(
        "payload-changed",
        "payload re-encoded with one byte changed",
        &|v| v["payload"] = json!(evl_sdk::b64::encode(br#"{"example":false}"#)),
        ErrorCode::SignatureInvalid,
    );
    m(
        "type-changed",
        "payloadType changed",
        &|v| v["payloadType"] = json!("application/vnd.evidence-ledger.other.v1+json"),
        ErrorCode::SignatureInvalid,
    );
    m(
        "signature-truncated",
        "signature cut to 63 bytes",
        &|v| {
            let s = evl_sdk::b64::decode(v["signatures"][0]["sig"].as_str().unwrap_or_default())
                .unwrap_or_default();
            v["signatures"][0]["sig"] = json!(evl_sdk::b64::encode(&s[..s.len().saturating_sub(1)]));
        },
        ErrorCode::SignatureInvalid,
    );
    m(
        "signature-high-s",
        "signature with S + L (malleated, rejected by strict verification)",
        &|v| {
            let mut s = evl_sdk::b64::decode(v["signatures"][0]["sig"].as_str().unwrap_or_default())
                .unwrap_or_default();
            add_l(&mut s[32..]);
            v["signatures"][0]["sig"] = json!(evl_sdk::b64::encode(&s));
        },
        ErrorCode::SignatureInvalid,
    );
    m(
        "no-signatures",
        "empty signature list",
        &|v| v["signatures"] = json!([]),
        ErrorCode::EnvelopeMalformed,
    );
    m(
        "no-payload",
        "payload member missing",
        &|v| {
            if let Value::Object(o) = v {
                o.remove("payload");
            }
        },
        ErrorCode::EnvelopeMalformed,
    );
    let other = Envelope::sign(
        "application/vnd.evidence-ledger.anchor.v1+json",
        br#"{"example":true}"#,
        &stranger_key(),
    );
    put(
        out,
        "dsse",
        "wrong-key",
        dsse_json("signed by another key", &other.to_json(), &k, "standard"),
        Some(ErrorCode::SignatureInvalid),
    );
    // Keys a verifier must refuse to parse (SPEC.md §5.1 rule 5, §6.3 rules 3 and 5). With
    // A = identity and R = identity, S = 0 satisfies [S]B = R + [k]A for every message, so a
    // verifier that accepts the key accepts this signature over anything.
    let identity_sig = {
        let mut s = vec![0u8; 64];
        s[0] = 1;
        s
    };
    for (name, desc, raw) in [
        (
            "small-order-key",
            "public key is the identity point (small order); the signature R = identity, S = 0 \
             verifies for every message under the cofactorless equation",
            hex_decode32("0100000000000000000000000000000000000000000000000000000000000000"),
        ),
        (
            "non-canonical-key",
            "public key is the identity point encoded with y = p + 1 (non-canonical, and of small \
             order); the signature R = identity, S = 0",
            hex_decode32("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        ),
    ] {
        let keyid = format!("{ORIGIN}+{}", raw_key_id(ORIGIN, &raw));
        let env = json!({
            "payload": evl_sdk::b64::encode(br#"{"example":true}"#),
            "payloadType": "application/vnd.evidence-ledger.anchor.v1+json",
            "signatures": [{"keyid": keyid, "sig": evl_sdk::b64::encode(&identity_sig)}],
        });
        put(
            out,
            "dsse",
            name,
            json!({"desc": desc, "envelope": env, "public_key_hex": hex_of(&raw), "keyid": keyid, "encoding": "standard"}),
            Some(ErrorCode::KeyMalformed),
        );
    }
}

fn hex_decode32(h: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).expect("fixed hex");
    }
    out
}

/// The signed-note key ID of a raw Ed25519 key, as 8 hex digits (SPEC.md §5.1 rule 4), for keys
/// the SDK refuses to parse.
fn raw_key_id(name: &str, raw: &[u8; 32]) -> String {
    let mut buf = name.as_bytes().to_vec();
    buf.extend_from_slice(&[b'\n', 0x01]);
    buf.extend_from_slice(raw);
    hex_of(&evl_sdk::sha256(&buf).as_bytes()[..4])
}

/// A vkey for a raw key the SDK refuses to parse, with its correct key ID.
fn raw_vkey(name: &str, raw: &[u8; 32]) -> String {
    let mut alg_key = vec![0x01];
    alg_key.extend_from_slice(raw);
    format!(
        "{name}+{}+{}",
        raw_key_id(name, raw),
        evl_sdk::b64::encode(&alg_key)
    )
}

/// Adds the Ed25519 group order L to a little-endian scalar (32 bytes).
fn add_l(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (b, l) in s.iter_mut().zip(L) {
        let v = u16::from(*b) + u16::from(l) + carry;
        *b = v as u8;
        carry = v >> 8;
    }
}

fn receipt_for(t: &MemoryTree, i: u64, n: u64, k: &SecretKey) -> Receipt {
    Receipt {
        node_id: node(i).id(),
        leaf_index: i,
        inclusion: prove_inclusion(t, LeafIndex::new(i).expect("index"), size(n)).expect("in range"),
        checkpoint: checkpoint(t, n, k).to_text(),
    }
}

fn receipts(out: &mut Out) {
    let t = tree();
    let k = log_key();
    let tr: Value = serde_json::from_slice(&trust_root().to_json()).unwrap_or(Value::Null);
    let mut put_r = |name: &str, desc: &str, r: &Receipt, code: Option<ErrorCode>| {
        let rv: Value = serde_json::from_slice(&r.to_json()).unwrap_or(Value::Null);
        put(
            out,
            "receipt",
            name,
            json!({"desc": desc, "trust_root": tr, "at": AT, "receipt": rv}),
            code,
        );
    };
    let good = receipt_for(&t, 20, LEAVES, &k);
    put_r("ok", "leaf 20 in the 37-leaf tree", &good, None);
    put_r(
        "ok-first-leaf",
        "leaf 0 in the 1-leaf tree",
        &receipt_for(&t, 0, 1, &k),
        None,
    );
    let mut r = good.clone();
    r.leaf_index = 21;
    put_r(
        "index-mismatch",
        "leaf_index differs from the proof's",
        &r,
        Some(ErrorCode::ReceiptInvalid),
    );
    let mut r = good.clone();
    r.node_id = node(21).id();
    put_r(
        "other-node",
        "another node's id",
        &r,
        Some(ErrorCode::MerkleMismatch),
    );
    let mut r = good.clone();
    let mut h = r.inclusion.hashes().to_vec();
    h[2] = flip(&h[2]);
    r.inclusion = InclusionProof::new(r.inclusion.index(), r.inclusion.size(), h).expect("short");
    put_r(
        "proof-bitflip",
        "bit flip in proof[2]",
        &r,
        Some(ErrorCode::MerkleMismatch),
    );
    let mut r = good.clone();
    r.checkpoint = r.checkpoint.replacen("\n37\n", "\n38\n", 1);
    put_r(
        "checkpoint-edited",
        "checkpoint size edited",
        &r,
        Some(ErrorCode::SignatureInvalid),
    );
    put_r(
        "expired-key",
        "checkpoint by a key valid only in 2025",
        &receipt_for(&t, 20, LEAVES, &old_key()),
        Some(ErrorCode::KeyExpired),
    );
    put_r(
        "revoked-key",
        "checkpoint by a revoked key",
        &receipt_for(&t, 20, LEAVES, &revoked_key()),
        Some(ErrorCode::KeyRevoked),
    );
    put_r(
        "unknown-key",
        "checkpoint by an untrusted key",
        &receipt_for(&t, 20, LEAVES, &stranger_key()),
        Some(ErrorCode::KeyUnknown),
    );
}

struct ChainBuilder {
    t: MemoryTree,
}

impl ChainBuilder {
    fn payload(
        &self,
        seq: u64,
        segment: u64,
        n: u64,
        prev: Option<&AnchorPayload>,
        time: &str,
        k: &SecretKey,
    ) -> AnchorPayload {
        AnchorPayload {
            kind: ANCHOR_TYPE.into(),
            origin: ORIGIN.into(),
            seq,
            segment,
            tree_size: n,
            root: head(&self.t, n).root().to_base64(),
            checkpoint: checkpoint(&self.t, n, k).to_text(),
            prev: prev.map(AnchorPayload::id),
            segment_reason: None,
            archived: None,
            time: ts(time),
        }
    }
    fn proof(&self, m: u64, n: u64) -> Option<ConsistencyProof> {
        (m > 0 && m < n).then(|| prove_consistency(&self.t, size(m), size(n)).expect("in range"))
    }
}

fn chain_json(
    desc: &str,
    anchors: &[Vec<u8>],
    proofs: &[Option<ConsistencyProof>],
    error_seq: Option<u64>,
) -> Value {
    let tr: Value = serde_json::from_slice(&trust_root().to_json()).unwrap_or(Value::Null);
    let anchors: Vec<Value> = anchors
        .iter()
        .map(|a| serde_json::from_slice(a).unwrap_or(Value::Null))
        .collect();
    let proofs: Vec<Value> = proofs
        .iter()
        .map(|p| serde_json::to_value(p).unwrap_or(Value::Null))
        .collect();
    json!({"desc": desc, "trust_root": tr, "anchors": anchors, "proofs": proofs, "error_seq": error_seq})
}

fn anchors(out: &mut Out) {
    let b = ChainBuilder { t: tree() };
    let k = log_key();
    let p0 = b.payload(0, 0, 5, None, "2026-02-01T00:00:00Z", &k);
    let p1 = b.payload(1, 0, 13, Some(&p0), "2026-02-01T06:00:00Z", &k);
    let p2 = b.payload(2, 0, 13, Some(&p1), "2026-02-01T12:00:00Z", &k);
    let p3 = b.payload(3, 0, 37, Some(&p2), "2026-02-01T18:00:00Z", &k);
    let sign = |p: &AnchorPayload| p.sign(&k).to_json();
    let good = [sign(&p0), sign(&p1), sign(&p2), sign(&p3)];
    let proofs = vec![None, b.proof(5, 13), None, b.proof(13, 37)];
    put(
        out,
        "anchor-chain",
        "ok-four-anchors",
        chain_json("genesis, growth, same size, growth", &good, &proofs, None),
        None,
    );
    put(
        out,
        "anchor-chain",
        "ok-single",
        chain_json("a lone genesis anchor", &good[..1], &proofs[..1], None),
        None,
    );
    put(
        out,
        "anchor-chain",
        "ok-from-trust-point",
        chain_json(
            "verification starting at anchor 2",
            &good[2..],
            &[None, b.proof(13, 37)],
            None,
        ),
        None,
    );

    // A new segment after anchor 2 was lost: genesis of segment 1 links to anchor 1.
    let mut s0 = b.payload(3, 1, 20, None, "2026-02-02T00:00:00Z", &k);
    s0.segment_reason = Some("anchor 2 lost to storage corruption; restored from backup".into());
    s0.archived = Some(ArchivedLink {
        segment: 0,
        last_seq: 1,
        last_anchor: p1.id(),
    });
    let s1 = b.payload(4, 1, 37, Some(&s0), "2026-02-02T06:00:00Z", &k);
    let seg = [sign(&p0), sign(&p1), sign(&s0), sign(&s1)];
    let seg_proofs = vec![None, b.proof(5, 13), b.proof(13, 20), b.proof(20, 37)];
    put(
        out,
        "anchor-chain",
        "ok-new-segment",
        chain_json(
            "segment break with a reason and an archived link",
            &seg,
            &seg_proofs,
            None,
        ),
        None,
    );

    let mut bad = |name: &str,
                   desc: &str,
                   anchors: &[Vec<u8>],
                   proofs: &[Option<ConsistencyProof>],
                   seq: Option<u64>,
                   code: ErrorCode| {
        put(
            out,
            "anchor-chain",
            name,
            chain_json(desc, anchors, proofs, seq),
            Some(code),
        );
    };
    bad(
        "missing-anchor",
        "anchor 1 left out",
        &[good[0].clone(), good[2].clone(), good[3].clone()],
        &[None, b.proof(5, 13), b.proof(13, 37)],
        Some(2),
        ErrorCode::ChainBroken,
    );
    let mut x = p2.clone();
    x.prev = Some(p0.id());
    bad(
        "wrong-prev",
        "anchor 2 links to anchor 0",
        &[good[0].clone(), good[1].clone(), sign(&x)],
        &proofs[..3],
        Some(2),
        ErrorCode::ChainBroken,
    );
    let mut x = p2.clone();
    x.seq = 5;
    bad(
        "seq-gap",
        "anchor 2 numbered 5",
        &[good[0].clone(), good[1].clone(), sign(&x)],
        &proofs[..3],
        Some(5),
        ErrorCode::ChainBroken,
    );
    let x = b.payload(2, 0, 8, Some(&p1), "2026-02-01T12:00:00Z", &k);
    bad(
        "tree-shrank",
        "anchor 2 at size 8 after 13",
        &[good[0].clone(), good[1].clone(), sign(&x)],
        &[None, b.proof(5, 13), None],
        Some(2),
        ErrorCode::TreeShrank,
    );
    let mut bp = proofs.clone();
    if let Some(p) = &bp[3] {
        let mut h = p.hashes().to_vec();
        h[0] = flip(&h[0]);
        bp[3] = ConsistencyProof::new(p.old_size(), p.new_size(), h).ok();
    }
    bad(
        "bad-consistency",
        "bit flip in the proof from 13 to 37",
        &good,
        &bp,
        Some(3),
        ErrorCode::MerkleMismatch,
    );
    let mut np = proofs.clone();
    np[1] = None;
    bad(
        "missing-consistency",
        "no proof from 5 to 13",
        &good,
        &np,
        Some(1),
        ErrorCode::ProofMalformed,
    );
    let mut sig = serde_json::from_slice::<Value>(&good[1]).unwrap_or(Value::Null);
    let s = sig["signatures"][0]["sig"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    sig["signatures"][0]["sig"] = json!(format!(
        "{}{}",
        if s.starts_with('A') { "B" } else { "A" },
        &s[1..]
    ));
    bad(
        "signature-invalid",
        "anchor 1 signature altered",
        &[good[0].clone(), serde_json::to_vec(&sig).unwrap_or_default()],
        &proofs[..2],
        Some(1),
        ErrorCode::SignatureInvalid,
    );
    let x = b.payload(1, 0, 13, Some(&p0), "2026-02-01T06:00:00Z", &k);
    bad(
        "unknown-key",
        "anchor 1 signed by an untrusted key",
        &[good[0].clone(), x.sign(&stranger_key()).to_json()],
        &proofs[..2],
        Some(1),
        ErrorCode::KeyUnknown,
    );
    let x = b.payload(1, 0, 13, Some(&p0), "2026-02-01T06:00:00Z", &old_key());
    bad(
        "expired-key",
        "anchor 1 (2026) signed by a key valid only in 2025",
        &[good[0].clone(), x.sign(&old_key()).to_json()],
        &proofs[..2],
        Some(1),
        ErrorCode::KeyExpired,
    );
    let x = b.payload(1, 0, 13, Some(&p0), "2026-02-01T06:00:00Z", &revoked_key());
    bad(
        "revoked-key",
        "anchor 1 signed by a revoked key",
        &[good[0].clone(), x.sign(&revoked_key()).to_json()],
        &proofs[..2],
        Some(1),
        ErrorCode::KeyRevoked,
    );
    let mut x = b.payload(1, 0, 13, Some(&p0), "2026-02-01T06:00:00Z", &k);
    x.origin = "example.org/other-log".into();
    bad(
        "foreign-origin",
        "anchor from another log",
        &[good[0].clone(), sign(&x)],
        &proofs[..2],
        Some(1),
        ErrorCode::OriginMismatch,
    );
    let mut x = b.payload(1, 0, 13, Some(&p0), "2026-02-01T06:00:00Z", &k);
    x.checkpoint = checkpoint(&b.t, 12, &k).to_text();
    bad(
        "checkpoint-mismatch",
        "embedded checkpoint is for size 12",
        &[good[0].clone(), sign(&x)],
        &proofs[..2],
        Some(1),
        ErrorCode::AnchorMalformed,
    );
    let x = b.payload(1, 0, 13, Some(&p0), "2026-01-31T00:00:00Z", &k);
    bad(
        "time-backwards",
        "anchor 1 dated before anchor 0",
        &[good[0].clone(), sign(&x)],
        &proofs[..2],
        Some(1),
        ErrorCode::ChainBroken,
    );
    let mut x = s0.clone();
    x.segment_reason = None;
    bad(
        "segment-without-reason",
        "new segment with no reason",
        &[seg[0].clone(), seg[1].clone(), sign(&x)],
        &seg_proofs[..3],
        Some(3),
        ErrorCode::AnchorMalformed,
    );
    let mut x = s0.clone();
    x.archived = Some(ArchivedLink {
        segment: 0,
        last_seq: 1,
        last_anchor: p0.id(),
    });
    bad(
        "segment-bad-archive-link",
        "new segment links to the wrong archived anchor",
        &[seg[0].clone(), seg[1].clone(), sign(&x)],
        &seg_proofs[..3],
        Some(3),
        ErrorCode::ChainBroken,
    );
    let noncanon = {
        let payload = format!(" {}", String::from_utf8_lossy(&p1.to_bytes()));
        Envelope::sign(evl_sdk::dsse::ANCHOR_PAYLOAD_TYPE, payload.as_bytes(), &k).to_json()
    };
    bad(
        "payload-not-canonical",
        "anchor payload with a leading space",
        &[good[0].clone(), noncanon],
        &proofs[..2],
        None,
        ErrorCode::AnchorMalformed,
    );
    // SPEC.md §8.2: key validity is checked before the signature, as for notes.
    for (name, desc, signer, code) in [
        (
            "revoked-key-bad-signature",
            "anchor 1 signed by a revoked key, signature altered: KEY_REVOKED, not SIGNATURE_INVALID",
            revoked_key(),
            ErrorCode::KeyRevoked,
        ),
        (
            "expired-key-bad-signature",
            "anchor 1 (2026) signed by a key valid only in 2025, signature altered: KEY_EXPIRED",
            old_key(),
            ErrorCode::KeyExpired,
        ),
    ] {
        let x = b.payload(1, 0, 13, Some(&p0), "2026-02-01T06:00:00Z", &signer);
        bad(
            name,
            desc,
            &[good[0].clone(), alter_signature(&x.sign(&signer).to_json())],
            &proofs[..2],
            Some(1),
            code,
        );
    }
    // SPEC.md §7.1 rule 2: a missing nullable member is not null.
    for member in ["prev", "segment_reason", "archived"] {
        let mut v: Value = serde_json::from_slice(&p0.to_bytes()).unwrap_or(Value::Null);
        if let Value::Object(o) = &mut v {
            o.remove(member);
        }
        let payload = evl_sdk::canonicalize(&serde_json::to_vec(&v).unwrap_or_default()).expect("canonical");
        bad(
            &format!("payload-missing-{}", member.replace('_', "-")),
            &format!("genesis anchor whose canonical payload has no `{member}` member"),
            &[Envelope::sign(evl_sdk::dsse::ANCHOR_PAYLOAD_TYPE, &payload, &k).to_json()],
            &proofs[..1],
            None,
            ErrorCode::AnchorMalformed,
        );
    }
    // SPEC.md §7.2 step 3.4: the first genesis (segment 0, prev null) has seq 0.
    let x = b.payload(3, 0, 5, None, "2026-02-01T00:00:00Z", &k);
    bad(
        "genesis-seq-nonzero",
        "a segment-0 genesis anchor (prev null) numbered 3",
        &[sign(&x)],
        &proofs[..1],
        Some(3),
        ErrorCode::AnchorMalformed,
    );
}

/// Changes one base64 character of the first signature of an envelope.
fn alter_signature(env: &[u8]) -> Vec<u8> {
    let mut v = serde_json::from_slice::<Value>(env).unwrap_or(Value::Null);
    let s = v["signatures"][0]["sig"].as_str().unwrap_or_default().to_string();
    v["signatures"][0]["sig"] = json!(format!(
        "{}{}",
        if s.starts_with('A') { "B" } else { "A" },
        &s[1..]
    ));
    serde_json::to_vec(&v).unwrap_or_default()
}

fn forks(out: &mut Out) {
    let t = tree();
    let k = log_key();
    // A forked tree: same first 20 leaves, then different ones.
    let forked = MemoryTree::from_leaf_hashes(
        (0..LEAVES).map(|i| if i < 20 { node(i) } else { node(1000 + i) }.id().leaf_hash()),
    );
    let a = checkpoint(&t, LEAVES, &k).to_text();
    let b = checkpoint(&forked, LEAVES, &k).to_text();
    let ev = ForkEvidence {
        kind: FORK_EVIDENCE_TYPE.into(),
        a: a.clone(),
        b: b.clone(),
        conflict: None,
    };
    let tr: Value = serde_json::from_slice(&trust_root().to_json()).unwrap_or(Value::Null);
    let mut put_f = |name: &str, desc: &str, ev: &ForkEvidence, code: Option<ErrorCode>| {
        put(
            out,
            "fork",
            name,
            json!({"desc": desc, "trust_root": tr, "at": AT, "evidence": serde_json::to_value(ev).unwrap_or(Value::Null)}),
            code,
        );
    };
    put_f(
        "ok-same-size",
        "two signed heads of size 37 with different roots",
        &ev,
        None,
    );
    let b30 = checkpoint(&forked, 30, &k).to_text();
    let pa = prove_inclusion(&t, LeafIndex::new(25).expect("i"), size(LEAVES)).expect("p");
    let pb = prove_inclusion(&forked, LeafIndex::new(25).expect("i"), size(30)).expect("p");
    let conflict = ConflictingLeaf {
        leaf_hash_a: node(25).id().leaf_hash().to_base64(),
        proof_a: pa.clone(),
        leaf_hash_b: node(1025).id().leaf_hash().to_base64(),
        proof_b: pb,
    };
    let ev2 = ForkEvidence {
        kind: FORK_EVIDENCE_TYPE.into(),
        a: a.clone(),
        b: b30.clone(),
        conflict: Some(conflict.clone()),
    };
    put_f(
        "ok-conflicting-leaf",
        "leaf 25 differs between a size-37 and a size-30 head",
        &ev2,
        None,
    );
    let same = ForkEvidence {
        kind: FORK_EVIDENCE_TYPE.into(),
        a: a.clone(),
        b: a.clone(),
        conflict: None,
    };
    put_f(
        "same-head",
        "the same head twice",
        &same,
        Some(ErrorCode::ForkEvidenceInvalid),
    );
    let honest = ForkEvidence {
        kind: FORK_EVIDENCE_TYPE.into(),
        a: a.clone(),
        b: checkpoint(&t, 30, &k).to_text(),
        conflict: None,
    };
    put_f(
        "different-sizes-no-leaf",
        "consistent heads of different sizes, no conflicting leaf",
        &honest,
        Some(ErrorCode::ForkEvidenceInvalid),
    );
    let mut bad_leaf = conflict;
    bad_leaf.leaf_hash_b = node(25).id().leaf_hash().to_base64();
    let ev3 = ForkEvidence {
        kind: FORK_EVIDENCE_TYPE.into(),
        a,
        b: b30,
        conflict: Some(bad_leaf),
    };
    put_f(
        "same-leaf",
        "the 'conflicting' leaves are equal",
        &ev3,
        Some(ErrorCode::ForkEvidenceInvalid),
    );
    let forged = ForkEvidence {
        kind: FORK_EVIDENCE_TYPE.into(),
        a: checkpoint(&t, LEAVES, &k).to_text(),
        b: checkpoint(&forked, LEAVES, &stranger_key()).to_text(),
        conflict: None,
    };
    put_f(
        "untrusted-head",
        "second head signed by an untrusted key",
        &forged,
        Some(ErrorCode::KeyUnknown),
    );
    // SPEC.md §7.4: fork evidence is strict JSON (§2.2) with exactly the listed members.
    let mut big = ev2.clone();
    if let Some(c) = &mut big.conflict {
        let mut p: Value = serde_json::to_value(&c.proof_b).unwrap_or(Value::Null);
        p["tree_size"] = json!(1u64 << 53);
        put(
            out,
            "fork",
            "proof-size-beyond-2-pow-53",
            json!({"desc": "proof_b's tree_size is 2^53: a §2.2 number fault inside the evidence",
                   "trust_root": tr, "at": AT,
                   "evidence": {"type": FORK_EVIDENCE_TYPE, "a": big.a, "b": big.b,
                                "conflict": {"leaf_hash_a": c.leaf_hash_a, "proof_a": c.proof_a,
                                             "leaf_hash_b": c.leaf_hash_b, "proof_b": p}}}),
            Some(ErrorCode::ForkEvidenceInvalid),
        );
    }
    let mut extra: Value = serde_json::to_value(&ev).unwrap_or(Value::Null);
    extra["note"] = json!("unknown member");
    put(
        out,
        "fork",
        "unknown-member",
        json!({"desc": "an unknown member", "trust_root": tr, "at": AT, "evidence": extra}),
        Some(ErrorCode::ForkEvidenceInvalid),
    );
    // A lenient parser keeps the last `b` and sees a valid fork of two size-37 heads.
    let evidence_json = format!(
        "{{\"a\":{},\"b\":{},\"b\":{},\"conflict\":null,\"type\":\"{FORK_EVIDENCE_TYPE}\"}}",
        json!(ev.a),
        json!(ev.a),
        json!(ev.b)
    );
    put(
        out,
        "fork",
        "duplicate-member",
        json!({"desc": "member b given twice (the last one would make a valid fork)", "trust_root": tr,
               "at": AT, "evidence": null, "evidence_json": evidence_json}),
        Some(ErrorCode::ForkEvidenceInvalid),
    );
}

fn trust_roots(out: &mut Out) {
    let good: Value = serde_json::from_slice(&trust_root().to_json()).unwrap_or(Value::Null);
    put(
        out,
        "trust-root",
        "ok",
        json!({"desc": "three keys: current, expired, revoked", "trust_root": good}),
        None,
    );
    let mut m = |name: &str, desc: &str, f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        put(
            out,
            "trust-root",
            name,
            json!({"desc": desc, "trust_root": v}),
            Some(ErrorCode::TrustRootInvalid),
        );
    };
    m("wrong-type", "type is not evl.trust-root/v1", &|v| {
        v["type"] = json!("evl.trust-root/v2")
    });
    m("unknown-member", "an unknown member", &|v| v["extra"] = json!(1));
    m("no-keys", "an empty key list", &|v| v["keys"] = json!([]));
    m("bad-vkey-id", "vkey whose key ID does not match", &|v| {
        if let Some(s) = v["keys"][0]["vkey"].as_str() {
            let parts: Vec<&str> = s.split('+').collect();
            v["keys"][0]["vkey"] = json!(format!("{}+00000000+{}", parts[0], parts.get(2).unwrap_or(&"")));
        }
    });
    m("bad-time", "not_before is not RFC 3339 UTC", &|v| {
        v["keys"][0]["not_before"] = json!("2026-01-01 00:00:00")
    });
    // SPEC.md §8.1 rules 2–4.
    let other = key("example.org/other-log", "evl-vectors log key 2026");
    m(
        "key-name-not-origin",
        "a key named by another origin (§8.1 rule 3)",
        &|v| v["keys"][0]["vkey"] = json!(other.public().vkey()),
    );
    m(
        "duplicate-key",
        "the current key listed twice, once revoked (§8.1 rule 4)",
        &|v| {
            let mut dup = v["keys"][0].clone();
            dup["revoked"] = json!(true);
            if let Some(keys) = v["keys"].as_array_mut() {
                keys.push(dup);
            }
        },
    );
    m(
        "origin-with-space",
        "origin is not a valid key name: it contains a space (§8.1 rule 2)",
        &|v| v["origin"] = json!("example.org/evl vectors"),
    );
    m(
        "origin-with-plus",
        "origin is not a valid key name: it contains '+' (§8.1 rule 2)",
        &|v| v["origin"] = json!("example.org/evl+vectors"),
    );
    // SPEC.md §5.1 rule 5: vkeys with the correct key ID whose key bytes must be refused.
    m(
        "vkey-non-canonical-key",
        "vkey whose key encodes y = p + 3: a valid point of large order, but not canonical (y >= p)",
        &|v| {
            let raw = hex_decode32("f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
            v["keys"][0]["vkey"] = json!(raw_vkey(ORIGIN, &raw));
        },
    );
    m(
        "vkey-small-order-key",
        "vkey whose key is a canonically encoded point of order 8",
        &|v| {
            let raw = hex_decode32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
            v["keys"][0]["vkey"] = json!(raw_vkey(ORIGIN, &raw));
        },
    );
}

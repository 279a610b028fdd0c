//! Vector families `multiproof` (SPEC.md §9.5) and `tlog-proof` (§9.6): their cases and how the
//! SDK checks a case file.

use crate::cases::put;
use crate::material::*;
use evl_sdk::{
    Digest, ErrorCode, LeafIndex, MemoryTree, MultiProof, SecretKey, SignedCheckpoint, TlogProof, TreeHead,
    TreeSize, TrustRoot, prove_inclusion, prove_multi,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

type Out = BTreeMap<String, Vec<u8>>;

/// Writes both families.
pub fn all(out: &mut Out) {
    multiproof(out);
    tlog_proof(out);
}

/// Runs the SDK over one case of either family.
pub fn check(kind: &str, v: &Value) -> Result<(), ErrorCode> {
    match kind {
        "multiproof" => check_multiproof(v),
        _ => check_tlog_proof(v),
    }
}

fn flip(d: &Digest) -> Digest {
    let mut b = *d.as_bytes();
    b[0] ^= 1;
    Digest::from_bytes(b)
}

fn leaf(i: u64) -> Digest {
    node(i).id().leaf_hash()
}

// ---- multiproof ----

/// A multiproof case: the trusted head, the leaves (index, leaf hash) and the proof object.
fn mp_json(desc: &str, head: &TreeHead, leaves: &[(u64, Digest)], proof: Value) -> Value {
    let leaves: Vec<Value> = leaves
        .iter()
        .map(|(i, h)| json!({"index": i, "leaf_hash": h.to_base64()}))
        .collect();
    json!({"desc": desc, "tree_size": head.size().get(), "root": head.root().to_base64(),
           "leaves": leaves, "proof": proof})
}

fn prove(t: &MemoryTree, n: u64, ix: &[u64]) -> MultiProof {
    let ix: Vec<LeafIndex> = ix.iter().map(|&i| LeafIndex::new(i).expect("index")).collect();
    prove_multi(t, &ix, size(n)).expect("valid targets")
}

fn proof_value(p: &MultiProof) -> Value {
    serde_json::from_slice(&p.to_json()).unwrap_or(Value::Null)
}

fn multiproof(out: &mut Out) {
    let t = tree();
    let pairs = |ix: &[u64]| -> Vec<(u64, Digest)> { ix.iter().map(|&i| (i, leaf(i))).collect() };
    let good_sets: &[(u64, &[u64], &str)] = &[
        (1, &[0], "size1"),
        (2, &[1], "size2-one"),
        (7, &[3], "size7-one"),
        (7, &[1, 5], "size7-two"),
        (16, &[8, 9], "size16-adjacent"),
        (37, &[0, 36], "size37-first-last"),
        (37, &[2, 17, 36], "size37-three"),
        (37, &[4, 5, 6, 7, 20, 30, 31, 32, 33], "size37-runs"),
        (
            37,
            &[
                0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
                26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36,
            ],
            "size37-all",
        ),
    ];
    for (n, ix, name) in good_sets {
        let p = prove(&t, *n, ix);
        put(
            out,
            "multiproof",
            &format!("ok-{name}"),
            mp_json(
                &format!("leaves {ix:?} of tree {n}: {} hashes", p.hashes().len()),
                &head(&t, *n),
                &pairs(ix),
                proof_value(&p),
            ),
            None,
        );
    }

    // Mutations of the three-leaf proof in the 37-leaf tree.
    let ix: &[u64] = &[2, 17, 36];
    let h = head(&t, LEAVES);
    let good = prove(&t, LEAVES, ix);
    let hashes = good.hashes().to_vec();
    let with = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| -> Value {
        let mut v = proof_value(&good);
        if let Value::Object(m) = &mut v {
            f(m);
        }
        v
    };
    let b64 = |hs: &[Digest]| -> Value { json!(hs.iter().map(Digest::to_base64).collect::<Vec<_>>()) };
    let mm = Some(ErrorCode::MerkleMismatch);
    let pm = Some(ErrorCode::ProofMalformed);
    let neg = |out: &mut Out,
               name: &str,
               desc: &str,
               proof: Value,
               leaves: &[(u64, Digest)],
               head: &TreeHead,
               code| {
        put(
            out,
            "multiproof",
            name,
            mp_json(&format!("reject: {desc}"), head, leaves, proof),
            code,
        );
    };
    for k in 0..hashes.len() {
        let mut m = hashes.clone();
        m[k] = flip(&m[k]);
        let proof = with(&|o| {
            o.insert("hashes".into(), b64(&m));
        });
        let desc = format!("hash {k} has one bit flipped");
        neg(
            out,
            &format!("flipped-hash-{k}"),
            &desc,
            proof,
            &pairs(ix),
            &h,
            mm,
        );
    }
    let mut drop_first = hashes.clone();
    drop_first.remove(0);
    let mut drop_last = hashes.clone();
    drop_last.pop();
    let mut add_last = hashes.clone();
    add_last.push(leaf(0));
    let mut add_first = hashes.clone();
    add_first.insert(0, leaf(0));
    for (name, desc, hs) in [
        ("missing-first-hash", "first hash removed", drop_first),
        ("missing-last-hash", "last hash removed", drop_last),
        ("extra-hash-end", "one hash too many, appended", add_last),
        ("extra-hash-front", "one hash too many, prepended", add_first),
    ] {
        let proof = with(&|o| {
            o.insert("hashes".into(), b64(&hs));
        });
        neg(out, name, desc, proof, &pairs(ix), &h, pm);
    }
    let set = |k: &str, val: Value| {
        with(&|o| {
            o.insert(k.into(), val.clone());
        })
    };
    let bad_b64 = |s: &str| {
        let mut v: Vec<Value> = hashes.iter().map(|d| json!(d.to_base64())).collect();
        v[0] = json!(s);
        set("hashes", Value::Array(v))
    };
    let short = evl_sdk::b64::encode(&[1u8; 31]);
    let wrong_size = set("tree_size", json!(38));
    neg(
        out,
        "wrong-size",
        "proof tree_size 38, trusted head 37",
        wrong_size,
        &pairs(ix),
        &h,
        pm,
    );
    let unsorted = set("leaf_indices", json!([17, 2, 36]));
    neg(
        out,
        "unsorted-indices",
        "leaf_indices [17, 2, 36]",
        unsorted,
        &pairs(&[17, 2, 36]),
        &h,
        pm,
    );
    let dup = set("leaf_indices", json!([2, 2, 17, 36]));
    neg(
        out,
        "duplicate-indices",
        "leaf_indices [2, 2, 17, 36]",
        dup,
        &pairs(&[2, 2, 17, 36]),
        &h,
        pm,
    );
    let at_size = set("leaf_indices", json!([2, 17, 37]));
    let at_size_leaves = [(2, leaf(2)), (17, leaf(17)), (37, leaf(0))];
    neg(
        out,
        "index-at-size",
        "leaf index 37 in a tree of 37",
        at_size,
        &at_size_leaves,
        &h,
        pm,
    );
    let none = set("leaf_indices", json!([]));
    neg(out, "no-indices", "empty leaf_indices", none, &[], &h, pm);
    neg(
        out,
        "bad-base64",
        "a hash is not base64",
        bad_b64("!!!!"),
        &pairs(ix),
        &h,
        pm,
    );
    neg(
        out,
        "short-hash",
        "a hash is 31 bytes",
        bad_b64(&short),
        &pairs(ix),
        &h,
        pm,
    );
    let unknown = set("leaf_index", json!(2));
    neg(
        out,
        "unknown-member",
        "an extra member",
        unknown,
        &pairs(ix),
        &h,
        pm,
    );
    let missing = with(&|o| {
        o.remove("leaf_indices");
    });
    neg(
        out,
        "missing-member",
        "no leaf_indices",
        missing,
        &pairs(ix),
        &h,
        pm,
    );
    let float = set("leaf_indices", json!([2.5, 17, 36]));
    neg(
        out,
        "index-float",
        "a leaf index written 2.5",
        float,
        &pairs(ix),
        &h,
        pm,
    );
    neg(
        out,
        "leaves-differ-from-indices",
        "the verifier's leaves are 2, 18, 36; the proof is for 2, 17, 36",
        proof_value(&good),
        &pairs(&[2, 18, 36]),
        &h,
        pm,
    );
    // Well formed, wrong data.
    let mut wrong_leaf = pairs(ix);
    wrong_leaf[1].1 = leaf(18);
    let desc = "leaf 17's hash replaced by leaf 18's";
    neg(
        out,
        "wrong-leaf-hash",
        desc,
        proof_value(&good),
        &wrong_leaf,
        &h,
        mm,
    );
    let other_root = TreeHead::new(size(LEAVES), flip(&h.root()));
    let desc = "trusted root of another tree of the same size";
    neg(
        out,
        "wrong-root",
        desc,
        proof_value(&good),
        &pairs(ix),
        &other_root,
        mm,
    );
    let smaller = proof_value(&prove(&t, 36, &[2, 17, 35]));
    let desc = "a valid proof for tree 36 against the head of tree 37";
    neg(
        out,
        "proof-for-smaller-tree",
        desc,
        smaller,
        &pairs(&[2, 17, 35]),
        &h,
        pm,
    );
}

fn check_multiproof(v: &Value) -> Result<(), ErrorCode> {
    let size = v["tree_size"]
        .as_u64()
        .and_then(TreeSize::new)
        .ok_or(ErrorCode::ProofMalformed)?;
    let root =
        Digest::from_base64(v["root"].as_str().unwrap_or_default()).ok_or(ErrorCode::ProofMalformed)?;
    let leaves = v["leaves"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| {
                    let i = l["index"]
                        .as_u64()
                        .and_then(LeafIndex::new)
                        .ok_or(ErrorCode::ProofMalformed)?;
                    let h = Digest::from_base64(l["leaf_hash"].as_str().unwrap_or_default())
                        .ok_or(ErrorCode::ProofMalformed)?;
                    Ok((i, h))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap_or(Ok(Vec::new()))?;
    let proof =
        MultiProof::from_json(&serde_json::to_vec(&v["proof"]).unwrap_or_default()).map_err(|e| e.code())?;
    TreeHead::new(size, root)
        .verify_multi(&leaves, &proof)
        .map_err(|e| e.code())?;
    Ok(())
}

// ---- tlog-proof ----

/// A tlog-proof case: the proof text, the leaf hash it must prove, the trust root and time, and
/// the vkey a peer that knows no trust root (Go's `note.Open`) is given.
fn tp_json(desc: &str, proof: &str, leaf: &Digest, tr: &TrustRoot) -> Value {
    json!({"desc": desc, "proof": proof, "leaf_hash": leaf.to_base64(), "at": AT,
           "vkey": log_key().public().vkey(),
           "trust_root": serde_json::from_slice::<Value>(&tr.to_json()).unwrap_or(Value::Null)})
}

fn tlog_for(t: &MemoryTree, i: u64, n: u64, cp: SignedCheckpoint, extra: bool) -> TlogProof {
    let inc = prove_inclusion(t, LeafIndex::new(i).expect("index"), size(n)).expect("in range");
    if extra {
        TlogProof::for_node(&node(i).id(), &inc, cp).expect("same size")
    } else {
        TlogProof::new(inc.index(), None, inc.hashes().to_vec(), cp).expect("short proof")
    }
}

fn tlog_proof(out: &mut Out) {
    let t = tree();
    let tr = trust_root();
    let k = log_key();
    let good_cases: &[(u64, u64, bool, &str)] = &[
        (5, LEAVES, true, "node5-size37"),
        (36, LEAVES, true, "last-node-size37"),
        (0, 1, false, "size1-no-extra"),
        (3, 7, false, "size7-no-extra"),
    ];
    for &(i, n, extra, name) in good_cases {
        let p = tlog_for(&t, i, n, checkpoint(&t, n, &k), extra);
        let desc = format!(
            "leaf {i} of tree {n}{}",
            if extra { ", extra = its NodeId" } else { "" }
        );
        put(
            out,
            "tlog-proof",
            &format!("ok-{name}"),
            tp_json(&desc, &p.to_text(), &leaf(i), &tr),
            None,
        );
    }

    let good = tlog_for(&t, 5, LEAVES, checkpoint(&t, LEAVES, &k), true);
    let text = good.to_text();
    let l5 = leaf(5);
    let hs = good.hashes().to_vec();
    let h0 = hs[0].to_base64();
    let rebuilt = |i: u64, hashes: Vec<Digest>| -> String {
        TlogProof::new(
            LeafIndex::new(i).expect("index"),
            good.extra().map(<[u8]>::to_vec),
            hashes,
            good.checkpoint().clone(),
        )
        .expect("bounded")
        .to_text()
    };
    let (_, note) = text.split_once("\n\n").unwrap_or_default();
    let pm = Some(ErrorCode::ProofMalformed);
    let mm = Some(ErrorCode::MerkleMismatch);
    let mut bad: Vec<(String, String, String, Digest, Option<ErrorCode>)> = Vec::new();
    let mut textual = |name: &str, desc: &str, s: String| {
        bad.push((name.into(), desc.into(), s, l5, pm));
    };
    textual(
        "bad-header",
        "first line c2sp.org/tlog-proof@v2",
        text.replacen("tlog-proof@v1", "tlog-proof@v2", 1),
    );
    textual(
        "header-trailing-space",
        "first line ends in a space",
        text.replacen("tlog-proof@v1\n", "tlog-proof@v1 \n", 1),
    );
    textual(
        "crlf",
        "lines end in CR LF",
        text.replacen("tlog-proof@v1\n", "tlog-proof@v1\r\n", 1),
    );
    textual(
        "leading-zero-index",
        "index 05",
        text.replacen("\nindex 5\n", "\nindex 05\n", 1),
    );
    textual(
        "signed-index",
        "index +5",
        text.replacen("\nindex 5\n", "\nindex +5\n", 1),
    );
    textual(
        "missing-index",
        "no index line",
        text.replacen("\nindex 5\n", "\n", 1),
    );
    textual(
        "index-too-large",
        "index 2^63 - 1 (not below MAX_TREE_SIZE)",
        text.replacen("\nindex 5\n", "\nindex 9223372036854775807\n", 1),
    );
    textual(
        "missing-blank-line",
        "no empty line between the proof and the checkpoint",
        text.replacen("\n\n", "\n", 1),
    );
    textual(
        "bad-base64-hash",
        "a hash line is not base64",
        text.replacen(&h0, "!!!!", 1),
    );
    textual(
        "unpadded-hash",
        "a hash without its '=' padding",
        text.replacen(&h0, h0.trim_end_matches('='), 1),
    );
    textual(
        "short-hash",
        "a hash of 31 bytes",
        text.replacen(&h0, &evl_sdk::b64::encode(&[7u8; 31]), 1),
    );
    textual(
        "empty-extra",
        "an extra line with no data",
        format!("c2sp.org/tlog-proof@v1\nextra \nindex 5\n{h0}\n\n{note}"),
    );
    textual(
        "bad-base64-extra",
        "extra is not standard base64",
        format!("c2sp.org/tlog-proof@v1\nextra c2hh-_\nindex 5\n{h0}\n\n{note}"),
    );
    textual(
        "too-many-hashes",
        "129 hash lines (MAX_PROOF_HASHES is 128)",
        format!(
            "c2sp.org/tlog-proof@v1\nindex 5\n{}\n\n{note}",
            vec![h0.as_str(); 129].join("\n")
        ),
    );
    for k in 0..hs.len() {
        let mut m = hs.clone();
        m[k] = flip(&m[k]);
        bad.push((
            format!("flipped-hash-{k}"),
            format!("hash {k} has one bit flipped"),
            rebuilt(5, m),
            l5,
            mm,
        ));
    }
    let mut short = hs.clone();
    short.pop();
    let mut long = hs.clone();
    long.push(l5);
    bad.push((
        "missing-hash".into(),
        "last hash removed".into(),
        rebuilt(5, short),
        l5,
        pm,
    ));
    bad.push((
        "extra-hash".into(),
        "one hash appended".into(),
        rebuilt(5, long),
        l5,
        pm,
    ));
    bad.push((
        "index-at-size".into(),
        "index 37 in the tree of 37".into(),
        rebuilt(37, hs.clone()),
        l5,
        pm,
    ));
    bad.push((
        "wrong-index".into(),
        "index 4 with leaf 5's path".into(),
        rebuilt(4, hs.clone()),
        l5,
        mm,
    ));
    bad.push((
        "wrong-leaf".into(),
        "leaf 6's hash with leaf 5's proof".into(),
        text.clone(),
        leaf(6),
        mm,
    ));
    let signed_by = |key: &SecretKey| tlog_for(&t, 5, LEAVES, checkpoint(&t, LEAVES, key), true).to_text();
    let keyed: [(&str, &str, SecretKey, ErrorCode); 3] = [
        (
            "wrong-key",
            "checkpoint signed by an untrusted key",
            stranger_key(),
            ErrorCode::KeyUnknown,
        ),
        (
            "expired-key",
            "checkpoint signed by a key valid only in 2025",
            old_key(),
            ErrorCode::KeyExpired,
        ),
        (
            "revoked-key",
            "checkpoint signed by a revoked key",
            revoked_key(),
            ErrorCode::KeyRevoked,
        ),
    ];
    for (name, desc, key, code) in keyed {
        bad.push((name.into(), desc.into(), signed_by(&key), l5, Some(code)));
    }
    let other = key("example.org/other-log", "evl-vectors other log");
    let foreign = evl_sdk::Checkpoint::new("example.org/other-log", head(&t, LEAVES))
        .and_then(|c| c.sign(&other))
        .expect("fixed checkpoint");
    bad.push((
        "other-origin".into(),
        "checkpoint of another log".into(),
        tlog_for(&t, 5, LEAVES, foreign, true).to_text(),
        l5,
        Some(ErrorCode::OriginMismatch),
    ));
    bad.push((
        "malformed-checkpoint".into(),
        "checkpoint tree size 037".into(),
        text.replacen("\n37\n", "\n037\n", 1),
        l5,
        Some(ErrorCode::NoteMalformed),
    ));
    for (name, desc, proof, leaf_hash, code) in bad {
        put(
            out,
            "tlog-proof",
            &name,
            tp_json(&format!("reject: {desc}"), &proof, &leaf_hash, &tr),
            code,
        );
    }
}

fn check_tlog_proof(v: &Value) -> Result<(), ErrorCode> {
    let tr = TrustRoot::from_json(&serde_json::to_vec(&v["trust_root"]).unwrap_or_default())
        .map_err(|e| e.code())?;
    let at = evl_sdk::Timestamp::parse(v["at"].as_str().unwrap_or_default()).map_err(|e| e.code())?;
    let leaf =
        Digest::from_base64(v["leaf_hash"].as_str().unwrap_or_default()).ok_or(ErrorCode::ProofMalformed)?;
    let p = TlogProof::parse(v["proof"].as_str().unwrap_or_default()).map_err(|e| e.code())?;
    tr.verify_tlog_proof(&p, &leaf, at).map_err(|e| e.code())?;
    Ok(())
}

//! Client tests without a ledger server: the response checks as pure functions over receipts,
//! checkpoints and anchors built here with `MemoryTree` and test keys, and the HTTP plumbing
//! against a tiny canned responder on 127.0.0.1 (bounded in requests and time).

use super::*;
use evl_sdk::anchor::{ANCHOR_TYPE, AnchorPayload};
use evl_sdk::hash::Digest;
use evl_sdk::note::SecretKey;
use evl_sdk::proof::InclusionProof;
use evl_sdk::tree::{LeafIndex, MemoryTree, prove_consistency, prove_inclusion};
use evl_sdk::trust::TrustedKey;
use evl_sdk::{Checkpoint, b64};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Instant;

const ORIGIN: &str = "example.org/evl-client";

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}
/// Key 1 is trusted from 2026; any other seed is a stranger.
fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(ORIGIN, &[seed; 32]).unwrap()
}
fn trust() -> TrustRoot {
    TrustRoot::new(
        ORIGIN,
        vec![TrustedKey::new(
            key(1).public().clone(),
            ts("2026-01-01T00:00:00Z"),
            None,
            false,
        )],
    )
    .unwrap()
}
fn at() -> Timestamp {
    ts("2026-06-01T00:00:00Z")
}
fn size(n: u64) -> TreeSize {
    TreeSize::new(n).unwrap()
}
fn node(i: u64) -> Node {
    Node::from_json(format!(r#"{{"type":"blob/v1","data":"node {i}"}}"#).as_bytes()).unwrap()
}

/// A log of `n` nodes.
fn tree(n: u64) -> MemoryTree {
    MemoryTree::from_leaf_hashes((0..n).map(|i| node(i).id().leaf_hash()))
}
fn head(t: &MemoryTree, n: u64) -> TreeHead {
    TreeHead::new(size(n), t.root_at(size(n)).unwrap())
}
/// The checkpoint note at size `n` signed by `k`.
fn checkpoint(t: &MemoryTree, n: u64, k: &SecretKey) -> String {
    Checkpoint::new(ORIGIN, head(t, n))
        .unwrap()
        .sign(k)
        .unwrap()
        .to_text()
}
/// The receipt of node `i` at size `n`, signed by `k`.
fn receipt_by(t: &MemoryTree, i: u64, n: u64, k: &SecretKey) -> Receipt {
    Receipt {
        node_id: node(i).id(),
        leaf_index: i,
        inclusion: prove_inclusion(t, LeafIndex::new(i).unwrap(), size(n)).unwrap(),
        checkpoint: checkpoint(t, n, k),
    }
}
fn receipt(t: &MemoryTree, i: u64, n: u64) -> Receipt {
    receipt_by(t, i, n, &key(1))
}
fn append_body(created: bool, r: &Receipt) -> Vec<u8> {
    format!(
        r#"{{"created":{created},"receipt":{}}}"#,
        String::from_utf8(r.to_json()).unwrap()
    )
    .into_bytes()
}
fn flip(d: &Digest) -> Digest {
    let mut b = *d.as_bytes();
    b[0] ^= 1;
    Digest::from_bytes(b)
}
/// The note with one bit of its (only) signature flipped.
fn tamper_signature(note: &str) -> String {
    let (text, sigs) = note.rsplit_once("\n\n").unwrap();
    let line = sigs.trim_end_matches('\n');
    let (prefix, sig) = line.rsplit_once(' ').unwrap();
    let mut raw = b64::decode_standard(sig).unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    format!("{text}\n\n{prefix} {}\n", b64::encode(&raw))
}

/// The code of a failed check, or "ok".
fn code<T>(r: Result<T, ClientError>) -> &'static str {
    r.map_or_else(|e| e.code(), |_| "ok")
}

#[test]
fn a_verified_append_carries_the_receipt_and_what_it_proves() {
    let t = tree(5);
    let r = receipt(&t, 3, 5);
    let v = check_append_response(201, &append_body(true, &r), node(3).id(), &trust(), at()).unwrap();
    assert!(v.created);
    assert_eq!(v.receipt, r);
    assert_eq!(v.evidence.node_id, node(3).id());
    assert_eq!(v.evidence.index.get(), 3);
    assert_eq!(v.evidence.head, head(&t, 5));
    assert_eq!(v.evidence.key, key(1).public().dsse_keyid());
    // Already present: 200 with created false.
    let v = check_append_response(200, &append_body(false, &r), node(3).id(), &trust(), at()).unwrap();
    assert!(!v.created);
}

#[test]
fn a_tampered_receipt_is_an_error_with_the_sdk_code() {
    let t = tree(5);
    let id = node(3).id();
    let check = |r: &Receipt| check_append_response(201, &append_body(true, r), id, &trust(), at());

    let mut r = receipt(&t, 3, 5);
    let mut hashes = r.inclusion.hashes().to_vec();
    hashes[0] = flip(&hashes[0]);
    r.inclusion = InclusionProof::new(r.inclusion.index(), r.inclusion.size(), hashes).unwrap();
    let e = check(&r).unwrap_err();
    assert_eq!(e.code(), "MERKLE_MISMATCH");
    assert_eq!(e.error_code(), Some(ErrorCode::MerkleMismatch));
    assert!(matches!(e, ClientError::Verification { .. }));

    let mut r = receipt(&t, 3, 5);
    r.checkpoint = tamper_signature(&r.checkpoint);
    assert_eq!(code(check(&r)), "SIGNATURE_INVALID");

    // Signed by a key the trust root does not hold.
    assert_eq!(code(check(&receipt_by(&t, 3, 5, &key(2)))), "KEY_UNKNOWN");

    // A proof for another leaf index than the receipt claims.
    let mut r = receipt(&t, 3, 5);
    r.leaf_index = 2;
    assert_eq!(code(check(&r)), "RECEIPT_INVALID");

    // The checkpoint of a smaller tree: the proof is for size 5.
    let mut r = receipt(&t, 3, 5);
    r.checkpoint = checkpoint(&t, 4, &key(1));
    assert_eq!(code(check(&r)), "PROOF_MALFORMED");

    // Verified at a time before the key's window.
    let r = receipt(&t, 3, 5);
    assert_eq!(
        code(check_append_response(
            201,
            &append_body(true, &r),
            id,
            &trust(),
            ts("2025-06-01T00:00:00Z")
        )),
        "KEY_EXPIRED"
    );

    // Not a receipt: unknown member.
    let body = br#"{"created":true,"receipt":{"node_id":"sha256:00","leaf_index":0}}"#;
    assert_eq!(
        code(check_append_response(201, body, id, &trust(), at())),
        "RECEIPT_INVALID"
    );
}

#[test]
fn a_valid_receipt_for_another_node_is_an_error() {
    let t = tree(5);
    let r = receipt(&t, 2, 5);
    // It verifies on its own ...
    assert!(trust().verify_receipt(&r, at()).is_ok());
    // ... but is not for the node sent.
    let e = check_append_response(201, &append_body(true, &r), node(3).id(), &trust(), at()).unwrap_err();
    assert_eq!(e.code(), "NODE_ID_MISMATCH");
    assert!(e.to_string().contains(&node(3).id().to_string()), "{e}");
}

#[test]
fn responses_not_as_promised_are_unexpected_or_server_errors() {
    let t = tree(5);
    let r = receipt(&t, 3, 5);
    let id = node(3).id();
    let check = |status, body: &[u8]| code(check_append_response(status, body, id, &trust(), at()));
    // The status and "created" disagree.
    assert_eq!(check(200, &append_body(true, &r)), "UNEXPECTED_RESPONSE");
    assert_eq!(check(201, &append_body(false, &r)), "UNEXPECTED_RESPONSE");
    // Not the promised shape.
    assert_eq!(check(201, b"not json"), "UNEXPECTED_RESPONSE");
    assert_eq!(check(201, b""), "UNEXPECTED_RESPONSE");
    assert_eq!(check(201, b"[1,2]"), "UNEXPECTED_RESPONSE");
    assert_eq!(
        check(201, br#"{"created":"yes","receipt":{}}"#),
        "UNEXPECTED_RESPONSE"
    );
    assert_eq!(check(204, b""), "UNEXPECTED_RESPONSE");
    assert_eq!(check(302, b""), "UNEXPECTED_RESPONSE");

    // The API error body.
    let e = check_append_response(
        400,
        br#"{"code":"TYPE_UNKNOWN","message":"no such type"}"#,
        id,
        &trust(),
        at(),
    )
    .unwrap_err();
    assert_eq!(
        e,
        ClientError::Server {
            status: 400,
            code: Some("TYPE_UNKNOWN".into()),
            message: "no such type".into()
        }
    );
    assert_eq!(e.code(), "SERVER_ERROR");
    assert_eq!(e.error_code(), None);
    assert_eq!(
        e.to_string(),
        "SERVER_ERROR: HTTP 400: TYPE_UNKNOWN: no such type"
    );

    // A proxy's HTML page: kept short and printable.
    let page = format!("<html>\n{}</html>", "x".repeat(5000));
    let e = check_append_response(502, page.as_bytes(), id, &trust(), at()).unwrap_err();
    let ClientError::Server {
        status,
        code,
        message,
    } = e
    else {
        panic!("expected a server error, got {e:?}");
    };
    assert_eq!((status, code), (502, None));
    assert_eq!(
        message.len(),
        MAX_ERROR_TEXT_BYTES + 2,
        "one control character became U+FFFD"
    );
    assert!(!message.chars().any(char::is_control));
}

#[test]
fn clip_cuts_on_a_character_boundary() {
    // Byte MAX_ERROR_TEXT_BYTES falls inside a two-byte character.
    let s = format!("a{}", "é".repeat(MAX_ERROR_TEXT_BYTES));
    assert_eq!(clip(&s).len(), MAX_ERROR_TEXT_BYTES - 1);
    assert_eq!(clip("a\u{1b}[31mb"), "a\u{FFFD}[31mb");
}

#[test]
fn a_batch_is_verified_in_order() {
    let t = tree(6);
    let ids: Vec<NodeId> = (3..6).map(|i| node(i).id()).collect();
    let results: Vec<String> = (3..6)
        .map(|i| String::from_utf8(append_body(i != 4, &receipt(&t, i, 6))).unwrap())
        .collect();
    let body = format!(r#"{{"results":[{}]}}"#, results.join(","));
    let v = check_batch_response(201, body.as_bytes(), &ids, &trust(), at()).unwrap();
    assert_eq!(
        v.iter()
            .map(|r| (r.evidence.index.get(), r.created))
            .collect::<Vec<_>>(),
        [(3, true), (4, false), (5, true)]
    );
    // Results out of order: each must be for the node sent at that position.
    let swapped = [ids[1], ids[0], ids[2]];
    assert_eq!(
        code(check_batch_response(
            201,
            body.as_bytes(),
            &swapped,
            &trust(),
            at()
        )),
        "NODE_ID_MISMATCH"
    );
    // One result missing.
    assert_eq!(
        code(check_batch_response(
            201,
            body.as_bytes(),
            &[ids[0], ids[1], ids[2], ids[2]],
            &trust(),
            at()
        )),
        "UNEXPECTED_RESPONSE"
    );
    // 200 although some were created.
    assert_eq!(
        code(check_batch_response(200, body.as_bytes(), &ids, &trust(), at())),
        "UNEXPECTED_RESPONSE"
    );
    // One tampered result fails the batch.
    let mut bad = receipt(&t, 5, 6);
    bad.checkpoint = tamper_signature(&bad.checkpoint);
    let body = format!(
        r#"{{"results":[{},{},{}]}}"#,
        results[0],
        results[1],
        String::from_utf8(append_body(true, &bad)).unwrap()
    );
    assert_eq!(
        code(check_batch_response(201, body.as_bytes(), &ids, &trust(), at())),
        "SIGNATURE_INVALID"
    );
}

#[test]
fn node_bytes_must_hash_to_the_id_and_be_canonical() {
    let n = node(1);
    assert_eq!(check_node_response(200, n.bytes(), n.id()).unwrap(), n);
    assert_eq!(
        code(check_node_response(200, node(2).bytes(), n.id())),
        "NODE_ID_MISMATCH"
    );
    let spaced = br#"{"type": "blob/v1"}"#;
    assert_eq!(
        code(check_node_response(200, spaced, NodeId::of_canonical(spaced))),
        "NONCANONICAL_JSON"
    );
    assert_eq!(
        code(check_node_response(
            404,
            br#"{"code":"NOT_FOUND","message":"no"}"#,
            n.id()
        )),
        "SERVER_ERROR"
    );
}

#[test]
fn a_proof_must_be_for_the_node_and_size_asked() {
    let t = tree(8);
    let id = node(3).id();
    let body = receipt(&t, 3, 8).to_json();
    let ev = check_proof_response(200, &body, id, None, &trust(), at()).unwrap();
    assert_eq!((ev.index.get(), ev.head), (3, head(&t, 8)));
    assert!(check_proof_response(200, &body, id, Some(size(8)), &trust(), at()).is_ok());
    assert_eq!(
        code(check_proof_response(
            200,
            &body,
            id,
            Some(size(7)),
            &trust(),
            at()
        )),
        "PROOF_MALFORMED"
    );
    assert_eq!(
        code(check_proof_response(
            200,
            &body,
            node(4).id(),
            None,
            &trust(),
            at()
        )),
        "NODE_ID_MISMATCH"
    );
    // Receipt parse faults keep their SPEC.md §2.2 codes.
    assert_eq!(
        code(check_proof_response(200, b"{", id, None, &trust(), at())),
        "JSON_SYNTAX"
    );
    assert_eq!(
        code(check_proof_response(200, b"{}", id, None, &trust(), at())),
        "RECEIPT_INVALID"
    );
}

#[test]
fn a_checkpoint_must_verify_against_the_trust_root() {
    let t = tree(4);
    let cp = checkpoint(&t, 4, &key(1));
    let ev = check_checkpoint_response(200, cp.as_bytes(), &trust(), at()).unwrap();
    assert_eq!(ev.checkpoint.head(), head(&t, 4));
    assert_eq!(
        code(check_checkpoint_response(
            200,
            tamper_signature(&cp).as_bytes(),
            &trust(),
            at()
        )),
        "SIGNATURE_INVALID"
    );
    let other = SecretKey::from_seed("example.org/other", &[1; 32]).unwrap();
    let foreign = Checkpoint::new("example.org/other", head(&t, 4))
        .unwrap()
        .sign(&other)
        .unwrap()
        .to_text();
    assert_eq!(
        code(check_checkpoint_response(200, foreign.as_bytes(), &trust(), at())),
        "ORIGIN_MISMATCH"
    );
    assert_eq!(
        code(check_checkpoint_response(200, b"\xff\xfe", &trust(), at())),
        "NOTE_MALFORMED"
    );
}

#[test]
fn the_anchor_list_must_be_in_sequence_order() {
    assert_eq!(check_anchor_list(200, b"[]").unwrap(), Vec::<u64>::new());
    assert_eq!(
        check_anchor_list(200, br#"[{"seq":0,"tree_size":3},{"seq":1},{"seq":7}]"#).unwrap(),
        [0, 1, 7]
    );
    assert_eq!(
        code(check_anchor_list(200, br#"[{"seq":1},{"seq":1}]"#)),
        "UNEXPECTED_RESPONSE"
    );
    assert_eq!(
        code(check_anchor_list(200, br#"[{"seq":2},{"seq":1}]"#)),
        "UNEXPECTED_RESPONSE"
    );
    assert_eq!(
        code(check_anchor_list(200, br#"{"seq":0}"#)),
        "UNEXPECTED_RESPONSE"
    );
}

/// Anchors 0 (size 3) and 1 (size 5) of `t`.
fn anchors(t: &MemoryTree) -> (Anchor, Anchor) {
    let payload = |seq, n, prev, time| AnchorPayload {
        kind: ANCHOR_TYPE.into(),
        origin: ORIGIN.into(),
        seq,
        segment: 0,
        tree_size: n,
        root: head(t, n).root().to_base64(),
        checkpoint: checkpoint(t, n, &key(1)),
        prev,
        segment_reason: None,
        archived: None,
        time: ts(time),
    };
    let a0 = payload(0, 3, None, "2026-02-01T00:00:00Z").sign(&key(1));
    let a1 = payload(1, 5, Some(a0.id()), "2026-03-01T00:00:00Z").sign(&key(1));
    (a0, a1)
}

#[test]
fn an_anchor_must_be_the_one_asked_for() {
    let (a0, _) = anchors(&tree(5));
    assert!(check_anchor_response(200, &a0.to_json(), Some(0), 200).is_ok());
    assert_eq!(
        code(check_anchor_response(200, &a0.to_json(), Some(1), 200)),
        "UNEXPECTED_RESPONSE"
    );
    assert_eq!(
        code(check_anchor_response(200, b"{}", Some(0), 200)),
        "ENVELOPE_MALFORMED"
    );
    assert_eq!(
        code(check_anchor_response(200, &a0.to_json(), None, 201)),
        "UNEXPECTED_RESPONSE"
    );
}

// ---- HTTP plumbing against a canned responder ------------------------------------------------

/// How long the responder waits for a request before giving up (keeps a failing test bounded).
const RESPONDER_WAIT: Duration = Duration::from_secs(10);

/// One canned response.
struct Canned {
    status: u16,
    body: Vec<u8>,
    /// Send `Content-Length`; without it the body ends when the connection closes.
    length: bool,
}

fn ok(status: u16, body: impl Into<Vec<u8>>) -> Canned {
    Canned {
        status,
        body: body.into(),
        length: true,
    }
}

/// What the responder received.
#[derive(Debug)]
struct Seen {
    /// `METHOD /path?query`.
    target: String,
    /// Header lines, names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves `replies` in order, one connection each, on 127.0.0.1; returns the base URL and a
/// handle yielding the requests seen. Stops after the last reply or [`RESPONDER_WAIT`].
fn responder(replies: Vec<Canned>) -> (String, std::thread::JoinHandle<Vec<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let deadline = Instant::now() + RESPONDER_WAIT;
        for reply in replies {
            let mut stream = loop {
                match listener.accept() {
                    Ok((s, _)) => break s,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => return seen,
                }
            };
            stream.set_nonblocking(false).unwrap();
            stream.set_read_timeout(Some(RESPONDER_WAIT)).unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break p;
                }
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => return seen,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            let mut lines = head.split("\r\n");
            let target = lines
                .next()
                .unwrap_or_default()
                .rsplit_once(' ')
                .map_or_else(String::new, |(t, _)| t.to_owned());
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            let len: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = buf[head_end + 4..].to_vec();
            while body.len() < len {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                }
            }
            seen.push(Seen {
                target,
                headers,
                body,
            });
            let mut out = format!("HTTP/1.1 {} Canned\r\nConnection: close\r\n", reply.status);
            if reply.length {
                out.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
            }
            out.push_str("\r\n");
            // The client may hang up early (e.g. on an oversized body): ignore write errors.
            let _ = stream.write_all(out.as_bytes());
            let _ = stream.write_all(&reply.body);
        }
        seen
    });
    (base, handle)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A URL nothing listens on: a client call that sends a request fails with `HTTP_ERROR`.
fn dead_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

#[test]
fn append_sends_the_canonical_node_with_the_token_and_verifies_the_receipt() {
    let t = tree(4);
    let r = receipt(&t, 3, 4);
    let (base, seen) = responder(vec![ok(201, append_body(true, &r))]);
    let client = Client::new(&format!("{base}/ledger/"), Some("s3cret"), trust())
        .unwrap()
        .with_time(at());
    // Not canonical as sent: the client canonicalizes before computing the NodeId.
    let sent = br#"{ "data" : "node 3", "type" : "blob/v1" }"#;
    let v = block_on(client.append(sent)).unwrap();
    assert_eq!(v.evidence.index.get(), 3);
    let seen = seen.join().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "POST /ledger/v1/nodes");
    assert_eq!(seen[0].header("authorization"), Some("Bearer s3cret"));
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[0].body, node(3).bytes());
}

#[test]
fn reads_send_no_token_when_none_is_given_and_build_queries() {
    let t = tree(4);
    let (base, seen) = responder(vec![
        ok(200, receipt(&t, 1, 4).to_json()),
        ok(200, checkpoint(&t, 4, &key(1))),
        ok(200, node(2).bytes().to_vec()),
    ]);
    let client = Client::new(&base, None, trust()).unwrap().with_time(at());
    block_on(async {
        client.prove(&node(1).id(), Some(size(4))).await.unwrap();
        client.checkpoint().await.unwrap();
        client.get(&node(2).id()).await.unwrap();
    });
    let seen = seen.join().unwrap();
    let targets: Vec<&str> = seen.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            format!("GET /v1/nodes/{}/proof?size=4", node(1).id()).as_str(),
            "GET /v1/checkpoint",
            format!("GET /v1/nodes/{}", node(2).id()).as_str(),
        ]
    );
    assert!(seen.iter().all(|s| s.header("authorization").is_none()));
}

#[test]
fn append_batch_sends_one_request_and_checks_each_receipt() {
    let t = tree(3);
    let results: Vec<String> = (0..3)
        .map(|i| String::from_utf8(append_body(true, &receipt(&t, i, 3))).unwrap())
        .collect();
    let (base, seen) = responder(vec![ok(201, format!(r#"{{"results":[{}]}}"#, results.join(",")))]);
    let client = Client::new(&base, Some("t"), trust()).unwrap().with_time(at());
    let nodes: Vec<Node> = (0..3).map(node).collect();
    let slices: Vec<&[u8]> = nodes.iter().map(Node::bytes).collect();
    let v = block_on(client.append_batch(&slices)).unwrap();
    assert_eq!(v.len(), 3);
    let seen = seen.join().unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(sent["nodes"].as_array().map(Vec::len), Some(3));
    assert_eq!(block_on(client.append_batch(&[])).unwrap().len(), 0);
}

#[test]
fn bad_input_is_rejected_before_sending() {
    let client = Client::new(&dead_url(), None, trust()).unwrap();
    let e = block_on(client.append(b"{\"type\":")).unwrap_err();
    assert_eq!(e.code(), "JSON_SYNTAX");
    assert!(matches!(e, ClientError::Input { .. }));
    assert_eq!(code(block_on(client.append(br#"{"no":"type"}"#))), "NODE_INVALID");
    let good = node(0);
    assert_eq!(
        code(block_on(client.append_batch(&[good.bytes(), b"[]"]))),
        "NODE_INVALID"
    );
    // The same client does send, and fails to connect.
    assert_eq!(code(block_on(client.append(good.bytes()))), "HTTP_ERROR");
}

#[test]
fn consistency_checks_the_fetched_proof_and_needs_none_for_equal_sizes() {
    let t = tree(9);
    let proof = serde_json::to_vec(&prove_consistency(&t, size(3), size(9)).unwrap()).unwrap();
    let p = prove_consistency(&t, size(3), size(9)).unwrap();
    let mut hashes = p.hashes().to_vec();
    hashes[1] = flip(&hashes[1]);
    let bad = serde_json::to_vec(&ConsistencyProof::new(size(3), size(9), hashes).unwrap()).unwrap();
    let (base, seen) = responder(vec![ok(200, proof), ok(200, bad), ok(200, b"{}".to_vec())]);
    let client = Client::new(&base, None, trust()).unwrap();
    let (h3, h9) = (head(&t, 3), head(&t, 9));
    block_on(async {
        let c = client.consistency(&h3, &h9).await.unwrap();
        assert_eq!((c.old, c.new), (h3, h9));
        assert_eq!(code(client.consistency(&h3, &h9).await), "MERKLE_MISMATCH");
        assert_eq!(code(client.consistency(&h3, &h9).await), "PROOF_MALFORMED");
    });
    let seen = seen.join().unwrap();
    assert_eq!(seen[0].target, "GET /v1/proofs/consistency?from=3&to=9");

    // No request for these: the client would fail to connect.
    let offline = Client::new(&dead_url(), None, trust()).unwrap();
    block_on(async {
        assert!(offline.consistency(&h9, &h9).await.is_ok());
        assert_eq!(code(offline.consistency(&h3, &head(&tree(3), 3)).await), "ok");
        let other = TreeHead::new(size(9), flip(&h9.root()));
        assert_eq!(code(offline.consistency(&h9, &other).await), "MERKLE_MISMATCH");
        assert_eq!(code(offline.consistency(&h9, &h3).await), "PROOF_MALFORMED");
        let empty = TreeHead::new(TreeSize::ZERO, evl_sdk::empty_root());
        assert_eq!(code(offline.consistency(&empty, &h3).await), "PROOF_MALFORMED");
    });
}

#[test]
fn anchors_fetches_envelopes_and_proofs_and_verifies_the_chain() {
    let t = tree(5);
    let (a0, a1) = anchors(&t);
    let list = br#"[{"seq":0},{"seq":1}]"#.to_vec();
    let proof = prove_consistency(&t, size(3), size(5)).unwrap();
    let mut hashes = proof.hashes().to_vec();
    hashes[0] = flip(&hashes[0]);
    let bad = ConsistencyProof::new(size(3), size(5), hashes).unwrap();
    let replies = |p: &ConsistencyProof| {
        vec![
            ok(200, list.clone()),
            ok(200, a0.to_json()),
            ok(200, a1.to_json()),
            ok(200, serde_json::to_vec(p).unwrap()),
        ]
    };

    let (base, seen) = responder(replies(&proof));
    let client = Client::new(&base, None, trust()).unwrap();
    let chain = block_on(client.anchors()).unwrap();
    assert_eq!(
        chain
            .anchors
            .iter()
            .map(|a| (a.seq, a.tree_size.get()))
            .collect::<Vec<_>>(),
        [(0, 3), (1, 5)]
    );
    assert_eq!(chain.head(), Some(head(&t, 5)));
    let targets: Vec<String> = seen.join().unwrap().into_iter().map(|s| s.target).collect();
    assert_eq!(
        targets,
        [
            "GET /v1/anchors",
            "GET /v1/anchors/0",
            "GET /v1/anchors/1",
            "GET /v1/proofs/consistency?from=3&to=5"
        ]
    );

    let (base, _) = responder(replies(&bad));
    let client = Client::new(&base, None, trust()).unwrap();
    assert_eq!(code(block_on(client.anchors())), "MERKLE_MISMATCH");

    // An empty log has an empty, verified chain.
    let (base, _) = responder(vec![ok(200, b"[]".to_vec())]);
    let client = Client::new(&base, None, trust()).unwrap();
    assert!(block_on(client.anchors()).unwrap().anchors.is_empty());
}

#[test]
fn create_anchor_verifies_the_new_anchor() {
    let (a0, _) = anchors(&tree(5));
    let (base, seen) = responder(vec![ok(201, a0.to_json()), ok(200, a0.to_json())]);
    let client = Client::new(&base, Some("admin"), trust()).unwrap();
    let s = block_on(client.create_anchor()).unwrap();
    assert_eq!((s.seq, s.tree_size.get()), (0, 3));
    assert_eq!(code(block_on(client.create_anchor())), "UNEXPECTED_RESPONSE");
    assert_eq!(seen.join().unwrap()[0].target, "POST /v1/anchors");
}

#[test]
fn oversized_responses_are_refused() {
    let big = vec![b' '; MAX_RESPONSE_BYTES + 1];
    let (base, _) = responder(vec![
        // Declared too large: refused before reading.
        ok(200, big.clone()),
        // Not declared: refused while reading.
        Canned {
            status: 200,
            body: big,
            length: false,
        },
    ]);
    let client = Client::new(&base, None, trust()).unwrap().with_time(at());
    block_on(async {
        for _ in 0..2 {
            let e = client.checkpoint().await.unwrap_err();
            assert_eq!(e.code(), "UNEXPECTED_RESPONSE", "{e}");
            assert!(e.to_string().contains("MAX_RESPONSE_BYTES"), "{e}");
        }
    });
}

#[test]
fn redirects_are_not_followed() {
    let (base, seen) = responder(vec![ok(302, Vec::new())]);
    let client = Client::new(&base, Some("tok"), trust()).unwrap();
    assert_eq!(code(block_on(client.checkpoint())), "UNEXPECTED_RESPONSE");
    assert_eq!(seen.join().unwrap().len(), 1);
}

#[test]
fn construction_rejects_bad_urls_and_tokens_and_hides_the_token() {
    for url in ["not a url", "ftp://example.org", "mailto:a@example.org", ""] {
        assert_eq!(code(Client::new(url, None, trust())), "CLIENT_CONFIG", "{url}");
    }
    assert_eq!(
        code(Client::new("http://127.0.0.1:1", Some("a\nb"), trust())),
        "CLIENT_CONFIG"
    );
    let c = Client::new(
        "https://ledger.example.org/x?q=1#f",
        Some("s3cret-token"),
        trust(),
    )
    .unwrap();
    assert!(!format!("{c:?}").contains("s3cret-token"));
    assert_eq!(
        c.url(&["v1", "nodes"], None).unwrap().as_str(),
        "https://ledger.example.org/x/v1/nodes"
    );
}

#[test]
fn the_system_clock_is_used_without_a_fixed_time() {
    let c = Client::new("http://127.0.0.1:1", None, trust()).unwrap();
    let now = c.now().unwrap();
    assert!(now > ts("2024-01-01T00:00:00Z"));
    assert_eq!(c.with_time(at()).now().unwrap(), at());
}

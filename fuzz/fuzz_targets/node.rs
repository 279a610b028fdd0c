//! Node parsing from any bytes; an accepted node round-trips through its canonical bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = evl_sdk::Node::from_json(data) {
        let back = evl_sdk::Node::from_canonical_with_id(n.bytes(), n.id()).expect("canonical node must re-parse");
        assert_eq!(back.node_type(), n.node_type());
        assert_eq!(back.links(), n.links());
        // Records (SPEC.md §3.4): never a panic; an accepted one rebuilds the same bytes.
        if let Ok(r) = evl_sdk::redaction::Redaction::from_node(&n) {
            assert_eq!(r.to_node().bytes(), n.bytes(), "a redaction record round-trips");
        }
    }
    // The scan's fast path gives what the strict path gives: the same node or the same code.
    let strict = evl_sdk::jcs::parse_canonical(data)
        .map_err(evl_sdk::NodeError::from)
        .and_then(evl_sdk::Node::from_value);
    match (evl_sdk::Node::from_canonical(data), strict) {
        (Ok(a), Ok(b)) => assert!(a == b, "fast and strict nodes differ"),
        (Err(a), Err(b)) => assert_eq!(a.code(), b.code()),
        (a, b) => panic!("fast {a:?} vs strict {b:?}"),
    }
    let reference = evl_sdk::jcs::parse(data).map_err(evl_sdk::NodeError::from).and_then(evl_sdk::Node::from_value);
    match (evl_sdk::Node::from_json(data), reference) {
        (Ok(a), Ok(b)) => assert!(a == b, "from_json and the reference differ"),
        (Err(a), Err(b)) => assert_eq!(a.code(), b.code()),
        (a, b) => panic!("from_json {a:?} vs reference {b:?}"),
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = s.parse::<evl_sdk::NodeId>();
    }
});

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
    let _ = evl_sdk::Node::from_canonical(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = s.parse::<evl_sdk::NodeId>();
    }
});

//! VEX ingest of arbitrary bytes: never panics; an ingested document gives a `blob/v1` node
//! with the exact text and statements that parse strictly (SPEC.md §14.2) and link that blob.
#![no_main]
use evl_sdk::vex::Statement;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(ing) = evl_vex::ingest(data) else {
        return;
    };
    let blob = ing.blob();
    assert_eq!(blob.node_type(), "blob/v1");
    assert_eq!(blob.value()["data"].as_str().map(str::as_bytes), Some(data));
    for n in ing.statements() {
        let s = Statement::from_node(n).expect("every ingested statement parses");
        assert_eq!(s.source_doc(), blob.id());
        assert_eq!(n.links().len(), 1);
    }
});

//! VEX node parsers on arbitrary bytes: `Statement`, `Policy` and `IssuerRegistry::from_node`
//! never panic. A statement that parses goes through a consensus about its own key with the
//! default policy, and the result replays (SPEC.md §14.6–14.8).
#![no_main]
use evl_sdk::vex::{self, GroupKey, IssuerRegistry, Mode, Policy, Statement};
use evl_sdk::{Node, Timestamp, TreeHead, TreeSize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(node) = Node::from_json(data) else {
        return;
    };
    let _ = Policy::from_node(&node);
    let _ = IssuerRegistry::from_node(&node);
    let Ok(s) = Statement::from_node(&node) else {
        return;
    };
    let Some(product) = s.product_key() else {
        return;
    };
    let key = GroupKey::new(s.vuln_id(), product).expect("a parsed statement has a valid key");
    let policy = Policy::default();
    let issuers = IssuerRegistry::empty();
    let as_of = Timestamp::parse("2026-01-01T00:00:00Z").expect("valid time");
    let head = TreeHead::new(TreeSize::ZERO, evl_sdk::empty_root());
    for mode in Mode::ALL {
        let r = vex::consensus(
            std::slice::from_ref(&s),
            &policy,
            &issuers,
            &key,
            as_of,
            head,
            *mode,
        )
        .expect("one statement is within every limit");
        vex::replay(
            r.node(),
            std::slice::from_ref(&node),
            policy.node(),
            issuers.node(),
        )
        .expect("a fresh consensus replays");
    }
});

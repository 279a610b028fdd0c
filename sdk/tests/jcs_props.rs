//! Property tests for canonical JSON: canonicalization is idempotent, parsing the canonical form
//! gives the same value, and a node's id does not depend on member order or whitespace.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_sdk::jcs::{canonicalize, parse, parse_canonical};
use evl_sdk::{ErrorCode, Node};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("I-JSON range", |f| f.is_finite() && f.abs() <= 9007199254740991.0)
            .prop_map(|f| json!(f)),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".*", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn arb_json_wide() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        ".*",
        "[\\x00-\\x1f\"\\\\/a\\x7f\u{e9}\u{ffff}\u{10000}\u{1f600}]{0,4}"
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|u| json!(u)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        Just(json!(-0.0)),
        Just(json!(1e21)),
        Just(json!(1e-7)),
        ".*".prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\/\\x7f\u{2028}\u{1f600}a]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn canonicalization_is_idempotent(v in arb_json()) {
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        let once = canonicalize(&pretty).unwrap();
        let twice = canonicalize(&once).unwrap();
        prop_assert_eq!(&once, &twice);
        prop_assert!(parse_canonical(&once).is_ok());
        // Parsing loses nothing: re-serializing the parsed canonical form gives the same bytes.
        prop_assert_eq!(evl_sdk::jcs::serialize(&parse(&once).unwrap()).unwrap(), once.clone());
    }

    #[test]
    fn node_id_ignores_order_and_whitespace(v in prop::collection::btree_map("[a-z]{1,8}", arb_json(), 0..6)) {
        let mut m: Map<String, Value> = v.into_iter().collect();
        m.insert("type".into(), json!("x-test"));
        m.remove("links");
        let compact = serde_json::to_vec(&Value::Object(m.clone())).unwrap();
        // Reverse member order by hand-writing the object.
        let mut rev = b"{\n".to_vec();
        for (i, (k, val)) in m.iter().rev().enumerate() {
            if i > 0 { rev.extend_from_slice(b",\n  "); }
            rev.extend_from_slice(&serde_json::to_vec(k).unwrap());
            rev.extend_from_slice(b" : ");
            rev.extend_from_slice(&serde_json::to_vec(val).unwrap());
        }
        rev.extend_from_slice(b"\n}");
        let a = Node::from_json(&compact).unwrap();
        let b = Node::from_json(&rev).unwrap();
        prop_assert_eq!(a.id(), b.id());
        prop_assert_eq!(Node::from_canonical(a.bytes()).unwrap().id(), a.id());
    }

    /// `jcs::serialize` writes structure, strings and safe integers itself: it must equal the
    /// `serde_jcs` reference byte for byte on every value, including hand-built ones that parsing
    /// would reject (integers beyond 2^53 − 1, control characters, astral-plane member names).
    #[test]
    fn serializer_equals_serde_jcs(v in arb_json_wide()) {
        prop_assert_eq!(evl_sdk::jcs::serialize(&v).unwrap(), serde_jcs::to_vec(&v).unwrap());
    }

    #[test]
    fn parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = canonicalize(&bytes);
    }

    #[test]
    fn parser_never_panics_on_jsonish(s in "[\\[\\]{}\",:0-9eE.+\\-a-z\\\\ ]{0,64}") {
        let _ = canonicalize(s.as_bytes());
    }
}

#[test]
fn node_rules() {
    let code = |s: &str| Node::from_json(s.as_bytes()).unwrap_err().code();
    assert_eq!(code("[]"), ErrorCode::NodeInvalid);
    assert_eq!(code("{}"), ErrorCode::NodeInvalid);
    assert_eq!(code(r#"{"type":1}"#), ErrorCode::NodeInvalid);
    assert_eq!(code(r#"{"type":"nope/v1"}"#), ErrorCode::TypeUnknown);
    assert_eq!(code(r#"{"type":"x-"}"#), ErrorCode::TypeUnknown);
    assert_eq!(code(r#"{"type":"x-a","links":{}}"#), ErrorCode::NodeInvalid);
    assert_eq!(
        code(r#"{"type":"x-a","links":[{"rel":"r","id":"sha256:00"}]}"#),
        ErrorCode::NodeInvalid
    );
    assert_eq!(code(r#"{"type":"x-a","type":"x-b"}"#), ErrorCode::DuplicateKey);
    let id = "sha256:".to_string() + &"ab".repeat(32);
    let n = Node::from_json(format!(r#"{{"type":"x-a","links":[{{"rel":"r","id":"{id}"}}]}}"#).as_bytes())
        .unwrap();
    assert_eq!(n.links().len(), 1);
    assert_eq!(n.links()[0].id.to_string(), id);
    let bad_id = Node::from_canonical_with_id(n.bytes(), id.parse().unwrap()).unwrap_err();
    assert_eq!(bad_id.code(), ErrorCode::NodeIdMismatch);
    assert_eq!(
        Node::from_canonical(br#"{ "type":"x-a"}"#).unwrap_err().code(),
        ErrorCode::NonCanonicalJson
    );
}

//! Property tests for canonical JSON: canonicalization is idempotent, parsing the canonical form
//! gives the same value, and a node's id does not depend on member order or whitespace.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use evl_sdk::jcs::{canonicalize, is_canonical, parse, parse_canonical};
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

/// JSON text built from the fragments where canonical form is decided: every escape form,
/// numbers in canonical and non-canonical spellings, member names in any order (duplicates
/// included), nothing sorted or normalized. Most of it is valid JSON; some of it is canonical.
fn arb_text() -> impl Strategy<Value = String> {
    let fragment = prop::sample::select(vec![
        "a",
        "b",
        "B",
        "é",
        "\u{e000}",
        "😀",
        "\u{7f}",
        "/",
        "\\n",
        "\\u000a",
        "\\r",
        "\\u000d",
        "\\t",
        "\\u0009",
        "\\b",
        "\\u0008",
        "\\f",
        "\\u000c",
        "\\u001f",
        "\\u001F",
        "\\u0000",
        "\\u0041",
        "\\/",
        "\\\"",
        "\\\\",
        "\\u00e9",
        "\\ud83d\\ude00",
        "\\ud83d",
        "\\U0041",
        "\\u0020",
        "\\u007f",
    ]);
    let string = prop::collection::vec(fragment, 0..4).prop_map(|f| format!("\"{}\"", f.concat()));
    // Member names from a small pool, so equal names and UTF-16-versus-UTF-8 order (U+E000
    // sorts after U+1F600 in UTF-16) come up often.
    let name = prop::collection::vec(
        prop::sample::select(vec!["a", "é", "😀", "\u{e000}", "\\u0000", "\\n", "\\u000a", "b"]),
        0..3,
    )
    .prop_map(|f| format!("\"{}\"", f.concat()));
    let number = prop::sample::select(vec![
        "0",
        "-0",
        "1",
        "-1",
        "01",
        "1.0",
        "1.5",
        "-1.5",
        "1e3",
        "1E3",
        "1e+3",
        "0.1",
        "1e-7",
        "0.0000001",
        "1e21",
        "4.50",
        "9007199254740991",
        "-9007199254740991",
        "9007199254740992",
        "1.5e300",
        "1.",
        ".5",
        "-",
        "123456789012345678",
    ])
    .prop_map(String::from);
    let leaf = prop_oneof![
        string.clone(),
        number,
        prop::sample::select(vec!["true", "false", "null", "nul", "True"]).prop_map(String::from),
    ];
    leaf.prop_recursive(4, 48, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((name.clone(), inner), 0..5).prop_map(|m| {
                let members: Vec<String> = m.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The scan's contract on text built at the decision points (see `arb_text`); also checks
    /// the texts reach both verdicts often enough to mean something.
    #[test]
    fn scan_agrees_with_the_strict_path_on_built_text(texts in prop::collection::vec(arb_text(), 8)) {
        for t in &texts {
            prop_assert_eq!(is_canonical(t.as_bytes()), parse_canonical(t.as_bytes()).is_ok(), "{}", t);
        }
    }

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

    /// The one-pass scan accepts every canonical serialization, and the strict path agrees.
    #[test]
    fn scan_accepts_canonical_bytes(v in arb_json_wide()) {
        let bytes = evl_sdk::jcs::serialize(&v).unwrap();
        prop_assert_eq!(is_canonical(&bytes), parse_canonical(&bytes).is_ok());
        if parse(&bytes).is_ok() {
            prop_assert!(is_canonical(&bytes), "{}", String::from_utf8_lossy(&bytes));
        }
    }

    /// The scan's contract: `is_canonical(b)` exactly when `parse_canonical(b)` succeeds, on
    /// canonical bytes with one edit (an inserted, deleted, replaced or swapped byte) drawn from
    /// the characters that matter to canonical form.
    #[test]
    fn scan_agrees_with_the_strict_path_on_edits(
        v in arb_json_wide(),
        edits in prop::collection::vec((0u8..4, any::<prop::sample::Index>(), any::<prop::sample::Index>(),
            prop::sample::select(b" \t\n\\\"/:,{}[]0123456789-+.eEuabfnrtU\x00\x1f\x7f\xc3\xa9\xff".to_vec())), 1..3),
    ) {
        let mut bytes = evl_sdk::jcs::serialize(&v).unwrap();
        for (kind, at, other, c) in edits {
            let n = bytes.len();
            match kind {
                0 => bytes.insert(at.index(n + 1), c),
                1 if n > 0 => { bytes.remove(at.index(n)); }
                2 if n > 0 => bytes[at.index(n)] = c,
                3 if n > 0 => bytes.swap(at.index(n), other.index(n)),
                _ => {}
            }
        }
        prop_assert_eq!(is_canonical(&bytes), parse_canonical(&bytes).is_ok(), "{:?}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn scan_agrees_with_the_strict_path_on_jsonish(s in "[\\[\\]{}\",:0-9eE.+\\-a-fu\\\\ ]{0,48}") {
        prop_assert_eq!(is_canonical(s.as_bytes()), parse_canonical(s.as_bytes()).is_ok(), "{:?}", s);
    }

    /// `Node::from_canonical` takes the scan's fast path; it must give what the strict path
    /// gives: the same node, or an error with the same code.
    #[test]
    fn node_from_canonical_matches_the_strict_path(
        extra in prop::collection::btree_map("[a-z]{1,6}|links|type", arb_json(), 0..4),
        t in prop_oneof![Just(json!("x-test")), Just(json!("vex.statement/v1")), Just(json!("nope")), Just(json!(1))],
        link_ids in prop::collection::vec(prop_oneof![
            Just(json!({"rel": "r", "id": format!("sha256:{}", "ab".repeat(32))})),
            Just(json!({"rel": "r", "id": "sha256:00"})),
            Just(json!({"rel": 1, "id": "x"})),
            Just(json!({"rel": "r", "id": format!("sha256:{}", "cd".repeat(32)), "x": 1})),
            Just(json!(7)),
        ], 0..3),
        edit in prop::option::of((any::<prop::sample::Index>(), prop::sample::select(b" ,:{}[]\"0a".to_vec()))),
    ) {
        let mut m: Map<String, Value> = extra.into_iter().collect();
        m.insert("type".into(), t);
        m.insert("links".into(), Value::Array(link_ids));
        let mut bytes = evl_sdk::jcs::serialize(&Value::Object(m)).unwrap();
        if let Some((at, c)) = edit {
            let n = bytes.len();
            bytes[at.index(n)] = c;
        }
        let fast = Node::from_canonical(&bytes);
        let strict = parse_canonical(&bytes).map_err(evl_sdk::NodeError::from).and_then(Node::from_value);
        match (&fast, &strict) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.id(), b.id());
                prop_assert_eq!(a.node_type(), b.node_type());
                prop_assert_eq!(a.links(), b.links());
                prop_assert_eq!(a.bytes(), b.bytes());
            }
            (Err(a), Err(b)) => prop_assert_eq!(a.code(), b.code()),
            _ => prop_assert!(false, "fast {:?} vs strict {:?}", fast, strict),
        }
        // `Node::from_json` takes the same fast path on canonical input.
        let lenient = Node::from_json(&bytes);
        let reference = parse(&bytes).map_err(evl_sdk::NodeError::from).and_then(Node::from_value);
        match (&lenient, &reference) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(a), Err(b)) => prop_assert_eq!(a.code(), b.code()),
            _ => prop_assert!(false, "from_json {:?} vs reference {:?}", lenient, reference),
        }
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

//! Strict JSON parse → canonicalize → parse again: no panic, idempotent, canonical check agrees,
//! and the one-pass `is_canonical` scan agrees with `parse_canonical` on every input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert_eq!(
        evl_sdk::jcs::is_canonical(data),
        evl_sdk::jcs::parse_canonical(data).is_ok(),
        "the one-pass scan and the strict path disagree"
    );
    if let Ok(canon) = evl_sdk::jcs::canonicalize(data) {
        let again = evl_sdk::jcs::canonicalize(&canon).expect("canonical output must re-parse");
        assert_eq!(canon, again, "canonicalization is not idempotent");
        assert!(evl_sdk::jcs::parse_canonical(&canon).is_ok());
        if canon != data {
            assert!(evl_sdk::jcs::parse_canonical(data).is_err());
        }
    } else {
        assert!(evl_sdk::jcs::parse_canonical(data).is_err());
    }
});

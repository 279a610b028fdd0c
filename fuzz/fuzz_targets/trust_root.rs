//! Trust-root files from any bytes; accepted ones round-trip.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = evl_sdk::TrustRoot::from_json(data) {
        let again = evl_sdk::TrustRoot::from_json(&t.to_json()).expect("our own output must parse");
        assert_eq!(again, t);
    }
});

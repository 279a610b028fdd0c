//! Receipts and fork evidence from any bytes, verified against a fixed trust root.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let k = evl_sdk::SecretKey::from_seed("fuzz.example/log", &[1; 32]).expect("key");
    let ts = evl_sdk::Timestamp::from_unix(0).expect("epoch");
    let trust = evl_sdk::TrustRoot::new("fuzz.example/log", vec![evl_sdk::TrustedKey::new(k.public().clone(), ts, None, false)]).expect("trust");
    let at = evl_sdk::Timestamp::from_unix(1_800_000_000).expect("t");
    if let Ok(r) = evl_sdk::Receipt::from_json(data) {
        let _ = trust.verify_receipt(&r, at);
    }
    if let Ok(f) = evl_sdk::ForkEvidence::from_json(data) {
        let _ = trust.verify_fork(&f, at);
    }
});

//! Anchor chains assembled from arbitrary envelope bytes and proofs.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Split the input into up to 8 JSON envelopes on 0xff bytes.
    let anchors: Vec<evl_sdk::Anchor> = data.split(|b| *b == 0xff).take(8).filter_map(|p| evl_sdk::Anchor::from_json(p).ok()).collect();
    let k = evl_sdk::SecretKey::from_seed("fuzz.example/log", &[1; 32]).expect("key");
    let ts = evl_sdk::Timestamp::from_unix(0).expect("epoch");
    let trust = evl_sdk::TrustRoot::new("fuzz.example/log", vec![evl_sdk::TrustedKey::new(k.public().clone(), ts, None, false)]).expect("trust");
    let proofs = vec![None; anchors.len()];
    let _ = trust.verify_anchor_chain(&anchors, &proofs);
});

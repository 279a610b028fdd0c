//! DSSE envelopes and anchors from any bytes, verified against a fixed trust root.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn trust() -> &'static evl_sdk::TrustRoot {
    static T: OnceLock<evl_sdk::TrustRoot> = OnceLock::new();
    T.get_or_init(|| {
        let k = evl_sdk::SecretKey::from_seed("fuzz.example/log", &[1; 32]).expect("key");
        let ts = evl_sdk::Timestamp::from_unix(0).expect("epoch");
        evl_sdk::TrustRoot::new("fuzz.example/log", vec![evl_sdk::TrustedKey::new(k.public().clone(), ts, None, false)])
            .expect("trust root")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = evl_sdk::Envelope::from_json(data) {
        let _ = env.verify(trust(), evl_sdk::dsse::ANCHOR_PAYLOAD_TYPE, evl_sdk::Timestamp::from_unix(1).expect("t"));
        let again = evl_sdk::Envelope::from_json(&env.to_json()).expect("our own output must parse");
        assert_eq!(again, env);
    }
    if let Ok(a) = evl_sdk::Anchor::from_json(data) {
        let _ = trust().verify_anchor(&a);
    }
});

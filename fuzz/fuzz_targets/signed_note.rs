//! Signed notes, checkpoints and vkeys from any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = evl_sdk::SignedNote::parse(data) {
        let text = n.to_text();
        let again = evl_sdk::SignedNote::parse(text.as_bytes()).expect("our own output must parse");
        assert_eq!(again, n);
        let k = evl_sdk::SecretKey::from_seed("fuzz.example/log", &[1; 32]).expect("key");
        let _ = n.verify(k.public());
    }
    if let Ok(cp) = evl_sdk::SignedCheckpoint::parse(data) {
        let _ = evl_sdk::Checkpoint::parse(&cp.checkpoint().to_text()).expect("checkpoint text round-trips");
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(k) = evl_sdk::PublicKey::from_vkey(s) {
            assert_eq!(evl_sdk::PublicKey::from_vkey(&k.vkey()).expect("vkey round-trips"), k);
        }
        let _ = evl_sdk::SecretKey::from_skey(s);
        let _ = evl_sdk::Timestamp::parse(s);
    }
});

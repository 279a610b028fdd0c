//! Pack files from any bytes (SPEC.md §9): as a `.tar.zst` (in memory and streamed, which must
//! agree) and as a raw archive fed to a `PackVerifier`, self-contained and, so that mutations
//! get past the manifest listing to the content checks, with the manifest re-signed over the
//! entries by the seeds' log key. Never panics; an archive that splits is the one byte
//! encoding of its entries.
#![no_main]
use evl_sdk::pack::manifest::{FileEntry, MANIFEST_PATH, Manifest};
use evl_sdk::pack::{PackVerifier, tar, verify_pack_self_contained};
use evl_sdk::{SecretKey, Timestamp, TrustRoot, TrustedKey};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// The log key of the seeds (`write_fuzz_seeds` in ledger/tests/pack_tamper.rs) and a trust
/// root for it.
static LOG: LazyLock<(SecretKey, TrustRoot)> = LazyLock::new(|| {
    let origin = "tamper.example/log";
    let key = SecretKey::from_seed(origin, &[9; 32]).expect("key");
    let since = Timestamp::parse("2020-01-01T00:00:00Z").expect("time");
    let trust = TrustRoot::new(
        origin,
        vec![TrustedKey::new(key.public().clone(), since, None, false)],
    )
    .expect("trust root");
    (key, trust)
});

fn verify(trust: Option<TrustRoot>, entries: &[(String, &[u8])]) {
    let mut v = PackVerifier::new(trust);
    for (path, data) in entries {
        if v.entry(path, data).is_err() {
            return;
        }
    }
    let _ = v.finish();
}

fuzz_target!(|data: &[u8]| {
    // As a pack file: the in-memory and the streaming verifier give the same verdict.
    let mem = verify_pack_self_contained(data).map(|v| v.into_inner());
    let streamed = evl_ledger::pack::verify_pack_reader(data, None, &mut |_| {}).map(|v| v.into_inner());
    assert_eq!(
        mem.as_ref().map_err(|e| e.code()),
        streamed.as_ref().map_err(|e| e.code()),
        "in-memory and streaming verdicts differ"
    );

    // As a raw archive.
    let Ok(owned) = tar::entries(data) else {
        return;
    };
    let entries: Vec<(String, &[u8])> = owned.iter().map(|(p, d)| (p.clone(), d.as_slice())).collect();
    assert_eq!(
        tar::build(&owned).as_deref(),
        Some(data),
        "an archive that splits is the one encoding of its entries"
    );
    verify(None, &entries);

    // Re-signed over the entries as they are, keeping the rest of the manifest.
    let Some(((last, manifest), rest)) = entries.split_last() else {
        return;
    };
    let Ok(m) = Manifest::parse(manifest) else {
        return;
    };
    if last != MANIFEST_PATH {
        return;
    }
    let mut payload = m.payload;
    payload.files = rest.iter().map(|(p, d)| FileEntry::of(p, d)).collect();
    let signed = payload.sign(&LOG.0);
    let mut again = rest.to_vec();
    again.push((MANIFEST_PATH.to_owned(), &signed));
    verify(Some(LOG.1.clone()), &again);
});

//! `evl verify-pack` on files that are not packs: one sniffer (`evl_sdk::pack::sniff`) sends
//! everything that is not a JSON object to the pack verifier, which answers `PACK_MALFORMED`
//! (never a JSON error) for an empty file, gzip, a plain tar, a leading skippable zstd frame
//! and a decompression bomb.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{evl, json};

fn code_of(dir: &std::path::Path, name: &str, bytes: &[u8]) -> (bool, String) {
    let f = dir.join(name);
    std::fs::write(&f, bytes).unwrap();
    let o = evl(
        &dir.join("no-data"),
        &["verify-pack", f.to_str().unwrap(), "--output", "json"],
    );
    (
        o.status.success(),
        json(&o)["code"].as_str().unwrap_or("").to_owned(),
    )
}

/// A plain ustar archive of one small file.
fn plain_tar() -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..8].copy_from_slice(b"a.json\0\0");
    h[100..108].copy_from_slice(b"0000644\0");
    h[124..136].copy_from_slice(b"00000000002\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut t = h.to_vec();
    let mut data = [0u8; 512];
    data[..2].copy_from_slice(b"{}");
    t.extend_from_slice(&data);
    t.extend_from_slice(&[0u8; 1024]);
    t
}

/// A zstd frame of RLE blocks: 4 bytes per 128 KiB of zeros.
fn rle_bomb(blocks: usize) -> Vec<u8> {
    let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x38];
    for i in 0..blocks {
        let header = u32::from(i + 1 == blocks) | (1 << 1) | (131_072 << 3);
        f.extend_from_slice(&header.to_le_bytes()[..3]);
        f.push(0);
    }
    f.extend_from_slice(&[0, 0, 0, 0]);
    f
}

#[test]
fn files_that_are_not_packs_are_pack_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut skippable = vec![0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
    skippable.extend_from_slice(&rle_bomb(1));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("gzip", vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3, 3, 0]),
        ("tar", plain_tar()),
        ("skippable", skippable),
        ("text", b"not a pack at all\n".to_vec()),
        ("bomb", rle_bomb(40_000)),
    ];
    for (name, bytes) in cases {
        let (ok, code) = code_of(d, name, &bytes);
        assert!(!ok, "{name} verified");
        assert_eq!(code, "PACK_MALFORMED", "{name}");
    }
    // A JSON object is still read as a proof bundle (and fails as one, not as a pack).
    let f = d.join("bundle.json");
    std::fs::write(&f, br#"{"type":"x-not-a-bundle"}"#).unwrap();
    let o = evl(&d.join("no-data"), &["verify-pack", f.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        !common::text(&o).contains("PACK_MALFORMED"),
        "{}",
        common::text(&o)
    );
}

/// `--output` is a format on every command; a file is `-o/--out`. `evl backup --output json`
/// once wrote a backup file named `json`: now it is a usage error and writes nothing.
#[test]
fn output_is_a_format_and_files_are_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    common::ok(&data, &["init", "--origin", "out.test/log"]);
    for args in [
        vec!["backup", "--output", "json"],
        vec!["export", "--output", "json"],
        vec!["archive", "--older-than", "1", "--output", "json"],
        vec!["anchor", "export", "--latest", "--output", "json"],
    ] {
        let o = evl(&data, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", common::text(&o));
    }
    assert!(!std::path::Path::new("json").exists() && !data.join("json").exists());
    let out = dir.path().join("b.tar.zst");
    common::ok(&data, &["backup", "--out", out.to_str().unwrap()]);
    assert!(out.exists());
}

//! A clone of the repository tests itself: no Rust source (crate, test, bench, fuzz target)
//! reads anything outside the repository. Test data lives beside its tests (`tests/data/`,
//! `vectors/`) with its source and licence; only `.ci/run`'s optional peer step uses the
//! peer directory beside a checkout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if p.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | ".git" | "corpus" | "artifacts" | "node_modules"
            ) {
                rust_files(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_rust_source_reads_outside_the_repository() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.len() > 100,
        "found only {} Rust files under {}",
        files.len(),
        root.display()
    );
    // Built at run time, so this file does not name them itself.
    let outside: Vec<String> = [["..", "/shared"], ["shared", "/samples"], ["EVL_VEX", "_SAMPLES"]]
        .iter()
        .map(|p| p.concat())
        .collect();
    let mut bad = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if outside.iter().any(|p| line.contains(p.as_str())) {
                bad.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "sources that read outside the repository:\n{}",
        bad.join("\n")
    );
}

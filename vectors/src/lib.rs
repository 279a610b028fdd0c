//! The generated test vectors (`vectors/generated/`): one case per file, positive cases and
//! systematic mutations of them, each with the verdict and stable error code the SDK must give.
//!
//! Regenerate with `cargo run -p evl-vectors -- generate`; the test suite fails if the files on
//! disk differ from what this module produces, so vectors change only on purpose (and with
//! SPEC.md, in the same commit).

// The generator works on fixed, known-good inputs; an `expect` failing here is a bug in the
// generator itself, caught by the frozen-vector test.
#![allow(clippy::expect_used)]

mod cases;
mod cases_bundle;
mod cases_proofs2;
mod check;
mod material;

pub use check::{VectorOutcome, verify_file};

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

/// Relative path → file bytes, for every generated vector.
pub fn generate() -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    cases::all(&mut out);
    out
}

/// Writes every vector under `dir`, removing stale `.json` files in the kind directories.
pub fn write_all(dir: &Path) -> io::Result<usize> {
    let files = generate();
    if dir.exists() {
        for entry in walk(dir)? {
            let rel = rel_path(dir, &entry);
            if !files.contains_key(&rel) {
                fs::remove_file(&entry)?;
            }
        }
    }
    for (rel, bytes) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(path, bytes)?;
    }
    Ok(files.len())
}

/// Checks that `dir` holds exactly the generated files, byte for byte.
pub fn check_frozen(dir: &Path) -> Result<usize, String> {
    let files = generate();
    let mut problems = Vec::new();
    for (rel, bytes) in &files {
        match fs::read(dir.join(rel)) {
            Ok(disk) if &disk == bytes => {}
            Ok(_) => problems.push(format!("{rel}: differs from the generator's output")),
            Err(e) => problems.push(format!("{rel}: {e}")),
        }
    }
    let on_disk = walk(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for p in on_disk {
        let rel = rel_path(dir, &p);
        if !files.contains_key(&rel) {
            problems.push(format!("{rel}: on disk but not generated"));
        }
    }
    if problems.is_empty() {
        Ok(files.len())
    } else {
        Err(format!(
            "{} vector file(s) differ; if the change is intended run `cargo run -p evl-vectors -- generate` and update SPEC.md:\n  {}",
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

fn rel_path(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

fn walk(dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

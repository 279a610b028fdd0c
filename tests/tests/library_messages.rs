//! The library says what failed; the CLI says what to run next (`evl_ledger::Next`, rendered by
//! `server/src/output.rs`). No string in a library crate names an `evl` command, so an HTTP
//! client is never told to run one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a line: what is left after a `//` comment (a `//` inside a string is rare
/// enough in these crates to ignore).
fn code(line: &str) -> &str {
    let t = line.trim_start();
    if t.starts_with("//") {
        return "";
    }
    match line.find(" //") {
        Some(i) => &line[..i],
        None => line,
    }
}

#[test]
fn no_library_message_names_an_evl_command() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut files = Vec::new();
    for dir in ["ledger/src", "ledger/vex/src", "sdk/src", "sdk/client/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let pattern = ["`", "evl "].concat();
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        // Test modules may build such strings to check a message.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let c = code(line);
            if c.contains('"') && (c.contains(&pattern) || c.contains("run evl ")) {
                found.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "library strings naming a command:\n{}",
        found.join("\n")
    );
}

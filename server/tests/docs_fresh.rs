//! The generated reference docs are fresh: docs/cli.md is what `evl docs cli` prints
//! (clap's help of every command), and the route table of docs/http-api.md is what `evl docs
//! routes` prints (the OpenAPI document). Regenerate with the commands in the failure message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

fn workspace() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn generated(what: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let o = common::evl(&dir.path().join("d"), &["docs", what]);
    assert!(o.status.success(), "{}", common::text(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn cli_reference_is_fresh() {
    let want = generated("cli");
    let have = std::fs::read_to_string(workspace().join("docs/cli.md")).unwrap_or_default();
    assert!(
        have == want,
        "docs/cli.md is stale: run `cargo run -q -p evl-server --bin evl -- docs cli > docs/cli.md`"
    );
    // Every visible command is in it.
    for cmd in [
        "evl init",
        "evl append",
        "evl verify-pack",
        "evl backup",
        "evl anchor create",
        "evl recover",
    ] {
        assert!(want.contains(&format!("## `{cmd}`")), "{cmd} missing");
    }
}

#[test]
fn http_route_table_is_fresh() {
    let want = generated("routes");
    let doc = std::fs::read_to_string(workspace().join("docs/http-api.md")).unwrap();
    let begin = want.lines().next().unwrap();
    let have = doc
        .find(begin)
        .and_then(|a| {
            doc[a..]
                .find("<!-- END routes -->")
                .map(|b| &doc[a..a + b + "<!-- END routes -->".len()])
        })
        .unwrap_or("");
    assert!(
        have == want.trim_end(),
        "the route table of docs/http-api.md is stale: replace the lines from {begin:?} to `<!-- END routes -->` with the output of `cargo run -q -p evl-server --bin evl -- docs routes`"
    );
    assert!(want.contains("`/v1/nodes`") && want.contains("`/health/readiness`"));
}

/// The flags of every command, read from the generated reference (docs/cli.md).
fn flags_by_command(reference: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for line in reference.lines() {
        if let Some(rest) = line.strip_prefix("## `") {
            current = rest.strip_suffix('`').map(String::from);
            if let Some(c) = &current {
                out.insert(c.clone(), vec!["--help".to_owned(), "--version".to_owned()]);
            }
            continue;
        }
        let t = line.trim_start();
        // `-o, --out <FILE>`: the long name follows the short one.
        let t = match t.strip_prefix('-') {
            Some(r) if !r.starts_with('-') => r.get(3..).unwrap_or_default().trim_start(),
            _ => t,
        };
        if let (Some(c), Some(flag)) = (&current, t.strip_prefix("--")) {
            let name: String = flag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if !name.is_empty() {
                out.get_mut(c).unwrap().push(format!("--{name}"));
            }
        }
    }
    out
}

/// Every `evl …` command line quoted in the hand-written docs names flags that the command has:
/// the prose cannot drift from clap without this failing.
#[test]
fn hand_written_docs_use_real_flags() {
    let reference = std::fs::read_to_string(workspace().join("docs/cli.md")).unwrap();
    let flags = flags_by_command(&reference);
    assert!(
        flags
            .get("evl export")
            .is_some_and(|f| f.contains(&"--out".to_owned())),
        "{flags:?}"
    );
    let mut bad = Vec::new();
    let docs = [
        "README.md",
        "docs/cli-guide.md",
        "docs/tutorial.md",
        "docs/operations/README.md",
        "docs/http-api.md",
    ];
    for doc in docs {
        let text = std::fs::read_to_string(workspace().join(doc)).unwrap();
        // Inline code spans and the lines of code blocks.
        let mut quoted: Vec<String> = text.split('`').skip(1).step_by(2).map(String::from).collect();
        quoted.extend(
            text.lines()
                .map(|l| l.trim_start().trim_start_matches("$ ").to_owned()),
        );
        for q in quoted {
            let Some(rest) = q.strip_prefix("evl ") else {
                continue;
            };
            let words: Vec<&str> = rest.split_whitespace().collect();
            // The longest command path the words start with (flags may come first: `--data`).
            let path = (0..=words.len().min(3))
                .rev()
                .map(|n| {
                    let cmd: Vec<&str> = words
                        .iter()
                        .filter(|w| !w.starts_with('-'))
                        .take(n)
                        .copied()
                        .collect();
                    format!("evl {}", cmd.join(" ")).trim_end().to_owned()
                })
                .find(|p| flags.contains_key(p));
            let Some(path) = path else { continue };
            let known = &flags[&path];
            for w in words.iter().filter(|w| w.starts_with("--")) {
                let name: String = w
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                if name.len() > 2 && !known.contains(&name) && !flags["evl"].contains(&name) {
                    bad.push(format!("{doc}: `{q}`: {path} has no {name}"));
                }
            }
        }
    }
    bad.sort();
    bad.dedup();
    assert!(bad.is_empty(), "flags that do not exist:\n{}", bad.join("\n"));
}

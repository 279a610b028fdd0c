//! The generated reference docs are fresh: docs/cli-reference.md is what `evl docs cli` prints
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
    let have = std::fs::read_to_string(workspace().join("docs/cli-reference.md")).unwrap_or_default();
    assert!(
        have == want,
        "docs/cli-reference.md is stale: run `cargo run -q -p evl-server --bin evl -- docs cli > docs/cli-reference.md`"
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

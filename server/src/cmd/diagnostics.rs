//! `evl diagnostics --out F`: one support archive, with no secrets.
//!
//! The archive is the pack container's strict ustar (`evl_sdk::pack::tar`) in one zstd frame
//! (ruzstd, as packs), so `zstd -dc F | tar -x` opens it; it carries no manifest and is not a
//! pack. Entries (each JSON unless said otherwise):
//!
//! - `status.json`: versions, origin, tree size, last anchor and its age, store size;
//! - `store-stats.json`: store size, tree size, anchor count, the data directory's file names,
//!   sizes and modes (never their contents);
//! - `anchors.json`: the last [`RECENT_ANCHORS`] anchors' summaries and the chain's state;
//! - `last-verify.json`: DATA/last-verify.json as `evl verify` or `evl recover` wrote it;
//! - `errors.json`: the last verify's failures, the anchor chain's failure, and errors met while
//!   collecting (a store locked by `evl serve`, an invalid configuration);
//! - `config.json`: the effective `evl serve` configuration with every token "<redacted>";
//! - `server-log.txt`: the last [`LOG_TAIL_BYTES`] of `--log-file`, if given.
//!
//! Secrets are never read into an entry: the signing key and the admin token files are only
//! read to build the list of strings that every entry is then scrubbed of (the admin token,
//! every configured token, the key PEM's base64 body and each of its lines).

use crate::cli::DiagnosticsArgs;
use crate::output::bytes;
use anyhow::{Context as _, Result};
use evl_server::data_dir::DataDir;
use serde_json::{Value, json};
use std::process::ExitCode;

/// Anchors summarized in `anchors.json`. Rationale: enough to see the recent cadence and any
/// break, small enough to read.
const RECENT_ANCHORS: usize = 20;

/// Bytes of `--log-file` included (its tail). Rationale: the recent errors, not the history;
/// keeps the archive small enough to attach to a ticket.
const LOG_TAIL_BYTES: u64 = 1024 * 1024;

/// What replaces a secret.
const REDACTED: &str = "<redacted>";

pub fn run(dir: &DataDir, args: &DiagnosticsArgs) -> Result<ExitCode> {
    let now = evl_ledger::time::now();
    let mut errors: Vec<Value> = Vec::new();
    let mut secrets = secret_strings(dir);

    // Configuration, tokens redacted. Tokens are also collected from the raw file and the
    // EVL_AUTH* environment, so they are scrubbed even when the configuration does not load.
    let file = args.config.clone().unwrap_or_else(|| dir.config());
    let raw_ok = raw_tokens(&file, &mut secrets);
    secrets.extend(
        std::env::vars()
            .filter(|(k, _)| k.starts_with("EVL_AUTH") || k == "EVL_STORE__PASSWORD")
            .map(|(_, v)| v),
    );
    let config = match &args.config {
        Some(c) if !c.exists() => Err(anyhow::anyhow!(
            "configuration file {} does not exist",
            c.display()
        )),
        _ => evl_server::config::load(Some(&file), std::env::vars()),
    };
    let config_json = match config {
        Ok(mut c) => {
            for t in &mut c.auth.tokens {
                secrets.push(std::mem::replace(&mut t.token, REDACTED.into()));
            }
            // The store's password (environment, file or URL) never reaches the archive: the
            // URL is shown as user, hosts and database only.
            if let Some(p) = c.store.password.take() {
                secrets.push(p.0);
            }
            if let Some(line) = c
                .store
                .password_file
                .as_ref()
                .and_then(|f| std::fs::read_to_string(f).ok())
                .and_then(|t| t.lines().next().map(str::to_owned))
            {
                secrets.push(line);
            }
            for t in [c.store.pg_target(), c.store.read_target()]
                .into_iter()
                .flatten()
                .flatten()
            {
                secrets.extend(t.secrets().iter().cloned());
            }
            if c.store.url.is_some() {
                c.store.url = c.store.pg_target().ok().flatten().map(|t| t.describe());
            }
            if c.store.read_url.is_some() {
                c.store.read_url = c.store.read_target().ok().flatten().map(|t| t.describe());
            }
            let mut v = serde_json::to_value(&c)?;
            v["admin_token_file"] = json!(if dir.admin_token().exists() {
                "present (not included)"
            } else {
                "absent"
            });
            v
        }
        Err(e) => {
            // A TOML syntax error quotes the offending line, which may hold a token: then only
            // the outer message is kept.
            let msg = if raw_ok { format!("{e:#}") } else { e.to_string() };
            let msg = evl_server::config::scrub_passwords(&msg);
            errors.push(json!({"what": "config", "error": msg}));
            json!({"error": msg})
        }
    };

    // The store: status, stats, anchors.
    let (status, stats, anchors) = match dir.reader() {
        Ok(r) => store_parts(dir, &r, now, &mut errors)?,
        Err(e) => {
            let err = json!({"error": format!("{e:#}")});
            errors.push(json!({"what": "store", "error": format!("{e:#}")}));
            (err.clone(), err.clone(), err)
        }
    };
    let mut status = status;
    status["evl_version"] = json!(env!("CARGO_PKG_VERSION"));
    status["git_commit"] = json!(option_env!("EVL_GIT_COMMIT").unwrap_or("unknown"));
    status["generated"] = json!(now);
    status["data_dir"] = json!(dir.root());
    let mut stats = stats;
    stats["files"] = json!(data_dir_files(dir));

    // The last verify report and its failures.
    let last_verify = match std::fs::read(dir.last_verify()) {
        Ok(b) => serde_json::from_slice::<Value>(&b).unwrap_or_else(
            |e| json!({"error": format!("{} is not JSON: {e}", dir.last_verify().display())}),
        ),
        Err(_) => json!({"missing": "no DATA/last-verify.json: run `evl verify --mode full` first"}),
    };
    let errors_json = json!({
        "last_verify_failures": last_verify["report"]["failures"],
        "last_verify_recorded": last_verify["report"]["recorded"],
        "last_verify_time": last_verify["time"],
        "anchor_chain_failure": anchors["chain"]["failure"],
        "collecting": errors,
    });

    let mut entries: Vec<(String, Vec<u8>)> = vec![
        ("anchors.json".into(), pretty(&anchors)),
        ("config.json".into(), pretty(&config_json)),
        ("errors.json".into(), pretty(&errors_json)),
        ("last-verify.json".into(), pretty(&last_verify)),
        ("status.json".into(), pretty(&status)),
        ("store-stats.json".into(), pretty(&stats)),
    ];
    if let Some(p) = &args.log_file {
        entries.push(("server-log.txt".into(), log_tail(p)?));
    }
    secrets.retain(|s| s.len() >= 8);
    for (_, data) in &mut entries {
        scrub(data, &secrets);
    }
    let tar = evl_sdk::pack::tar::build(&entries).context("building the archive")?;
    let archive =
        ruzstd::encoding::compress_to_vec(tar.as_slice(), ruzstd::encoding::CompressionLevel::Fastest);
    write_private(&args.output, &archive)?;
    let summary = json!({
        "output": args.output,
        "bytes": archive.len(),
        "entries": entries.iter().map(|(p, d)| json!({"path": p, "bytes": d.len()})).collect::<Vec<_>>(),
        "errors": errors_json["collecting"],
    });
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        crate::outln!(
            "wrote {} ({}): {}",
            args.output.display(),
            bytes(archive.len() as u64),
            entries
                .iter()
                .map(|(p, _)| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for e in summary["errors"].as_array().into_iter().flatten() {
            crate::outln!("note: {}: {}", e["what"], e["error"]);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn store_parts(
    dir: &DataDir,
    r: &evl_ledger::LedgerReader<evl_ledger::store::any::AnyStore>,
    now: evl_sdk::Timestamp,
    errors: &mut Vec<Value>,
) -> Result<(Value, Value, Value)> {
    let size = r.tree_size()?.get();
    let stored = r.anchors()?;
    let last = stored.iter().rev().find_map(|s| s.anchor.as_ref().ok());
    let disk = r.stats().disk_bytes;
    let last_json = last.map(|a| {
        let p = a.payload();
        json!({"seq": p.seq, "segment": p.segment, "tree_size": p.tree_size, "time": p.time,
            "age_seconds": now.unix() - p.time.unix(), "entries_since": size.saturating_sub(p.tree_size)})
    });
    let status = json!({"origin": r.origin(), "tree_size": size, "last_anchor": last_json, "store_bytes": disk,
        "store_format": r.store_format()?});
    let stats = json!({
        "store_file": dir.store_location(), "disk_bytes": disk, "tree_size": size, "anchors": stored.len(),
        "bytes_per_leaf": disk.checked_div(size).unwrap_or(0),
    });
    let recent: Vec<Value> = stored
        .iter()
        .rev()
        .take(RECENT_ANCHORS)
        .rev()
        .map(|s| match &s.anchor {
            Ok(a) => {
                let p = a.payload();
                json!({"seq": s.seq, "id": a.id(), "segment": p.segment, "tree_size": p.tree_size,
                    "root": p.root, "time": p.time, "prev": p.prev, "segment_reason": p.segment_reason})
            }
            Err(e) => json!({"seq": s.seq, "error": e.to_string()}),
        })
        .collect();
    let chain = match r.verify_anchor_chain() {
        Ok(c) => json!({
            "verified": c.verified.len(), "last_good": c.last_good, "breaks": c.breaks,
            "archived": c.archived, "failure": c.failure,
        }),
        Err(e) => {
            errors.push(json!({"what": "anchor chain", "error": e.to_string()}));
            json!({"error": e.to_string()})
        }
    };
    let anchors = json!({"count": stored.len(), "recent": recent, "chain": chain});
    Ok((status, stats, anchors))
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
    b.push(b'\n');
    b
}

/// Names, sizes and modes of the data directory's files (never their contents).
fn data_dir_files(dir: &DataDir) -> Vec<Value> {
    let Ok(rd) = std::fs::read_dir(dir.root()) else {
        return Vec::new();
    };
    let mut out: Vec<Value> = rd
        .flatten()
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            #[cfg(unix)]
            let mode = {
                use std::os::unix::fs::PermissionsExt as _;
                format!("{:o}", m.permissions().mode() & 0o7777)
            };
            #[cfg(not(unix))]
            let mode = String::new();
            Some(json!({"name": e.file_name().to_string_lossy(), "bytes": m.len(), "mode": mode, "dir": m.is_dir()}))
        })
        .collect();
    out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    out
}

/// The strings no entry may contain: the admin token, and the signing key PEM's base64 body
/// (whole and line by line). Configured tokens are added by the caller.
fn secret_strings(dir: &DataDir) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(t) = std::fs::read_to_string(dir.admin_token()) {
        out.push(t.trim().to_owned());
    }
    if let Ok(pem) = std::fs::read_to_string(dir.key()) {
        let body: Vec<&str> = pem
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .collect();
        out.push(body.concat());
        out.extend(body.iter().map(|l| (*l).to_owned()));
    }
    out
}

/// Adds every string value of a key named `token`, anywhere in the TOML file at `path`, to
/// `out`. False if the file exists but is not TOML (its tokens are then unknown).
fn raw_tokens(path: &std::path::Path, out: &mut Vec<String>) -> bool {
    fn walk(v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    if let (true, toml::Value::String(s)) = (k == "token", v) {
                        out.push(s.clone());
                    }
                    walk(v, out);
                }
            }
            toml::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return true;
    };
    match toml::from_str::<toml::Table>(&text) {
        Ok(t) => {
            walk(&toml::Value::Table(t), out);
            true
        }
        Err(_) => false,
    }
}

/// Replaces every occurrence of each secret with "<redacted>".
fn scrub(data: &mut Vec<u8>, secrets: &[String]) {
    for s in secrets {
        let needle = s.as_bytes();
        if needle.is_empty() || data.len() < needle.len() {
            continue;
        }
        let mut out = Vec::with_capacity(data.len());
        let mut i = 0;
        while i < data.len() {
            if data[i..].starts_with(needle) {
                out.extend_from_slice(REDACTED.as_bytes());
                i += needle.len();
            } else {
                out.push(data[i]);
                i += 1;
            }
        }
        *data = out;
    }
}

fn log_tail(path: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = f.metadata()?.len();
    let start = len.saturating_sub(LOG_TAIL_BYTES);
    f.seek(SeekFrom::Start(start))?;
    let mut out = Vec::new();
    f.take(LOG_TAIL_BYTES).read_to_end(&mut out)?;
    if start > 0 {
        let mut head = format!("[first {start} bytes of {} omitted]\n", path.display()).into_bytes();
        head.extend_from_slice(&out);
        out = head;
    }
    Ok(out)
}

/// Writes `data` to `path` through a temporary file in the same directory (mode 0600), renamed
/// into place, so a failure leaves nothing half-written.
fn write_private(path: &std::path::Path, data: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".evl-diagnostics-")
        .tempfile_in(parent)
        .with_context(|| format!("creating a temporary file in {}", parent.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

//! `evl proof manifest | bundle | verify`: score manifests and proof bundles
//! (`evl_sdk::bundle`, SPEC.md §15).

use crate::cli::{Format, ProofCommand};
use crate::output::emit;
use anyhow::{Context as _, Result, anyhow, bail};
use evl_ledger::AnchorPolicy;
use evl_sdk::bundle::{BundleError, BundleReport, ManifestInput, ProofBundle, ScoreManifest};
use evl_sdk::{Node, NodeId, Timestamp, TrustRoot, Verified, sha256};
use evl_server::data_dir::DataDir;
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

pub fn run(dir: &DataDir, cmd: ProofCommand) -> Result<ExitCode> {
    match cmd {
        ProofCommand::Manifest {
            inputs,
            input_files,
            freeze_time,
            output,
            append,
        } => manifest(
            dir,
            &inputs,
            &input_files,
            freeze_time.as_deref(),
            output.as_deref(),
            append,
        ),
        ProofCommand::Bundle {
            manifest,
            result,
            time,
            output,
            append,
        } => bundle(
            dir,
            &manifest,
            &result,
            time.as_deref(),
            output.as_deref(),
            append,
        ),
        ProofCommand::Verify {
            bundle,
            trust_root,
            out,
        } => verify(dir, &bundle, trust_root.as_deref(), out.output),
    }
}

/// Verifies a proof bundle file against a trust root (SPEC.md §15.5): the bytes are any strict
/// JSON (canonicalized as an append would), then every trust-free check, then the attestation
/// by a key of `trust` valid at the statement's time. The report says what was proven; the
/// error carries the stable code.
pub fn verify_bundle_file(bytes: &[u8], trust: &TrustRoot) -> Result<Verified<BundleReport>, BundleError> {
    trust.verify_bundle(&ProofBundle::from_json(bytes)?)
}

/// `NAME=KIND:REST` → (name, kind, rest).
fn split_input<'a>(flag: &str, s: &'a str) -> Result<(&'a str, &'a str, &'a str)> {
    let parse = || {
        let (name, rest) = s.split_once('=')?;
        let (kind, rest) = rest.split_once(':')?;
        Some((name, kind, rest))
    };
    parse().with_context(|| {
        format!(
            "{flag} {s:?}: expected NAME=KIND:{}",
            if flag == "--input" { "sha256:HEX" } else { "PATH" }
        )
    })
}

fn parse_time(flag: &str, s: &str) -> Result<Timestamp> {
    evl_ledger::vex::parse_as_of(s)
        .with_context(|| format!("{flag} {s:?} is not an RFC 3339 date-time (e.g. 2026-03-01T00:00:00Z)"))
}

/// Writes canonical node bytes to `output` (exactly the bytes the NodeId hashes), or prints
/// them; appends when asked. Messages go to stderr so stdout stays the node.
fn deliver(dir: &DataDir, node: &Node, what: &str, output: Option<&Path>, append: bool) -> Result<()> {
    match output {
        Some(path) => {
            std::fs::write(path, node.bytes()).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {what} {} to {}", node.id(), path.display());
        }
        None => crate::outln!("{}", String::from_utf8_lossy(node.bytes())),
    }
    if append {
        let out = dir
            .writer(AnchorPolicy::DEFAULT_INTERVAL)?
            .append(vec![node.clone()])?
            .pop()
            .context("the append returned no receipt")?;
        eprintln!(
            "{what} {} at leaf {} ({})",
            node.id(),
            out.receipt.leaf_index,
            if out.created {
                "appended"
            } else {
                "already present"
            }
        );
    }
    Ok(())
}

fn manifest(
    dir: &DataDir,
    inputs: &[String],
    input_files: &[String],
    freeze_time: Option<&str>,
    output: Option<&Path>,
    append: bool,
) -> Result<ExitCode> {
    let mut list = Vec::with_capacity(inputs.len() + input_files.len());
    for s in inputs {
        let (name, kind, digest) = split_input("--input", s)?;
        let id: NodeId = digest.parse().map_err(|_| {
            anyhow!("--input {s:?}: {digest:?} is not sha256: followed by 64 lowercase hex digits")
        })?;
        list.push(ManifestInput::new(name, kind, *id.digest()).with_context(|| format!("--input {s:?}"))?);
    }
    for s in input_files {
        let (name, kind, path) = split_input("--input-file", s)?;
        let bytes = super::append::read_input(Path::new(path))?;
        list.push(
            ManifestInput::new(name, kind, sha256(&bytes)).with_context(|| format!("--input-file {s:?}"))?,
        );
    }
    if list.is_empty() {
        bail!("a manifest needs at least one --input or --input-file");
    }
    let freeze = freeze_time.map(|t| parse_time("--freeze-time", t)).transpose()?;
    let node = ScoreManifest::build(list, freeze)?;
    deliver(dir, &node, "manifest", output, append)?;
    Ok(ExitCode::SUCCESS)
}

fn read_json_file(flag: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{flag}: reading {}", path.display()))
}

fn bundle(
    dir: &DataDir,
    manifest: &Path,
    result: &Path,
    time: Option<&str>,
    output: Option<&Path>,
    append: bool,
) -> Result<ExitCode> {
    let m = Node::from_json(&read_json_file("--manifest", manifest)?)
        .with_context(|| format!("--manifest {}", manifest.display()))?;
    let r = evl_sdk::jcs::parse(&read_json_file("--result", result)?)
        .with_context(|| format!("--result {}", result.display()))?;
    let time = match time {
        Some(t) => parse_time("--time", t)?,
        None => evl_ledger::time::now(),
    };
    // The key is named by the log's origin; read both, then release the store.
    let trust = dir.reader()?.trust_root().clone();
    let key = evl_ledger::keyfile::read_private(&dir.key(), trust.origin())
        .with_context(|| format!("loading the signing key {}", dir.key().display()))?;
    let node = ProofBundle::build(&m, r, &key, time)
        .with_context(|| format!("building a bundle from {}", manifest.display()))?;
    // Check our own output as a verifier will.
    verify_bundle_file(node.bytes(), &trust).with_context(|| {
        format!("the new bundle does not verify against this ledger's trust root at --time {time}")
    })?;
    deliver(dir, &node, "bundle", output, append)?;
    Ok(ExitCode::SUCCESS)
}

/// Verifies the proof bundle file `bundle` (a JSON document; `super::evidence` sends packs
/// elsewhere).
pub(crate) fn verify(
    dir: &DataDir,
    bundle: &Path,
    trust_root: Option<&Path>,
    format: Format,
) -> Result<ExitCode> {
    let trust = match trust_root {
        Some(p) => super::trust_root_file(p)?,
        None => dir
            .reader()
            .context("no --trust-root given and no ledger to take it from")?
            .trust_root()
            .clone(),
    };
    let bytes = super::append::read_input(bundle)?;
    match verify_bundle_file(&bytes, &trust) {
        Ok(report) => {
            let r = report.into_inner();
            emit(format, &json!({"ok": true, "report": r}), || print_report(&r));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            emit(
                format,
                &json!({"ok": false, "code": e.code().as_str(), "message": e.to_string()}),
                || crate::outln!("FAIL {e}"),
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_report(r: &BundleReport) {
    crate::outln!("OK  bundle {}", r.bundle);
    crate::outln!(
        "    manifest {} root {} ({} inputs{})",
        r.manifest,
        r.root.to_base64(),
        r.inputs.len(),
        r.freeze_time
            .map(|t| format!(", frozen at {t}"))
            .unwrap_or_default()
    );
    for (i, input) in r.inputs.iter().enumerate() {
        crate::outln!(
            "    {i:>4}  {:<20} {:<12} sha256:{}",
            input.name(),
            input.kind(),
            input.digest()
        );
    }
    crate::outln!(
        "    result {} sha256:{}{}",
        r.result.kind(),
        r.result.digest(),
        r.result
            .node()
            .map(|n| format!(" (node {n})"))
            .unwrap_or_default()
    );
    crate::outln!("    value  {}", r.result.value());
    crate::outln!("    signed by {} at {}", r.signer, r.time);
}

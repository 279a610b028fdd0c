//! `evl append FILE... | -`.

use crate::cli::Format;
use crate::output::emit;
use anyhow::{Context as _, Result, bail};
use evl_ledger::AnchorPolicy;
use evl_server::data_dir::DataDir;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Splits input into documents: one JSON document, or JSON Lines (one per non-empty line).
/// It is JSON Lines only if the whole input is not one document and its first non-empty line is
/// a complete document by itself; otherwise it is one document, so its real error is reported.
fn documents(text: &[u8]) -> Vec<Vec<u8>> {
    if evl_sdk::jcs::parse(text).is_ok() {
        return vec![text.to_vec()];
    }
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .map(|l| l.trim_ascii())
        .filter(|l| !l.is_empty())
        .collect();
    let jsonl = lines.len() > 1 && lines.first().is_some_and(|l| evl_sdk::jcs::parse(l).is_ok());
    if jsonl {
        lines.into_iter().map(<[u8]>::to_vec).collect()
    } else {
        vec![text.to_vec()]
    }
}

pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).context("reading stdin")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

/// Wraps a whole file as a `blob/v1` node keeping its exact text (SPEC.md §3.2).
fn blob(media_type: &str, bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))?;
    Ok(serde_json::to_vec(
        &serde_json::json!({"type": "blob/v1", "media_type": media_type, "data": text}),
    )?)
}

pub fn run(
    dir: &DataDir,
    files: &[PathBuf],
    batch: usize,
    as_blob: Option<&str>,
    format: Format,
) -> Result<ExitCode> {
    let ledger = dir.writer(AnchorPolicy::DEFAULT_INTERVAL)?;
    let mut receipts = Vec::new();
    let (mut created, mut existing) = (0u64, 0u64);
    for f in files {
        let input = read_input(f)?;
        let docs = match as_blob {
            Some(mt) => vec![blob(mt, &input, f)?],
            None => documents(&input),
        };
        for (chunk_no, chunk) in docs.chunks(batch.max(1)).enumerate() {
            let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            let out = ledger.append_json(&refs).map_err(|e| match &e {
                evl_ledger::LedgerError::Rejected { index, error } => anyhow::anyhow!(
                    "{}: document {} rejected: {error}\n  nothing from this batch of {} was appended (earlier batches were)\n  hint: a node is a JSON object with a \"type\" member; use --as-blob MEDIA_TYPE to store raw documents",
                    f.display(),
                    chunk_no * batch.max(1) + index + 1,
                    chunk.len()
                ),
                _ => anyhow::Error::new(e),
            })?;
            for o in out {
                if o.created {
                    created += 1
                } else {
                    existing += 1
                }
                receipts.push(o);
            }
        }
    }
    if receipts.is_empty() {
        bail!("no JSON documents found in the input");
    }
    let json: Vec<_> = receipts
        .iter()
        .map(|o| serde_json::json!({"created": o.created, "receipt": serde_json::to_value(&o.receipt).unwrap_or_default()}))
        .collect();
    emit(format, &json, || {
        for o in &receipts {
            crate::outln!(
                "{:>10}  {}  {}",
                o.receipt.leaf_index,
                o.receipt.node_id,
                if o.created { "appended" } else { "already present" }
            );
        }
        let size = receipts
            .last()
            .map(|o| o.receipt.inclusion.size().get())
            .unwrap_or(0);
        crate::outln!("{created} appended, {existing} already present; tree size {size}");
    });
    Ok(ExitCode::SUCCESS)
}

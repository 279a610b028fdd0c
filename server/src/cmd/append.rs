//! `evl append FILE... | -`.

use crate::cli::Format;
use anyhow::{Context as _, Result, bail};
use evl_ledger::AnchorPolicy;
use evl_server::data_dir::DataDir;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Splits input into documents: one JSON document, or JSON Lines (one per non-empty line).
/// It is JSON Lines only if the whole input is not one document and its first non-empty line is
/// a complete document by itself; otherwise it is one document, so its real error is reported.
fn documents(text: &[u8]) -> Vec<&[u8]> {
    if evl_sdk::jcs::parse(text).is_ok() {
        return vec![text];
    }
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .map(|l| l.trim_ascii())
        .filter(|l| !l.is_empty())
        .collect();
    let jsonl = lines.len() > 1 && lines.first().is_some_and(|l| evl_sdk::jcs::parse(l).is_ok());
    if jsonl { lines } else { vec![text] }
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

/// Prints receipts batch by batch (a JSON array streamed element by element), so memory stays
/// flat however many nodes a file holds.
struct Printer {
    format: Format,
    printed: u64,
}

impl Printer {
    fn batch(&mut self, out: &[evl_ledger::AppendOutcome]) {
        for o in out {
            match self.format {
                Format::Json => {
                    let v = serde_json::json!({"created": o.created, "receipt": o.receipt});
                    let text = serde_json::to_string_pretty(&v)
                        .unwrap_or_default()
                        .replace('\n', "\n  ");
                    crate::out!("{}  {text}", if self.printed == 0 { "[\n" } else { ",\n" });
                }
                Format::Table => crate::outln!(
                    "{:>10}  {}  {}",
                    o.receipt.leaf_index,
                    o.receipt.node_id,
                    if o.created { "appended" } else { "already present" }
                ),
            }
            self.printed += 1;
        }
    }
}

pub fn run(
    dir: &DataDir,
    files: &[PathBuf],
    batch: usize,
    as_blob: Option<&str>,
    format: Format,
) -> Result<ExitCode> {
    let ledger = dir.writer(AnchorPolicy::DEFAULT_INTERVAL)?;
    let mut printer = Printer { format, printed: 0 };
    let (mut created, mut existing, mut size) = (0u64, 0u64, 0u64);
    for f in files {
        let input = read_input(f)?;
        let wrapped;
        let docs = match as_blob {
            Some(mt) => {
                wrapped = blob(mt, &input, f)?;
                vec![wrapped.as_slice()]
            }
            None => documents(&input),
        };
        for (chunk_no, chunk) in docs.chunks(batch.max(1)).enumerate() {
            let out = ledger.append_json(chunk).map_err(|e| match &e {
                evl_ledger::LedgerError::Rejected { index, error } => anyhow::anyhow!(
                    "{}: document {} rejected: {error}\n  nothing from this batch of {} was appended (earlier batches were)\n  hint: a node is a JSON object with a \"type\" member; use --as-blob MEDIA_TYPE to store raw documents",
                    f.display(),
                    chunk_no * batch.max(1) + index + 1,
                    chunk.len()
                ),
                _ => anyhow::Error::new(e),
            })?;
            for o in &out {
                if o.created {
                    created += 1
                } else {
                    existing += 1
                }
                size = size.max(o.receipt.inclusion.size().get());
            }
            printer.batch(&out);
        }
    }
    if printer.printed == 0 {
        bail!("no JSON documents found in the input");
    }
    match format {
        Format::Json => crate::outln!("\n]"),
        Format::Table => crate::outln!("{created} appended, {existing} already present; tree size {size}"),
    }
    Ok(ExitCode::SUCCESS)
}

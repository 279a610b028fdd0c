//! `evl append FILE... | -`.

use crate::cli::Format;
use anyhow::{Context as _, Result, bail};
use evl_ledger::AnchorPolicy;
use evl_server::data_dir::DataDir;
use std::io::{BufRead, Read as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The documents of one input: one JSON document, or JSON Lines (one per non-empty line). It is
/// JSON Lines when it has more than one non-empty line and its first non-empty line is a
/// complete document by itself; otherwise it is one document, the whole input, so its real
/// error is reported. JSON Lines are read line by line as they are appended, so memory stays
/// flat however large the file is.
enum Documents {
    /// The whole input, one document.
    One(Vec<u8>),
    /// The first two non-empty lines (trimmed), and the reader positioned after them.
    Lines(Vec<Vec<u8>>, Box<dyn BufRead>),
}

impl Documents {
    fn open(path: &Path) -> Result<Self> {
        let mut reader: Box<dyn BufRead> = if path == Path::new("-") {
            Box::new(std::io::stdin().lock())
        } else {
            let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
            Box::new(std::io::BufReader::with_capacity(1 << 20, file))
        };
        let mut head = Vec::new();
        let lines = next_lines(reader.as_mut(), 2, path, Some(&mut head))?;
        if lines.len() == 2 && lines.first().is_some_and(|l| evl_sdk::jcs::parse(l).is_ok()) {
            return Ok(Self::Lines(lines, reader));
        }
        reader
            .read_to_end(&mut head)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(Self::One(head))
    }
}

/// The next up to `n` non-empty lines (trimmed) of `reader`; fewer only at the end. With `raw`,
/// every byte read is also appended there.
fn next_lines(
    reader: &mut dyn BufRead,
    n: usize,
    path: &Path,
    mut raw: Option<&mut Vec<u8>>,
) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(n);
    let mut line = Vec::new();
    while out.len() < n {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {}", path.display()))?;
        if read == 0 {
            break;
        }
        if let Some(raw) = raw.as_deref_mut() {
            raw.extend_from_slice(&line);
        }
        let l = line.trim_ascii();
        if !l.is_empty() {
            out.push(l.to_vec());
        }
    }
    Ok(out)
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
    let batch = batch.max(1);
    for f in files {
        let mut appended = 0usize; // documents of this file before the current batch
        let mut append = |chunk: &[Vec<u8>]| -> Result<()> {
            let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            let out = ledger.append_json(&refs).map_err(|e| match &e {
                evl_ledger::LedgerError::Rejected { index, error } => anyhow::anyhow!(
                    "{}: document {} rejected: {error}\n  nothing from this batch of {} was appended (earlier batches were)\n  hint: a node is a JSON object with a \"type\" member; use --as-blob MEDIA_TYPE to store raw documents",
                    f.display(),
                    appended + index + 1,
                    chunk.len()
                ),
                _ => anyhow::Error::new(e),
            })?;
            appended += chunk.len();
            for o in &out {
                if o.created {
                    created += 1
                } else {
                    existing += 1
                }
                size = size.max(o.receipt.inclusion.size().get());
            }
            printer.batch(&out);
            Ok(())
        };
        if let Some(mt) = as_blob {
            append(&[blob(mt, &read_input(f)?, f)?])?;
            continue;
        }
        match Documents::open(f)? {
            Documents::One(doc) => append(&[doc])?,
            Documents::Lines(mut pending, mut reader) => loop {
                let want = batch.saturating_sub(pending.len());
                let more = next_lines(reader.as_mut(), want, f, None)?;
                let done = more.len() < want; // the end of the input
                pending.extend(more);
                for chunk in pending.chunks(batch) {
                    append(chunk)?;
                }
                pending.clear();
                if done {
                    break;
                }
            },
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::{Documents, next_lines};

    fn open(text: &str) -> Documents {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in");
        std::fs::write(&path, text).unwrap();
        Documents::open(&path).unwrap()
    }

    #[test]
    fn json_lines_stream_and_everything_else_is_one_document() {
        let Documents::Lines(first, mut rest) = open("{\"a\":1}\n\n {\"b\":2} \n{\"c\":3}\n\n{\"d\":4}")
        else {
            panic!("JSON Lines expected");
        };
        assert_eq!(first, vec![b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
        let p = std::path::Path::new("in");
        assert_eq!(
            next_lines(rest.as_mut(), 1, p, None).unwrap(),
            vec![b"{\"c\":3}".to_vec()]
        );
        assert_eq!(
            next_lines(rest.as_mut(), 5, p, None).unwrap(),
            vec![b"{\"d\":4}".to_vec()]
        );
        assert!(next_lines(rest.as_mut(), 5, p, None).unwrap().is_empty());
        // One document: a single line, a pretty-printed object, a first line that is not JSON.
        for text in [
            "{\"a\":1}\n\n",
            "{\n \"a\": 1\n}\n",
            "{\"a\":\n1}\n{\"b\":2}\n",
            "",
            "\n\n",
        ] {
            let Documents::One(doc) = open(text) else {
                panic!("one document expected for {text:?}");
            };
            assert_eq!(doc, text.as_bytes(), "the whole input, unchanged");
        }
    }
}

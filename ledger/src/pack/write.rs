//! Writing a pack: entries in archive order → strict tar → one zstd frame (SPEC.md §9.1), with
//! the signed manifest appended last (§9.2). Streams: one entry is in memory at a time.
//!
//! `ruzstd`'s encoder pulls from a `Read` and pushes to a `Write`, and unwraps their I/O errors
//! (a full disk would panic). Both ends are wrapped here so that they never return an error to
//! it: a failure is recorded, the source ends, and the caller gets the error instead.

use crate::error::LedgerError;
use evl_sdk::pack::manifest::{FileEntry, MANIFEST_PATH, MAX_MANIFEST_BYTES};
use evl_sdk::pack::tar;
use evl_sdk::pack::{MAX_ENTRY_BYTES, MAX_PACK_ENTRIES};
use ruzstd::encoding::{CompressionLevel, compress};
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A producer of pack entries in archive order (the manifest excluded).
pub(crate) trait Entries {
    /// The next entry, or `None` at the end.
    fn next_entry(&mut self) -> Result<Option<(String, Vec<u8>)>, LedgerError>;
}

impl Entries for std::vec::IntoIter<(String, Vec<u8>)> {
    fn next_entry(&mut self) -> Result<Option<(String, Vec<u8>)>, LedgerError> {
        Ok(self.next())
    }
}

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackSummary {
    /// Entries, the manifest included.
    pub files: usize,
    /// Bytes of the archive before compression.
    pub tar_bytes: u64,
    /// Bytes written to the sink (the pack file's size).
    pub pack_bytes: u64,
}

type SignManifest<'a> = Box<dyn FnOnce(&[FileEntry]) -> Vec<u8> + 'a>;

struct TarSource<'a, E: Entries> {
    entries: E,
    buf: Vec<u8>,
    pos: usize,
    files: Vec<FileEntry>,
    sign: Option<SignManifest<'a>>,
    done: bool,
    tar_bytes: u64,
    error: Option<LedgerError>,
    stop: Arc<AtomicBool>,
}

impl<E: Entries> TarSource<'_, E> {
    fn push_entry(&mut self, path: &str, data: &[u8]) -> Result<(), LedgerError> {
        let header = tar::header(path, data.len() as u64)
            .ok_or_else(|| LedgerError::OutOfRange(format!("{path:?} is not a valid pack entry")))?;
        self.buf.clear();
        self.pos = 0;
        self.buf.extend_from_slice(&header);
        self.buf.extend_from_slice(data);
        self.buf
            .resize(self.buf.len() + tar::padding(data.len() as u64), 0);
        Ok(())
    }

    fn refill(&mut self) -> Result<(), LedgerError> {
        match self.entries.next_entry()? {
            Some((path, data)) => {
                if self.files.len() + 1 >= MAX_PACK_ENTRIES || data.len() as u64 > MAX_ENTRY_BYTES {
                    return Err(LedgerError::OutOfRange(format!(
                        "the pack would exceed MAX_PACK_ENTRIES or MAX_ENTRY_BYTES at {path}; split the range into several (delta) exports"
                    )));
                }
                self.files.push(FileEntry::of(&path, &data));
                self.push_entry(&path, &data)
            }
            None => {
                let sign = self
                    .sign
                    .take()
                    .ok_or_else(|| LedgerError::OutOfRange("pack written twice".into()))?;
                let manifest = sign(&self.files);
                if manifest.len() > MAX_MANIFEST_BYTES {
                    return Err(LedgerError::OutOfRange(
                        "the manifest would exceed MAX_MANIFEST_BYTES; split the range into several (delta) exports".into(),
                    ));
                }
                self.push_entry(MANIFEST_PATH, &manifest)?;
                self.buf.extend_from_slice(&tar::END);
                self.files.push(FileEntry::of(MANIFEST_PATH, &manifest));
                self.done = true;
                Ok(())
            }
        }
    }
}

impl<E: Entries> Read for TarSource<'_, E> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.done || self.error.is_some() || self.stop.load(Ordering::Relaxed) {
                return Ok(0);
            }
            if let Err(e) = self.refill() {
                self.error = Some(e);
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.tar_bytes += n as u64;
        Ok(n)
    }
}

struct Sink<W: Write> {
    inner: W,
    error: Option<io::Error>,
    written: u64,
    stop: Arc<AtomicBool>,
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.error.is_none() {
            match self.inner.write_all(buf) {
                Ok(()) => self.written += buf.len() as u64,
                Err(e) => {
                    self.error = Some(e);
                    self.stop.store(true, Ordering::Relaxed);
                }
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.error.is_none()
            && let Err(e) = self.inner.flush()
        {
            self.error = Some(e);
        }
        Ok(())
    }
}

/// Writes a pack of `entries` to `sink`; `sign` turns the file list into the signed
/// `manifest.json` bytes. On error the sink holds garbage: the caller discards it.
pub(crate) fn write_pack<E: Entries, W: Write>(
    entries: E,
    sign: impl FnOnce(&[FileEntry]) -> Vec<u8>,
    sink: W,
) -> Result<PackSummary, LedgerError> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut source = TarSource {
        entries,
        buf: Vec::new(),
        pos: 0,
        files: Vec::new(),
        sign: Some(Box::new(sign)),
        done: false,
        tar_bytes: 0,
        error: None,
        stop: stop.clone(),
    };
    let mut sink = Sink {
        inner: sink,
        error: None,
        written: 0,
        stop,
    };
    compress(&mut source, &mut sink, CompressionLevel::Fastest);
    let _ = sink.flush();
    if let Some(e) = source.error {
        return Err(e);
    }
    if let Some(e) = sink.error {
        return Err(LedgerError::Io(format!("writing the pack: {e}")));
    }
    if !source.done {
        return Err(LedgerError::Io("the pack was not written to its end".into()));
    }
    Ok(PackSummary {
        files: source.files.len(),
        tar_bytes: source.tar_bytes,
        pack_bytes: sink.written,
    })
}

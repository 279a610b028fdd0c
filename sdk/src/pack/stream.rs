//! Reading a pack as a stream (SPEC.md §9.1): zstd → strict ustar → the streaming verifier.
//! One entry is in memory at a time (at most [`MAX_ENTRY_BYTES`]), so an export of any size
//! verifies in flat memory. The caller supplies the bytes (a file, a socket, a slice): this
//! module reads from any `std::io::Read` and does no I/O of its own.

use super::compress::{Decompressor, pack_error_of};
use super::tar::{self, BLOCK, Block};
use super::{MAX_ENTRY_BYTES, PackError, PackReport, PackVerifier};
use crate::code::ErrorCode;
use crate::trust::TrustRoot;
use crate::verified::Verified;
use std::io::Read;

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), PackError> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            PackError::new_public(ErrorCode::PackMalformed, format!("archive truncated in {what}"))
        } else {
            pack_error_of(&e)
        }
    })
}

/// Verifies a pack read from `source` (`.tar.zst` bytes) with `trust` (or the pack's own trust
/// root if `None`). `progress` is called with the number of decompressed bytes read so far.
pub fn verify_pack_reader(
    source: impl Read,
    trust: Option<TrustRoot>,
    progress: &mut dyn FnMut(u64),
) -> Result<Verified<PackReport>, PackError> {
    let mut v = PackVerifier::new(trust);
    for_each_entry(source, &mut |path, data, read| {
        v.entry(path, data)?;
        progress(read);
        Ok(())
    })?;
    v.finish()
}

/// Called with each entry's path and bytes and the decompressed bytes read so far.
type OnEntry<'a> = dyn FnMut(&str, &[u8], u64) -> Result<(), PackError> + 'a;

/// Reads the container of a pack (SPEC.md §9.1: one checksummed zstd frame, strict ustar, two
/// zero blocks and nothing after) and calls `f` with each entry's path and bytes, and the number
/// of decompressed bytes read so far. Container faults are `PACK_MALFORMED`; an error from `f`
/// stops reading.
pub fn for_each_entry(source: impl Read, f: &mut OnEntry<'_>) -> Result<(), PackError> {
    read_archive(Decompressor::new(source)?, f)
}

/// Reads a strict ustar archive (SPEC.md §9.1 rules 2–6) from `r`, already decompressed, and
/// calls `f` with each entry as [`for_each_entry`] does. The one implementation of the archive
/// framing: [`super::tar::entries`] (archives in memory) reads through it too.
pub fn read_archive(mut r: impl Read, f: &mut OnEntry<'_>) -> Result<(), PackError> {
    let mut entries = 0usize;
    let mut block = [0u8; BLOCK];
    let mut read = 0u64;
    loop {
        read_exact(&mut r, &mut block, "a header")?;
        read += BLOCK as u64;
        match tar::parse_header(&block)? {
            Block::Zero => break,
            Block::File { path, size } => {
                entries += 1;
                if entries > super::MAX_PACK_ENTRIES {
                    return Err(PackError::new_public(
                        ErrorCode::PackMalformed,
                        "more than MAX_PACK_ENTRIES entries",
                    ));
                }
                if size > MAX_ENTRY_BYTES {
                    return Err(PackError::new_public(
                        ErrorCode::PackMalformed,
                        format!("{path}: entry larger than MAX_ENTRY_BYTES"),
                    ));
                }
                let mut data = vec![0u8; size as usize];
                read_exact(&mut r, &mut data, &path)?;
                let mut pad = vec![0u8; tar::padding(size)];
                read_exact(&mut r, &mut pad, &path)?;
                if pad.iter().any(|&b| b != 0) {
                    return Err(PackError::new_public(
                        ErrorCode::PackMalformed,
                        format!("{path}: entry padding is not zero"),
                    ));
                }
                read += size + pad.len() as u64;
                f(&path, &data, read)?;
            }
        }
    }
    read_exact(&mut r, &mut block, "the end marker")?;
    if block.iter().any(|&b| b != 0) {
        return Err(PackError::new_public(
            ErrorCode::PackMalformed,
            "the archive must end with exactly two zero blocks",
        ));
    }
    let mut probe = [0u8; 1];
    match r.read(&mut probe) {
        Ok(0) => {}
        Ok(_) => {
            return Err(PackError::new_public(
                ErrorCode::PackMalformed,
                "data after the archive's end marker",
            ));
        }
        Err(e) => return Err(pack_error_of(&e)),
    }
    Ok(())
}

//! Reading a pack file for verification: zstd → strict tar → the SDK's streaming verifier.
//! One entry is in memory at a time (at most `MAX_ENTRY_BYTES`), so an export of any size
//! verifies in flat memory.

use evl_sdk::pack::compress::{Decompressor, pack_error_of};
use evl_sdk::pack::tar::{self, BLOCK, Block};
use evl_sdk::pack::{MAX_ENTRY_BYTES, PackError, PackReport, PackVerifier};
use evl_sdk::{ErrorCode, TrustRoot, Verified};
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
pub(crate) fn for_each_entry(source: impl Read, f: &mut OnEntry<'_>) -> Result<(), PackError> {
    let mut r = Decompressor::new(source)?;
    let mut block = [0u8; BLOCK];
    let mut read = 0u64;
    loop {
        read_exact(&mut r, &mut block, "a header")?;
        read += BLOCK as u64;
        match tar::parse_header(&block)? {
            Block::Zero => break,
            Block::File { path, size } => {
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

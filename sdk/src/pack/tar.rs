//! The pack container's archive layer: a strict subset of POSIX ustar (SPEC.md §9.1).
//!
//! Every header is the single header this module defines for its path and size, so a pack has
//! exactly one byte encoding and any other tar (GNU or pax extensions, other modes, owners or
//! times) is rejected. The archive ends with two zero blocks and nothing after them.

use super::{PackError, valid_path};
use crate::code::ErrorCode;

/// The tar block size.
pub const BLOCK: usize = 512;

/// Largest entry the format can state (11 octal digits).
const MAX_OCTAL_SIZE: u64 = (1 << 33) - 1;

/// The header of a regular file `path` of `size` bytes (SPEC.md §9.1 rule 3): mode 0644, owner
/// and group 0, mtime 0, empty user and group names, typeflag `0`, magic `ustar\0`, version
/// `00`. `None` if the path is not a valid pack path or the size does not fit.
pub fn header(path: &str, size: u64) -> Option<[u8; BLOCK]> {
    if !valid_path(path) || size > MAX_OCTAL_SIZE {
        return None;
    }
    let mut h = [0u8; BLOCK];
    h[..path.len()].copy_from_slice(path.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[148..156].copy_from_slice(b"        ");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[329..337].copy_from_slice(b"0000000\0");
    h[337..345].copy_from_slice(b"0000000\0");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    Some(h)
}

/// Zero bytes that follow an entry of `size` bytes up to the next block boundary.
pub fn padding(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

/// The end-of-archive marker: two zero blocks.
pub const END: [u8; 2 * BLOCK] = [0u8; 2 * BLOCK];

/// What one header block is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A file header: its path and size.
    File {
        /// The entry path.
        path: String,
        /// The entry size in bytes.
        size: u64,
    },
    /// A zero block: the first half of the end-of-archive marker.
    Zero,
}

/// Parses one header block strictly: it must be byte-identical to [`header`] for the path and
/// size it states (SPEC.md §9.1 rule 3). Faults are `PACK_MALFORMED`.
pub fn parse_header(block: &[u8]) -> Result<Block, PackError> {
    if block.len() != BLOCK {
        return Err(PackError::new(ErrorCode::PackMalformed, "truncated tar header"));
    }
    if block.iter().all(|&b| b == 0) {
        return Ok(Block::Zero);
    }
    let name_end = block[..100].iter().position(|&b| b == 0).unwrap_or(100);
    let path = std::str::from_utf8(&block[..name_end])
        .map_err(|_| PackError::new(ErrorCode::PackMalformed, "tar entry name is not UTF-8"))?;
    let size_field = &block[124..136];
    let size = if size_field[11] == 0 && size_field[..11].iter().all(|b| (b'0'..=b'7').contains(b)) {
        size_field[..11]
            .iter()
            .fold(0u64, |acc, &b| acc * 8 + u64::from(b - b'0'))
    } else {
        return Err(PackError::new(
            ErrorCode::PackMalformed,
            "tar size field is not 11 octal digits",
        ));
    };
    match header(path, size) {
        Some(expected) if expected.as_slice() == block => Ok(Block::File {
            path: path.to_owned(),
            size,
        }),
        Some(_) => Err(PackError::at(
            ErrorCode::PackMalformed,
            path,
            "tar header is not the canonical pack header (mode, owner, time, type or checksum differ)",
        )),
        None => Err(PackError::new(
            ErrorCode::PackMalformed,
            format!("tar entry name {path:?} is not a valid pack path"),
        )),
    }
}

/// Splits an in-memory archive into its entries, strictly (SPEC.md §9.1): canonical headers,
/// zero padding, two zero blocks at the end and nothing after them. Reads through
/// [`super::stream::read_archive`], the one implementation of the framing.
pub fn entries(tar: &[u8]) -> Result<Vec<(String, Vec<u8>)>, PackError> {
    let mut out = Vec::new();
    super::stream::read_archive(tar, &mut |path, data, _| {
        out.push((path.to_owned(), data.to_vec()));
        Ok(())
    })?;
    Ok(out)
}

/// Builds an in-memory archive from entries in the order given (tests, small packs).
pub fn build(entries: &[(String, Vec<u8>)]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for (path, data) in entries {
        out.extend_from_slice(&header(path, data.len() as u64)?);
        out.extend_from_slice(data);
        out.resize(out.len() + padding(data.len() as u64), 0);
    }
    out.extend_from_slice(&END);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_is_strict() {
        let h = header("nodes/abc.json", 1234).unwrap();
        assert_eq!(
            parse_header(&h).unwrap(),
            Block::File {
                path: "nodes/abc.json".into(),
                size: 1234
            }
        );
        for i in [100usize, 108, 136, 148, 156, 265, 345] {
            let mut bad = h;
            bad[i] ^= 1;
            assert_eq!(
                parse_header(&bad).unwrap_err().code(),
                ErrorCode::PackMalformed,
                "byte {i}"
            );
        }
    }

    #[test]
    fn archive_round_trip_and_trailing_data() {
        let files = vec![
            ("a.json".to_string(), b"{}".to_vec()),
            ("b/c.json".to_string(), vec![7u8; 513]),
        ];
        let tar = build(&files).unwrap();
        let got = entries(&tar).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1, &[7u8; 513][..]);
        let mut extra = tar.clone();
        extra.extend_from_slice(&[0u8; BLOCK]);
        assert!(entries(&extra).is_err());
        assert!(entries(&tar[..tar.len() - 1]).is_err());
        assert!(entries(&tar[..BLOCK + 1]).is_err());
    }

    #[test]
    fn gnu_tar_reads_our_headers() {
        // The checksum field format matches what GNU tar writes: six octal digits, NUL, space.
        let h = header("x", 0).unwrap();
        assert_eq!(h[154], 0);
        assert_eq!(h[155], b' ');
    }
}

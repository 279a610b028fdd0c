//! The pack container's compression layer: one zstd frame (RFC 8878) with a content checksum
//! and nothing after it (SPEC.md §9.1 rule 1). Decoding is pure Rust (`ruzstd`), so the verifier
//! builds for wasm32.

use super::PackError;
use crate::code::ErrorCode;
use ruzstd::decoding::{FrameDecoder, StreamingDecoder};
use std::io::Read;

/// Largest zstd window a pack may need (the decoder's history buffer).
///
/// Rationale: RFC 8878 §3.1.1.1.2 recommends every decoder support 8 MiB; it bounds the
/// verifier's memory. The reference writer (ruzstd "Fastest") uses 128 KiB. SPEC floor: 8 MiB.
pub const MAX_ZSTD_WINDOW_BYTES: u64 = 8 * 1024 * 1024;

/// Most archive bytes a pack may expand to per compressed byte read so far, beyond
/// [`EXPANSION_SLACK_BYTES`] (SPEC.md §9.1 rule 1).
///
/// Rationale: the reference writer's packs expand about 20 times (a 1 M-node export: 1.10 GB
/// of archive from 54 MB); highly repetitive nodes a few hundred times. A decompression bomb
/// expands tens of thousands of times (143 KB that reads 4 GB is 28,000:1). 1,024 leaves real
/// packs a wide margin and stops a bomb after reading a few hundred MB at most, instead of
/// gigabytes. SPEC floor: a verifier accepts at least 1,024:1.
pub const MAX_EXPANSION_RATIO: u64 = 1024;

/// Archive bytes any pack may expand to whatever its compressed size, so small packs of very
/// repetitive content are never refused. Rationale: one 16 MiB node (MAX_NODE_BYTES) plus its
/// proofs fits four times over.
pub const EXPANSION_SLACK_BYTES: u64 = 64 * 1024 * 1024;

/// Counts the compressed bytes the decoder has read.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

fn malformed(m: impl Into<String>) -> PackError {
    PackError::new(ErrorCode::PackMalformed, m)
}

/// A reader of the archive inside a pack: decompresses `source` and, at its end, checks the
/// frame's content checksum and that nothing follows the frame. Read errors carry a
/// [`PackError`] (`PACK_MALFORMED`) as their inner error.
pub struct Decompressor<R: Read> {
    inner: StreamingDecoder<Counted<R>, FrameDecoder>,
    /// Archive bytes produced so far.
    produced: u64,
    done: bool,
}

impl<R: Read> Decompressor<R> {
    /// Starts decoding; fails with `PACK_MALFORMED` if `source` does not start a zstd frame.
    pub fn new(source: R) -> Result<Self, PackError> {
        let inner = StreamingDecoder::new_with_max_window_size(
            Counted {
                inner: source,
                read: 0,
            },
            MAX_ZSTD_WINDOW_BYTES,
        )
        .map_err(|e| malformed(format!("not a zstd frame (or its window exceeds 8 MiB): {e}")))?;
        Ok(Self {
            inner,
            produced: 0,
            done: false,
        })
    }

    fn finish(&mut self) -> Result<(), PackError> {
        let d = &self.inner.decoder;
        match (d.get_checksum_from_data(), d.get_calculated_checksum()) {
            (Some(a), Some(b)) if a == b => {}
            (Some(_), Some(_)) => return Err(malformed("zstd content checksum does not match")),
            _ => return Err(malformed("zstd frame has no content checksum")),
        }
        let mut probe = [0u8; 1];
        match self.inner.get_mut().read(&mut probe) {
            Ok(0) => Ok(()),
            Ok(_) => Err(malformed("data after the zstd frame")),
            Err(e) => Err(malformed(format!("reading after the zstd frame: {e}"))),
        }
    }
}

impl<R: Read> Read for Decompressor<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = self
            .inner
            .read(buf)
            .map_err(|e| std::io::Error::other(malformed(format!("zstd: {e}"))))?;
        if n == 0 {
            self.done = true;
            self.finish().map_err(std::io::Error::other)?;
        }
        self.produced += n as u64;
        let consumed = self.inner.get_ref().read;
        if self.produced
            > consumed
                .saturating_mul(MAX_EXPANSION_RATIO)
                .saturating_add(EXPANSION_SLACK_BYTES)
        {
            self.done = true;
            return Err(std::io::Error::other(malformed(format!(
                "the archive expands more than {MAX_EXPANSION_RATIO}:1 ({} bytes from {consumed} compressed bytes): a decompression bomb",
                self.produced
            ))));
        }
        Ok(n)
    }
}

/// Decompresses a whole pack held in memory, producing at most `max` bytes (`PACK_MALFORMED`
/// beyond: a guard against decompression bombs).
pub fn decompress(pack: &[u8], max: usize) -> Result<Vec<u8>, PackError> {
    let mut d = Decompressor::new(pack)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = d.read(&mut buf).map_err(|e| pack_error_of(&e))?;
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > max {
            return Err(malformed(format!("archive larger than {max} bytes")));
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// The [`PackError`] inside an I/O error from a [`Decompressor`], or `PACK_MALFORMED` with the
/// error's text.
pub fn pack_error_of(e: &std::io::Error) -> PackError {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<PackError>())
        .cloned()
        .unwrap_or_else(|| malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compress(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    #[test]
    fn round_trip_and_faults() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let z = compress(&data);
        assert_eq!(decompress(&z, usize::MAX).unwrap(), data);
        assert_eq!(decompress(&z, 1000).unwrap_err().code(), ErrorCode::PackMalformed);
        let mut trailing = z.clone();
        trailing.push(0);
        assert!(decompress(&trailing, usize::MAX).is_err());
        assert!(decompress(&z[..z.len() - 1], usize::MAX).is_err());
        assert!(decompress(b"not zstd", usize::MAX).is_err());
        let mut flipped = z.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1; // the checksum
        assert!(decompress(&flipped, usize::MAX).is_err());
    }

    /// A zstd frame of `blocks` RLE blocks of 128 KiB of zeros each (4 bytes per block:
    /// 32,768:1), with a content checksum flag: a decompression bomb.
    fn rle_bomb(blocks: usize) -> Vec<u8> {
        let mut f = vec![0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x38];
        for i in 0..blocks {
            let last = u32::from(i + 1 == blocks);
            let header = last | (1 << 1) | (131_072 << 3);
            f.extend_from_slice(&header.to_le_bytes()[..3]);
            f.push(0);
        }
        f.extend_from_slice(&[0, 0, 0, 0]); // checksum (never reached)
        f
    }

    #[test]
    fn a_decompression_bomb_is_refused_early() {
        // 16,384 blocks: 64 KiB that would expand to 2 GiB.
        let bomb = rle_bomb(16_384);
        let mut d = Decompressor::new(bomb.as_slice()).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let mut produced = 0u64;
        let err = loop {
            match d.read(&mut buf) {
                Ok(0) => panic!("the bomb was read to its end ({produced} bytes)"),
                Ok(n) => produced += n as u64,
                Err(e) => break pack_error_of(&e),
            }
        };
        assert_eq!(err.code(), ErrorCode::PackMalformed);
        let bound = (bomb.len() as u64) * MAX_EXPANSION_RATIO + EXPANSION_SLACK_BYTES;
        assert!(
            produced <= bound,
            "read {produced} bytes before refusing (bound {bound})"
        );
        // A small bomb within the slack is read to its end (and then fails its checksum).
        let small = rle_bomb(8);
        assert_eq!(
            decompress(&small, usize::MAX).unwrap_err().code(),
            ErrorCode::PackMalformed
        );
    }
}

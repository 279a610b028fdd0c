//! The checksum every storage-v2 row ends with: BLAKE3 of the row's body (docs/design.md,
//! "Storage v2": measured 2.2 × faster than SHA-256 on tile and segment sizes here). A checksum
//! is a storage detail, not a content address: SHA-256 keeps every role the spec gives it.

use crate::store::StoreError;

/// Bytes of the checksum at the end of a row.
pub const CHECKSUM_LEN: usize = 32;

/// `body` followed by its checksum.
pub fn seal(mut body: Vec<u8>) -> Vec<u8> {
    let sum = blake3::hash(&body);
    body.extend_from_slice(sum.as_bytes());
    body
}

/// The body of a sealed row, if its checksum holds; else `STORE_DAMAGED` naming `what`.
pub fn open(row: &[u8], what: impl FnOnce() -> String) -> Result<&[u8], StoreError> {
    let fault = match row.len().checked_sub(CHECKSUM_LEN) {
        None => "shorter than its checksum",
        Some(split) => {
            let (body, sum) = row.split_at(split);
            if blake3::hash(body).as_bytes().as_slice() == sum {
                return Ok(body);
            }
            "the checksum does not match (the row's bytes changed on disk)"
        }
    };
    Err(StoreError::Damaged(format!("{}: {fault}", what())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every sealed row opens to its body, and any one changed byte is found.
        #[test]
        fn any_flipped_byte_is_found(body in proptest::collection::vec(any::<u8>(), 0..600), at in any::<usize>(), bit in 0u8..8) {
            let row = seal(body.clone());
            prop_assert_eq!(open(&row, || "row".into()).ok(), Some(body.as_slice()));
            let mut bad = row.clone();
            let i = at % bad.len();
            bad[i] ^= 1 << bit;
            prop_assert_eq!(open(&bad, || "row".into()).map(|_| ()).map_err(|e| e.code()), Err("STORE_DAMAGED"));
        }
    }

    #[test]
    fn a_short_row_is_damaged_not_a_panic() {
        for n in 0..CHECKSUM_LEN {
            assert_eq!(
                open(&vec![0; n], || "row".into()).map_err(|e| e.code()),
                Err("STORE_DAMAGED")
            );
        }
    }
}

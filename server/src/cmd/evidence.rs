//! Verifying an evidence file offline, whatever it is: `evl verify-pack FILE` and `evl proof
//! verify --bundle FILE` both take packs (evidence packs, exports, backups) and `proof.bundle/v1`
//! documents. One rule tells them apart (`evl_sdk::pack::sniff`): a file that starts with a JSON
//! object is a bundle, anything else is read as a pack, so a file that is neither is
//! `PACK_MALFORMED`. Above `pack` and `proof`, which do not call each other.

use super::{pack, proof};
use crate::cli::{Format, VerifyPackArgs};
use anyhow::Result;
use evl_server::data_dir::DataDir;
use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

/// Whether `path` is read as a pack rather than a JSON proof bundle.
fn is_pack_file(path: &Path) -> bool {
    let mut head = Vec::with_capacity(64);
    match std::fs::File::open(path).and_then(|f| f.take(64).read_to_end(&mut head)) {
        Ok(_) => evl_sdk::pack::sniff(&head) == evl_sdk::pack::FileKind::Pack,
        // Unreadable: the pack path reports the I/O error.
        Err(_) => true,
    }
}

/// `evl verify-pack FILE [--trust-root F] [--prev PREV]`.
pub fn verify_pack(dir: &DataDir, a: &VerifyPackArgs) -> Result<ExitCode> {
    if a.prev.is_none() && a.file != Path::new("-") && !is_pack_file(&a.file) && a.file.exists() {
        return proof::verify(dir, &a.file, a.trust_root.as_deref(), a.out.output);
    }
    pack::verify_path(&a.file, a.trust_root.as_deref(), a.prev.as_deref(), a.out.output)
}

/// `evl proof verify --bundle FILE [--trust-root F]`.
pub fn verify_bundle(
    dir: &DataDir,
    file: &Path,
    trust_root: Option<&Path>,
    format: Format,
) -> Result<ExitCode> {
    if is_pack_file(file) {
        return pack::verify_path(file, trust_root, None, format);
    }
    proof::verify(dir, file, trust_root, format)
}

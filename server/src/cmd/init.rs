//! `evl init`.

use crate::cli::Format;
use crate::output::emit;
use anyhow::Result;
use evl_ledger::store::StoreFormat;
use evl_server::data_dir::{DataDir, initialize_as};
use std::process::ExitCode;

pub fn run(dir: &DataDir, origin: &str, store_format: StoreFormat, format: Format) -> Result<ExitCode> {
    let info = initialize_as(dir, origin, store_format)?;
    emit(format, &info, || {
        crate::outln!(
            "Initialized ledger {origin} in {} ({store_format})",
            dir.root().display()
        );
        crate::outln!("  public key (C2SP vkey): {}", info.vkey);
        crate::outln!("  public key (PEM):       {}", dir.public_key().display());
        crate::outln!("  trust root for verifiers: {}", info.trust_root.display());
        crate::outln!(
            "  signing key (keep secret, mode 0600): {}",
            info.signing_key.display()
        );
        crate::outln!(
            "  admin token for `evl serve` (mode 0600): {}",
            info.admin_token.display()
        );
        crate::out!("{}", info.public_key_pem);
    });
    Ok(ExitCode::SUCCESS)
}

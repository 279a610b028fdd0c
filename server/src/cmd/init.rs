//! `evl init`.

use crate::cli::Format;
use crate::data_dir::DataDir;
use crate::output::emit;
use anyhow::{Context as _, Result, bail};
use evl_ledger::{AnchorPolicy, Ledger, keyfile};
use evl_sdk::SecretKey;
use std::process::ExitCode;

pub fn run(dir: &DataDir, origin: &str, format: Format) -> Result<ExitCode> {
    if dir.is_initialized() || dir.key().exists() {
        bail!(
            "{} already holds a ledger\n  hint: use another --data directory, or remove this one if you really mean to start over",
            dir.root().display()
        );
    }
    let seed = keyfile::generate_seed()?;
    let key = SecretKey::from_seed(origin, &seed).map_err(|e| {
        anyhow::anyhow!("invalid --origin {origin:?}: {e} (no spaces or '+', at most 256 bytes)")
    })?;
    let store = dir.create_store()?;
    keyfile::write_private(&dir.key(), &seed)?;
    let public_pem = keyfile::public_pem(key.public().raw());
    std::fs::write(dir.public_key(), &public_pem).context("writing public-key.pem")?;
    let vkey = key.public().vkey();
    let ledger = Ledger::init(store, key, evl_ledger::time::now(), AnchorPolicy::default())?;
    std::fs::write(dir.trust_root(), ledger.trust_root().to_json()).context("writing trust-root.json")?;
    let info = serde_json::json!({
        "origin": origin,
        "vkey": vkey,
        "public_key_pem": public_pem,
        "store": dir.store(),
        "signing_key": dir.key(),
        "trust_root": dir.trust_root(),
    });
    emit(format, &info, || {
        crate::outln!("Initialized ledger {origin} in {}", dir.root().display());
        crate::outln!("  public key (C2SP vkey): {vkey}");
        crate::outln!("  public key (PEM):       {}", dir.public_key().display());
        crate::outln!("  trust root for verifiers: {}", dir.trust_root().display());
        crate::outln!("  signing key (keep secret, mode 0600): {}", dir.key().display());
        crate::out!("{public_pem}");
    });
    Ok(ExitCode::SUCCESS)
}

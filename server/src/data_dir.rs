//! The data directory: where the store, key and trust root live.
//!
//! ```text
//! DIR/ledger.redb        the store (redb)
//! DIR/signing-key.pem    Ed25519 private key, PKCS#8 v1 PEM, mode 0600 (never served or logged)
//! DIR/public-key.pem     the public key, SPKI PEM
//! DIR/trust-root.json    the trust root verifiers need (SPEC.md §8)
//! ```

use anyhow::{Context as _, Result, bail};
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::{AnchorPolicy, Ledger, LedgerReader};
use std::path::{Path, PathBuf};

/// Paths inside a data directory.
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn store(&self) -> PathBuf {
        self.root.join("ledger.redb")
    }
    pub fn key(&self) -> PathBuf {
        self.root.join("signing-key.pem")
    }
    pub fn public_key(&self) -> PathBuf {
        self.root.join("public-key.pem")
    }
    pub fn trust_root(&self) -> PathBuf {
        self.root.join("trust-root.json")
    }
    pub fn is_initialized(&self) -> bool {
        self.store().exists()
    }

    fn open_store(&self) -> Result<RedbStore> {
        if !self.is_initialized() {
            bail!(
                "no ledger in {} (no ledger.redb)\n  hint: run `evl init --data {}` first, or pass --data / set EVL_DATA",
                self.root.display(),
                self.root.display()
            );
        }
        RedbStore::open(&self.store()).map_err(|e| {
            let msg = e.to_string();
            if msg.contains("already open") || msg.contains("lock") {
                anyhow::anyhow!(
                    "{}: the store is in use by another process\n  hint: stop `evl serve` (or the other evl command) first",
                    self.store().display()
                )
            } else {
                anyhow::anyhow!("cannot open {}: {msg}", self.store().display())
            }
        })
    }

    /// Read-only access (no signing key needed).
    pub fn reader(&self) -> Result<LedgerReader<RedbStore>> {
        Ok(LedgerReader::open(self.open_store()?)?)
    }

    /// Writer access: loads the signing key.
    pub fn writer(&self, policy: AnchorPolicy) -> Result<Ledger<RedbStore>> {
        let store = self.open_store()?;
        let origin = evl_ledger::store_origin(&store)?;
        let key = evl_ledger::keyfile::read_private(&self.key(), &origin)
            .with_context(|| format!("loading the signing key {}", self.key().display()))?;
        Ok(Ledger::open(store, key, policy)?)
    }

    /// Creates the store (for `init`).
    pub fn create_store(&self) -> Result<RedbStore> {
        std::fs::create_dir_all(&self.root).with_context(|| format!("creating {}", self.root.display()))?;
        RedbStore::open(&self.store()).with_context(|| format!("creating {}", self.store().display()))
    }
}

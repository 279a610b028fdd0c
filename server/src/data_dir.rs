//! The data directory: where the store, key and trust root live.
//!
//! ```text
//! DIR/ledger.redb        the store (redb)
//! DIR/signing-key.pem    Ed25519 private key, PKCS#8 v1 PEM, mode 0600 (never served or logged)
//! DIR/public-key.pem     the public key, SPKI PEM
//! DIR/trust-root.json    the trust root verifiers need (SPEC.md §8)
//! DIR/admin-token        a bearer token with every scope for `evl serve`, mode 0600
//! DIR/evl.toml           optional `evl serve` configuration
//! DIR/last-verify.json   the last `evl verify` (or `evl recover`) report, for `evl diagnostics`
//! ```

use anyhow::{Context as _, Result, bail};
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::store::{StoreError, StoreFormat};
use evl_ledger::{AnchorPolicy, Ledger, LedgerReader};
use std::path::{Path, PathBuf};

/// Paths inside a data directory.
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// The redb store file.
    pub fn store(&self) -> PathBuf {
        self.root.join("ledger.redb")
    }
    /// The private key file.
    pub fn key(&self) -> PathBuf {
        self.root.join("signing-key.pem")
    }
    /// The public key PEM file.
    pub fn public_key(&self) -> PathBuf {
        self.root.join("public-key.pem")
    }
    /// The trust root file.
    pub fn trust_root(&self) -> PathBuf {
        self.root.join("trust-root.json")
    }
    /// The admin token file.
    pub fn admin_token(&self) -> PathBuf {
        self.root.join("admin-token")
    }
    /// The optional configuration file.
    pub fn config(&self) -> PathBuf {
        self.root.join("evl.toml")
    }
    /// The last verify report (`evl verify`, `evl recover`).
    pub fn last_verify(&self) -> PathBuf {
        self.root.join("last-verify.json")
    }
    /// Whether a store exists.
    pub fn is_initialized(&self) -> bool {
        self.store().exists()
    }

    fn open_store(&self, read_only: bool) -> Result<RedbStore> {
        if !self.is_initialized() {
            bail!(
                "no ledger in {} (no ledger.redb)\n  hint: run `evl init --data {}` first, or pass --data / set EVL_DATA",
                self.root.display(),
                self.root.display()
            );
        }
        let path = self.store();
        let opened = if read_only {
            RedbStore::open_read_only(&path)
        } else {
            RedbStore::open(&path)
        };
        opened.map_err(|e| match e {
            // On open, unavailable means another process holds the file.
            StoreError::Unavailable(_) => anyhow::anyhow!(
                "{}: the store is in use by another process\n  hint: stop `evl serve` (or the other evl command) first",
                path.display()
            ),
            e => anyhow::Error::new(evl_ledger::LedgerError::Store(e)).context(format!("cannot open {}", path.display())),
        })
    }

    /// Read-only access (no signing key needed). The store is opened read-only: nothing is
    /// written to the file, so looking at a damaged store never makes it worse.
    pub fn reader(&self) -> Result<LedgerReader<RedbStore>> {
        Ok(LedgerReader::open(self.open_store(true)?)?)
    }

    /// Writer access: loads the signing key.
    pub fn writer(&self, policy: AnchorPolicy) -> Result<Ledger<RedbStore>> {
        self.ledger(policy, false)
    }

    /// Signing access to a store opened read-only: for commands that sign what they write
    /// elsewhere (a backup, an export) but never write to the store. Any attempt to commit
    /// fails with `STORAGE_UNAVAILABLE`.
    pub fn signer_read_only(&self) -> Result<Ledger<RedbStore>> {
        self.ledger(AnchorPolicy::default(), true)
    }

    /// Writer access to another store file of this ledger (`evl recover` repairs a copy): the
    /// signing key and trust root are this directory's.
    pub fn writer_at(&self, store: &Path, policy: AnchorPolicy) -> Result<Ledger<RedbStore>> {
        let store = RedbStore::open(store)
            .map_err(|e| anyhow::Error::new(evl_ledger::LedgerError::Store(e)))
            .with_context(|| format!("cannot open {}", store.display()))?;
        self.signing(store, policy)
    }

    fn ledger(&self, policy: AnchorPolicy, read_only: bool) -> Result<Ledger<RedbStore>> {
        self.signing(self.open_store(read_only)?, policy)
    }

    /// A writer on `store` with this directory's signing key (named by the store's origin).
    fn signing(&self, store: RedbStore, policy: AnchorPolicy) -> Result<Ledger<RedbStore>> {
        let origin = evl_ledger::store_origin(&store)?;
        let key = evl_ledger::keyfile::read_private(&self.key(), &origin)
            .with_context(|| format!("loading the signing key {}", self.key().display()))?;
        Ok(Ledger::open(store, key, policy)?)
    }

    /// Creates the store in `format` (for `init`).
    pub fn create_store(&self, format: StoreFormat) -> Result<RedbStore> {
        std::fs::create_dir_all(&self.root).with_context(|| format!("creating {}", self.root.display()))?;
        RedbStore::create(&self.store(), format)
            .map_err(|e| anyhow::Error::new(evl_ledger::LedgerError::Store(e)))
            .with_context(|| format!("creating {}", self.store().display()))
    }
}

/// What `initialize` created.
#[derive(Debug, serde::Serialize)]
pub struct InitInfo {
    /// The origin (also the key name).
    pub origin: String,
    /// The public key as a C2SP vkey.
    pub vkey: String,
    /// The public key as SPKI PEM.
    pub public_key_pem: String,
    /// Where things are.
    pub store: PathBuf,
    /// The store's format tag (`evl-store/1`, `evl-store/2`).
    pub store_format: &'static str,
    /// The private key file.
    pub signing_key: PathBuf,
    /// The trust root file.
    pub trust_root: PathBuf,
    /// The admin token file.
    pub admin_token: PathBuf,
}

/// The store format `evl init` and `evl serve` (on an empty data directory) write unless told.
pub const DEFAULT_STORE_FORMAT: StoreFormat = StoreFormat::V2;

/// Creates a ledger in `dir` in the default store format ([`initialize_as`]).
pub fn initialize(dir: &DataDir, origin: &str) -> Result<InitInfo> {
    initialize_as(dir, origin, DEFAULT_STORE_FORMAT)
}

/// Creates a ledger in `dir`: store (in `format`), signing key (0600), public key, trust root,
/// admin token.
pub fn initialize_as(dir: &DataDir, origin: &str, format: StoreFormat) -> Result<InitInfo> {
    if dir.is_initialized() || dir.key().exists() {
        bail!(
            "{} already holds a ledger\n  hint: use another --data directory, or remove this one if you really mean to start over",
            dir.root().display()
        );
    }
    let seed = evl_ledger::keyfile::generate_seed()?;
    let key = evl_sdk::SecretKey::from_seed(origin, &seed).map_err(|e| {
        anyhow::anyhow!("invalid origin {origin:?}: {e} (no spaces or '+', at most 256 bytes)")
    })?;
    let store = dir.create_store(format)?;
    evl_ledger::keyfile::write_private(&dir.key(), &seed)?;
    let public_key_pem = evl_ledger::keyfile::public_pem(key.public().raw());
    std::fs::write(dir.public_key(), &public_key_pem).context("writing public-key.pem")?;
    let vkey = key.public().vkey();
    let ledger = Ledger::init(store, key, evl_ledger::time::now(), AnchorPolicy::default())?;
    std::fs::write(dir.trust_root(), ledger.trust_root().to_json()).context("writing trust-root.json")?;
    let token = evl_ledger::keyfile::generate_seed()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    write_secret(&dir.admin_token(), &format!("{token}\n"))?;
    Ok(InitInfo {
        origin: origin.to_owned(),
        vkey,
        public_key_pem,
        store: dir.store(),
        store_format: format.tag(),
        signing_key: dir.key(),
        trust_root: dir.trust_root(),
        admin_token: dir.admin_token(),
    })
}

fn write_secret(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

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
//!
//! With `[store] url` set (in `DIR/evl.toml` or `EVL_STORE__URL`), the store is that
//! PostgreSQL database instead of `ledger.redb`; the key, trust root and token stay here.

use anyhow::{Context as _, Result, bail};
use evl_ledger::store::any::AnyStore;
use evl_ledger::store::postgres::{FORMAT_PG, PgStore, PgTarget};
use evl_ledger::store::redb_store::RedbStore;
use evl_ledger::store::{StoreError, StoreFormat};
use evl_ledger::{AnchorPolicy, Ledger, LedgerReader};
use std::path::{Path, PathBuf};

/// Paths inside a data directory.
pub struct DataDir {
    root: PathBuf,
    pg: Option<PgTarget>,
    /// Why the `[store]` configuration could not be read: reported by every command that
    /// opens or creates the store, not by those that never touch it.
    config_error: Option<String>,
}

impl DataDir {
    /// The data directory at `root`, its store the redb file in it.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            pg: None,
            config_error: None,
        }
    }

    /// The data directory at `root` with the store its configuration names: the `[store]`
    /// section of `root/evl.toml` and `EVL_STORE__*` (what every command but `serve --config`
    /// reads).
    pub fn open(root: &Path) -> Self {
        let file = root.join("evl.toml");
        match crate::config::load_store(Some(&file), std::env::vars())
            .and_then(|store| Self::with_store(root, &store))
        {
            Ok(dir) => dir,
            // A TOML error quotes the offending line, which may hold a password.
            Err(e) => Self {
                config_error: Some(crate::config::scrub_passwords(&format!("{e:#}"))),
                ..Self::new(root)
            },
        }
    }

    fn check_config(&self) -> Result<()> {
        match &self.config_error {
            Some(e) => bail!("{e}"),
            None => Ok(()),
        }
    }

    /// The data directory at `root` with the store `store` names.
    pub fn with_store(root: &Path, store: &crate::config::StoreConfig) -> Result<Self> {
        Ok(Self {
            root: root.to_path_buf(),
            pg: store.pg_target()?,
            config_error: None,
        })
    }

    /// The PostgreSQL database holding the store, if it is not the redb file.
    pub fn pg(&self) -> Option<&PgTarget> {
        self.pg.as_ref()
    }

    /// Where the store is, safe to print: the redb file's path or the database (no password).
    pub fn store_location(&self) -> String {
        match &self.pg {
            Some(t) => t.describe(),
            None => self.store().display().to_string(),
        }
    }

    /// Fails, naming the command, when the store is in PostgreSQL: for commands that work on
    /// the redb file itself.
    pub fn redb_only(&self, what: &str) -> Result<()> {
        self.check_config()?;
        match &self.pg {
            Some(t) => bail!(
                "{what} works on the embedded redb file; this ledger is stored in PostgreSQL ({})",
                t.describe()
            ),
            None => Ok(()),
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
    /// Whether a store exists (for PostgreSQL: the database holds this log; an unreachable
    /// database is an error, not a "no").
    pub fn is_initialized(&self) -> Result<bool> {
        self.check_config()?;
        match &self.pg {
            Some(t) => PgStore::exists(t)
                .map_err(|e| anyhow::Error::new(evl_ledger::LedgerError::Store(e)))
                .with_context(|| format!("cannot reach the store {}", t.describe())),
            None => Ok(self.store().exists()),
        }
    }

    /// The store, opened read-only (`evl migrate` copies from it).
    pub fn open_store_read_only(&self) -> Result<AnyStore> {
        self.open_store(true)
    }

    fn open_store(&self, read_only: bool) -> Result<AnyStore> {
        self.check_config()?;
        if let Some(t) = &self.pg {
            let opened = if read_only {
                PgStore::open_read_only(t)
            } else {
                PgStore::open(t)
            };
            return opened
                .map(AnyStore::Pg)
                .map_err(|e| anyhow::Error::new(evl_ledger::LedgerError::Store(e)))
                .with_context(|| {
                    format!(
                        "cannot open the store {}\n  hint: `evl init --data {}` creates a ledger there",
                        t.describe(),
                        self.root.display()
                    )
                });
        }
        if !self.store().exists() {
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
        opened.map(AnyStore::Redb).map_err(|e| match e {
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
    pub fn reader(&self) -> Result<LedgerReader<AnyStore>> {
        Ok(LedgerReader::open(self.open_store(true)?)?)
    }

    /// Writer access: loads the signing key.
    pub fn writer(&self, policy: AnchorPolicy) -> Result<Ledger<AnyStore>> {
        self.ledger(policy, false)
    }

    /// Signing access to a store opened read-only: for commands that sign what they write
    /// elsewhere (a backup, an export) but never write to the store. Any attempt to commit
    /// fails with `STORAGE_UNAVAILABLE`.
    pub fn signer_read_only(&self) -> Result<Ledger<AnyStore>> {
        self.ledger(AnchorPolicy::default(), true)
    }

    /// Writer access to another store file of this ledger (`evl recover` repairs a copy): the
    /// signing key and trust root are this directory's.
    pub fn writer_at(&self, store: &Path, policy: AnchorPolicy) -> Result<Ledger<AnyStore>> {
        let store = RedbStore::open(store)
            .map_err(|e| anyhow::Error::new(evl_ledger::LedgerError::Store(e)))
            .with_context(|| format!("cannot open {}", store.display()))?;
        self.signing(AnyStore::Redb(store), policy)
    }

    fn ledger(&self, policy: AnchorPolicy, read_only: bool) -> Result<Ledger<AnyStore>> {
        self.signing(self.open_store(read_only)?, policy)
    }

    /// A writer on `store` with this directory's signing key (named by the store's origin).
    fn signing(&self, store: AnyStore, policy: AnchorPolicy) -> Result<Ledger<AnyStore>> {
        let origin = evl_ledger::store_origin(&store)?;
        let key = evl_ledger::keyfile::read_private(&self.key(), &origin)
            .with_context(|| format!("loading the signing key {}", self.key().display()))?;
        Ok(Ledger::open(store, key, policy)?)
    }

    /// Creates the store (for `init`): the redb file in `format`, or the log in PostgreSQL
    /// (whose layout is its own; `format` does not apply).
    pub fn create_store(&self, format: StoreFormat) -> Result<AnyStore> {
        self.check_config()?;
        std::fs::create_dir_all(&self.root).with_context(|| format!("creating {}", self.root.display()))?;
        if let Some(t) = &self.pg {
            return PgStore::create(t)
                .map(AnyStore::Pg)
                .map_err(|e| anyhow::Error::new(evl_ledger::LedgerError::Store(e)))
                .with_context(|| format!("creating the store in {}", t.describe()));
        }
        RedbStore::create(&self.store(), format)
            .map(AnyStore::Redb)
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
    /// Where the store is: the redb file, or the PostgreSQL database (no password).
    pub store: String,
    /// The store's format tag (`evl-store/1`, `evl-store/2`, `evl-store/pg1`).
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
    if dir.pg().is_some() && dir.is_initialized()? {
        bail!(
            "{} already holds a ledger\n  hint: another front end of it needs the data directory that created it (signing-key.pem, public-key.pem, trust-root.json, admin-token copied with their modes), not `evl init`",
            dir.store_location()
        );
    }
    if dir.is_initialized()? || dir.key().exists() {
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
        store: dir.store_location(),
        store_format: if dir.pg().is_some() {
            FORMAT_PG
        } else {
            format.tag()
        },
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

//! The PostgreSQL store (docs/design.md, "PostgreSQL store"): the same contract as every
//! backend (`store/mod.rs`, the conformance suite), on a database that several `evl`
//! processes share.
//!
//! - **Sequencing by the database.** A commit is one transaction that locks the log's state
//!   row (`SELECT … FOR UPDATE`), checks the batch's precondition against it, writes, and
//!   commits. Two writers that race serialize on that row: the second finds the version moved
//!   and gets [`StoreError::Conflict`], never a second root for a size (the checkpoint table's
//!   key is the size).
//! - **Append-only in the database** (`schema.sql`): the application role may insert and
//!   select; redaction, repair and superseded partial tiles go through functions that run as
//!   the owner and check what they change.
//! - **Snapshots** pin the tree size and last anchor read from the state row; entries below
//!   them never change (but for redaction and repair, as the contract allows), so every read is
//!   its own short statement on a pooled connection, not a long transaction.
//! - **Durability** is PostgreSQL's: `commit` returns after the server's COMMIT returned
//!   (`synchronous_commit`, and the standbys in `synchronous_standby_names` when configured).
//! - **Connections** are opened on demand, up to a pool size, and kept for reuse; one that
//!   failed is dropped.
//!   A read that fails because its connection closed (a restarted server, a failover) is
//!   retried once on a new connection; a commit is not (the writer reloads its state).

#[cfg(any(test, feature = "conformance"))]
pub mod cluster;
mod commit;
mod conn;
mod error;
mod snapshot;

pub use commit::restore_point_name;
pub use snapshot::PgSnapshot;

use super::{Batch, Repair, Store, StoreError, StoreStats};
use crate::store::v2::tile::{Tile, TileAddr};
use conn::{Conn, Query as _};
use error::{col, pg};
use postgres::NoTls;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The store format tag of a PostgreSQL store (the meta key `format`): schema version 1.
pub const FORMAT_PG: &str = "evl-store/pg1";

/// The schema, applied once by [`PgStore::create`].
const SCHEMA: &str = include_str!("schema.sql");

/// Connections one store (one `evl` process) holds at most, unless the target says otherwise
/// ([`PgTarget::with_pool_size`], `[store] pool_size`): enough for the server's concurrent
/// reads and its writer, few enough that several front ends fit PostgreSQL's default
/// `max_connections` (100). A request that finds them all busy waits for one.
pub const POOL_SIZE: usize = 32;

/// How long a request waits for a busy pool before the store reports itself unavailable.
const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Seconds to wait for a connection before the store reports itself unavailable, unless the
/// URL sets `connect_timeout`.
const CONNECT_TIMEOUT_SECS: u64 = 10;

/// Where a ledger lives in PostgreSQL: a connection string (`postgres://…` or `key=value`)
/// with the password kept apart, and the log id its rows are keyed by.
#[derive(Clone)]
pub struct PgTarget {
    config: postgres::Config,
    secrets: Vec<String>,
    url_password: bool,
    log: i32,
    ca_file: Option<std::path::PathBuf>,
    pool_size: usize,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTarget")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .field("user", &self.config.get_user())
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

impl PgTarget {
    /// Parses `url`; `password`, when given, replaces any password in it. Errors never repeat
    /// the URL or the password.
    pub fn parse(url: &str, password: Option<&str>) -> Result<Self, StoreError> {
        let mut config: postgres::Config = url.parse().map_err(|_| {
            StoreError::Invalid(
                "the store URL is not a PostgreSQL connection string (postgres://USER@HOST:PORT/DB?… or key=value pairs)"
                    .into(),
            )
        })?;
        let url_password = config.get_password().is_some();
        let mut secrets: Vec<String> = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .into_iter()
            .collect();
        if let Some(p) = password {
            config.password(p);
            secrets.push(p.to_owned());
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(CONNECT_TIMEOUT_SECS));
        }
        config.application_name("evl");
        secrets.retain(|s| !s.is_empty());
        Ok(Self {
            config,
            secrets,
            url_password,
            log: 1,
            ca_file: None,
            pool_size: POOL_SIZE,
        })
    }

    /// TLS to the server, verified against the CA certificates (PEM) in `file`: what
    /// `sslmode=require` (or `prefer` with a server that offers TLS) then uses. Without a CA file
    /// the connection is never encrypted, and `sslmode=require` fails.
    pub fn with_ca_file(mut self, file: Option<std::path::PathBuf>) -> Self {
        self.ca_file = file;
        self
    }

    /// At most `n` connections (at least 2: the writer and a reader).
    pub fn with_pool_size(mut self, n: usize) -> Self {
        self.pool_size = n.max(2);
        self
    }

    /// The same database, another log.
    pub fn with_log(mut self, log: i32) -> Self {
        self.log = log;
        self
    }

    /// The passwords this target holds (from the URL and given apart), for callers that scrub
    /// them from what they write.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// Whether the connection string itself holds a password (which then must not be written
    /// to a configuration file).
    pub fn url_has_password(&self) -> bool {
        self.url_password
    }

    /// The log id.
    pub fn log(&self) -> i32 {
        self.log
    }

    /// A description safe to print: user, hosts, ports and database, no password.
    pub fn describe(&self) -> String {
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .zip(self.config.get_ports().iter().chain(std::iter::repeat(&5432)))
            .map(|(h, p)| match h {
                postgres::config::Host::Tcp(h) => format!("{h}:{p}"),
                postgres::config::Host::Unix(d) => format!("{}:{p}", d.display()),
            })
            .collect();
        format!(
            "postgres://{}@{}/{} (log {})",
            self.config.get_user().unwrap_or("?"),
            hosts.join(","),
            self.config.get_dbname().unwrap_or("?"),
            self.log
        )
    }

    /// `text` with every secret replaced by `***`.
    fn scrub(&self, text: String) -> String {
        self.secrets
            .iter()
            .fold(text, |t, s| t.replace(s.as_str(), "***"))
    }
}

/// How connections are made: in the clear, or TLS through rustls on ring.
enum Tls {
    None,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl Tls {
    fn for_target(target: &PgTarget) -> Result<Self, StoreError> {
        let Some(file) = &target.ca_file else {
            return Ok(Tls::None);
        };
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject as _;
        let unreadable = |e: &dyn std::fmt::Display| {
            StoreError::Invalid(format!("the store's CA file {}: {e}", file.display()))
        };
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(file).map_err(|e| unreadable(&e))? {
            roots
                .add(cert.map_err(|e| unreadable(&e))?)
                .map_err(|e| unreadable(&e))?;
        }
        if roots.is_empty() {
            return Err(unreadable(&"no certificate in it"));
        }
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| unreadable(&e))?
                .with_root_certificates(roots)
                .with_no_client_auth();
        Ok(Tls::Rustls(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
    }
}

/// Shared by the store and its snapshots.
pub(crate) struct Inner {
    target: PgTarget,
    tls: Tls,
    read_only: bool,
    pool: Mutex<Pool>,
    freed: std::sync::Condvar,
    /// Tiles read, shared by every snapshot of this store (`snapshot.rs`, `tiles`).
    tiles: TileCache,
    /// The largest tree size a snapshot saw: a smaller one later clears the tile cache.
    largest_seen: std::sync::atomic::AtomicU64,
}

/// Tile rows read, by address, the widest seen. A stored hash never changes (the contract's
/// exceptions: repair, which clears the cache, and damage, which the answers' own checks
/// catch), so a cached row answers for every position it holds, whatever the snapshot.
/// Bounded: emptied when it reaches [`TILE_CACHE`] tiles.
#[derive(Default)]
struct TileCache(Mutex<HashMap<TileAddr, Arc<Tile>>>);

/// Tiles cached at most (a full level-0 tile with its interior is about 16 KiB: 64 MiB).
const TILE_CACHE: usize = 4096;

impl TileCache {
    pub(super) fn get(&self, addr: TileAddr) -> Option<Arc<Tile>> {
        self.0.lock().ok()?.get(&addr).cloned()
    }

    pub(super) fn put(&self, addr: TileAddr, t: Arc<Tile>) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= TILE_CACHE {
                m.clear();
            }
            match m.get(&addr) {
                Some(old) if old.width() >= t.width() => {}
                _ => {
                    m.insert(addr, t);
                }
            }
        }
    }

    pub(super) fn clear(&self) {
        if let Ok(mut m) = self.0.lock() {
            m.clear();
        }
    }
}

/// The connections: idle ones, and how many are handed out.
#[derive(Default)]
struct Pool {
    idle: Vec<Conn>,
    out: usize,
}

impl Inner {
    fn log(&self) -> i32 {
        self.target.log
    }

    fn connect(&self) -> Result<Conn, StoreError> {
        let connected = match &self.tls {
            Tls::None => self.target.config.connect(NoTls),
            Tls::Rustls(t) => self.target.config.connect(t.clone()),
        };
        let mut c = connected.map_err(|e| {
            StoreError::Unavailable(self.target.scrub(format!(
                "cannot connect to PostgreSQL at {}: {e}",
                self.target.describe()
            )))
        })?;
        // Whatever the role or database says: a commit waits for the standbys the server names
        // (a lower `synchronous_commit` would acknowledge appends a failover loses), and no
        // statement timeout cancels a COMMIT that waits for them (PostgreSQL then reports it
        // committed locally, with only a warning).
        let settings = if self.read_only {
            "SET default_transaction_read_only = on; SET statement_timeout = 0"
        } else {
            "SET synchronous_commit = on; SET statement_timeout = 0"
        };
        c.batch_execute(settings).map_err(pg)?;
        Ok(Conn::new(c))
    }

    /// A connection: an idle one, a new one while fewer than the pool size are out, else the
    /// first one returned (at most [`POOL_WAIT`]).
    fn take(&self) -> Result<Conn, StoreError> {
        let poisoned = || StoreError::Other("the PostgreSQL connection pool lock is poisoned".into());
        let mut p = self.pool.lock().map_err(|_| poisoned())?;
        let started = std::time::Instant::now();
        loop {
            while let Some(c) = p.idle.pop() {
                if !c.is_closed() {
                    p.out += 1;
                    return Ok(c);
                }
            }
            if p.out < self.target.pool_size {
                p.out += 1;
                drop(p);
                let c = self.connect();
                if c.is_err() {
                    self.release(None);
                }
                return c;
            }
            let left = POOL_WAIT.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(StoreError::Unavailable(format!(
                    "all {} PostgreSQL connections stayed busy for {} s",
                    self.target.pool_size,
                    POOL_WAIT.as_secs()
                )));
            }
            p = self.freed.wait_timeout(p, left).map_err(|_| poisoned())?.0;
        }
    }

    /// Returns a connection (kept for reuse unless it failed), or the place of one that is gone.
    fn release(&self, c: Option<Conn>) {
        if let Ok(mut p) = self.pool.lock() {
            p.out = p.out.saturating_sub(1);
            if let Some(c) = c
                && !c.is_closed()
            {
                p.idle.push(c);
            }
        }
        self.freed.notify_one();
    }

    fn give(&self, c: Conn) {
        self.release(Some(c));
    }

    /// Runs a read on a connection; retried once on a new connection when the first one had
    /// closed (reads are idempotent).
    fn read<T: Send>(
        &self,
        f: impl FnMut(&mut Conn) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        off_runtime(|| self.read_here(f))
    }

    fn read_here<T>(&self, mut f: impl FnMut(&mut Conn) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut c = self.take()?;
        match f(&mut c) {
            Err(StoreError::Unavailable(_)) if c.is_closed() => {
                self.release(None);
                drop(c);
                let mut fresh = self.take()?;
                let out = f(&mut fresh);
                self.give(fresh);
                out
            }
            out => {
                self.give(c);
                out
            }
        }
    }

    /// Runs a write on a connection, never retried (a lost COMMIT answer is ambiguous; the
    /// writer reloads its state and the batch's precondition decides).
    fn write<T: Send>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        if self.read_only {
            return Err(StoreError::Unavailable("the store is opened read-only".into()));
        }
        off_runtime(|| {
            let mut c = self.take()?;
            let out = f(&mut c);
            self.give(c);
            out
        })
    }
}

impl Drop for Inner {
    /// Closing a connection blocks on the client's runtime too: done where that may block.
    fn drop(&mut self) {
        let idle = self
            .pool
            .get_mut()
            .map(|p| std::mem::take(&mut p.idle))
            .unwrap_or_default();
        if !idle.is_empty() {
            off_runtime(move || drop(idle));
        }
    }
}

/// Runs `f`, which blocks on the PostgreSQL client's own runtime, where that may block: as is
/// outside any runtime (the CLI, `spawn_blocking`), through `block_in_place` on a worker of a
/// multi-threaded runtime (`evl serve`), on a thread of its own under a current-thread runtime.
/// (Blocking inside a runtime's worker would panic in the client.)
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => f(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// A ledger's store in PostgreSQL.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

impl PgStore {
    fn new(target: &PgTarget, read_only: bool) -> Result<Self, StoreError> {
        Ok(Self {
            inner: Arc::new(Inner {
                target: target.clone(),
                tls: Tls::for_target(target)?,
                read_only,
                pool: Mutex::new(Pool::default()),
                freed: std::sync::Condvar::new(),
                tiles: TileCache::default(),
                largest_seen: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    /// Whether the database holds this target's log (the schema and its state row).
    pub fn exists(target: &PgTarget) -> Result<bool, StoreError> {
        Self::new(target, true)?.inner.read(|c| {
            let schema = c
                .query_one("SELECT to_regclass('evl_log') IS NOT NULL", &[])
                .map_err(pg)?
                .try_get::<_, bool>(0)
                .map_err(col)?;
            if !schema {
                return Ok(false);
            }
            // A log row without its format (an `evl init` that stopped half way) is no ledger.
            Ok(c.query_opt(
                "SELECT 1 FROM evl_log l JOIN evl_meta m ON m.log_id = l.log_id AND m.key = 'format'
                     WHERE l.log_id = $1",
                &[&target.log],
            )
            .map_err(pg)?
            .is_some())
        })
    }

    /// Opens the log `target` names; `STORAGE_UNAVAILABLE` when the database cannot be
    /// reached, `STORAGE_ERROR` when it holds no such log or a schema this build does not know.
    pub fn open(target: &PgTarget) -> Result<Self, StoreError> {
        Self::open_as(target, false)
    }

    /// Opens it read-only: every transaction is read-only, and `commit` fails with
    /// `STORAGE_UNAVAILABLE` before reaching the database.
    pub fn open_read_only(target: &PgTarget) -> Result<Self, StoreError> {
        Self::open_as(target, true)
    }

    fn open_as(target: &PgTarget, read_only: bool) -> Result<Self, StoreError> {
        let store = Self::new(target, read_only)?;
        store.inner.read(|c| {
            let version = c
                .query_opt("SELECT version FROM evl_schema", &[])
                .map_err(|e| match pg(e) {
                    StoreError::Other(m) if m.contains("42P01") => StoreError::Other(format!(
                        "no ledger in {} (no evl_schema table)",
                        target.describe()
                    )),
                    other => other,
                })?
                .map(|r| r.try_get::<_, i32>(0).map_err(col))
                .transpose()?;
            if version != Some(1) {
                return Err(StoreError::Other(format!(
                    "{} holds evl schema version {version:?}; this build knows version 1",
                    target.describe()
                )));
            }
            if c.query_opt("SELECT 1 FROM evl_log WHERE log_id = $1", &[&target.log])
                .map_err(pg)?
                .is_none()
            {
                return Err(StoreError::Other(format!(
                    "no ledger in {} (log {} is not there)",
                    target.describe(),
                    target.log
                )));
            }
            Ok(())
        })?;
        Ok(store)
    }

    /// Creates the log `target` names, and the schema first if the database has none (in one
    /// transaction, as the connecting role, which then owns it). Refuses a log that exists.
    pub fn create(target: &PgTarget) -> Result<Self, StoreError> {
        let store = Self::new(target, false)?;
        store.inner.write(|c| {
            let mut tx = c.transaction().map_err(pg)?;
            // One creator at a time, across processes.
            tx.execute("SELECT pg_advisory_xact_lock(7400)", &[])
                .map_err(pg)?;
            let schema = tx
                .query_one("SELECT to_regclass('evl_log') IS NOT NULL", &[])
                .map_err(pg)?
                .try_get::<_, bool>(0)
                .map_err(col)?;
            if !schema {
                tx.batch_execute(SCHEMA).map_err(pg)?;
            }
            let inserted = tx
                .execute(
                    "INSERT INTO evl_log (log_id) VALUES ($1) ON CONFLICT DO NOTHING",
                    &[&target.log],
                )
                .map_err(pg)?;
            if inserted == 0 {
                // A log row left by an `evl init` that stopped before it wrote anything (no
                // leaf, no metadata, no checkpoint) is taken over; anything else is a ledger.
                let empty = tx
                    .query_one(
                        "SELECT l.tree_size = 0
                            AND NOT EXISTS (SELECT 1 FROM evl_meta m WHERE m.log_id = l.log_id)
                            AND NOT EXISTS (SELECT 1 FROM evl_checkpoint k WHERE k.log_id = l.log_id)
                            AND NOT EXISTS (SELECT 1 FROM evl_node n WHERE n.log_id = l.log_id)
                         FROM evl_log l WHERE l.log_id = $1",
                        &[&target.log],
                    )
                    .map_err(pg)?
                    .try_get::<_, bool>(0)
                    .map_err(col)?;
                if !empty {
                    return Err(StoreError::Other(format!(
                        "{} already holds a ledger; a new one needs an empty log",
                        target.describe()
                    )));
                }
            }
            tx.commit().map_err(pg)
        })?;
        Ok(store)
    }

    /// Deletes every row of the log `target` names, its state row last: for a copy or restore
    /// into the database that failed part way (nothing else may write to that log). Needs the
    /// owner: the application role may not delete.
    pub fn discard(target: &PgTarget) -> Result<(), StoreError> {
        Self::new(target, false)?.inner.write(|c| {
            let mut tx = c.transaction().map_err(pg)?;
            for t in [
                "evl_node",
                "evl_id",
                "evl_redaction",
                "evl_tile",
                "evl_checkpoint",
                "evl_anchor",
                "evl_meta",
                "evl_log",
            ] {
                tx.execute_once(&format!("DELETE FROM {t} WHERE log_id = $1"), &[&target.log])
                    .map_err(pg)?;
            }
            tx.commit().map_err(pg)
        })
    }

    /// Grants the application role `role` what `evl serve` needs: select and insert, no
    /// update or delete of evidence (`schema.sql`). Run as the owner.
    pub fn grant_app_role(&self, role: &str) -> Result<(), StoreError> {
        self.inner.write(|c| {
            c.execute("SELECT evl_grant_app($1)", &[&role])
                .map(|_| ())
                .map_err(pg)
        })
    }

    /// What the connection string names, safe to print.
    pub fn describe(&self) -> String {
        self.inner.target.describe()
    }
}

impl Store for PgStore {
    type Snapshot = PgSnapshot;

    fn snapshot(&self) -> Result<PgSnapshot, StoreError> {
        PgSnapshot::take(self.inner.clone())
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.inner
            .write(|c| commit::commit(c, self.inner.log(), &batch, commit::Mode::Commit))
    }

    fn load(&self, batch: &Batch, durable: bool) -> Result<(), StoreError> {
        // Every PostgreSQL commit is durable; `durable: false` gains nothing here.
        let _ = durable;
        self.inner
            .write(|c| commit::commit(c, self.inner.log(), batch, commit::Mode::Load))
    }

    fn stats(&self) -> StoreStats {
        let bytes = self.inner.read(|c| {
            let row = c
                .query_one(
                    "SELECT coalesce(sum(pg_total_relation_size(t::regclass)), 0)::bigint FROM unnest(ARRAY['evl_node','evl_id','evl_redaction','evl_tile','evl_checkpoint','evl_anchor','evl_meta']) t",
                    &[],
                )
                .map_err(pg)?;
            row.try_get::<_, i64>(0).map_err(col)
        });
        StoreStats {
            disk_bytes: bytes.ok().and_then(|b| u64::try_from(b).ok()).unwrap_or(0),
        }
    }

    fn probe_writable(&self) -> Result<(), StoreError> {
        // A write the log does not keep: lock the state row and roll back.
        self.inner.write(|c| {
            let mut tx = c.transaction().map_err(pg)?;
            tx.query_one(
                "SELECT tree_size FROM evl_log WHERE log_id = $1 FOR UPDATE",
                &[&self.inner.log()],
            )
            .map_err(pg)?;
            tx.rollback().map_err(pg)
        })
    }

    fn repair(&self, repair: Repair) -> Result<(), StoreError> {
        let done = self.inner.write(|c| commit::repair(c, self.inner.log(), &repair));
        // Repaired hashes replace stored ones: the one time a cached tile can be wrong.
        self.inner.tiles.clear();
        done
    }

    fn forget_caches(&self) {
        self.inner.tiles.clear();
    }

    /// A session advisory lock on this log (`pg_advisory_lock(7401, log id)`), held on a
    /// connection of its own; waits at most `lock_timeout` (10 s, then STORAGE_UNAVAILABLE).
    /// A front end that dies releases it with its connection.
    fn writer_lock(&self) -> Result<Option<super::WriterLock>, StoreError> {
        let inner = &self.inner;
        if inner.read_only {
            return Ok(None);
        }
        let log = inner.log();
        let client = off_runtime(|| {
            let mut c = inner.take()?;
            let locked = c
                .batch_execute("SET lock_timeout = '10s'")
                .and_then(|()| c.execute("SELECT pg_advisory_lock(7401, $1)", &[&log]))
                .and_then(|_| c.batch_execute("RESET lock_timeout"));
            match locked {
                Ok(_) => Ok(c),
                Err(e) => {
                    inner.release(None);
                    drop(c);
                    Err(pg(e))
                }
            }
        })?;
        Ok(Some(Box::new(LockGuard {
            inner: self.inner.clone(),
            client: Some(client),
        })))
    }
}

/// A held [`PgStore::writer_lock`]: unlocked (and its connection returned) when dropped.
struct LockGuard {
    inner: Arc<Inner>,
    client: Option<Conn>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let Some(mut c) = self.client.take() else {
            return;
        };
        let log = self.inner.log();
        let inner = &self.inner;
        off_runtime(move || {
            // A connection whose unlock failed is closed instead (which releases the lock).
            match c.execute("SELECT pg_advisory_unlock(7401, $1)", &[&log]) {
                Ok(_) => inner.give(c),
                Err(_) => {
                    inner.release(None);
                    drop(c);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests;

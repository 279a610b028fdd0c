//! `evl serve` configuration: `evl.toml` (in the data directory, or `--config FILE`) with
//! `EVL_` environment overrides, `__` for nesting (`EVL_SERVER__LISTEN=127.0.0.1:7400`).
//! Unknown keys, in the file or the environment, are errors.

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The whole configuration. Every field has a safe default.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Data directory. Default `./evl-data` (also `--data` / `EVL_DATA`).
    pub data: PathBuf,
    /// Log filter, tracing `EnvFilter` syntax. Default `info`.
    pub log: String,
    /// Listener and request handling.
    pub server: ServerConfig,
    /// Bearer tokens and public reads.
    pub auth: AuthConfig,
    /// Request limits.
    pub limits: LimitsConfig,
    /// Automatic anchoring.
    pub anchor: AnchorConfig,
    /// Retention with provable redaction (`evl cleanup --apply-retention`, `evl archive`).
    pub retention: RetentionConfig,
    /// Where the ledger is stored: the embedded redb file (default) or PostgreSQL.
    pub store: StoreConfig,
}

/// Where the ledger is stored (docs/operations/postgresql.md). Default: the embedded redb file
/// `DATA/ledger.redb`. Every `evl` command reads this section (from `DATA/evl.toml` and
/// `EVL_STORE__*`), so the CLI works on the same database as the servers.
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// A PostgreSQL connection string: `postgres://USER@HOST:PORT/DB` or `host=… user=…`
    /// pairs; several hosts with `target_session_attrs=read-write` follow a failover. Unset:
    /// the redb file. The signing key, trust root and admin token stay in the data directory.
    pub url: Option<String>,
    /// A hot standby to serve reads from (same form as `url`; same password and CA file).
    /// Each read sees one state the standby has replayed, so it is never ahead of it and every
    /// proof it gives is of that state; right after an append a read there may not find the
    /// node yet (it answers NOT_FOUND, never a wrong proof). Appends and receipts use `url`.
    pub read_url: Option<String>,
    /// A file whose first line is the database password (mode 0600 advised). Never printed.
    pub password_file: Option<PathBuf>,
    /// The database password; meant for the environment (`EVL_STORE__PASSWORD`). Never
    /// printed or written out.
    #[serde(skip_serializing)]
    pub password: Option<Secret>,
    /// The log's id inside the database (every table is keyed by it). Default 1.
    pub log_id: i32,
    /// Connections each `evl` process opens at most (default 32; keep the sum over all front
    /// ends and CLI runs below the server's `max_connections`).
    pub pool_size: usize,
    /// CA certificates (PEM) that the server's certificate must chain to: TLS (rustls) for
    /// `sslmode=require`, or `prefer` with a server that offers it. Unset: never encrypted.
    pub ca_file: Option<PathBuf>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: None,
            read_url: None,
            password_file: None,
            password: None,
            log_id: 1,
            pool_size: evl_ledger::store::postgres::POOL_SIZE,
            ca_file: None,
        }
    }
}

impl StoreConfig {
    /// The PostgreSQL target this section names, or `None` for the redb file. Reads the
    /// password file; errors never quote the URL or the password.
    pub fn pg_target(&self) -> Result<Option<evl_ledger::store::postgres::PgTarget>> {
        let Some(url) = &self.url else {
            if self.password.is_some() || self.password_file.is_some() || self.read_url.is_some() {
                bail!("[store] has a password or a read_url but no url");
            }
            return Ok(None);
        };
        self.target_of(url, "url")
    }

    /// The hot standby reads are served from (`read_url`), if any.
    pub fn read_target(&self) -> Result<Option<evl_ledger::store::postgres::PgTarget>> {
        match &self.read_url {
            Some(url) => self.target_of(url, "read_url"),
            None => Ok(None),
        }
    }

    fn target_of(&self, url: &str, key: &str) -> Result<Option<evl_ledger::store::postgres::PgTarget>> {
        let from_file = self
            .password_file
            .as_deref()
            .map(read_password_file)
            .transpose()?;
        let password = self.password.as_ref().map(|s| s.0.clone()).or(from_file);
        let target = evl_ledger::store::postgres::PgTarget::parse(url, password.as_deref())
            .map_err(|e| anyhow::anyhow!("[store] {key}: {e}"))?;
        Ok(Some(
            target
                .with_log(self.log_id)
                .with_ca_file(self.ca_file.clone())
                .with_pool_size(self.pool_size),
        ))
    }
}

impl std::fmt::Debug for StoreConfig {
    /// Passwords in the URLs are masked; the password itself is never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url.as_deref().map(scrub_passwords))
            .field("read_url", &self.read_url.as_deref().map(scrub_passwords))
            .field("password_file", &self.password_file)
            .field("password", &self.password)
            .field("log_id", &self.log_id)
            .field("pool_size", &self.pool_size)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// `text` with the password of every `scheme://user:PASSWORD@` URL and every
/// `password = VALUE` / `password=VALUE` pair replaced by `***`: for messages that may quote a
/// connection string or a line of the configuration file.
pub fn scrub_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // URLs: between the first ':' after "://" and the next '@', when both come before a space.
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.find('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    // key = value pairs.
    let text = out;
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find("password") {
        let (head, tail) = rest.split_at(i + "password".len());
        out.push_str(head);
        let after = tail.trim_start_matches([' ', '\t']);
        if let Some(value) = after.strip_prefix('=') {
            out.push_str(&tail[..tail.len() - after.len()]);
            out.push('=');
            let value_trim = value.trim_start_matches([' ', '\t']);
            out.push_str(&value[..value.len() - value_trim.len()]);
            let (quote, body) = match value_trim.chars().next() {
                Some(q @ ('"' | '\'')) => (Some(q), &value_trim[1..]),
                _ => (None, value_trim),
            };
            let end = match quote {
                Some(q) => body.find(q).unwrap_or(body.len()),
                None => body.find(char::is_whitespace).unwrap_or(body.len()),
            };
            if let Some(q) = quote {
                out.push(q);
            }
            out.push_str("***");
            rest = &body[end..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// The password in `path`: its first line (`[store] password_file`, `--password-file`).
pub fn read_password_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the password file {}", path.display()))?;
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// A secret string: deserialized as given; shown and serialized as `<redacted>`.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

/// Listener and request handling.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1:7400` (loopback only).
    pub listen: String,
    /// Per-request timeout in milliseconds; a slower request gets 408. Default 30000.
    pub request_timeout_ms: u64,
    /// Requests handled at once; more wait in line. Default 512.
    pub max_concurrency: usize,
    /// On SIGINT/SIGTERM, how long in-flight requests may finish, in milliseconds. Default 10000.
    pub shutdown_grace_ms: u64,
    /// How long a connection may take to send a request's whole header, in milliseconds; also
    /// how long an idle keep-alive connection is kept between requests. A connection that sends
    /// nothing, or a header slowly, is closed after it. Default 10000.
    pub header_read_timeout_ms: u64,
    /// Open connections at once. A connection beyond it is answered `503 TOO_MANY_CONNECTIONS`
    /// and closed. At start the process raises its open-file limit to the hard limit; if that
    /// is still too low for this many connections, the limit is lowered to fit (and a warning
    /// says so). Default 4096.
    pub max_connections: usize,
}

/// A token scope.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// GET nodes, proofs, checkpoints, anchors, status, metrics.
    Read,
    /// POST /v1/nodes.
    Append,
    /// POST /v1/anchors.
    Admin,
}

/// One bearer token.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A name for logs (the token itself is never logged).
    pub name: String,
    /// The secret, at least 16 characters.
    pub token: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
}

/// Authentication.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Whether reads need no token. Default true (the log is public evidence).
    pub public_reads: bool,
    /// Tokens. Default none; `evl serve` also accepts the admin token in `DATA/admin-token`,
    /// created at initialization (read + append + admin).
    pub tokens: Vec<TokenConfig>,
}

/// Request limits.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest request body in bytes; larger gets 413. Default 17 MiB (one maximal node plus
    /// framing).
    pub max_body_bytes: usize,
    /// Most nodes in one batch append; more gets 400 `TOO_MANY_NODES`. Default 1000.
    pub max_batch_nodes: usize,
}

/// Automatic anchoring.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AnchorConfig {
    /// Anchor when this many entries were appended since the last anchor. Default off; 0 is off.
    pub every_entries: Option<u64>,
    /// Anchor when the last anchor is this many seconds old and the tree grew. Default 21600
    /// (6 hours); 0 turns time-based anchoring off.
    pub every_seconds: Option<u64>,
}

/// Retention (docs/operations/README.md, retention runbook). Default: no rules, so nothing is
/// ever redacted.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// One rule per node type: redact the content of nodes of that type once their first anchor
    /// is `max_age_days` old. Default none.
    pub rules: Vec<RetentionRuleConfig>,
    /// NodeIds whose content is never redacted, whatever the rules say. Default none.
    pub legal_hold: Vec<evl_sdk::NodeId>,
}

/// One retention rule (`[[retention.rules]]`).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetentionRuleConfig {
    /// The node `type` (exact; not `redaction/v1` or `corruption/v1`). Required.
    #[serde(rename = "type")]
    pub node_type: String,
    /// Days after a node's first anchor before its content is redacted; 0 = as soon as
    /// anchored. Required.
    pub max_age_days: u64,
}

impl RetentionConfig {
    /// The ledger's policy.
    pub fn policy(&self) -> evl_ledger::retention::RetentionPolicy {
        evl_ledger::retention::RetentionPolicy {
            rules: self
                .rules
                .iter()
                .map(|r| evl_ledger::retention::RetentionRule {
                    node_type: r.node_type.clone(),
                    max_age_days: r.max_age_days,
                })
                .collect(),
            legal_hold: self.legal_hold.iter().copied().collect(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data: PathBuf::from("./evl-data"),
            log: "info".into(),
            server: ServerConfig::default(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            anchor: AnchorConfig::default(),
            retention: RetentionConfig::default(),
            store: StoreConfig::default(),
        }
    }
}
impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:7400".into(),
            request_timeout_ms: 30_000,
            max_concurrency: 512,
            shutdown_grace_ms: 10_000,
            header_read_timeout_ms: 10_000,
            max_connections: 4096,
        }
    }
}
impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            public_reads: true,
            tokens: Vec::new(),
        }
    }
}
impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 17 * 1024 * 1024,
            max_batch_nodes: 1000,
        }
    }
}
impl Default for AnchorConfig {
    fn default() -> Self {
        Self {
            every_entries: None,
            every_seconds: Some(6 * 3600),
        }
    }
}

/// Environment variables that are not configuration keys.
const NOT_CONFIG: &[&str] = &[];

/// Loads `file` (if it exists), then applies `EVL_*` variables from `env`.
pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Config> {
    let mut table = read_table(file)?;
    apply_env(&mut table, env)?;
    let config: Config = toml::Value::Table(table)
        .try_into()
        .context("invalid configuration (file or EVL_ environment)")?;
    config.check()?;
    Ok(config)
}

/// Loads only the `[store]` section (and `EVL_STORE__*`): what every command needs to find the
/// ledger, without the rest of the `evl serve` configuration.
pub fn load_store(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<StoreConfig> {
    let mut table = toml::Table::new();
    if let Some(store) = read_table(file)?.remove("store") {
        table.insert("store".into(), store);
    }
    apply_env(
        &mut table,
        env.into_iter().filter(|(k, _)| k.starts_with("EVL_STORE__")),
    )?;
    let config: Config = toml::Value::Table(table)
        .try_into()
        .context("invalid [store] configuration (file or EVL_STORE__ environment)")?;
    config.store.pg_target()?;
    Ok(config.store)
}

fn read_table(file: Option<&Path>) -> Result<toml::Table> {
    Ok(match file {
        Some(p) if p.exists() => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str::<toml::Table>(&text)
                .with_context(|| format!("{} is not valid TOML", p.display()))?
        }
        _ => toml::Table::new(),
    })
}

fn apply_env(table: &mut toml::Table, env: impl IntoIterator<Item = (String, String)>) -> Result<()> {
    for (k, v) in env {
        let Some(rest) = k.strip_prefix("EVL_") else {
            continue;
        };
        if NOT_CONFIG.contains(&rest) {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(str::to_lowercase).collect();
        if path.iter().any(String::is_empty) {
            bail!("environment variable {k}: empty key segment");
        }
        // Values parse as TOML (numbers, booleans, arrays) when they can, else as strings.
        // The store's URL and password are strings whatever they look like.
        let verbatim =
            path == ["store", "url"] || path == ["store", "read_url"] || path == ["store", "password"];
        let value = toml::from_str::<toml::Table>(&format!("v = {v}"))
            .ok()
            .filter(|_| !verbatim)
            .and_then(|t| t.get("v").cloned())
            .unwrap_or(toml::Value::String(v.clone()));
        set(table, &path, value).with_context(|| format!("environment variable {k}"))?;
    }
    Ok(())
}

fn set(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<()> {
    match path {
        [] => Ok(()),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => set(t, rest, value),
                _ => bail!("{first} is not a section"),
            }
        }
    }
}

impl Config {
    fn check(&self) -> Result<()> {
        self.store.pg_target()?;
        self.store.read_target()?;
        self.retention
            .policy()
            .check()
            .map_err(|e| anyhow::anyhow!("[retention]: {e}"))?;
        for t in &self.auth.tokens {
            if t.token.len() < 16 {
                bail!("auth token {:?} is shorter than 16 characters", t.name);
            }
            if t.scopes.is_empty() {
                bail!("auth token {:?} has no scopes", t.name);
            }
        }
        if self.limits.max_batch_nodes == 0
            || self.server.max_concurrency == 0
            || self.server.max_connections == 0
        {
            bail!(
                "limits.max_batch_nodes, server.max_concurrency and server.max_connections must be at least 1"
            );
        }
        if self.server.header_read_timeout_ms == 0 {
            bail!("server.header_read_timeout_ms must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_scrubbed_from_messages() {
        for (text, secret) in [
            ("url = \"postgres://evl:s3cret@db:5432/ledger", "s3cret"),
            ("host=db user=evl password=hunter2 dbname=x", "hunter2"),
            ("password = \"p w'd\"\nlog_id = 1", "p w'd"),
            ("postgres://a:b@h/d and postgres://c:zz9@h/d", "zz9"),
        ] {
            let out = scrub_passwords(text);
            assert!(!out.contains(secret), "{out}");
            assert!(out.contains("***"), "{out}");
        }
        assert_eq!(scrub_passwords("postgres://evl@db/x"), "postgres://evl@db/x");
        let c = StoreConfig {
            url: Some("postgres://evl:topsecret@db/x".into()),
            password: Some(Secret("alsosecret".into())),
            ..StoreConfig::default()
        };
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("topsecret") && !dbg.contains("alsosecret"), "{dbg}");
    }

    fn env(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn defaults_file_and_env_overrides() {
        let c = load(None, env(&[])).unwrap();
        assert_eq!(c, Config::default());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("evl.toml");
        std::fs::write(&f, "[server]\nlisten = \"127.0.0.1:9\"\n[[auth.tokens]]\nname = \"ci\"\ntoken = \"0123456789abcdef\"\nscopes = [\"read\", \"append\"]\n").unwrap();
        let c = load(
            Some(&f),
            env(&[
                ("EVL_SERVER__LISTEN", "127.0.0.1:7401"),
                ("EVL_LIMITS__MAX_BATCH_NODES", "5"),
                ("EVL_AUTH__PUBLIC_READS", "false"),
                ("HOME", "/x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:7401");
        assert_eq!(c.limits.max_batch_nodes, 5);
        assert!(!c.auth.public_reads);
        assert_eq!(c.auth.tokens[0].scopes, vec![Scope::Read, Scope::Append]);
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(load(None, env(&[("EVL_SERVER__LISTN", "x")])).is_err());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("evl.toml");
        std::fs::write(&f, "[server]\nport = 1\n").unwrap();
        assert!(load(Some(&f), env(&[])).is_err());
        std::fs::write(
            &f,
            "[[auth.tokens]]\nname = \"x\"\ntoken = \"short\"\nscopes = [\"read\"]\n",
        )
        .unwrap();
        assert!(load(Some(&f), env(&[])).is_err());
    }

    #[test]
    fn retention_section() {
        let c = load(None, env(&[])).unwrap();
        assert!(c.retention.rules.is_empty(), "default: nothing is ever redacted");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("evl.toml");
        let id = "sha256:0d7d1975186c8db6be40ab869a2223a8918536e9c1cbb646ffd99b09dd166ccb";
        std::fs::write(
            &f,
            format!("[retention]\nlegal_hold = [\"{id}\"]\n[[retention.rules]]\ntype = \"blob/v1\"\nmax_age_days = 365\n"),
        )
        .unwrap();
        let c = load(Some(&f), env(&[])).unwrap();
        let p = c.retention.policy();
        assert_eq!(p.rules[0].node_type, "blob/v1");
        assert_eq!(p.rules[0].max_age_days, 365);
        assert!(p.legal_hold.contains(&id.parse().unwrap()));
        let c = load(Some(&f), env(&[("EVL_RETENTION__LEGAL_HOLD", "[]")])).unwrap();
        assert!(c.retention.legal_hold.is_empty());
        for bad in [
            "[retention]\nrules = [{ type = \"blob/v1\", max_age_days = 1, x = 1 }]\n",
            "[retention]\nrules = [{ type = \"blob/v1\" }]\n",
            "[retention]\nrules = [{ type = \"redaction/v1\", max_age_days = 1 }]\n",
            "[retention]\nrules = [{ type = \"a\", max_age_days = 1 }, { type = \"a\", max_age_days = 2 }]\n",
            "[retention]\nlegal_hold = [\"sha256:00\"]\n",
            "[retention]\nkeep = true\n",
        ] {
            std::fs::write(&f, bad).unwrap();
            assert!(load(Some(&f), env(&[])).is_err(), "{bad}");
        }
    }
}

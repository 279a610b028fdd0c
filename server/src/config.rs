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
    let mut table = match file {
        Some(p) if p.exists() => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            toml::from_str::<toml::Table>(&text)
                .with_context(|| format!("{} is not valid TOML", p.display()))?
        }
        _ => toml::Table::new(),
    };
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
        let value = toml::from_str::<toml::Table>(&format!("v = {v}"))
            .ok()
            .and_then(|t| t.get("v").cloned())
            .unwrap_or(toml::Value::String(v.clone()));
        set(&mut table, &path, value).with_context(|| format!("environment variable {k}"))?;
    }
    let config: Config = toml::Value::Table(table)
        .try_into()
        .context("invalid configuration (file or EVL_ environment)")?;
    config.check()?;
    Ok(config)
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

//! `evl serve`: initialize the data directory if it is empty, then serve the HTTP API until
//! SIGINT/SIGTERM, finishing in-flight requests.

use crate::config::{Config, Scope, TokenConfig};
use crate::data_dir::{DataDir, initialize};
use crate::http::{self, AppState, Handling, auth::Auth};
use crate::listen;
use anyhow::{Context as _, Result};
use evl_ledger::AnchorPolicy;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Longest wait between checks of the time-based anchor policy.
const ANCHOR_CHECK_MAX: Duration = Duration::from_secs(60);

fn admin_token(dir: &DataDir) -> Result<Vec<TokenConfig>> {
    let p = dir.admin_token();
    if !p.exists() {
        return Ok(Vec::new());
    }
    let token = std::fs::read_to_string(&p)
        .with_context(|| format!("reading {}", p.display()))?
        .trim()
        .to_owned();
    Ok(vec![TokenConfig {
        name: "admin-token".into(),
        token,
        scopes: vec![Scope::Read, Scope::Append, Scope::Admin],
    }])
}

/// Runs the server. `origin` is used only when the data directory must be initialized.
pub async fn run(config: Config, origin: &str) -> Result<()> {
    let dir = DataDir::with_store(&config.data, &config.store)?;
    if !dir.is_initialized()? {
        let info = initialize(&dir, origin)?;
        eprintln!(
            "Initialized a new ledger {} in {}",
            info.origin,
            dir.root().display()
        );
        eprintln!("  public key (C2SP vkey): {}", info.vkey);
        eprintln!("  trust root for verifiers: {}", info.trust_root.display());
        eprintln!(
            "  admin token (read, append, admin): {}",
            info.admin_token.display()
        );
    }
    // 0 disables a policy (TOML has no null).
    let every_entries = config.anchor.every_entries.filter(|n| *n > 0);
    let every_seconds = config.anchor.every_seconds.filter(|n| *n > 0);
    let policy = AnchorPolicy {
        every_entries,
        every_seconds,
    };
    let writer = dir.writer(policy)?;
    let auth = Auth::new(&config.auth, admin_token(&dir)?);
    let mut state = AppState::new(writer.clone(), auth, config.limits.clone());
    if let Some(t) = config.store.read_target()? {
        let store = evl_ledger::store::postgres::PgStore::open_read_only(&t)
            .map_err(|e| anyhow::Error::new(evl_ledger::LedgerError::Store(e)))
            .with_context(|| format!("opening the read replica {}", t.describe()))?;
        let reader = evl_ledger::LedgerReader::open(evl_ledger::store::any::AnyStore::Pg(store))?;
        if reader.origin() != writer.reader().origin() {
            anyhow::bail!(
                "the read replica {} holds log {}, not {}",
                t.describe(),
                reader.origin(),
                writer.reader().origin()
            );
        }
        tracing::info!(replica = %t.describe(), "reads are served from the read replica");
        state = state.with_reader(reader);
    }
    let handling = Handling {
        timeout: Duration::from_millis(config.server.request_timeout_ms),
        max_concurrency: config.server.max_concurrency,
    };
    let metrics = state.read.metrics.clone();
    let app = http::router(state, handling);

    // Check the stored anchor chain once at start; count failures for the alert.
    let reader = writer.reader();
    if let Ok(Ok(report)) = tokio::task::spawn_blocking(move || reader.verify_anchor_chain()).await
        && let Some(f) = report.failure
    {
        metrics.dsse_verification_failures.fetch_add(1, Ordering::Relaxed);
        tracing::error!(seq = f.seq, code = f.code, message = %f.message, "anchor chain does not verify");
    }
    // Time-based anchoring.
    if let Some(secs) = every_seconds {
        let w = writer.clone();
        let anchor_metrics = metrics.clone();
        let period = Duration::from_secs(secs.max(1)).min(ANCHOR_CHECK_MAX);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let w = w.clone();
                let r = tokio::task::spawn_blocking(move || {
                    if w.anchor_is_due()? {
                        w.anchor().map(Some)
                    } else {
                        Ok(None)
                    }
                })
                .await;
                match r {
                    Ok(Ok(Some(a))) => tracing::info!(seq = a.payload().seq, "policy anchor created"),
                    Ok(Ok(None)) => {}
                    Ok(Err(e)) => {
                        if matches!(e.kind(), evl_ledger::LedgerError::Integrity { .. }) {
                            anchor_metrics
                                .dsse_verification_failures
                                .fetch_add(1, Ordering::Relaxed);
                        }
                        tracing::warn!(error = %e, "policy anchor failed");
                    }
                    Err(e) => tracing::warn!(error = %e, "policy anchor task failed"),
                }
            }
        });
    }

    // Idle and slow connections each hold a file descriptor: raise the soft limit first.
    let open_files = listen::raise_open_file_limit();
    let listener = tokio::net::TcpListener::bind(&config.server.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (in use? set --listen or EVL_SERVER__LISTEN)",
                config.server.listen
            )
        })?;
    let addr = listener.local_addr()?;
    eprintln!(
        "evl serve: listening on http://{addr} (data {})",
        dir.root().display()
    );
    tracing::info!(%addr, "listening");
    let grace = Duration::from_millis(config.server.shutdown_grace_ms);
    let limits = listen::Limits {
        header_read_timeout: Duration::from_millis(config.server.header_read_timeout_ms),
        max_connections: listen::fitting_connections(config.server.max_connections, open_files),
    };
    listen::serve(listener, app, limits, async move {
        shutdown_signal().await;
        tracing::info!(
            grace_ms = grace.as_millis() as u64,
            "shutting down: finishing in-flight requests"
        );
        // Hard stop if in-flight work exceeds the grace period.
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            eprintln!("evl serve: grace period over, exiting");
            std::process::exit(1);
        });
    })
    .await
    .context("server error")?;
    eprintln!("evl serve: stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

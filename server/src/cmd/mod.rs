//! Command implementations.

mod anchor;
mod append;
mod backup;
mod bench;
mod bench_http;
mod diagnostics;
mod docs;
mod evidence;
mod init;
mod migrate;
mod pack;
mod proof;
mod read;
mod recovery;
mod retention;
mod status;
mod verify;
mod vex;

use crate::cli::{Cli, Command};
use anyhow::{Context as _, Result};
use evl_sdk::{NodeId, TreeSize};
use evl_server::data_dir::DataDir;
use std::process::ExitCode;

/// Runs one command; the exit code says whether a verification passed.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let dir = DataDir::open(&cli.data);
    match cli.command {
        Command::Init {
            origin,
            store_format,
            out,
        } => init::run(&dir, &origin, store_format, out.output),
        Command::Append {
            files,
            batch,
            as_blob,
            out,
        } => append::run(&dir, &files, batch, as_blob.as_deref(), out.output),
        Command::Get {
            node_id,
            as_of_anchor,
            out,
        } => read::get(&dir, &parse_id(&node_id)?, as_of_anchor, out.output),
        Command::Prove {
            node_id,
            size,
            as_of_anchor,
            out,
        } => read::prove(
            &dir,
            &parse_id(&node_id)?,
            size.map(size_arg).transpose()?,
            as_of_anchor,
            out.output,
        ),
        Command::Checkpoint { out } => read::checkpoint(&dir, out.output),
        Command::Consistency { from, to, out } => {
            read::consistency(&dir, size_arg(from)?, size_arg(to)?, out.output)
        }
        Command::Anchor(a) => anchor::run(&dir, a),
        Command::Vex(v) => vex::run(&dir, v),
        Command::Proof(crate::cli::ProofCommand::Verify {
            bundle,
            trust_root,
            out,
        }) => evidence::verify_bundle(&dir, &bundle, trust_root.as_deref(), out.output),
        Command::Proof(p) => proof::run(&dir, p),
        Command::Verify(v) => verify::run(&dir, &v),
        Command::Status { out } => status::run(&dir, out.output),
        Command::Bench(b) => match &b.kind {
            Some(crate::cli::BenchKind::Http(h)) => bench_http::run(h),
            None => bench::run(&b),
        },
        Command::Export(a) => pack::export(&dir, &a),
        Command::VerifyPack(a) => evidence::verify_pack(&dir, &a),
        Command::Backup(a) => backup::backup(&dir, &a),
        Command::Restore(a) => backup::restore(&a),
        Command::Migrate(a) => migrate::run(&dir, &a),
        Command::MarkCorrupted(a) => recovery::mark(&dir, &a),
        Command::Recover(a) => recovery::recover(&dir, &a),
        Command::Diagnostics(a) => diagnostics::run(&dir, &a),
        Command::Docs { what } => docs::run(what),
        Command::Cleanup(a) => retention::cleanup(&dir, &a),
        Command::Archive(a) => retention::archive(&dir, &a),
        Command::Serve {
            listen,
            config,
            origin,
        } => serve(&cli.data, listen, config, &origin),
    }
}

pub(crate) fn parse_id(s: &str) -> Result<NodeId> {
    s.trim().parse().with_context(|| {
        format!("{s:?} is not a NodeId (expected sha256: followed by 64 lowercase hex digits)")
    })
}

fn size_arg(n: u64) -> Result<TreeSize> {
    TreeSize::new(n).with_context(|| format!("tree size {n} is out of range"))
}

fn serve(
    data: &std::path::Path,
    listen: Option<String>,
    config: Option<std::path::PathBuf>,
    origin: &str,
) -> Result<ExitCode> {
    let dir = DataDir::new(data);
    if let Some(c) = &config
        && !c.exists()
    {
        anyhow::bail!("configuration file {} does not exist", c.display());
    }
    let file = config.unwrap_or_else(|| dir.config());
    let mut cfg = evl_server::config::load(Some(&file), std::env::vars())?;
    crate::init_logging(&cfg.log);
    // --data (or EVL_DATA through clap) names the directory; the config cannot move it.
    cfg.data = data.to_path_buf();
    if let Some(l) = listen {
        cfg.server.listen = l;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(evl_server::serve::run(cfg, origin))?;
    Ok(ExitCode::SUCCESS)
}

/// Reads a trust-root file (`--trust-root FILE`): the one loader every command uses.
pub(crate) fn trust_root_file(path: &std::path::Path) -> Result<evl_sdk::TrustRoot> {
    let bytes = std::fs::read(path).with_context(|| format!("reading trust root {}", path.display()))?;
    evl_sdk::TrustRoot::from_json(&bytes)
        .with_context(|| format!("{} is not a valid trust root", path.display()))
}

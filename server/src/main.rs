//! `evl`: the Evidence Ledger command-line tool for operators and auditors.

mod cli;
mod cmd;
mod output;

use clap::Parser as _;
use std::process::ExitCode;

/// jemalloc instead of the system allocator: under the 64-client soak, glibc's per-thread arenas
/// grew the server's RSS by half after the first minute; see docs/benchmarks.md, "Soak".
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // `evl serve` sets up logging from its configuration (`log`, or EVL_LOG) instead.
    if !matches!(cli.command, cli::Command::Serve { .. }) {
        init_logging(&std::env::var("EVL_LOG").unwrap_or_else(|_| "warn".into()));
    }
    match cmd::run(cli) {
        Ok(code) => code,
        Err(e) => {
            output::print_error(&e);
            ExitCode::FAILURE
        }
    }
}

/// Installs the log subscriber (stderr) with a tracing `EnvFilter` directive.
pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: logs piped to a file or a collector stay plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

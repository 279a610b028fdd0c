//! Printing results and errors.

use crate::cli::Format;
use serde::Serialize;
use std::io::Write as _;

/// Writes to stdout; a closed pipe (`evl ... | head`) ends the process quietly with success.
pub fn write_out(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut o = std::io::stdout().lock();
    let r = o
        .write_fmt(args)
        .and_then(|()| if newline { o.write_all(b"\n") } else { Ok(()) })
        .and_then(|()| o.flush());
    if let Err(e) = r {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// `println!` that survives a closed pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::output::write_out(format_args!(""), true) };
    ($($t:tt)*) => { $crate::output::write_out(format_args!($($t)*), true) };
}

/// `print!` that survives a closed pipe.
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::output::write_out(format_args!($($t)*), false) };
}

/// Prints `value` as pretty JSON (json) or calls `table` (table).
pub fn emit<T: Serialize>(format: Format, value: &T, table: impl FnOnce()) {
    match format {
        Format::Json => crate::outln!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        ),
        Format::Table => table(),
    }
}

/// Prints an error chain without a backtrace: what went wrong, then the causes and hints.
pub fn print_error(e: &anyhow::Error) {
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    // The library says what failed; the CLI says what to run next.
    let said = e.chain().any(|c| c.to_string().contains("hint:"));
    if !said
        && let Some(hint) = e
            .chain()
            .find_map(|c| c.downcast_ref::<evl_ledger::LedgerError>())
            .and_then(hint_for)
    {
        eprintln!("  hint: {hint}");
    }
}

/// What to run next after a ledger error, by its code (docs/operations/README.md has the
/// runbooks these steps come from).
fn hint_for(e: &evl_ledger::LedgerError) -> Option<&'static str> {
    Some(match e.code() {
        "STORE_DAMAGED" => {
            "the store file is damaged: `evl verify --mode full` lists what can still be read. Repair it with `evl recover --from-backup FILE`, or, if it cannot be opened for writing, restore the latest backups into a new data directory (`evl restore --backup FILE --target DIR`); docs/operations/README.md has the runbook"
        }
        "STORAGE_FULL" => "free disk space, then run the command again; nothing was stored",
        "STORAGE_UNAVAILABLE" => {
            "stop `evl serve` (or the other evl command using the store) and run the command again"
        }
        "CONFLICT" => "another writer committed first; run the command again",
        "MERKLE_MISMATCH" => {
            "run `evl verify --mode full`, then `evl recover` (stored hashes need no backup) or `evl recover --from-backup FILE`"
        }
        _ => return None,
    })
}

/// Human-readable byte count.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Human-readable age.
pub fn age(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h{}m", s / 3600, s / 60 % 60),
        s => format!("{}d", s / 86_400),
    }
}

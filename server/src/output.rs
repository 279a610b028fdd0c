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
    let ledger = e
        .chain()
        .find_map(|c| c.downcast_ref::<evl_ledger::LedgerError>());
    if !said
        && let Some(hint) = ledger.and_then(|l| {
            l.next()
                .map(next_step)
                .or_else(|| hint_for(l.code()).map(String::from))
        })
    {
        eprintln!("  hint: {hint}");
    }
}

/// The command for the next step a ledger error names (the library says what failed, never
/// which command to run).
pub fn next_step(next: evl_ledger::Next) -> String {
    use evl_ledger::Next;
    match next {
        Next::Init => "initialize the store first: `evl init --data DIR`".into(),
        Next::VerifyFull => "run `evl verify --mode full` to list everything that is damaged".into(),
        Next::RecoverHashes => "run `evl recover`: damaged stored hashes are rebuilt from the content, no backup needed".into(),
        Next::RestoreContent { leaf } => format!(
            "run `evl verify --mode full` to list all damage, then put the content back with `evl recover --from-backup FILE`, or record the loss with `evl mark-corrupted --index {leaf} --reason TEXT` and run `evl recover` again"
        ),
        Next::RecoverContent => "`evl recover --from-backup FILE` puts the content back from a backup".into(),
        Next::NewChain => "investigate (docs/operations/README.md), then start a new segment with `evl anchor new-chain --reason TEXT`".into(),
        Next::AnchorCreate => "sign an anchor first: `evl anchor create`".into(),
        Next::Export => "use a compliance export: `evl export --from-anchor SEQ --out FILE`".into(),
        Next::GiveIndex => "pass --index with the leaf that `evl verify --mode full` reports".into(),
        _ => "docs/operations/README.md has the runbooks".into(),
    }
}

/// What to run next after a ledger error, by its code (docs/operations/README.md has the
/// runbooks these steps come from).
fn hint_for(code: &str) -> Option<&'static str> {
    Some(match code {
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

#[cfg(test)]
mod tests {
    use super::next_step;
    use clap::Parser;
    use evl_ledger::Next;

    /// Every command a hint names is one `evl` accepts (placeholders filled in).
    #[test]
    fn every_next_step_names_a_command_that_parses() {
        let all = [
            Next::Init,
            Next::VerifyFull,
            Next::RecoverHashes,
            Next::RestoreContent { leaf: 17 },
            Next::RecoverContent,
            Next::NewChain,
            Next::AnchorCreate,
            Next::Export,
            Next::GiveIndex,
        ];
        let by_code = [
            "STORE_DAMAGED",
            "STORAGE_FULL",
            "STORAGE_UNAVAILABLE",
            "CONFLICT",
            "MERKLE_MISMATCH",
        ]
        .map(|c| (c, super::hint_for(c).map(String::from)));
        let steps = all.map(|n| (n, Some(next_step(n))));
        let texts = steps
            .iter()
            .map(|(n, t)| (format!("{n:?}"), t.clone()))
            .chain(by_code.iter().map(|(c, t)| (c.to_string(), t.clone())));
        for (next, text) in texts {
            let text = text.unwrap_or_else(|| panic!("{next} has no hint"));
            let commands: Vec<&str> = text.split('`').skip(1).step_by(2).collect();
            if !["GiveIndex", "STORAGE_FULL", "CONFLICT"].contains(&next.as_str()) {
                assert!(!commands.is_empty(), "{next}: {text}");
            }
            for c in commands {
                let argv: Vec<String> = c
                    .split_whitespace()
                    .map(|w| match w {
                        "FILE" => "backup.tar".into(),
                        "DIR" => "./data".into(),
                        "TEXT" => "lost".into(),
                        "SEQ" => "3".into(),
                        w => w.into(),
                    })
                    .collect();
                assert_eq!(argv[0], "evl", "{next}: {c}");
                if let Err(e) = crate::cli::Cli::try_parse_from(&argv) {
                    panic!("{next}: `{c}` does not parse: {e}");
                }
            }
        }
        assert!(next_step(Next::RestoreContent { leaf: 17 }).contains("--index 17"));
    }
}

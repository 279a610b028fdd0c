//! `evl-vectors generate [DIR]` writes the generated vectors (default `vectors/generated`);
//! `evl-vectors check [DIR]` fails if the files on disk differ from what the generator makes.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.get(1).map_or("vectors/generated", String::as_str));
    match args.first().map(String::as_str) {
        Some("generate") => match evl_vectors::write_all(&dir) {
            Ok(n) => {
                println!("wrote {n} vector files to {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write vectors to {}: {e}", dir.display());
                ExitCode::FAILURE
            }
        },
        Some("check") => match evl_vectors::check_frozen(&dir) {
            Ok(n) => {
                println!("{n} vector files match the generator");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: evl-vectors generate|check [DIR]   (DIR defaults to vectors/generated)");
            ExitCode::from(2)
        }
    }
}

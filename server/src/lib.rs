//! # evl-server: the Evidence Ledger HTTP API and its configuration
//!
//! [`http::router`] builds the axum router over a ledger; [`serve::run`] runs `evl serve`;
//! [`backup`] writes backup files and restored data directories crash-safely.
//! The `evl` binary (`src/main.rs`) adds the command-line tool.

pub mod backup;
pub mod config;
pub mod data_dir;
pub mod http;
pub mod listen;
pub mod migrate;
pub mod serve;

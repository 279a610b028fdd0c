//! End-to-end and crash tests for Evidence Ledger. The crash test (`tests/crash.rs`) drives the
//! `crash-child` binary, the backup crash test (`tests/backup_crash.rs`) the `backup-child`
//! binary; the CLI end-to-end script is `tests/e2e-cli.sh`.

/// The signing-key seed the crash child and the crash test share (a test key).
pub const CRASH_SEED: [u8; 32] = [0x5a; 32];

/// The origin of the crash-test log.
pub const CRASH_ORIGIN: &str = "crash.test/log";

//! The `evl` command-line tool (arrives with the ledger issue).
fn main() {}

//! `evl status`.

use crate::cli::Format;
use crate::output::{age, bytes, emit};
use anyhow::Result;
use evl_server::data_dir::DataDir;
use std::process::ExitCode;

pub fn run(dir: &DataDir, format: Format) -> Result<ExitCode> {
    let r = dir.reader()?;
    let size = r.tree_size()?;
    let anchors = r.anchors()?;
    let last = anchors.iter().rev().find_map(|s| s.anchor.as_ref().ok());
    let now = evl_ledger::time::now();
    let last_json = last.map(|a| {
        let p = a.payload();
        serde_json::json!({"seq": p.seq, "segment": p.segment, "tree_size": p.tree_size, "time": p.time, "age_seconds": now.unix() - p.time.unix()})
    });
    let disk = r.stats().disk_bytes;
    let store_format = r.store_format()?;
    let v = serde_json::json!({
        "origin": r.origin(), "tree_size": size.get(), "anchors": anchors.len(), "last_anchor": last_json,
        "store_bytes": disk, "store_format": store_format, "data_dir": dir.root(),
    });
    emit(format, &v, || {
        crate::outln!("origin:      {}", r.origin());
        crate::outln!("tree size:   {size}");
        match last {
            Some(a) => {
                let p = a.payload();
                let behind = size.get().saturating_sub(p.tree_size);
                crate::outln!(
                    "last anchor: {} at size {} ({} ago; {behind} entries since)",
                    p.seq,
                    p.tree_size,
                    age(now.unix() - p.time.unix())
                );
            }
            None => crate::outln!("last anchor: none (run `evl anchor create`)"),
        }
        crate::outln!(
            "store:       {} ({}, {store_format})",
            dir.store_location(),
            bytes(disk)
        );
    });
    Ok(ExitCode::SUCCESS)
}

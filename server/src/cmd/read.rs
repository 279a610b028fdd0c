//! `evl get`, `prove` (both with `--as-of-anchor`), `checkpoint`, `consistency`.

use crate::cli::Format;
use crate::output::emit;
use anyhow::Result;
use evl_sdk::{NodeId, TreeSize};
use evl_server::data_dir::DataDir;
use std::process::ExitCode;

pub fn get(dir: &DataDir, id: &NodeId, as_of_anchor: Option<u64>, format: Format) -> Result<ExitCode> {
    let r = dir.reader()?;
    let (index, bytes) = match as_of_anchor {
        Some(seq) => r.node_as_of(id, seq)?,
        None => r.node(id)?,
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes)?;
    emit(
        format,
        &serde_json::json!({"node_id": id, "leaf_index": index.get(), "node": value}),
        || {
            crate::outln!("{}", String::from_utf8_lossy(&bytes));
        },
    );
    Ok(ExitCode::SUCCESS)
}

pub fn prove(
    dir: &DataDir,
    id: &NodeId,
    size: Option<TreeSize>,
    as_of_anchor: Option<u64>,
    format: Format,
) -> Result<ExitCode> {
    let r = dir.reader()?;
    let receipt = match as_of_anchor {
        Some(seq) => r.prove_as_of(id, seq)?,
        None => r.prove(id, size)?,
    };
    // Check our own output before printing it.
    r.trust_root().verify_receipt(&receipt, evl_ledger::time::now())?;
    emit(format, &receipt, || {
        crate::outln!("{}", String::from_utf8_lossy(&receipt.to_json()));
    });
    Ok(ExitCode::SUCCESS)
}

pub fn checkpoint(dir: &DataDir, format: Format) -> Result<ExitCode> {
    let (size, text) = dir.reader()?.latest_checkpoint()?;
    emit(
        format,
        &serde_json::json!({"tree_size": size.get(), "checkpoint": text}),
        || crate::out!("{text}"),
    );
    Ok(ExitCode::SUCCESS)
}

pub fn consistency(dir: &DataDir, from: TreeSize, to: TreeSize, format: Format) -> Result<ExitCode> {
    let proof = dir.reader()?.consistency(from, to)?;
    emit(format, &proof, || {
        crate::outln!("{}", serde_json::to_string(&proof).unwrap_or_default())
    });
    Ok(ExitCode::SUCCESS)
}

//! VEX ingest benchmark (issue 5: the 690 KB Red Hat CSAF document in ≤ 100 ms).
//! Run: `cargo bench -p evl-vex --bench vex_ingest`. Samples are read from
//! `tests/data/vex/` in the repository.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;

fn samples() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/vex"))
}

fn bench(c: &mut Criterion) {
    let dir = samples();
    for (name, file) in [
        ("redhat_cve-2023-38545_690KB", "csaf/redhat__cve-2023-38545.json"),
        ("redhat_cve-2023-4154_127KB", "csaf/redhat__cve-2023-4154.json"),
        ("trivy_openvex_20KB", "openvex/trivy__trivy.openvex.json"),
        (
            "cdx_spec_1.6_18KB",
            "cyclonedx/cdx-spec__valid-vulnerability-1.6.json",
        ),
    ] {
        let path = dir.join(file);
        let raw = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (samples live in tests/data/vex)", path.display()));
        let mut g = c.benchmark_group("vex_ingest");
        if raw.len() > 100_000 {
            g.sample_size(20);
        }
        g.bench_function(name, |b| b.iter(|| evl_vex::ingest(black_box(&raw)).unwrap()));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

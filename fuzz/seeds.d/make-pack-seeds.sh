#!/usr/bin/env bash
# Regenerates seeds.d/pack/: a valid evidence pack (with a dependency, two anchors) and a valid
# filtered export, each as the .tar.zst file and as its raw archive, written by the ledger
# (`write_fuzz_seeds` in ledger/tests/pack_tamper.rs, whose log key the pack target re-signs
# with). Random bytes never form a pack whose manifest lists its entries, so the target starts
# from real ones.
# Usage: fuzz/seeds.d/make-pack-seeds.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf fuzz/seeds.d/pack
EVL_WRITE_FUZZ_SEEDS=1 cargo test -q -p evl-ledger --test pack_tamper write_fuzz_seeds >/dev/null
ls fuzz/seeds.d/pack | wc -l

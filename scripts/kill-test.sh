#!/usr/bin/env bash
# The long run of the suite's kill test: builds of two versions of a
# generated site into one output folder, each SIGKILLed at a random
# instant, the folder compared after each kill with clean builds of both.
# KILL_RUNS (default 500) kills, at most KILL_SECONDS (default 1200);
# ERRDOCS_TEST_SEED repeats a run.
set -euo pipefail
cd "$(dirname "$0")/.."
export ERRDOCS_KILL_RUNS=${KILL_RUNS:-500}
export ERRDOCS_KILL_SECONDS=${KILL_SECONDS:-1200}
cargo test --release --test integration killed_builds -- --nocapture 2>&1 |
  grep -E "killed builds|test result|panicked|neither"

#!/usr/bin/env bash
# The test suite: installs what is missing, builds and runs every test target, then fuzzes
# the parsers for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift test
# The parsers under libFuzzer, from the committed seed corpus, for a bounded time per target.
bash scripts/fuzz.sh "${BLASTUNE_FUZZ_SECONDS:-45}"

#!/usr/bin/env bash
# The main job: install what is missing, build in release mode, tune GEMM for this machine
# (blastune search --op gemm, default budget: under 10 minutes; resumes earlier results),
# then build the tuned libkernels.so into out/kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
.build/release/blastune search --op gemm "$@"
.build/release/blastune generate --out out/kernels

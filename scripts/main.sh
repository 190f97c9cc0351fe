#!/usr/bin/env bash
# The main job: install what is missing, build in release mode, generate libkernels.so for
# this machine into out/kernels and benchmark it against OpenBLAS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release
.build/release/blastune generate --out out/kernels
.build/release/blastune bench --op gemm --sizes 512,2048 --threads 1,2 --lib out/kernels

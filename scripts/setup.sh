#!/usr/bin/env bash
# Installs the system packages blastune needs when they are missing (Debian/Ubuntu; run as root).
set -euo pipefail
need=()
for pkg in libopenblas-dev liblapacke-dev libsuitesparse-dev libblis-dev libxsmm-dev pkg-config gcc g++ gfortran cmake gnuplot-nox libc6-dev-arm64-cross liblapack3 libblas3 libscalapack-openmpi-dev openmpi-bin libopenmpi-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }
# MKL (PyPI's mkl wheel: libmkl_rt), a peer of the GEMM, small-GEMM and sparse benchmarks.
if ! python3 -m pip show mkl >/dev/null 2>&1; then
    echo "setup: installing MKL (pip install mkl)"
    python3 -m pip install -q mkl >/dev/null 2>&1 || python3 -m pip install -q --break-system-packages mkl >/dev/null 2>&1 \
        || echo "setup: MKL could not be installed (pip install mkl): the benchmarks run without it" >&2
fi

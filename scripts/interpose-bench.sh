#!/usr/bin/env bash
# The payoff of putting the tuned dgemm_ under a program built for another BLAS: reference
# LAPACK's dgetrf_ (Debian's liblapack3, which calls dgemm_) at n = 4000, with OpenBLAS's
# dgemm_ (as installed, OpenBLAS's default threads) against the same binary with libkernels.so
# in LD_PRELOAD, with OpenBLAS's threads (which still serve dtrsm_ and the rest) left on and
# with OPENBLAS_NUM_THREADS=1: OpenBLAS's idle threads spin on the cores our threads need.
# Runs alternate (3 rounds); each is the best dgetrf_ time within a few seconds.
# Usage: bash scripts/interpose-bench.sh [n] [rounds]   (after swift build -c release)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-4000}
rounds=${2:-3}
lap=/usr/lib/x86_64-linux-gnu/lapack
[ -e "$lap/liblapack.so.3" ] || { echo "reference LAPACK not found in $lap (bash scripts/setup.sh installs liblapack3)" >&2; exit 1; }
# OpenBLAS at the core type the peer calibration chose (unless OPENBLAS_CORETYPE is set).
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(bash scripts/openblas-coretype.sh)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.build/release/blastune generate --out "$work/lib" >/dev/null
gcc -O2 -std=gnu11 Examples/interpose/lapack_interpose.c -L"$lap" -Wl,-rpath,"$lap" -llapack -lm -ldl -o "$work/dgetrf"
fp=$(.build/release/blastune machine | awk '/^fingerprint/ {print $2}')
out="Results/$fp/interpose-dgetrf.txt"
{
    echo "reference LAPACK dgetrf_ n=$n on $(.build/release/blastune machine | awk -F'  +' '/^cpu/ {print $2}') ($fp), $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "libblas.so.3 -> $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(default)}; threads: each library's default"
    for r in $(seq "$rounds"); do
        echo "round $r OpenBLAS dgemm_: $("$work/dgetrf" "$n" 4 | head -1)"
        echo "round $r tuned dgemm_, OpenBLAS threads left on: $(LD_PRELOAD="$work/lib/libkernels.so" "$work/dgetrf" "$n" 4 | head -1)"
        echo "round $r tuned dgemm_, OPENBLAS_NUM_THREADS=1: $(OPENBLAS_NUM_THREADS=1 LD_PRELOAD="$work/lib/libkernels.so" "$work/dgetrf" "$n" 4 | head -1)"
    done
} | tee "$work/report"
python3 - "$work/report" <<'PY' | tee -a "$work/report"
import re, statistics, sys
rows = open(sys.argv[1]).read().splitlines()
get = lambda tag: statistics.median([float(re.search(r"best ([0-9.]+) s", l).group(1)) for l in rows if tag + ":" in l])
ob = get("OpenBLAS dgemm_")
for tag in ["tuned dgemm_, OpenBLAS threads left on", "tuned dgemm_, OPENBLAS_NUM_THREADS=1"]:
    print(f"median best time: OpenBLAS dgemm_ {ob:.3f} s, {tag} {get(tag):.3f} s; speed ratio (OpenBLAS time / ours) {ob / get(tag):.2f}")
PY
mkdir -p "$(dirname "$out")"
cp "$work/report" "$out.tmp" && mv "$out.tmp" "$out"
echo "wrote $out"

#!/usr/bin/env bash
# ScaLAPACK on MPI over the tuned dgemm_: pdgemm_ and pdgetrf_ (Debian's libscalapack-openmpi)
# on 2 ranks of this machine (loopback), one thread per rank, with OpenBLAS's dgemm_ against
# the same binary with libkernels.so LD_PRELOADed on every rank. Runs alternate.
# Usage: bash scripts/scalapack-bench.sh [sizes] [rounds]   (after swift build -c release)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-4000,8000}
rounds=${2:-2}
command -v mpicc >/dev/null || { echo "mpicc not found (bash scripts/setup.sh installs libscalapack-openmpi-dev and openmpi-bin)" >&2; exit 1; }
# OpenBLAS at the core type the peer calibration chose (unless OPENBLAS_CORETYPE is set).
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-$(bash scripts/openblas-coretype.sh)}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.build/release/blastune generate --out "$work/lib" >/dev/null
mpicc -O2 -std=gnu11 Examples/scalapack/pdgemm_pdgetrf.c -lscalapack-openmpi -llapack -lm -o "$work/pd"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun -np 2 --oversubscribe --mca btl self,vader --mca btl_vader_single_copy_mechanism none -x OPENBLAS_CORETYPE -x OPENBLAS_NUM_THREADS=1 -x BLASTUNE_NUM_THREADS=1)
fp=$(.build/release/blastune machine | awk '/^fingerprint/ {print $2}')
out="Results/$fp/scalapack.txt"
{
    echo "ScaLAPACK $(dpkg -s libscalapack-openmpi-dev 2>/dev/null | awk '/^Version/ {print $2}') on Open MPI $(mpirun --version | head -1 | awk '{print $NF}'), 2 ranks x 1 thread, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(default)}, on $fp, $(date -u +%Y-%m-%dT%H:%MZ)"
    for n in ${sizes//,/ }; do
        for r in $(seq "$rounds"); do
            echo "round $r OpenBLAS dgemm_: $("${mpi[@]}" "$work/pd" time "$n")"
            echo "round $r tuned dgemm_:    $("${mpi[@]}" -x LD_PRELOAD="$work/lib/libkernels.so" "$work/pd" time "$n")"
        done
    done
} | tee "$work/report"
python3 - "$work/report" <<'PY' | tee -a "$work/report"
import re, statistics, sys
rows = open(sys.argv[1]).read().splitlines()
for n in sorted({int(m) for m in re.findall(r"n=(\d+)", " ".join(rows))}):
    def t(tag, what):
        return statistics.median(float(re.search(what + r" ([0-9.]+) s", l).group(1)) for l in rows if tag in l and f"n={n} " in l)
    for what in ["pdgemm", "pdgetrf"]:
        ob, ours = t("OpenBLAS dgemm_", what), t("tuned dgemm_", what)
        print(f"n={n} {what}: OpenBLAS dgemm_ {ob:.3f} s, tuned dgemm_ {ours:.3f} s, speed ratio {ob / ours:.2f}")
PY
mkdir -p "$(dirname "$out")"
cp "$work/report" "$out.tmp" && mv "$out.tmp" "$out"
echo "wrote $out"

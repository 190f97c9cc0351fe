#!/usr/bin/env bash
# How close does the default search budget get to four times that budget?
# Runs two fresh searches (BUDGET and 4 x BUDGET seconds) into scratch Results folders,
# benchmarks each tuned library against OpenBLAS over every class (1 thread), and prints
# the geometric-mean ratio per class for both. Ratios to OpenBLAS measured in the same
# run cancel machine drift between the two benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${BUDGET:-420}
out=${OUT:-/tmp/blastune-budget}
bin=.build/release/blastune
swift build -c release
mkdir -p "$out"
for x in 1 4; do
    $bin search --op gemm --budget $((budget * x)) --fresh --results "$out/results-${x}x" > "$out/search-${x}x.log" 2>&1
    $bin bench --op gemm --threads 1 --results "$out/results-${x}x" --out "$out/bench-${x}x" > "$out/bench-${x}x.log"
done
python3 - "$out" <<'PY'
import json, math, sys, collections
out = sys.argv[1]
def summary(x):
    rows = json.load(open(f"{out}/bench-{x}x/bench-gemm.json"))["rows"]
    g = collections.defaultdict(list)
    for r in rows: g[(r["dtype"], r["shapeClass"])].append(r["ratio"])
    return {k: math.exp(sum(map(math.log, v)) / len(v)) for k, v in g.items()}
a, b = summary(1), summary(4)
print(f"{'dtype':5} {'class':11} {'1x budget':>10} {'4x budget':>10} {'1x / 4x':>8}")
for k in sorted(a):
    print(f"{k[0]:5} {k[1]:11} {a[k]:10.2f} {b[k]:10.2f} {a[k] / b[k]:8.2f}")
r = [a[k] / b[k] for k in a]
print(f"geometric mean of 1x / 4x over classes: {math.exp(sum(map(math.log, r)) / len(r)):.3f}")
PY

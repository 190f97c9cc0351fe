#!/usr/bin/env bash
# Fuzzes the parsers with libFuzzer: Matrix Market files, and JSON specs and results.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s; targets: mtx json)
# Builds the package's modules with -sanitize=fuzzer,address into .build/fuzz, then runs
# each target from its committed seed corpus (Tests/Fuzz/corpus/<target>) for the given
# time. A crash or a hang (over 10 s on one input) fails the run and leaves the input in
# .build/fuzz/<target>/ (add it to Tests/Fuzz/regressions/<target>/: the tests replay those).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(mtx json)
out=.build/fuzz
mkdir -p "$out"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -I "$out" -L "$out" -I Sources/COpenBLAS)
quiet() { "$@" 2>&1 | sed '/Cannot export local symbol/d'; }  # gold's noise about ASan's symbols
module() { # name, dependencies...
    local name=$1; shift
    local libs=(); for d in "$@"; do libs+=(-l"$d"); done
    quiet swiftc "${flags[@]}" -module-name "$name" -emit-module -emit-module-path "$out/$name.swiftmodule" \
        -emit-library -static -o "$out/lib$name.a" $(find Sources/"$name" -name "*.swift" | sort) "${libs[@]}"
}
echo "fuzz: building instrumented modules into $out"
module KernelSpec
module MicroKernels KernelSpec
module SparseCSR MicroKernels KernelSpec
module Tuner SparseCSR MicroKernels KernelSpec
status=0
for t in "${targets[@]}"; do
    case $t in
        mtx) src=Tests/Fuzz/MatrixMarketFuzz.swift; libs=(-lSparseCSR -lMicroKernels -lKernelSpec) ;;
        json) src=Tests/Fuzz/SpecJSONFuzz.swift; libs=(-lTuner -lSparseCSR -lMicroKernels -lKernelSpec -lopenblas) ;;
        *) echo "fuzz: unknown target '$t' (mtx or json)" >&2; exit 2 ;;
    esac
    quiet swiftc "${flags[@]}" -o "$out/fuzz-$t" "$src" "${libs[@]}"
    mkdir -p "$out/$t/corpus"
    cp -n Tests/Fuzz/corpus/"$t"/* "$out/$t/corpus/" 2>/dev/null || true
    echo "fuzz: $t for $seconds s"
    if (cd "$out/$t" && "../fuzz-$t" corpus -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
            -max_len=16384 -print_final_stats=1 > log.txt 2>&1); then
        echo "fuzz: $t: $(grep -E 'stat::number_of_executed_units' "$out/$t/log.txt" | awk '{print $2}') inputs, no crash or hang"
    else
        status=1
        echo "fuzz: $t FAILED; the input and log are in $out/$t/:" >&2
        grep -E "ERROR|Fatal|crash-|timeout-|leak-|oom-" "$out/$t/log.txt" | head -5 >&2
    fi
done
exit $status

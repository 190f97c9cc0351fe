#!/usr/bin/env bash
# Prints the OPENBLAS_CORETYPE that the peer calibration chose for this machine's best ISA
# (Results/<fingerprint>/peers.json), or nothing when there is no calibration. Scripts that
# time OpenBLAS export it so that OpenBLAS runs at its strongest correct configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
fp=$(.build/release/blastune machine | awk '/^fingerprint/ {print $2}')
isa=$(.build/release/blastune machine | awk '/^isa/ {print $3}' | tr -d ';')
python3 - "Results/$fp/peers.json" "$isa" <<'PY'
import json, sys
try:
    choice = json.load(open(sys.argv[1]))["choices"][sys.argv[2]]
except (OSError, KeyError, ValueError):
    sys.exit(0)
for c in choice["chosen"]:
    if c["candidate"]["peer"] == "OpenBLAS":
        print(c["candidate"]["environment"].get("OPENBLAS_CORETYPE", ""))
PY

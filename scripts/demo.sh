#!/usr/bin/env bash
# The demo: build a small synthetic KRX market into a fresh home, check it, summarise it, and run
# whatever later stages are installed. Offline; a few minutes at most on 2 cores.
set -euo pipefail
: "${LASPS_HOME:=lasps_home/demo}"
export LASPS_HOME
BIN="${BIN:-.venv/bin}"
echo "== LASPS demo → $LASPS_HOME"
"$BIN/lasps" data init --source synthetic --stocks 400 --years 4 --seed 7 --replace
"$BIN/lasps" data status
"$BIN/lasps" data check || { echo "data check found errors"; exit 1; }
if "$BIN/lasps" alpha --help >/dev/null 2>&1 && "$BIN/lasps" alpha compute --help >/dev/null 2>&1; then
  "$BIN/lasps" alpha compute
  "$BIN/lasps" alpha show 101 --top 10
fi
echo "== demo finished: market store in $LASPS_HOME"

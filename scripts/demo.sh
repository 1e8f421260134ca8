#!/usr/bin/env bash
# make demo: the main job end to end on the bundled sample, with the embedded defaults
# (MLflow on SQLite in this folder, local files). Grows as capabilities land.
set -euo pipefail
OUT=${1:-demo_out}
PY=${PYTHON:-python}
PG="$PY -m poolgate"
mkdir -p "$OUT"
echo "== validate the bundled sample book and pool tape"
$PG validate --tape data_samples/contracts.csv || true
$PG validate --tape data_samples/performance.csv
echo
echo "demo outputs are in $OUT/"

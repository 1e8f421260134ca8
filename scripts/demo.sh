#!/usr/bin/env bash
# make demo: the main job end to end on the bundled sample, with the embedded defaults
# (MLflow on SQLite in this folder: mlflow.db and mlruns/; local files under $OUT).
set -euo pipefail
OUT=${1:-demo_out}
PY=${PYTHON:-python}
pg() { "$PY" -m poolgate "$@"; }
S=data_samples
mkdir -p "$OUT"

echo "== 1. validate the sample book (clean) and the candidate pool tape (has deliberate defects)"
pg validate --tape "$S/contracts.parquet" --max-problems 0
pg validate --tape "$S/performance.parquet" --max-problems 0
if pg validate --tape "$S/pool.parquet" --max-problems 10 > "$OUT/pool_validation.txt"; then
    echo "unexpected: the pool tape has no defects"; exit 1
fi
tail -n 3 "$OUT/pool_validation.txt"

echo
echo "== 2. train the default model (MLflow run, registered as challenger)"
pg train --tape "$S/contracts.parquet" --performance "$S/performance.parquet" --truth "$S/truth.parquet" \
    --experiment poolgate-demo --json > "$OUT/train.json"
"$PY" - "$OUT/train.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
m = r["metrics"]
print(f"run {r['run_id']}  model {r['model_uri']}  version {r['model_version']}")
print(f"out-of-time: AUC {m['auc_oot']:.4f} (oracle {m['auc_oracle_oot']:.4f})  KS {m['ks_oot']:.4f}  "
      f"Brier {m['brier_oot']:.4f}  calibration error {m['calibration_error_oot']:.4f}")
PYEOF

echo
echo "== 3. promote through the written gates"
pg promote || true
pg models

echo
echo "== 4. screen the candidate pool with the champion"
pg screen --tape "$S/pool.parquet" --cutoff 2025-06-30 --policy "$S/policy.toml" --log "$OUT/decision_log.jsonl" \
    --out "$OUT/screen"
pg audit verify --log "$OUT/decision_log.jsonl"
ASSET=$("$PY" -c "import pandas as pd; d = pd.read_parquet('$OUT/screen/decisions.parquet'); \
print(d.loc[d.status.isin(['reject', 'refer']) & (d.decided_by != 'eligibility'), 'asset_id'].iloc[0])")
echo
echo "== 5. one decision in full, the run report and the model card"
pg explain --run "$OUT/screen" --asset "$ASSET" | head -n 25
pg report --run "$OUT/screen" --log "$OUT/decision_log.jsonl" --out "$OUT/report.html"
pg model-card --version champion --out "$OUT/model_card.html"

echo
echo "== 6. the pool's life: monitor 24 months after the cut-off (waterfall, triggers, back-test), investor reports"
pg monitor --run "$OUT/screen" --performance "$S/pool_performance.parquet" --deal "$S/deal.toml" --asof 2027-06-30 \
    --log "$OUT/decision_log.jsonl" --out "$OUT/monitor"
pg investor-report --monitor "$OUT/monitor" --log "$OUT/decision_log.jsonl" --out "$OUT/investor_report.html" --lang en
pg investor-report --monitor "$OUT/monitor" --log "$OUT/decision_log.jsonl" --out "$OUT/investor_report.zh.html" \
    --lang zh
pg audit verify --log "$OUT/decision_log.jsonl"

echo
echo "== 7. product risk assessment: AHP over the bundled (invented) expert judgments, beside the pool's own figures"
MON=()
if [ -f "$OUT/monitor/summary.json" ]; then MON=(--monitor "$OUT/monitor"); fi
pg risk-assess --judgments "$S/risk_assessment.toml" --run "$OUT/screen" ${MON[@]+"${MON[@]}"} --out "$OUT/assessment"

echo
echo "demo outputs:"
out() { if [ -n "$2" ]; then printf '  %-64s %s\n' "$1" "$2"; else printf '  %s\n' "$1"; fi; }  # two columns
out "$OUT/screen/decisions.parquet, decisions.csv, summary.json" "one decision per pool row, pool summary"
out "$OUT/decision_log.jsonl" "hash-chained decision log"
out "$OUT/report.html, $OUT/model_card.html" "auditor documents (open in a browser)"
out "$OUT/monitor/monthly.parquet (.csv), vintages.parquet," ""
out "  assets.parquet, backtest.json, summary.json" "the pool's life after the cut-off"
out "$OUT/investor_report.html, investor_report.zh.html" "monthly investor report (English, Chinese)"
out "$OUT/assessment/assessment.html (.zh.html)," ""
out "  assessment.json, weights.csv" "product risk assessment (AHP)"
out "mlflow.db, mlruns/" "MLflow runs and registry (mlflow ui)"

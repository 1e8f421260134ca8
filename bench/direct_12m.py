"""Experiment: a direct 12-month default model against the hazards' ``pd_12m`` (issue 16, item 2).

    python bench/direct_12m.py BOOK_DIR      # a book written by `poolgate sample` / features.synthetic.write_book

The forward model (:mod:`training.forward`) fits monthly hazards and rolls them forward. A direct model
learns "default within 12 months of the snapshot" at once. Both are fitted here on the same book, from
the same snapshots (their ``weight`` undoes the sampling), split by snapshot date the same way, with the
same inputs and declared directions; the direct model is LightGBM trees of 4 leaves (learning rate 0.05,
early stopping on the validation months), its label known only where the history covers the 12 months
or the outcome came first. Measured at the cut-off on the contracts running then: AUC on the realised
defaults of the next 12 months (and the oracle's), mean PD against the oracle's, overall and by months
on book. Figures in docs/training.md ("Hazards rather than direct models per horizon").
"""
import sys
import time

import lightgbm as lgb
import pandas as pd
from sklearn.metrics import roc_auc_score

from features.pipeline import FeatureBuilder
from features.snapshots import build_snapshots, snapshot_split
from features.spec import load_spec
from models.hazard import cutoff_state, forward_inputs, hazard_directions
from training.forward import ForwardConfig, _running_at_cutoff, fit_forward, forward_figures
from training.search import lgb_params

d = sys.argv[1]
t0 = time.time()
c = pd.read_parquet(f"{d}/contracts.parquet")
p = pd.read_parquet(f"{d}/performance.parquet", columns=["contract_id", "month", "months_on_book", "dpd", "amount_due", "amount_paid", "status"])
tr = pd.read_parquet(f"{d}/truth.parquet", columns=["contract_id", "pd_24m", "pd_12m_fwd", "pd_remaining_fwd", "outcome", "default_month"])
spec = load_spec()
cfg = ForwardConfig()
res = fit_forward(c, p, spec=spec, truth=tr, config=cfg, seed=0)
fraction = res.metrics["forward_fraction"]
print("hazards fitted", round(time.time() - t0), "s; fraction", fraction, flush=True)

snaps = build_snapshots(c, p, fraction=fraction, seed=0)
part = snapshot_split(snaps, test_months=cfg.test_months, valid_months=cfg.valid_months, horizon_months=12).to_numpy()
s, ev, last = snaps["s"].to_numpy(), snaps["event_month"].to_numpy(), snaps["last_month"].to_numpy()
out = snaps["outcome"].astype(str).to_numpy()
y = ((out == "default") & (ev <= s + 12)).astype(int)
known = (y == 1) | (last >= s + 12) | ((out != "censored") & (ev >= 0))
ids = pd.Index(c["contract_id"].astype(str))
inputs = [col for col in c.columns if col in set(spec.required_fields)]
records = c[inputs].iloc[ids.get_indexer(snaps["contract_id"].to_numpy())].reset_index(drop=True)
builder = FeatureBuilder(spec, min_level_count=10).fit(c)
X = forward_inputs(builder, spec, records, snaps)
w = snaps["weight"].to_numpy(dtype="float64")
fit, valid = (part == "train") & known, (part == "validation") & known
mono = hazard_directions(builder, spec, list(X.columns))["default"]
params = lgb_params({"num_leaves": 4, "learning_rate": 0.05, "min_child_samples": 200}, columns=list(X.columns),
                    monotone_constraints=mono, seed=0, num_threads=2)
params.update({"metric": "binary_logloss", "verbosity": -1})
dfit = lgb.Dataset(X[fit], y[fit], weight=w[fit])
dval = lgb.Dataset(X[valid], y[valid], weight=w[valid], reference=dfit)
b = lgb.train(params, dfit, 3000, valid_sets=[dval], callbacks=[lgb.early_stopping(100, verbose=False)])
print("direct: rows fit", int(fit.sum()), "valid", int(valid.sum()), "trees", b.best_iteration, flush=True)

running = _running_at_cutoff(p, ids)
at = c.iloc[ids.get_indexer(running)].reset_index(drop=True)
table, _ = forward_figures(res.model, at, tr)
Xa = forward_inputs(builder, spec, at[inputs], cutoff_state(at))
table["direct_pd_12m"] = b.predict(Xa, num_iteration=b.best_iteration)
ok = table["oracle_pd_12m"].notna().to_numpy()
t = table[ok]
yy = t["default_12m"].to_numpy()
mob = t["months_on_book"].to_numpy()
def row(name, col):
    pd_ = t[col].to_numpy()
    buckets = {lab: float(pd_[m].mean() / t["oracle_pd_12m"].to_numpy()[m].mean() - 1)
               for lab, m in [("0-5", mob <= 5), ("6-11", (mob >= 6) & (mob <= 11)), ("12-23", (mob >= 12) & (mob <= 23)), ("24+", mob >= 24)] if m.any()}
    return (f"{name:10s} AUC realised {roc_auc_score(yy, pd_):.4f} (oracle {roc_auc_score(yy, t['oracle_pd_12m']):.4f}), "
            f"AUC vs oracle ranking gap {roc_auc_score(yy, t['oracle_pd_12m']) - roc_auc_score(yy, pd_):+.4f}, mean {pd_.mean():.5f} "
            f"vs oracle {t['oracle_pd_12m'].mean():.5f} ({pd_.mean() / t['oracle_pd_12m'].mean() - 1:+.1%}); by mob " +
            ", ".join(f"{k} {v:+.1%}" for k, v in buckets.items()))
print("at the cut-off:", len(t), "running contracts,", int(yy.sum()), "defaults within 12 months")
print(row("hazards", "pd_12m"))
print(row("direct", "direct_pd_12m"))
print("total", round(time.time() - t0), "s")

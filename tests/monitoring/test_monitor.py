"""poolgate monitor against the simulation's truth, the waterfall's bookkeeping, bad input, outputs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from monitoring import compute_monitoring, load_pool, monitor, parse_deal, read_performance
from monitoring.pool import month_index
from poolgate.cli import main
from scoring.audit import read_records, verify
from tests.monitoring.conftest import CUTOFF, Sample, deal_dict, make_run, pool_balance, write_deal

PERIODS = 36


@pytest.fixture(scope="module")
def run_dir(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(sample, tmp_path_factory.mktemp("run") / "screen")


@pytest.fixture(scope="module")
def computed(sample: Sample, run_dir: Path):  # type: ignore[no-untyped-def]
    pool = load_pool(run_dir)
    perf = read_performance(sample.performance, pool.tape_ids)
    deal = parse_deal(deal_dict(pool_balance(run_dir)))
    return pool, perf, deal, compute_monitoring(pool.assets, perf.rows, deal, periods=PERIODS)


def _calendar(truth: pd.DataFrame, ids: pd.Series, column: str) -> pd.Series:
    """Period after the cut-off of each admitted asset's simulated event (NaN when none)."""
    t = truth.set_index("contract_id").loc[ids.to_numpy()]
    origin = month_index(pd.to_datetime(t["vintage"] + "-01"))
    return pd.Series(origin + t[column].to_numpy() - month_index(np.array([np.datetime64(CUTOFF)]))[0])


def test_defaults_and_prepayments_per_period_equal_the_simulated_ones(sample: Sample, computed) -> None:  # type: ignore[no-untyped-def]
    pool, _, _, comp = computed
    m = comp.monthly
    for column, figure in (("default_month", "defaults"), ("prepay_month", "prepayments")):
        when = _calendar(sample.truth, pool.assets["asset_id"], column)
        expected = np.bincount(when.dropna().astype(int)[lambda s: s <= PERIODS], minlength=PERIODS + 1)[1:]
        np.testing.assert_array_equal(m[figure].to_numpy(), expected)
        assert expected.sum() > 20


def test_balances_losses_and_delinquency_match_a_direct_count(sample: Sample, computed) -> None:  # type: ignore[no-untyped-def]
    pool, perf, _, comp = computed
    m = comp.monthly.set_index("month")
    rows = perf.rows[perf.rows["contract_id"].isin(set(pool.assets["asset_id"]))].copy()
    rows["month"] = pd.to_datetime(rows["month"])
    rows = rows[rows["month"] <= m.index[-1]]
    running = rows[rows["status"] == "current"]
    np.testing.assert_allclose(m["pool_balance"], running.groupby("month")["outstanding_principal"].sum()
                               .reindex(m.index, fill_value=0.0), rtol=1e-12)
    late = running[running["dpd"] > 60].groupby("month")["outstanding_principal"].sum().reindex(m.index, fill_value=0)
    np.testing.assert_allclose(m["delinquency_60_plus_share"], late / m["pool_balance"], rtol=1e-12)
    loss = (rows["charged_off_amount"].sum() - rows["recovered_amount"].sum()) / pool.assets["balance"].sum()
    assert m["cumulative_net_loss_share"].iloc[-1] == pytest.approx(loss, rel=1e-12)
    assert m["beginning_balance"].iloc[0] == pytest.approx(pool.assets["balance"].sum())
    assert (m["cpr"] >= 0).all() and (m["cpr"] < 1).all() and m["cpr"].mean() > 0.02


def test_backtest_holds_for_the_true_pds_and_not_when_they_are_doubled(sample: Sample, computed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, perf, deal, comp = computed
    assert comp.backtest["verdict"] == "holds", comp.backtest["reasons"]
    doubled = load_pool(make_run(sample, tmp_path / "x2", pd_scale=2.0))
    bt = compute_monitoring(doubled.assets, perf.rows, deal, periods=PERIODS).backtest
    assert bt["verdict"] != "holds"
    assert bt["pool"]["jeffreys_watch"]["outcome"] == "pd_too_high"
    assert bt["pool"]["expected_defaults"] == pytest.approx(2 * comp.backtest["pool"]["expected_defaults"], rel=0.05)
    assert comp.backtest["rank_ordering"]["auc"] == pytest.approx(bt["rank_ordering"]["auc"])


def test_waterfall_pays_out_exactly_what_came_in(computed) -> None:  # type: ignore[no-untyped-def]
    _, _, deal, comp = computed
    m = comp.monthly
    paid = m["fees_paid"] + m["liquidity_repaid"] + m["excess_released"]
    for c in deal.classes:
        paid = paid + m[f"class_{c.name}_interest"] + m[f"class_{c.name}_principal"]
        assert (m[f"class_{c.name}_balance"] >= -1e-6).all()
        assert (np.diff(m[f"class_{c.name}_factor"]) <= 1e-12).all()
    np.testing.assert_allclose(paid, m["available_funds"] + m["liquidity_draw"], rtol=1e-9, atol=1e-4)
    a_left = m["class_A_balance"] > 1e-6
    assert (m.loc[a_left, "class_B_principal"] == 0).all()   # sequential: B is paid once A is paid off
    assert m.loc[~a_left, "class_B_principal"].sum() > 0


def test_a_breached_trigger_turns_excess_spread_into_principal(sample: Sample, computed) -> None:  # type: ignore[no-untyped-def]
    pool, perf, _, _ = computed
    data = deal_dict(pool_balance(Path(pool.run_dir)))
    data["triggers"][0]["schedule"] = [[60, 0.0001]]   # CNL above 0.01 %: breached at the first loss
    strict = parse_deal(data)
    comp = compute_monitoring(pool.assets, perf.rows, strict, periods=PERIODS)
    cnl = next(t for t in comp.triggers if t["code"] == "cnl")
    first = cnl["first_breach_period"]
    assert cnl["breached"] and first is not None
    m = comp.monthly
    assert m.loc[m["period"] == first, "cumulative_net_loss_share"].iloc[0] > 0.0001
    assert m.loc[m["period"] < first, "cumulative_net_loss_share"].max() <= 0.0001
    after = m[(m["period"] > first) & (m["notes_balance"] > 0)]   # once the notes are repaid, the rest is released
    assert len(after) and (after["excess_released"] == 0).all() and after["turbo_principal"].sum() > 0
    base = computed[3].monthly
    assert m["class_A_balance"].iloc[-1] <= base["class_A_balance"].iloc[-1]
    assert (m.loc[m["period"] > first, "class_A_balance"].to_numpy()
            <= base.loc[base["period"] > first, "class_A_balance"].to_numpy() + 1e-6).all()


def test_vintage_curves_add_up_to_the_pool(computed) -> None:  # type: ignore[no-untyped-def]
    pool, _, _, comp = computed
    v = comp.vintages
    last = v.groupby("vintage").tail(1)
    assert last["assets"].sum() == len(pool.assets)
    assert last["cumulative_defaults"].sum() == comp.monthly["defaults"].sum()
    assert (v.groupby("vintage")["cumulative_default_share"].diff().dropna() >= 0).all()


# --- the command: outputs, log, determinism, bad input ---------------------------------------------

def _cli(args: list[str]) -> int:
    return main(["monitor", *args, "--no-drift", "--no-mlflow"])


def test_monitor_writes_every_output_once_and_logs_a_record(sample: Sample, run_dir: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    deal = write_deal(tmp_path / "deal.toml", deal_dict(pool_balance(run_dir)))
    log = tmp_path / "log.jsonl"
    args = ["--run", str(run_dir), "--performance", str(sample.performance), "--deal", str(deal),
            "--asof", "2027-06-30", "--log", str(log), "--json"]
    assert _cli([*args, "--out", str(tmp_path / "a")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["periods"] == 24 and result["latest"]["month"] == "2027-06-30"
    for key in ("delinquency_60_plus_share", "cpr", "cumulative_net_loss_share", "pool_factor"):
        assert isinstance(result["latest"][key], float)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        ["monthly.parquet", "monthly.csv", "vintages.parquet", "assets.parquet", "backtest.json", "summary.json"])
    monthly = pd.read_parquet(tmp_path / "a" / "monthly.parquet")
    assert len(monthly) == 24
    assets = pd.read_parquet(tmp_path / "a" / "assets.parquet")
    in_pool = assets[assets["state"] == "in_pool"]
    assert len(in_pool) == monthly["assets"].iloc[-1]
    assert in_pool["balance"].sum() == pytest.approx(monthly["pool_balance"].iloc[-1])
    assert (assets["state"] == "defaulted").sum() == monthly["defaults"].sum()
    assert _cli([*args, "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    for name in ("monthly.parquet", "monthly.csv", "vintages.parquet", "assets.parquet", "backtest.json",
                 "summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    records = [r for _, r, _ in read_records(log)]
    assert [r["record"] for r in records if r] == ["monitoring", "monitoring"]
    assert records[0] is not None and records[0]["deal_hash"] == result["deal"]["sha256"]
    assert "run_id" not in records[0]   # poolgate explain finds screening runs by run_id
    assert verify(log).ok


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("change, message", [
    ("unknown_deal_key", "deal.toml: coupon_cap = 0.1 is invalid; allowed: known keys"),
    ("classes_short", "deal.toml: classes = '"),
    ("foreign_contract", "row 1, contract_id = 'ZZ9': rule in_run_pool"),
    ("repeated_month", "rule unique_month"),
    ("out_of_order", "rule months_in_order"),
    ("month_missing", "rule months_contiguous (contract "),
    ("negative_amount", "row 3, amount_paid = "),
    ("asof_before_cutoff", "--asof = 2025-05-31: rule after_cutoff"),
    ("asof_after_the_tape", "2027-06-30: rule within_tape (the performance tape reports the admitted assets to 2026"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(sample: Sample, run_dir: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str], change: str,
                                                          message: str, fmt: str) -> None:
    data = deal_dict(pool_balance(run_dir))
    perf = pd.read_parquet(sample.performance).head(200).reset_index(drop=True)
    asof = "2027-06-30"
    if change == "unknown_deal_key":
        data["coupon_cap"] = 0.1
    elif change == "classes_short":
        data["classes"][0]["balance"] -= 1000.0
    elif change == "foreign_contract":
        perf.loc[0, "contract_id"] = "ZZ9"
    elif change == "repeated_month":
        perf = pd.concat([perf, perf.iloc[[3]]], ignore_index=True)
    elif change == "out_of_order":
        i = int(np.flatnonzero(perf["contract_id"].duplicated().to_numpy())[0])
        perf.iloc[[i - 1, i]] = perf.iloc[[i, i - 1]].to_numpy()
    elif change == "month_missing":   # a contract's second row left out: its first and third remain
        same = perf["contract_id"].to_numpy()
        i = int(np.flatnonzero((same[1:-1] == same[:-2]) & (same[1:-1] == same[2:]))[0]) + 1
        perf = perf.drop(index=i).reset_index(drop=True)
    elif change == "negative_amount":
        perf.loc[2, "amount_paid"] = -5.0
    elif change == "asof_after_the_tape":   # the tape cut a year before --asof
        perf = perf[pd.to_datetime(perf["month"]) <= "2026-06-30"].reset_index(drop=True)
    elif change == "asof_before_cutoff":
        asof = "2025-05-31"
    deal = write_deal(tmp_path / "deal.toml", data)
    tape = tmp_path / f"perf.{fmt}"
    perf.to_parquet(tape, index=False) if fmt == "parquet" else perf.to_csv(tape, index=False)
    out, log = tmp_path / "out", tmp_path / "log.jsonl"
    code = _cli(["--run", str(run_dir), "--performance", str(tape), "--deal", str(deal), "--asof", asof,
                 "--out", str(out), "--log", str(log)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and message in err[0], err
    assert not out.exists() and not log.exists()


def test_a_log_that_cannot_take_the_record_stops_the_run_before_anything_is_written(
        sample: Sample, run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deal = write_deal(tmp_path / "deal.toml", deal_dict(pool_balance(run_dir)))
    ordinary = tmp_path / "ordinary.csv"
    ordinary.write_text("a,b\n1,2\n", encoding="utf-8")
    out = tmp_path / "out"
    code = _cli(["--run", str(run_dir), "--performance", str(sample.performance), "--deal", str(deal),
                 "--asof", "2027-06-30", "--out", str(out), "--log", str(ordinary)])
    assert code == 2
    assert capsys.readouterr().err == (f"poolgate monitor: error: {ordinary}: the last line is not a decision-log "
                                       "record; run `poolgate audit verify`\n")
    assert not out.exists() and ordinary.read_text(encoding="utf-8") == "a,b\n1,2\n"


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_rows_breaking_the_contract_are_left_out_and_counted(sample: Sample, run_dir: Path, fmt: str) -> None:
    pool = load_pool(run_dir)
    perf = pd.read_parquet(sample.performance)
    perf["status"] = perf["status"].astype(object)
    perf.loc[[5, 9], "status"] = "written_off"
    perf.loc[7, "dpd"] = None
    perf.loc[11, "outstanding_principal"] = 2e7
    tape = Path(sample.folder) / f"perf_bad.{fmt}"
    perf.to_parquet(tape, index=False) if fmt == "parquet" else perf.to_csv(tape, index=False)
    got = read_performance(tape, pool.tape_ids)
    assert got.left_out == {"category": 2, "not_null": 1, "range": 1}
    assert len(got.rows) == len(perf) - 4


def test_typed_parquet_and_csv_and_chunks_give_the_same_figures(sample: Sample, run_dir: Path,
                                                                computed) -> None:  # type: ignore[no-untyped-def]
    pool, perf, deal, comp = computed
    csv = Path(sample.folder) / "perf_same.csv"
    pd.read_parquet(sample.performance).to_csv(csv, index=False)
    slow = read_performance(csv, pool.tape_ids)
    assert isinstance(perf.rows["contract_id"].dtype, pd.CategoricalDtype)   # the typed Parquet path
    again = compute_monitoring(pool.assets, slow.rows, deal, periods=PERIODS)
    pd.testing.assert_frame_equal(again.monthly, comp.monthly, rtol=1e-12)
    from monitoring.pool import pool_figures

    cut = int(month_index(np.array([np.datetime64(CUTOFF)]))[0])
    small = pool_figures(pool.assets, perf.rows, cutoff_month=cut, periods=PERIODS, chunk_rows=997)
    pd.testing.assert_frame_equal(small.monthly, comp.monthly.loc[:, small.monthly.columns], rtol=1e-12)
    shuffled = perf.rows.sample(frac=1.0, random_state=3).reset_index(drop=True)
    mixed = pool_figures(pool.assets, shuffled, cutoff_month=cut, periods=PERIODS)
    pd.testing.assert_frame_equal(mixed.monthly, small.monthly, rtol=1e-12)


def test_monitor_logs_the_backtest_to_mlflow(sample: Sample, run_dir: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    deal = write_deal(tmp_path / "deal.toml", deal_dict(pool_balance(run_dir)))
    result = monitor(str(run_dir), sample.performance, deal, tmp_path / "out", asof=dt.date(2026, 12, 31),
                     log_path=tmp_path / "log.jsonl", drift=False, track=True)
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(result["mlflow_run_id"])
    assert run.data.tags["poolgate.verdict"] == result["backtest"]["verdict"]
    assert run.data.params["screen_run_id"] == "fake1"
    assert run.data.metrics["backtest_defaults"] == result["backtest"]["defaults"]
    # no process-wide MLflow state is left behind: a run in another tracking store still starts
    other = f"sqlite:///{tmp_path / 'other.db'}"
    mlflow.set_tracking_uri(other)
    try:
        with mlflow.start_run() as active:
            assert active.info.experiment_id == "0"
    finally:
        mlflow.set_tracking_uri(uri)


def test_liquidity_covers_shortfalls_up_to_its_limit_and_its_trigger_counts_draws(computed) -> None:  # type: ignore[no-untyped-def]
    pool, perf, _, _ = computed
    data = deal_dict(pool_balance(Path(pool.run_dir)))
    data["fees"]["servicing"] = 0.2          # 1.7 % of the pool a month: more than the interest collected
    data["liquidity"]["limit"] = data["liquidity"]["limit"] / 10
    comp = compute_monitoring(pool.assets, perf.rows, parse_deal(data), periods=PERIODS)
    m = comp.monthly
    limit = data["liquidity"]["limit"]
    assert m["liquidity_draw"].sum() > 0
    assert (m["liquidity_outstanding"] <= limit + 1e-6).all()
    np.testing.assert_allclose(m["liquidity_outstanding"], (m["liquidity_draw"] - m["liquidity_repaid"]).cumsum(),
                               atol=1e-6)
    draws = (m["liquidity_draw"] > 0).cumsum()
    trig = next(t for t in comp.triggers if t["code"] == "liquidity_draws")
    assert trig["breached"] == bool(draws.iloc[-1] > 2)
    if trig["breached"]:
        assert trig["first_breach_period"] == int(m.loc[draws > 2, "period"].iloc[0])
    assert m["principal_used_for_interest"].sum() > 0    # beyond the limit, principal pays the senior items


def test_drift_within_the_pool_range_ignores_what_eligibility_cut() -> None:
    from monitoring.drift import pool_psi

    profile: dict[str, dict[str, Any]] = {"gps": {"kind": "categorical", "shares": {"True": 0.93, "False": 0.07}},
               "age": {"kind": "numeric", "edges": [30.0, 40.0], "shares": {"0": 0.3, "1": 0.4, "2": 0.3}}}
    rng = np.random.default_rng(0)
    pool = pd.DataFrame({"gps": np.ones(4000, dtype=bool),
                         "age": rng.choice([25.0, 35.0, 50.0], size=4000, p=[0.3, 0.4, 0.3])})
    got = pool_psi(profile, pool).set_index("feature")
    assert got.loc["gps", "psi"] == pytest.approx(0.0, abs=1e-9)
    assert got.loc["gps", "psi_unconditional"] > 0.25
    assert got.loc["gps", "dropped_training_share"] == pytest.approx(0.07)
    assert got.loc["age", "psi"] < 0.01
    shifted = pool.assign(age=rng.choice([25.0, 35.0, 50.0], size=4000, p=[0.1, 0.3, 0.6]))
    assert pool_psi(profile, shifted).set_index("feature").loc["age", "psi"] > 0.25


def test_forward_pds_are_backtested_on_the_first_twelve_months(sample: Sample, computed) -> None:  # type: ignore[no-untyped-def]
    pool, perf, deal, _ = computed
    truth = sample.truth.set_index("contract_id")
    fwd = truth["pd_12m_fwd"].reindex(pool.assets["asset_id"]).to_numpy()
    verdicts = {}
    for scale in (1.0, 2.0):
        assets = pool.assets.assign(pd_12m=np.minimum(fwd * scale, 0.999))
        bt = compute_monitoring(assets, perf.rows, deal, periods=PERIODS, pd_basis="remaining").backtest
        verdicts[scale] = bt["verdict"]
        assert bt["pd_basis"] == "forward" and bt["horizon_months"] == 12 and bt["periods"] == 12
        # the forward PD allows for prepayment and maturity already: every asset counts in full
        assert bt["pool"]["expected_defaults"] == pytest.approx(assets["pd_12m"].sum(), rel=1e-9)
    assert verdicts[1.0] == "holds" and verdicts[2.0] != "holds"


def test_a_trigger_without_a_value_is_printed_as_such(sample: Sample, run_dir: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # recoveries on a defaulted asset reported after the pool paid down: the pool is empty for those
    # periods, so the 60+ delinquency average over three of them has no value (None in the JSON)
    pool = load_pool(run_dir)
    perf = pd.read_parquet(sample.performance)
    perf["month"] = pd.to_datetime(perf["month"])
    admitted = perf[perf["contract_id"].astype(str).isin(pool.assets["asset_id"])]
    last = admitted["month"].max()
    gone = admitted.groupby("contract_id", observed=True).tail(1)
    row = gone[gone["status"].astype(str) == "defaulted"].iloc[0]
    months = pd.date_range(row["month"] + pd.offsets.MonthEnd(1), last + pd.offsets.MonthEnd(4), freq="ME")
    tail = pd.DataFrame([{**row.to_dict(), "month": m, "amount_due": 0.0, "amount_paid": 0.0,
                          "charged_off_amount": 0.0, "recovered_amount": 10.0} for m in months])
    tape = tmp_path / "tail.parquet"
    pd.concat([perf, tail]).sort_values(["contract_id", "month"], kind="stable").to_parquet(tape, index=False)
    deal = write_deal(tmp_path / "deal.toml", deal_dict(pool_balance(run_dir)))
    assert _cli(["--run", str(run_dir), "--performance", str(tape), "--deal", str(deal), "--out",
                 str(tmp_path / "out"), "--log", str(tmp_path / "log.jsonl")]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("trigger ")]
    assert any(" n/a vs " in line for line in printed), printed


def test_the_waterfall_pays_out_only_the_cash_collected(computed) -> None:  # type: ignore[no-untyped-def]
    pool, perf, deal, comp = computed
    rows = perf.rows.copy()
    held = rows["contract_id"].astype(str).isin(pool.assets["asset_id"]).to_numpy()
    i = int(np.flatnonzero(held & (rows["status"].astype(str) == "prepaid").to_numpy())[0])
    assert rows["contract_id"].iloc[i - 1] == rows["contract_id"].iloc[i]
    owed = float(rows["outstanding_principal"].iloc[i - 1])
    rows.loc[rows.index[i], "amount_paid"] = owed - 5_000.0   # paid off 5,000 below its balance
    m = compute_monitoring(pool.assets, rows, deal, periods=PERIODS).monthly
    period = int(np.flatnonzero((m["month"] == rows["month"].iloc[i]).to_numpy())[0])
    for figures in (m, comp.monthly):
        np.testing.assert_allclose(figures["available_funds"],
                                   figures["collected_amount"] + figures["recoveries"], rtol=1e-12)
    assert m["payoff_shortfall"].iloc[period] == pytest.approx(5_000.0)
    assert m["payoff_shortfall"].drop(index=m.index[period]).eq(comp.monthly["payoff_shortfall"]
                                                                .drop(index=m.index[period])).all()
    assert m["pool_balance"].equals(comp.monthly["pool_balance"])   # the asset left the pool all the same


def test_a_monitor_killed_while_writing_leaves_its_staging_folder_to_the_next_run(
        sample: Sample, run_dir: Path, tmp_path: Path) -> None:
    from tests.cli.kill import kill_at, run

    deal = write_deal(tmp_path / "deal.toml", deal_dict(pool_balance(run_dir)))
    out = tmp_path / "out"
    argv = ["monitor", "--run", str(run_dir), "--performance", str(sample.performance), "--deal", str(deal),
            "--asof", "2027-06-30", "--out", str(out), "--log", str(tmp_path / "log.jsonl"), "--no-drift",
            "--no-mlflow"]
    kill_at(argv, tmp_path, "monitor.write")        # every file written in the staging folder, none moved
    left = list(out.glob(".monitor-staging-*"))
    assert len(left) == 1 and (left[0] / "owner.json").is_file() and not (out / "summary.json").exists()
    run(argv, tmp_path)
    assert not list(out.glob(".monitor-staging-*")) and (out / "summary.json").is_file()


def test_the_chinese_drift_reason_names_the_input_in_chinese(computed) -> None:  # type: ignore[no-untyped-def]
    pool, perf, deal, _ = computed
    psi = pd.DataFrame({"feature": ["is_nev"], "psi": [0.4], "level": ["shift"], "largest_bin": ["1"],
                        "train_share": [0.05], "pool_share": [0.3], "display_en": ["New-energy vehicle"],
                        "display_zh": ["新能源车"]})
    bt = compute_monitoring(pool.assets, perf.rows, deal, periods=PERIODS, psi=psi, psi_note="measured").backtest
    assert any("模型变量新能源车（is_nev）发生漂移" in r for r in bt["reasons_zh"])
    assert any("input is_nev has shifted" in r for r in bt["reasons"])
    assert bt["drift"]["features"][0]["display_zh"] == "新能源车"

"""The screening-run report: one self-contained HTML page an auditor can read offline.

:func:`render_run_report` is pure: it takes a :class:`reports.run_data.RunData` (the run's decisions,
summary, provenance and explanations, already read), the feature specification and the policy, and
returns HTML text. Display names come from the feature specification and reason and rule texts
from the policy; this module holds no names of its own. Numbers an auditor may check against the
run's files carry ``data-metric`` keys (see :mod:`reports.html`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from features.spec import FeatureSpec
from models.population import PSI_ALERT, PSI_WARN, psi_against_profile
from reports import charts
from reports.html import Document, Markup, badge, code, esc, figure, fmt, key_values, metric, note, table
from reports.run_data import RunData
from reports.summary_view import summary_blocks
from scoring.policy import Policy
from scoring.screen import ALREADY_IN_POOL

__all__ = ["MAX_WATERFALLS", "STATUS_ORDER", "render_run_report"]

MAX_WATERFALLS = 50
STATUS_ORDER = ("admit", "refer", "reject", "invalid")
_BEESWARM_FEATURES = 12
_LEVEL_BADGE = {"stable": "ok", "watch": "warn", "shift": "bad"}


class _Names:
    """Display names of model inputs in the report's language, from the feature specification."""

    def __init__(self, spec: FeatureSpec, language: str) -> None:
        self.spec, self.language = spec, language
        self._by_name = {f.name: f for f in spec.features}

    def __call__(self, name: str) -> str:
        f = self._by_name.get(name)
        if f is None:
            return name
        return f.display_zh if self.language == "zh" else f.display_en

    def chart(self, name: str) -> str:
        """English display name, for chart labels (the charts' font has no CJK glyphs; tables carry both)."""
        f = self._by_name.get(name)
        return f.display_en if f is not None else name

    def other(self, name: str) -> str:
        f = self._by_name.get(name)
        if f is None:
            return ""
        return f.display_en if self.language == "zh" else f.display_zh


def render_run_report(run: RunData, spec: FeatureSpec, policy: Policy, *, language: str = "en",
                      max_waterfalls: int = MAX_WATERFALLS) -> str:
    """HTML text of the report for one screening run.

    Parameters
    ----------
    run : RunData
        The run's decisions, summary, provenance, contributions and training profile.
    spec : FeatureSpec
        Display names (English and Simplified Chinese) of the model inputs.
    policy : Policy
        The policy the run used: rule and reason texts, concentration limits, decision bands.
    language : {"en", "zh"}
        Language of display names and policy texts in tables (headings and chart labels stay in English).
    max_waterfalls : int
        Referred and rejected assets drawn one by one (highest PD first); the rest are one
        ``poolgate explain`` away.
    """
    names = _Names(spec, language)
    doc = Document(title=f"Screening run {run.run_id}",
                   subtitle=f"{policy.name} {policy.version} \u00b7 {run.n_assets:,} assets screened",
                   footer=f"poolgate screening-run report for run {run.run_id}. Every number with a dotted "
                          "underline is taken from the run's decisions or summary file.")
    _provenance(doc, run, policy)
    _decisions(doc, run, policy)
    _summary(doc, run)
    _eligibility(doc, run, policy, language)
    _reasons(doc, run, policy, names, language)
    _importance(doc, run, names)
    _waterfalls(doc, run, names, max_waterfalls)
    _stability(doc, run, names)
    _concentration(doc, run, policy, language)
    return doc.render()


def _provenance(doc: Document, run: RunData, policy: Policy) -> None:
    p = run.provenance
    sec = doc.section("provenance", "Run, model and policy",
                      "Which approved model and which policy decided, on which input, and whether the "
                      "decision log is intact.")
    audit = p.get("audit_ok")
    audit_badge = (badge("audit verify passed", "ok") if audit is True else
                   badge("audit verify FAILED", "bad") if audit is False else badge("audit not checked", "info"))
    alias = p.get("model_alias") or ""
    sec.add(key_values([
        ("run id", code(run.run_id)),
        ("time (UTC)", p.get("time")),
        ("model", f"{p.get('model_name') or ''} version {p.get('model_version') or '?'}"
                  + (f" (alias {alias})" if alias else "")),
        ("model URI", code(p.get('model_uri') or '')),
        ("policy", f"{policy.name}, version {policy.version}"),
        ("policy sha256", code(p.get('policy_sha256') or policy.sha256)),
        ("input digest", code(p.get('input_digest') or '')),
        ("decision-log hash after this run", code(p.get('log_hash') or '')),
        ("decision log", Markup(audit_badge.text + (f" {esc(p.get('audit_message'))}"
                                                    if p.get("audit_message") else ""))),
    ]))
    run_hash = p.get("policy_sha256")
    if run_hash and run_hash != policy.sha256:
        sec.add(note(f"The policy file given to the report (sha256 {policy.sha256[:12]}...) is not the one the "
                     f"run used ({str(run_hash)[:12]}...); rule and reason texts may differ.", "bad"))


def _decisions(doc: Document, run: RunData, policy: Policy) -> None:
    d = run.decisions
    sec = doc.section("decisions", "Decision breakdown",
                      f"Admit when eligible and PD <= {fmt(policy.decision.admit_pd_max, 'pct')}; refer for "
                      f"manual review when PD <= {fmt(policy.decision.refer_pd_max, 'pct')}; otherwise reject. "
                      "Invalid rows broke the data contract and were not scored.")
    counts = d["status"].value_counts()
    n = max(len(d), 1)
    has_bal = "balance" in d.columns
    bal = d.groupby("status")["balance"].sum() if has_bal else pd.Series(dtype=float)
    total_bal = float(d["balance"].sum()) if has_bal else 0.0
    cards = [(f'<div class="card"><div class="v">{metric("decisions.total", len(d), "int").text}</div>'
              '<div class="l">assets screened</div></div>')]
    rows = []
    for s in STATUS_ORDER:
        c = int(counts.get(s, 0))
        cards.append(f'<div class="card"><div class="v">{metric(f"decisions.{s}.count", c, "int").text}</div>'
                     f'<div class="l">{esc(s)} ({fmt(c / n, "pct1")})</div></div>')
        row: list[Any] = [s, metric(f"decisions.{s}.count", c, "int"), c / n]
        if has_bal:
            b = float(bal.get(s, 0.0))
            row += [metric(f"decisions.{s}.balance", b, "cny"), b / total_bal if total_bal else np.nan]
        mean_pd = d.loc[d["status"] == s, "pd"].mean()
        row.append(mean_pd)
        rows.append(row)
    cols = ["status", "assets", "share of assets"] + (["balance (CNY)", "share of balance"] if has_bal else [])
    kinds = ["text", "text", "pct"] + (["text", "pct"] if has_bal else []) + ["pct"]
    sec.add(Markup(f'<div class="cards">{"".join(cards)}</div>'))
    tbl = table(rows, cols + ["mean PD"], kinds=kinds, numeric=[False] + [True] * (len(cols)))
    img = charts.bar_chart(list(STATUS_ORDER), [int(counts.get(s, 0)) for s in STATUS_ORDER],
                           title="Assets by decision", xlabel="assets", width=5.0)
    sec.add(Markup(f'<div class="grid">{tbl.text}{figure(img, "bar chart of assets by decision").text}</div>'))


def _summary(doc: Document, run: RunData) -> None:
    sec = doc.section("summary", "Pool summary",
                      "As written by the screening run in summary.json (the admitted pool after concentration "
                      "limits). Amounts in CNY; rates, shares and PDs as percent.")
    blocks = summary_blocks(run.summary, skip=run.summary_skip)
    sec.add(*blocks) if blocks else sec.add(note("The run wrote no summary.", "warn"))


def _eligibility(doc: Document, run: RunData, policy: Policy, language: str) -> None:
    sec = doc.section("eligibility", "Eligibility failures by rule",
                      "Each asset can fail several rules; counts are assets failing the rule. Rule texts are the "
                      "policy's. A concentration limit's row counts the admitted assets it dropped.")
    counter: Counter[str] = Counter(c for codes in run.decisions["failed_rules"] for c in codes)
    n = max(len(run.decisions), 1)
    rules = {r.code: r for r in policy.eligibility}
    limits = {lim.code: lim for lim in policy.concentration}
    order = sorted(counter, key=lambda c: (-counter[c], c))
    rows = []
    for rule in order:
        r, lim = rules.get(rule), limits.get(rule)
        if r is not None:
            what, limit = r.quantity, _allowed_text(r.minimum, r.maximum, r.allowed)
        elif lim is not None:   # an admitted asset a concentration limit dropped
            what = f"concentration limit ({lim.group}{f', {lim.n} largest' if lim.group == 'top_lessees' else ''})"
            limit = f"≤ {lim.max_share:.2%} of the pool's principal"
        elif rule == ALREADY_IN_POOL:   # a replenishment's candidate the pool holds or has held
            what, limit = "contract_id against the existing pool", "not held by the pool before"
        else:
            what, limit = "", ""
        rows.append([code(rule), what, limit, metric(f"rule.{rule}.count", counter[rule], "int"), counter[rule] / n])
    sec.add(table(rows, ["rule", "quantity", "allowed", "assets failing", "share of all assets"],
                  kinds=["text", "text", "text", "text", "pct"], numeric=[False, False, False, True, True]))
    if order:
        img = charts.bar_chart(order, [counter[c] for c in order], title="Assets failing each rule",
                               xlabel="assets", color=charts.UP)
        sec.add(figure(img, "bar chart of eligibility failures by rule"))
    unused = [r.code for r in policy.eligibility if r.code not in counter]
    if unused:
        sec.add(note("Rules no asset failed: " + ", ".join(unused) + "."))


def _allowed_text(low: float | None, high: float | None, allowed: tuple[Any, ...] | None) -> str:
    if allowed is not None:
        return ", ".join(map(str, allowed))
    if low is not None and high is not None:
        return f"{fmt(low)} to {fmt(high)}"
    return f"\u2265 {fmt(low)}" if low is not None else f"\u2264 {fmt(high)}"


def _reasons(doc: Document, run: RunData, policy: Policy, names: _Names, language: str) -> None:
    d = run.decisions
    sel = d[d["status"].isin(["refer", "reject"])]
    sec = doc.section("reasons", "Reason codes among referred and rejected assets",
                      f"The top {policy.reasons.top_n} features that raised each asset's log-odds of default "
                      "above the model's base value (SHAP contributions); counts are assets carrying the reason.")
    counter: Counter[str] = Counter(f for feats in sel["reason_features"] for f in feats)
    order = sorted(counter, key=lambda f: (-counter[f], f))
    n = max(len(sel), 1)
    rows = [[names(f), Markup(f'<span class="zh" lang="zh-Hans">{esc(names.other(f))}</span>'),
             code(f), metric(f"reason.{f}.count", counter[f], "int"), counter[f] / n,
             policy.reasons.template(f, language)] for f in order]
    sec.add(table(rows, ["feature", "\u4e2d\u6587" if language == "en" else "English", "model input",
                         "assets", "share", "reason text (policy template)"],
                  kinds=["text", "text", "text", "text", "pct", "text"],
                  numeric=[False, False, False, True, True, False]))
    if order:
        top = order[:15]
        sec.add(figure(charts.bar_chart([names.chart(f) for f in top], [counter[f] for f in top],
                                        title="Most frequent reasons (referred and rejected)", xlabel="assets",
                                        color=charts.UP), "bar chart of reason codes by frequency"))


def _importance(doc: Document, run: RunData, names: _Names) -> None:
    sec = doc.section("importance", "What drove the model on this pool",
                      "Global importance is the mean absolute contribution (log-odds) of each input over the "
                      "scored assets. The beeswarm shows each asset as a dot: right of zero the input raised "
                      "its risk, left of zero it lowered it.")
    if run.contributions is None or run.contributions.empty:
        sec.add(note("The run's decisions carry no contributions; importance cannot be shown.", "warn"))
        return
    c = run.contributions
    imp = c.abs().mean().sort_values(ascending=False)
    rows = [[names(f), code(f), metric(f"importance.{f}", float(v), "f4"),
             float(c[f].mean())] for f, v in imp.items()]
    tbl = table(rows, ["feature", "model input", "mean |contribution|", "mean contribution"],
                kinds=["text", "text", "text", "f4"], numeric=[False, False, True, True])
    top = list(imp.index[:15])
    bar = charts.bar_chart([names.chart(f) for f in top], imp.loc[top].tolist(), title="Mean |contribution| (log-odds)",
                           value_format="{:.3f}")
    sec.add(Markup(f'<div class="grid">{tbl.text}{figure(bar, "bar chart of global importance").text}</div>'))
    feats = list(imp.index[:_BEESWARM_FEATURES])
    values = (run.inputs[feats].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
              if run.inputs is not None and set(feats) <= set(run.inputs.columns)
              else np.full((len(c), len(feats)), np.nan))
    sec.add(figure(charts.beeswarm(c[feats].to_numpy(dtype=float), values, [names.chart(f) for f in feats],
                                   title="Contributions of the most important inputs"),
                   "beeswarm of SHAP contributions",
                   "Drawn by shap.plots.beeswarm. Colour is the asset's value of the input (blue low to red "
                   "high, between the pool's 5th and 95th percentiles); grey where the input is missing or "
                   "categorical."))


def _waterfalls(doc: Document, run: RunData, names: _Names, cap: int) -> None:
    d = run.decisions
    sec = doc.section("assets", "Why each referred or rejected asset was not admitted",
                      "From the model's base value (its average log-odds over the training data) each bar adds "
                      "one input's contribution; the sum is the asset's raw score. With the PD from origination, "
                      "calibration maps that score to the PD. With the PD at the cut-off (pd = \"remaining\" or "
                      "\"12m\", the run's pd_basis) the score is the forward band model's log-odds at the cut-off "
                      "state (a current asset's default hazard in the first month after it; a past-due asset's "
                      "chance that its delinquency ends in default), and the PD is that hazard rolled forward "
                      "over the asset's remaining months, so it is not the score's logistic (docs/screening.md).")
    sel = d[d["status"].isin(["refer", "reject"])].sort_values(["pd", "asset_id"], ascending=[False, True],
                                                              na_position="last")
    if run.contributions is None or run.base_value is None:
        sec.add(note("The run's decisions carry no contributions; no waterfall can be drawn.", "warn"))
        return
    scored = sel[sel.index.isin(run.contributions.index) & sel["pd"].notna()]
    shown = scored.head(cap)
    if len(scored) > cap:
        sec.add(note(f"{len(scored):,} referred or rejected assets were scored; the {cap} with the highest PD are "
                     f"drawn here. Any other: poolgate explain --run {run.run_id} --asset ID", "info"))
    for idx, row in shown.iterrows():
        contrib = run.contributions.loc[idx]
        vals = run.inputs.loc[idx] if run.inputs is not None else None
        texts = {names.chart(f): _value_text(vals[f]) for f in contrib.index} if vals is not None else {}
        img = charts.waterfall(float(run.base_value.loc[idx]), {names.chart(f): float(v) for f, v in contrib.items()},
                               value_texts=texts, title=f"{row['asset_id']}: {row['status']}, PD {fmt(row['pd'], 'pct')}")
        why = "; ".join([*row["failed_messages"], *row["reason_texts"]])
        aid, st = str(row["asset_id"]), str(row["status"])
        pd_tag = metric(f"asset.{aid}.pd", float(row["pd"]), "pct").text
        pic = figure(img, f"waterfall for asset {aid}").text
        sec.add(Markup(f'<details class="asset" open><summary>{esc(aid)} \u00b7 {esc(st)} \u00b7 PD {pd_tag} '
                       f'\u00b7 score {esc(fmt(row["score"], "f1"))}</summary><p>{esc(why)}</p>{pic}</details>'))
    unscored = len(sel) - len(scored)
    if unscored:
        sec.add(note(f"{unscored:,} rejected assets have no PD (rejected before scoring); their failed rules are "
                     "in the decisions file."))


def _value_text(v: Any) -> str:
    if isinstance(v, (float, np.floating, int, np.integer)) and not isinstance(v, bool):
        x = float(v)
        return "missing" if np.isnan(x) else f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"
    return "missing" if v is None or v is pd.NA else str(v)


def _stability(doc: Document, run: RunData, names: _Names) -> None:
    sec = doc.section("stability", "Pool against the training population",
                      f"Population stability index (PSI) of each model input, pool against training: below "
                      f"{PSI_WARN:g} stable, {PSI_WARN:g} to {PSI_ALERT:g} worth a look, above {PSI_ALERT:g} a "
                      "material shift. Training bins are its deciles (missing values in a bin of their own).")
    if run.profile is None:
        sec.add(note("No training-population profile was found (" + run.profile_source +
                     "); distributions and PSI are not shown.", "warn"))
        return
    sec.add(note("Training population: " + run.profile_source))
    scored = run.decisions[run.decisions["pd"].notna()]
    imgs = []
    scores = run.profile.get("scores", {})
    n_train = scores.get("n")
    basis = str(run.summary.get("run", {}).get("pd_basis") or "origination")
    if basis != "origination" and scores:
        # the profile holds the training rows' origination PD and its score: a PD at the cut-off is another
        # quantity, and drawing one over the other would show a shift that is not there
        sec.add(note(f"The run's PD is the PD at the cut-off (pd_basis {basis}); the training profile holds the "
                     "24-month PD from origination and its score, so the two distributions are not drawn over "
                     "each other. The inputs' PSI below compares like with like."))
        scores = {}
    if "pd_quantiles" in scores:
        imgs.append(figure(charts.hist_overlay(scored["pd"].to_numpy(float), reference_quantiles=scores["pd_quantiles"],
                                               reference_count=n_train, xlabel="PD (log scale)", log_x=True,
                                               title="PD"), "PD distribution, pool against training"))
    if "score_quantiles" in scores:
        imgs.append(figure(charts.hist_overlay(scored["score"].to_numpy(float),
                                               reference_quantiles=scores["score_quantiles"], reference_count=n_train,
                                               xlabel="score points", title="Score"),
                           "score distribution, pool against training"))
    if imgs:
        sec.add(Markup('<div class="grid">' + "".join(i.text for i in imgs) + "</div>"))
    features = run.profile.get("features", {})
    if run.inputs is None or not features:
        sec.add(note("No model inputs in the run or no feature profile; PSI by feature is not shown.", "warn"))
        return
    psi = psi_against_profile(features, run.inputs)
    n_warn = int((psi["level"] != "stable").sum())
    if n_warn:
        worst = psi.iloc[0]
        sec.add(note(f"{n_warn} inputs moved beyond PSI {PSI_WARN:g}; the largest is {names(worst['feature'])} "
                     f"(PSI {worst['psi']:.3f}).", "bad" if worst["psi"] > PSI_ALERT else "warn"))
    rows = [[names(r.feature), code(r.feature), metric(f"psi.{r.feature}", r.psi, "f3"),
             badge(r.level, _LEVEL_BADGE[r.level]), r.largest_bin, r.train_share, r.pool_share]
            for r in psi.itertuples()]
    sec.add(table(rows, ["feature", "model input", "PSI", "reading", "bin that moved most", "training share",
                         "pool share"], kinds=["text", "text", "text", "text", "text", "pct", "pct"],
                  numeric=[False, False, True, False, False, True, True]))


def _concentration(doc: Document, run: RunData, policy: Policy, language: str) -> None:
    sec = doc.section("concentration", "Concentration limits",
                      "Each limit is a largest share of the admitted pool's outstanding principal; where one was "
                      "broken, the riskiest assets of the group were dropped until it held.")
    measured = run.concentration
    rows = []
    for lim in policy.concentration:
        m = measured.get(lim.code, {})
        value = m.get("share")
        ok = m.get("ok")
        status = badge("within", "ok") if ok is True else badge("breach", "bad") if ok is False else badge("n/a", "info")
        group = lim.group + (f" (top {lim.n})" if lim.group == "top_lessees" else "")
        rows.append([code(lim.code), group, metric(f"limit.{lim.code}.max_share",
                                                                             lim.max_share, "pct"),
                     metric(f"limit.{lim.code}.share", value, "pct") if value is not None else None,
                     m.get("largest", ""), metric(f"limit.{lim.code}.dropped", m.get("dropped", 0), "int"), status])
    sec.add(table(rows, ["limit", "group", "limit (share)", "pool value", "largest group", "assets dropped",
                         "status"], kinds=["text"] * 7, numeric=[False, False, True, True, False, True, False]))
    if not measured:
        sec.add(note("The run's summary reports no measured concentrations; only the limits are shown.", "warn"))

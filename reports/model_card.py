"""The model card of one registered model version: a self-contained HTML page.

:func:`render_model_card` is pure (a :class:`ModelCardData` in, HTML text out). :func:`load_model_card_data`
gathers the facts from the MLflow registry and the version's training run: the version's aliases
and history events (``training.registry``), the run's metrics, tags (data fingerprints, code
version), ``split.json`` (vintages, sizes, default rates), the monotonicity sweep table, and the
out-of-time rows (``oot/test.parquet``), which are re-scored here by the model and its challenger
scorecard to draw ROC, KS, calibration and AUC by vintage. :func:`log_model_card` stores the page
as an artifact of the version's run. Purpose and limitations are texts in ``reports/model_card.toml``.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from features.spec import FeatureSpec
from reports import charts
from reports.html import Document, Markup, badge, code, esc, figure, fmt, key_values, metric, note, table
from training.metrics import auc_by_group, decile_table, summary_metrics

__all__ = ["ModelCardData", "card_texts", "load_model_card_data", "log_model_card", "render_model_card"]

_DIRECTION = {1: "higher value, higher risk", -1: "higher value, lower risk", 0: "no constraint"}


@dataclass
class ModelCardData:
    """Everything the model card shows about one model version.

    Attributes
    ----------
    name, version : str
        Registered model name and version.
    spec : FeatureSpec
        The model's feature specification (names, display names, risk directions).
    y : ndarray (n,)
        Out-of-time outcomes (1 = default within the horizon).
    pd_model : ndarray (n,)
        Model PD (fraction) on those rows.
    pd_challenger : ndarray (n,) or None
        The WoE scorecard's PD on the same rows, when the bundle has one.
    vintage : ndarray (n,) or None
        Vintage label of each out-of-time row.
    aliases : list of str
    run_id : str
    created : str
        Registration time (UTC).
    split : dict
        ``split.json`` of the training run (rows, default rates and vintages of each part).
    fingerprints : dict
        Data part -> sha256 of the training data.
    metrics : dict
        Metrics logged by the training run.
    monotonicity : DataFrame or None
        ``feature``, ``direction``, ``checks``, ``violations``.
    history : list of dict
        Registry events of this version (alias changes, promotions, refusals), oldest first.
    code_version : str
    """

    name: str
    version: str
    spec: FeatureSpec
    y: np.ndarray
    pd_model: np.ndarray
    pd_challenger: np.ndarray | None = None
    vintage: np.ndarray | None = None
    aliases: list[str] = field(default_factory=list)
    run_id: str = ""
    created: str = ""
    status: str = ""
    split: dict[str, Any] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    monotonicity: pd.DataFrame | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    code_version: str = ""
    bundle_metadata: dict[str, Any] = field(default_factory=dict)


def card_texts(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Purpose and limitations (``reports/model_card.toml`` unless another file is given)."""
    p = Path(path) if path else Path(str(resources.files("reports").joinpath("model_card.toml")))
    return tomllib.loads(p.read_text(encoding="utf-8"))


def _models(data: ModelCardData) -> dict[str, np.ndarray]:
    out = {f"model v{data.version}": data.pd_model}
    if data.pd_challenger is not None:
        out["WoE scorecard (challenger)"] = data.pd_challenger
    return out


def render_model_card(data: ModelCardData, *, texts: dict[str, Any] | None = None) -> str:
    """HTML text of the model card for ``data``."""
    texts = texts or card_texts()
    doc = Document(title=f"Model card: {data.name} version {data.version}",
                   subtitle=("aliases: " + ", ".join(data.aliases) if data.aliases else "no alias")
                   + (f" \u00b7 registered {data.created}" if data.created else ""),
                   footer=f"poolgate model card for {data.name} version {data.version}, training run {data.run_id}.")
    sec = doc.section("purpose", "Purpose")
    sec.add(Markup(f"<p>{esc(texts.get('purpose', ''))}</p>"))
    sec.add(key_values([("registered model", f"{data.name} version {data.version}"),
                        ("aliases", ", ".join(data.aliases) or "none"), ("status", data.status or "\u2013"),
                        ("training run", code(data.run_id)),
                        ("code version", code(data.code_version)),
                        ("feature specification", code(data.spec.digest))]))
    _training_data(doc, data)
    _how_chosen(doc, data)
    _features(doc, data)
    _metrics(doc, data)
    _forward(doc, data)
    _monotonicity(doc, data)
    sec = doc.section("limitations", "Known limitations")
    sec.add(Markup("<ul>" + "".join(f"<li>{esc(t)}</li>" for t in texts.get("limitations", [])) + "</ul>"))
    _history(doc, data)
    return doc.render()


def _training_data(doc: Document, data: ModelCardData) -> None:
    sec = doc.section("data", "Training data", "Split by origination vintage: the model never saw the out-of-time "
                                               "vintages it is measured on below.")
    s = data.split
    rows = [[part, s.get(f"{part}_vintages", ""), metric(f"data.{part}.rows", s.get(f"{part}_rows"), "int"),
             metric(f"data.{part}.default_rate", s.get(f"{part}_default_rate"), "pct"),
             code(str(data.fingerprints.get(part, ''))[:16])]
            for part in ("train", "validation", "test")]
    sec.add(table(rows, ["part", "vintages", "contracts", "default rate", "data sha256 (first 16)"],
                  kinds=["text"] * 5, numeric=[False, False, True, True, False]))
    if s.get("excluded_vintages"):
        sec.add(note("Vintages left out (not yet fully labelled): " + ", ".join(map(str, s["excluded_vintages"]))))


_SCHEMES = {
    "rolling_origin": "rolling-origin folds over the origination dates: each block of later contracts validated by "
                      "models fitted on earlier ones only",
    "time_holdout": "the latest vintages before the out-of-time test vintages, held out",
    "stratified_kfold": "stratified cross-validation (the tape had no origination dates)",
    "random_holdout": "a stratified held-out part (the tape had no origination dates)",
}


def _how_chosen(doc: Document, data: ModelCardData) -> None:
    meta = data.bundle_metadata
    table_ = meta.get("selection_table")
    if not isinstance(table_, dict):  # a bundle trained before the one selection
        intro = (f"Chosen by {meta.get('selection', 'a search on the validation vintages')}; this bundle predates the "
                 "candidate table.")
    else:
        scheme = table_["scheme"]
        intro = (f"Every candidate kept the declared risk directions and was validated the way the model is used: "
                 f"{_SCHEMES.get(scheme['kind'], scheme['kind'])} ({scheme['folds']} fold(s), "
                 f"{int(scheme['validation_rows']):,} validation rows). The winner is the stack: the candidates' "
                 "validation log-odds weighted (weights of zero or more, a part under 2 % of the total dropped) "
                 "to the least validation log loss; when one candidate takes all the weight it wins alone. The "
                 "stack must also beat the logistic regression with its weights fitted on other validation rows "
                 "than those they score, or the logistic regression wins alone. Its "
                 "parts were then fitted again on the training and validation vintages together and the sum "
                 "calibrated on its validation scores. Each row's difference from the winner comes with its "
                 "standard error (DeLong, paired): differences within it are noise.")
    sec = doc.section("model", "How the model was chosen", intro)
    params = meta.get("params", {})
    no_trees = meta.get("blend_weight") == 0
    sec.add(key_values([
        ("winner", str(table_["winner"]) if isinstance(table_, dict) else "\u2013"),
        ("trees", "none: the winner has no tree part (the best tree family is kept at weight 0)" if no_trees
         else str(meta.get("best_iteration", "\u2013"))),
        ("leaves per tree", "\u2013" if no_trees else str(params.get("num_leaves", "\u2013"))),
        ("learning rate", "\u2013" if no_trees else str(params.get("learning_rate", "\u2013"))),
        ("weights", _weights_text(meta)),
    ]))
    if isinstance(table_, dict):
        rows = [[code(c["name"]), c["kind"], metric(f"selection.{c['name']}.auc", c["auc"], "f4"),
                 metric(f"selection.{c['name']}.log_loss", c["log_loss"], "f4"),
                 fmt(c.get("gap_to_winner", c.get("gap_to_best")), "f4"), fmt(c.get("gap_se"), "f4"),
                 fmt(c.get("stack_weight"), "f3"),
                 str(c["trees"]) if c["trees"] else "\u2013", badge("winner") if c["name"] == table_["winner"] else ""]
                for c in table_["candidates"]]
        sec.add(table(rows, ["candidate", "shape", "validation AUC", "validation log loss", "below the winner",
                             "standard error", "weight in the stack", "trees", ""],
                      kinds=["text"] * 9, numeric=[False, False, True, True, True, True, True, True, False]))
        check = table_.get("stack_check")
        if isinstance(check, dict):
            sec.add(note(f"The stack with cross-fitted weights (each of {check['parts']} parts of the validation rows "
                         f"scored with the weights fitted on the others): validation AUC {check['stack_auc']:.4f}, "
                         f"against {check['baseline_auc']:.4f} of the logistic regression alone on the same parts; "
                         + ("the stack is kept." if check["kept"] else
                            "the logistic regression wins alone (the weights in the table are those of the stack "
                            "that lost).")))
        cost = table_.get("direction_cost")
        oot, oot_se = data.metrics.get("direction_cost_oot"), data.metrics.get("direction_cost_oot_se")
        if cost is not None:
            sec.add(note(f"The price of the declared risk directions: the winner's parts with every direction freed "
                         f"reaches a validation AUC of {table_['validation_auc_directions_freed']:.4f}, "
                         f"{cost:+.4f} against the winner"
                         + ("" if table_.get("direction_cost_se") is None
                            else f" (standard error {float(table_['direction_cost_se']):.4f})")
                         + ("" if oot is None else f"; on the out-of-time vintages, fitted on the same rows as the "
                            f"model, {float(oot):+.4f} AUC against it"
                            + ("" if oot_se is None else f" (standard error {float(oot_se):.4f})"))
                         + ". The directions stay enforced: they are what makes each "
                         "reason code defensible; a user who disagrees with one edits the feature specification or "
                         "the mapping."))
        binding = table_.get("directions_binding") or []
        if binding:
            sec.add(note("Declared directions the logistic regression holds against the data (fitted on every row, "
                         "the coefficient came out the other way, so the model gives the input none), with the "
                         "validation AUC gained by freeing each alone: "
                         + ", ".join(f"{d['input']} ({d['direction']:+d}, {d['price']:+.4f})" for d in binding)
                         + ". A direction whose price is near zero costs nothing to keep; one with a clear price is "
                           "the line to read first in the mapping or the specification."))


def _weights_text(meta: Mapping[str, Any]) -> str:
    """The raw score's parts in words, from the bundle metadata (stack weights, or the older blend keys)."""
    stack = meta.get("stack_weights")
    if isinstance(stack, dict) and stack:
        return " + ".join(f"{float(w):.3g} × {name}" for name, w in stack.items()) + " (log-odds)"
    weight = float(meta.get("blend_weight", 1.0))
    partner = {"linear": "logistic regression"}.get(str(meta.get("blend_partner", "scorecard")), "scorecard")
    partner_weight = float(meta.get("partner_weight", 1.0 - weight))
    if partner_weight == 0.0:
        return "boosted trees alone"
    if weight == 0.0:
        return f"the {partner} alone"
    return f"{weight:g} × boosted log-odds + {partner_weight:g} × {partner} log-odds"


def _features(doc: Document, data: ModelCardData) -> None:
    sec = doc.section("features", "Features and risk directions",
                      "From the feature specification; non-zero directions are monotone constraints of the model.")
    rows = [[f.display_en, Markup(f'<span class="zh" lang="zh-Hans">{esc(f.display_zh)}</span>'),
             code(f.name), f.description, f.unit or "\u2013", _DIRECTION[f.direction]]
            for f in data.spec.model_inputs]
    sec.add(table(rows, ["feature", "\u4e2d\u6587", "model input", "description", "unit", "risk direction"],
                  kinds=["text"] * 6))


def _metrics(doc: Document, data: ModelCardData) -> None:
    sec = doc.section("metrics", "Performance out of time, beside the challenger scorecard",
                      f"Measured on {len(data.y):,} out-of-time contracts "
                      f"({fmt(float(np.mean(data.y)), 'pct')} defaulted).")
    models = _models(data)
    measured = {name: summary_metrics(data.y, p) for name, p in models.items()}
    keys = [("auc", "AUC", "f3"), ("gini", "Gini", "f3"), ("ks", "KS", "f3"), ("brier", "Brier score", "f4"),
            ("log_loss", "log loss", "f4"), ("calibration_error", "calibration error", "f4"),
            ("mean_pd", "mean PD", "pct"), ("default_rate", "default rate", "pct")]
    tags = ["model", "challenger"]
    rows = [[label] + [metric(f"metric.{tags[i]}.{k}", m[k], kind) for i, m in enumerate(measured.values())]
            for k, label, kind in keys]
    sec.add(table(rows, ["measure", *models], kinds=["text"] * (1 + len(models)),
                  numeric=[False] + [True] * len(models)))
    curves = {}
    for name, p in models.items():
        fpr, tpr, _ = roc_curve(data.y, p)
        curves[name] = (fpr, tpr, measured[name]["auc"])
    deciles = decile_table(data.y, data.pd_model)
    imgs = [figure(charts.roc_chart(curves), "ROC curve"),
            figure(charts.ks_chart(data.y, data.pd_model, title=f"KS, model v{data.version}"), "KS chart"),
            figure(charts.calibration_chart(deciles["expected"], deciles["observed"]), "calibration chart")]
    if data.vintage is not None:
        series = {name: auc_by_group(data.y, p, data.vintage) for name, p in models.items()}
        imgs.append(figure(charts.auc_by_vintage_chart(series), "AUC by vintage"))
    sec.add(Markup('<div class="grid">' + "".join(i.text for i in imgs) + "</div>"))
    dec_rows = [[int(r.bin) + 1, int(r.n), int(r.defaults), r.pd_min, r.pd_max, r.expected, r.observed]
                for r in deciles.itertuples()]
    sec.add(table(dec_rows, ["decile", "contracts", "defaults", "PD from", "PD to", "expected", "observed"],
                  kinds=["int", "int", "int", "pct", "pct", "pct", "pct"], caption="Expected against observed by PD decile"))
    logged = {k: v for k, v in sorted(data.metrics.items()) if not k.startswith("seconds_")}
    if logged:
        sec.add(Markup("<details><summary>All metrics logged by the training run</summary>"
                       + table([[k, metric(f"logged.{k}", v, "f4")] for k, v in logged.items()],
                               ["metric", "value"], kinds=["text", "text"], numeric=[False, True]).text
                       + "</details>"))


def _monotonicity(doc: Document, data: ModelCardData) -> None:
    sec = doc.section("monotonicity", "Monotonicity check",
                      "Each constrained input is swept across its range for a sample of assets, the others held "
                      "fixed; a violation is a step where the score moves against the declared direction.")
    m = data.monotonicity
    if m is None or m.empty:
        sec.add(note("The training run logged no monotonicity sweep.", "warn"))
        return
    names = {f.name: f.display_en for f in data.spec.features}
    rows = [[names.get(r.feature, r.feature), code(r.feature),
             _DIRECTION.get(int(r.direction), str(r.direction)), int(r.checks),
             metric(f"monotonicity.{r.feature}", int(r.violations), "int"),
             badge("pass", "ok") if int(r.violations) == 0 else badge("fail", "bad")] for r in m.itertuples()]
    total = int(m["violations"].sum())
    sec.add(note(f"{total} violations in {int(m['checks'].sum()):,} checks.", "info" if total == 0 else "bad"))
    sec.add(table(rows, ["feature", "model input", "direction", "checks", "violations", "result"],
                  kinds=["text"] * 6, numeric=[False, False, False, True, True, False]))


def _history(doc: Document, data: ModelCardData) -> None:
    sec = doc.section("history", "Registry history of this version",
                      "Every alias change and refusal recorded by the registry, oldest first.")
    rows = []
    for ev in data.history:
        m = ev.get("metrics") or {}
        shown = ", ".join(f"{k} {v:.4g}" for k, v in list(m.items())[:4] if isinstance(v, (int, float)))
        rows.append([ev.get("time", ""), ev.get("event", ""), ev.get("user", ""), ev.get("reason", ""), shown])
    sec.add(table(rows, ["time (UTC)", "event", "by", "reason", "metrics"], kinds=["text"] * 5))


def load_model_card_data(name: str, version: str, *, client: Any = None) -> ModelCardData:
    """Gather a registered version's facts from the MLflow registry and its training run.

    Raises
    ------
    training.errors.RegistryError
        If the model or version is not registered, or its run lacks the out-of-time rows.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from training.errors import RegistryError
    from training.registry import STATUS_TAG, history, load_version

    client = client or MlflowClient()
    try:
        mv = client.get_model_version(name, str(version))
    except MlflowException:
        raise RegistryError(f"no version {version!r} of registered model {name!r}; see `poolgate models`") from None
    run = client.get_run(mv.run_id)
    with tempfile.TemporaryDirectory(prefix="poolgate-card-") as tmp:
        model = load_version(name, str(version), dst=Path(tmp) / "model")
        art = Path(tmp) / "art"
        art.mkdir()

        def fetch(path: str) -> Path | None:
            try:
                return Path(client.download_artifacts(mv.run_id, path, str(art)))
            except (MlflowException, OSError):
                return None

        oot_path = fetch("oot/test.parquet")
        if oot_path is None:
            raise RegistryError(f"run {mv.run_id} of {name} version {version} has no oot/test.parquet to measure on")
        oot = pd.read_parquet(oot_path)
        split_path = fetch("split.json")
        split = json.loads(split_path.read_text()) if split_path else {}
        mono_path = fetch("tables/monotonicity_sweep_oot.csv")
        mono = pd.read_csv(mono_path) if mono_path else None
    y = oot.pop("default").to_numpy(dtype=float)
    vintage = oot.pop("vintage").astype(str).to_numpy() if "vintage" in oot.columns else None
    challenger = model.scorecard_pd(oot) if getattr(model, "scorecard", None) is not None else None
    tags = run.data.tags
    return ModelCardData(
        name=name, version=str(version), spec=model.spec, y=y, pd_model=model.predict_pd(oot),
        pd_challenger=challenger, vintage=vintage, aliases=sorted(mv.aliases), run_id=mv.run_id,
        created=pd.Timestamp(mv.creation_timestamp, unit="ms", tz="UTC").isoformat(timespec="seconds"),
        status=mv.tags.get(STATUS_TAG, ""), split=split,
        fingerprints={k.rsplit(".", 1)[-1]: v for k, v in tags.items() if k.startswith("poolgate.data_sha256.")},
        metrics=dict(run.data.metrics), monotonicity=mono,
        history=[e for e in history(name, client=client) if str(e.get("version")) == str(version)],
        code_version=tags.get("poolgate.code_version", ""), bundle_metadata=dict(model.metadata))


def log_model_card(path: str | os.PathLike[str], run_id: str, *, client: Any = None) -> None:
    """Store the card as ``model_card/<file name>`` among the artifacts of the version's training run."""
    from mlflow import MlflowClient

    (client or MlflowClient()).log_artifact(run_id, str(path), "model_card")


_FORWARD_ROWS = (("AUC, PD over the remaining term", "forward_auc_pd_remaining_cutoff", "forward_auc_oracle_pd_remaining_cutoff", "f3"),
                 ("AUC, PD over 12 months", "forward_auc_pd_12m_cutoff", "forward_auc_oracle_pd_12m_cutoff", "f3"),
                 ("calibration error, remaining term", "forward_calibration_error_pd_remaining_cutoff", "", "f4"),
                 ("mean PD, remaining term", "forward_mean_pd_remaining_cutoff", "forward_mean_oracle_pd_remaining_cutoff", "pct"),
                 ("mean PD, 12 months", "forward_mean_pd_12m_cutoff", "forward_mean_oracle_pd_12m_cutoff", "pct"),
                 *((f"mean PD, remaining term, {b.replace('_', '-').replace('plus', '+')} months on book",
                    f"forward_mean_pd_remaining_mob_{b}_cutoff", f"forward_mean_oracle_pd_remaining_mob_{b}_cutoff", "pct")
                   for b in ("0_5", "6_11", "12_23", "24plus")),
                 ("expected defaulted balance / oracle's", "forward_expected_default_ratio_cutoff", "", "f3"))


def _forward(doc: Document, data: ModelCardData) -> None:
    """The forward model's figures at the cut-off (training.forward), beside the oracle's when measured."""
    m = data.metrics
    if not m.get("forward_fitted"):
        return
    sec = doc.section("forward", "PD at the cut-off: remaining term and 12 months, prepayment competing",
                      f"Monthly default and prepayment hazards fitted on snapshots of the book, rolled forward from "
                      f"the cut-off for the {int(m.get('forward_assets_cutoff', 0)):,} contracts running then. "
                      "Screening bands apply to the remaining-term PD by default; the oracle column is the "
                      "generator's exact forward PD (synthetic books only).")
    rows = [[label, metric(f"forward.{key}", m[key], kind),
             metric(f"forward.{oracle}", m[oracle], kind) if oracle in m else "\u2013"]
            for label, key, oracle, kind in _FORWARD_ROWS if key in m]
    sec.add(table(rows, ["measure", "model", "oracle"], kinds=["text", "text", "text"], numeric=[False, True, True]))
    hazards = []
    for h in ("default", "prepay", "open"):
        chosen = [k.removeprefix(f"forward_chosen_{h}_") for k in m if k.startswith(f"forward_chosen_{h}_")]
        losses = {k.removeprefix(f"forward_validation_logloss_{h}_"): v for k, v in m.items()
                  if k.startswith(f"forward_validation_logloss_{h}_")}
        if chosen:
            hazards.append([h, chosen[0], metric(f"forward.forward_trees_{h}", m.get(f"forward_trees_{h}"), "int"),
                            ", ".join(f"{f} {v:.6f}" for f, v in losses.items()) or "\u2013"])
    if hazards:
        sec.add(table(hazards, ["hazard", "tree family", "trees", "validation log loss by family"],
                      kinds=["text", "text", "text", "text"], numeric=[False, False, True, False],
                      caption="Each hazard's tree family, chosen on the validation months: the simplest within "
                              "one standard error of the least validation log loss (training.forward)."))

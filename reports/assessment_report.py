"""The risk-assessment page: one self-contained HTML file, in English or Simplified Chinese.

:func:`render_assessment` is pure: it takes the result of :func:`assessment.assess` (the content of
``assessment.json``) and returns HTML text with the summary, the hierarchy with its weights, the
consistency table of every matrix, expert against measured ratings and the sensitivity of the top
risk. Every number a reader may check against ``assessment.json`` carries a ``data-metric`` key.

Chinese chart labels need a CJK font: :func:`reports.monitor_charts.cjk_charts` (shared with the
investor report) draws them in one (Noto Sans CJK, Source Han, WenQuanYi, ...) and raises on a missing
glyph; without a CJK font the charts keep English labels and the page says so, so that no label is
drawn as empty boxes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from assessment.ahp import RANDOM_INDEX, scale_text
from reports import charts
from reports.html import Document, Markup, badge, code, esc, figure, fmt, key_values, metric, note, table
from reports.monitor_charts import cjk_charts

__all__ = ["TEXTS", "render_assessment"]

TEXTS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "Product risk assessment", "summary": "Summary", "hierarchy": "Hierarchy and weights",
        "consistency": "Consistency of the judgments", "measured": "Expert and measured ratings",
        "sensitivity": "Sensitivity of the top risk", "method": "Method",
        "summary_intro": "Composite risk of the product from the experts' pairwise comparisons (AHP, group "
                         "judgments aggregated by AIJ) and their ratings of each leaf risk, beside the pool's "
                         "measured figures.",
        "composite": "composite risk score", "with_measured": "with measured ratings", "principal": "principal risk",
        "measures": "Measures against the principal risk",
        "top_leaf": "largest single risk", "file": "judgments file", "version": "version", "sha": "sha256",
        "experts": "experts", "expert": "expert", "weight": "weight", "implied": "implied", "screen": "screening run",
        "monitor": "monitoring run", "not_given": "not given", "node": "risk", "other_lang": "中文",
        "local": "local weight", "global": "global weight", "global_gm": "global (GM)", "global_aip": "global (AIP)",
        "rating": "expert rating", "level": "level", "rank": "rank", "contribution": "weight x rating",
        "hier_intro": "Local weights are the group's priorities under each parent (AIJ, principal eigenvector); "
                      "global weights multiply them down from the goal, and the leaves' global weights sum to 1. "
                      "GM: the same group matrices by the row geometric mean; AIP: the experts' priorities "
                      "aggregated instead of their judgments.",
        "cons_intro": "Every matrix of every expert and the group's (AIJ) matrix. CR = CI / RI; above 0.10 the "
                      "judgments are inconsistent, and the suggested revision is the one judgment whose change "
                      "to a value of the 1-9 scale lowers CR the most. Compatibility (Saaty's index, acceptable "
                      "up to 1.1) compares an expert's matrix with the group's priorities.",
        "matrix_n": "n", "lambda": "\u03bbmax", "ci": "CI", "ri": "RI", "cr": "CR", "status": "status",
        "revision": "suggested revision", "compat": "compatibility", "group": "group (AIJ)", "ok": "consistent",
        "bad": "inconsistent", "gm_diff": "eigenvector vs GM (max difference)",
        "matrix_of": "{node}: the group's (AIJ) matrix and every expert's local priorities",
        "meas_intro": "Leaves that name an indicator read it from the run's summary.json and map it onto the "
                      "rating scale through the leaf's thresholds. A difference of at least {d:g} level(s) "
                      "between the experts' weighted mean rating (the number, not its rounded level) and the "
                      "measured rating is a disagreement.",
        "indicator": "indicator", "figure": "measured figure", "thresholds": "thresholds",
        "measured_rating": "measured rating", "difference": "difference", "disagree": "disagree",
        "agree": "agree", "no_indicator": "No leaf names an indicator.",
        "sens_intro": "One criterion's weight moves while the others keep their proportions. The top risk "
                      "({top}) stays on top while the criterion's weight stays in the range shown; beyond it "
                      "the named risk takes over.",
        "criterion": "criterion", "now": "weight now", "range": "top risk stays for",
        "range_crit": "top criterion stays for", "down": "can fall by",
        "up": "can rise by", "below": "takes over below", "above": "takes over above",
        "sens_crit": "The top criterion ({top}) under the same moves:",
        "method_text": "Priorities: principal right eigenvector (Saaty), with the row geometric mean beside it. "
                       "CI = (\u03bbmax - n) / (n - 1); CR = CI / RI with Saaty's random index RI: {ri}. "
                       "Group: weighted geometric mean of the judgments (AIJ) and of the priorities (AIP), "
                       "expert weights honoured. Composite score = sum of global weight x the experts' weighted "
                       "mean rating; its level is the nearest whole level.",
        "no_cjk": "No CJK font found: chart labels are in English.",
        "none_measured": "No measured figures: give --run (screening) and/or --monitor (monitoring).",
        "chart_weights": "Global weights of the leaf risks (AIJ)", "chart_sens": "Global weight of each risk "
                         "as one criterion's weight moves",
        "chart_x": "criterion weight", "chart_y": "global weight", "footer": "poolgate risk assessment. Every "
        "number with a dotted underline is taken from assessment.json.",
    },
    "zh": {
        "title": "产品风险评估", "summary": "概要", "hierarchy": "层次结构与权重",
        "consistency": "判断矩阵一致性", "measured": "专家评级与实测评级", "sensitivity": "首要风险的敏感性",
        "method": "方法",
        "summary_intro": "基于专家两两比较（层次分析法，群组判断按 AIJ 集结）及其对各末级风险的评级得出的产品综合风险，"
                         "并与资产池的实测指标对照。",
        "composite": "综合风险得分", "with_measured": "计入实测评级", "principal": "主要风险",
        "measures": "针对主要风险的措施",
        "top_leaf": "最大的单项风险", "file": "判断文件", "version": "版本", "sha": "sha256",
        "experts": "位专家", "expert": "专家", "weight": "权重", "implied": "隐含比值", "screen": "筛选运行", "monitor": "存续期监测",
        "not_given": "未提供", "node": "风险", "other_lang": "English", "local": "局部权重", "global": "全局权重",
        "global_gm": "全局权重（几何平均）", "global_aip": "全局权重（AIP）", "rating": "专家评级", "level": "等级",
        "rank": "排序", "contribution": "权重 × 评级",
        "hier_intro": "局部权重为各上级节点下的群组优先级（AIJ，主特征向量法）；全局权重自目标层逐级相乘，"
                      "末级风险的全局权重之和为 1。几何平均：同一群组矩阵按行几何平均法；AIP：集结专家的优先级而非判断。",
        "cons_intro": "每位专家的每个判断矩阵及群组（AIJ）矩阵。CR = CI / RI；CR 大于 0.10 即判断不一致，"
                      "建议修正为使 CR 降幅最大的单个判断（改为 1-9 标度中的某一值）。相容性（Saaty 相容性指标，"
                      "不超过 1.1 为可接受）比较专家矩阵与群组优先级。",
        "matrix_n": "阶数", "lambda": "\u03bbmax", "ci": "CI", "ri": "RI", "cr": "CR", "status": "状态",
        "revision": "建议修正", "compat": "相容性", "group": "群组（AIJ）", "ok": "一致", "bad": "不一致",
        "gm_diff": "特征向量法与几何平均法之差（最大）",
        "matrix_of": "{node}：群组（AIJ）判断矩阵及各专家的局部优先级",
        "meas_intro": "指定了指标的末级风险从运行结果的 summary.json 读取该指标，并按其阈值映射到评级标度。"
                      "专家加权平均评级（按数值，而非取整后的等级）与实测评级相差至少 {d:g} 级即视为不一致。",
        "indicator": "指标", "figure": "实测值", "thresholds": "阈值", "measured_rating": "实测评级",
        "difference": "差异", "disagree": "不一致", "agree": "一致", "no_indicator": "没有末级风险指定指标。",
        "sens_intro": "单一准则的权重变动，其余准则保持相互比例。首要风险（{top}）在该准则权重处于下表区间时保持首位；"
                      "超出区间则由所列风险取代。",
        "criterion": "准则", "now": "当前权重", "range": "首要风险保持首位的区间",
        "range_crit": "首要准则保持首位的区间", "down": "可下降",
        "up": "可上升", "below": "低于下限时取代", "above": "高于上限时取代",
        "sens_crit": "同样变动下，首要准则（{top}）：",
        "method_text": "优先级：主右特征向量法（Saaty），并列行几何平均法。CI = (\u03bbmax - n) / (n - 1)；"
                       "CR = CI / RI，RI 为 Saaty 随机一致性指标：{ri}。群组：判断的加权几何平均（AIJ）与优先级的"
                       "加权几何平均（AIP），按专家权重加权。综合得分 = 各末级风险全局权重 × 专家加权平均评级之和；"
                       "等级取最接近的整数级。",
        "no_cjk": "本机未找到中文字体，图表标签使用英文。",
        "none_measured": "没有实测指标：请提供 --run（筛选运行）和/或 --monitor（存续期监测）。",
        "chart_weights": "末级风险的全局权重（AIJ）", "chart_sens": "单一准则权重变动时各风险的全局权重",
        "chart_x": "准则权重", "chart_y": "全局权重", "footer": "poolgate 风险评估。带虚线下划线的数字均取自 assessment.json。",
    },
}


class _View:
    """Names and texts of the page's language."""

    def __init__(self, result: Mapping[str, Any], language: str) -> None:
        self.r, self.lang = result, language
        self.t = TEXTS[language]
        self.nodes = {n["name"]: n for n in result["nodes"]}
        j = result["judgments"]
        self.levels = j["levels_zh"] if language == "zh" else j["levels_en"]

    def name(self, node: str, language: str | None = None) -> str:
        n = self.nodes[node]
        return str(n["zh"] if (language or self.lang) == "zh" else n["en"])

    def other(self, node: str) -> str:
        return self.name(node, "en" if self.lang == "zh" else "zh")

    def both(self, node: str) -> Markup:
        return Markup(f'{esc(self.name(node))} <span class="zh">{esc(self.other(node))}</span>')

    def level(self, k: int | None) -> str:
        return "" if k is None else f"{k} {self.levels[k - 1]}"


def render_assessment(result: Mapping[str, Any], *, language: str = "en") -> str:
    """HTML text of the assessment page.

    Parameters
    ----------
    result : mapping
        What :func:`assessment.assess` returned (or ``assessment.json`` read back).
    language : {"en", "zh"}
        Language of headings, texts, risk names and chart labels (names carry the other language beside).
    """
    v = _View(result, language)
    j = result["judgments"]
    doc = Document(title=f"{v.t['title']}: {j['title']}", lang="zh-Hans" if language == "zh" else "en",
                   subtitle=f"{v.name(j['goal'])} \u00b7 {len(result['experts'])} {v.t['experts']} \u00b7 "
                            f"{j['version']}", footer=v.t["footer"])
    _summary(doc, v)
    _hierarchy(doc, v)
    _consistency(doc, v)
    _measured(doc, v)
    _sensitivity(doc, v)
    doc.section("method", v.t["method"]).add(Markup(f"<p>{esc(v.t['method_text'].format(ri=_ri_text()))}</p>"))
    return doc.render()


def _ri_text() -> str:
    return ", ".join(f"{n}: {ri:.2f}" for n, ri in RANDOM_INDEX.items() if n >= 3)


def _card(value: Markup, label: str) -> str:
    return f'<div class="card"><div class="v">{value.text}</div><div class="l">{esc(label)}</div></div>'


def _summary(doc: Document, v: _View) -> None:
    r, t, j = v.r, v.t, v.r["judgments"]
    comp, p = r["composite"], r["principal_risk"]
    sec = doc.section("summary", t["summary"], t["summary_intro"])
    cards = [_card(Markup(metric("composite.score", comp["score"], "f3").text
                          + f' <span class="zh">/ {j["scale"]}</span>'),
                   f"{t['composite']}: {v.level(comp['level'])}"),
             _card(metric("principal_risk.weight", p["weight"], "f3"), f"{t['principal']}: {v.name(p['criterion'])}"),
             _card(Markup(esc(v.name(p["top_leaf"]))), t["top_leaf"])]
    if comp["measured_leaves"]:
        cards.append(_card(metric("composite.score_with_measured", comp["score_with_measured"], "f3"),
                           f"{t['with_measured']} ({comp['measured_leaves']}): {v.level(comp['level_with_measured'])}"))
    sec.add(Markup(f'<div class="cards">{"".join(cards)}</div>'))
    if p["measures"]:
        key = "measures_zh" if v.lang == "zh" else "measures_en"
        items = "".join(f"<li><b>{esc(v.name(n))}</b>: {esc(v.nodes[n][key])}</li>" for n in p["measures"])
        sec.add(Markup(f"<h3>{esc(t['measures'])}</h3><ul>{items}</ul>"))
    sources = r["sources"]

    def src(key: str) -> Any:
        s = sources.get(key)
        if s is None:
            return t["not_given"]
        return Markup(f"{esc(s['path'])} " + code(s["sha256"]).text
                      + (f" run {code(s['run_id']).text}" if s.get("run_id") else ""))

    sec.add(key_values([(t["file"], j["file"]), (t["version"], j["version"]), (t["sha"], code(j["sha256"])),
                        (t["screen"], src("screen")), (t["monitor"], src("monitor"))]))
    sec.add(table([[code(e["id"]), e["name"], metric(f"expert.{e['id']}.weight", e["weight"], "f3")]
                   for e in r["experts"]], [t["expert"], "", t["weight"]], kinds=["text", "text", "text"],
                  numeric=[False, False, True]))
    if not any(sources.values()):
        sec.add(note(t["none_measured"], "info"))


def _hierarchy(doc: Document, v: _View) -> None:
    r, t = v.r, v.t
    sec = doc.section("hierarchy", t["hierarchy"], t["hier_intro"])
    w = r["weights"]
    leaves = {x["name"]: x for x in r["leaves"]}
    crit = {c["name"]: c for c in r["criteria"]}
    rows = []
    for n in r["nodes"]:
        name = n["name"]
        indent = f'<span style="padding-left:{1.4 * n["depth"]:.1f}em"></span>'
        cell = Markup(indent + (f"<b>{v.both(name).text}</b>" if not n["leaf"] else v.both(name).text))
        if n["parent"] is None:
            rows.append([cell, "", "", "", "", "", "", ""])
            continue
        x = leaves.get(name)
        c = crit.get(name)
        rating = x["rating"] if x else (c["score"] if c else None)
        lvl = x["level"] if x else (c["level"] if c else None)
        rows.append([cell, metric(f"weight.{name}.local", w["aij"]["local"][name], "f3"),
                     metric(f"weight.{name}.global", w["aij"]["global"][name], "f4"),
                     w["aij_gm"]["global"][name], w["aip"]["global"][name],
                     "" if rating is None else fmt(rating, "f2"), v.level(lvl), x["rank"] if x else ""])
    sec.add(table(rows, [t["node"], t["local"], t["global"], t["global_gm"], t["global_aip"], t["rating"],
                         t["level"], t["rank"]],
                  kinds=["text", "text", "text", "f4", "f4", "text", "text", "text"],
                  numeric=[False, True, True, True, True, True, False, True]))
    order = sorted(r["leaves"], key=lambda x: x["rank"])
    with cjk_charts(v.lang) as native:
        label: Callable[[str], str] = v.name if native else (lambda n: v.name(n, "en"))
        img = charts.bar_chart([label(x["name"]) for x in order], [x["global_weight"] for x in order],
                               title=t["chart_weights"] if native else TEXTS["en"]["chart_weights"],
                               xlabel=t["chart_y"] if native else TEXTS["en"]["chart_y"], value_format="{:.3f}",
                               width=6.8)
    sec.add(figure(img, t["chart_weights"], t["chart_weights"]))
    if not native:
        sec.add(note(t["no_cjk"], "warn"))


def _revision_text(v: _View, m: Mapping[str, Any]) -> str:
    rv = m["revision"]
    if rv is None:
        return ""
    return (f"a[{v.name(rv['row'])}, {v.name(rv['col'])}] {scale_text(rv['current'])} \u2192 "
            f"{scale_text(rv['suggested'])}: CR {rv['cr_after']:.3f} ({v.t['implied']} {rv['implied']:.2f})")


def _consistency(doc: Document, v: _View) -> None:
    r, t = v.r, v.t
    sec = doc.section("consistency", t["consistency"], t["cons_intro"])
    c = r["consistency"]
    sec.add(key_values([(t["bad"], f"{c['individual_inconsistent']} / {c['matrices']}"),
                        (f"{t['group']}: {t['bad']}", c["group_inconsistent"]),
                        (t["gm_diff"], metric("consistency.max_gm_difference", c["max_gm_difference"], "f4"))]))
    rows = []
    for m in r["matrices"]:
        who = t["group"] if m["expert"] == "group" else m["expert"]
        key = f"cr.{m['node']}.{m['expert']}"
        status = badge(t["ok"], "ok") if m["consistent"] else badge(t["bad"], "bad")
        rows.append([v.both(m["node"]), Markup(f"<b>{esc(who)}</b>") if m["expert"] == "group" else who,
                     len(m["items"]), m["lambda_max"], m["ci"], m["ri"], metric(key, m["cr"], "f3"), status,
                     _revision_text(v, m), "" if m["compatibility"] is None else fmt(m["compatibility"], "f3")])
    sec.add(table(rows, [t["node"], t["expert"], t["matrix_n"], t["lambda"], t["ci"], t["ri"], t["cr"], t["status"],
                         t["revision"], t["compat"]],
                  kinds=["text", "text", "int", "f3", "f3", "f2", "text", "text", "text", "text"],
                  numeric=[False, False, True, True, True, True, True, False, False, True]))
    for m in r["matrices"]:
        if m["expert"] == "group":
            sec.add(_group_matrix(v, m))


def _group_matrix(v: _View, m: Mapping[str, Any]) -> Markup:
    """One node's group (AIJ) matrix with the group's and each expert's priorities, folded."""
    r, t, node = v.r, v.t, m["node"]
    w = r["weights"]
    experts = [e["id"] for e in r["experts"]]
    rows = []
    for i, item in enumerate(m["items"]):
        rows.append([v.name(item), *m["matrix"][i], w["aij"]["local"][item], w["aij_gm"]["local"][item],
                     w["aip"]["local"][item], *(w[f"expert:{e}"]["local"][item] for e in experts)])
    cols = [t["node"], *(v.name(x) for x in m["items"]), "AIJ", "GM", "AIP", *experts]
    n = len(m["items"])
    tbl = table(rows, cols, kinds=["text"] + ["f2"] * n + ["f3"] * (3 + len(experts)))
    return Markup(f'<details class="asset"><summary>{esc(t["matrix_of"].format(node=v.name(node)))}</summary>'
                  f"{tbl.text}</details>")


def _measured(doc: Document, v: _View) -> None:
    r, t = v.r, v.t
    sec = doc.section("measured", t["measured"], t["meas_intro"].format(d=r["judgments"]["disagreement"]))
    rows = []
    experts = [e["id"] for e in r["experts"]]
    for x in sorted(r["leaves"], key=lambda x: x["rank"]):
        ind = r["indicators"].get(x["indicator"]) if x["indicator"] else None
        per = " ".join(f"{e}:{x['ratings'][e]}" for e in experts if e in x["ratings"])
        if x["disagree"] is None:
            verdict: Any = x["measured_note"] if x["indicator"] else ""
        else:
            verdict = badge(t["disagree"], "bad") if x["disagree"] else badge(t["agree"], "ok")
        unit = "pct" if ind and ind["unit"] == "fraction" else "f4"
        rows.append([v.both(x["name"]),
                     Markup(esc(ind["zh" if v.lang == "zh" else "en"]) + " " + code(x["indicator"]).text) if ind else "",
                     "" if x["measured"] is None else metric(f"measured.{x['name']}", x["measured"], unit),
                     " / ".join(fmt(th, unit) for th in x["thresholds"]) if x["thresholds"] else "",
                     v.level(x["measured_rating"]), Markup(metric(f"rating.{x['name']}", x["rating"], "f2").text
                                                           + f' <span class="zh">{esc(per)}</span>'),
                     "" if x["difference"] is None else f"{x['difference']:+.2f}", verdict])
    sec.add(table(rows, [t["node"], t["indicator"], t["figure"], t["thresholds"], t["measured_rating"], t["rating"],
                         t["difference"], t["disagree"]], kinds=["text"] * 8,
                  numeric=[False, False, True, False, False, True, True, False]))
    if not any(x["indicator"] for x in r["leaves"]):
        sec.add(note(t["no_indicator"]))


def _sensitivity(doc: Document, v: _View) -> None:
    r, t = v.r, v.t
    s = r["sensitivity"]
    sec = doc.section("sensitivity", t["sensitivity"], t["sens_intro"].format(top=v.name(s["top_leaf"])))

    def rows(items: list[dict[str, Any]], kind: str) -> list[list[Any]]:
        return [[v.both(x["criterion"]), metric(f"sensitivity.{kind}.{x['criterion']}.weight", x["weight"], "f3"),
                 Markup(metric(f"sensitivity.{kind}.{x['criterion']}.low", x["low"], "f3").text + " \u2013 "
                        + metric(f"sensitivity.{kind}.{x['criterion']}.high", x["high"], "f3").text),
                 x["down"], x["up"], v.name(x["below"]) if x["below"] else "\u2013",
                 v.name(x["above"]) if x["above"] else "\u2013"] for x in items]

    cols = [t["criterion"], t["now"], t["range"], t["down"], t["up"], t["below"], t["above"]]
    kinds = ["text", "text", "text", "f3", "f3", "text", "text"]
    numeric = [False, True, True, True, True, False, False]
    sec.add(table(rows(s["leaves"], "leaf"), cols, kinds=kinds, numeric=numeric))
    if s["leaves"]:
        with cjk_charts(v.lang) as native:
            img = _sensitivity_chart(r, v if native else _View(r, "en"))
        sec.add(figure(img, t["chart_sens"], t["chart_sens"]))
    sec.add(Markup(f"<p>{esc(t['sens_crit'].format(top=v.name(s['top_criterion'])))}</p>"))
    cols[2] = t["range_crit"]
    sec.add(table(rows(s["criteria"], "criterion"), cols, kinds=kinds, numeric=numeric))


def _sensitivity_chart(r: Mapping[str, Any], v: _View, max_lines: int = 6) -> str:
    """One panel per criterion: each leaf's global weight against that criterion's weight."""
    from assessment.sensitivity import weight_lines

    s = r["sensitivity"]
    crit = {c["name"]: c["weight"] for c in r["criteria"]}
    items = {x["name"]: (x["criterion"], x["global_weight"]) for x in r["leaves"]}
    ranked = [x["name"] for x in sorted(r["leaves"], key=lambda x: x["rank"])]
    rows = s["leaves"]
    fig = charts._figure(3.1 * len(rows), 3.0)
    axes = fig.subplots(1, len(rows), sharey=True, squeeze=False)[0]
    tt = np.linspace(0.0, 1.0, 101)
    palette = (charts.UP, charts.DOWN, charts.POOL, charts.TRAIN, "#7b5ea7", "#3a9a6e")
    for ax, row in zip(axes, rows):
        lines = weight_lines(row["criterion"], crit, items)
        shown = list(dict.fromkeys([*ranked[:max_lines - 2], *(n for n in (row["below"], row["above"]) if n)]))
        shown = shown[:max_lines]
        for k, name in enumerate(shown):
            a, b = lines[name]
            ax.plot(tt, a * tt + b, color=palette[k % len(palette)], linewidth=2.0 if name == s["top_leaf"] else 1.1,
                    label=v.name(name))
        ax.axvspan(row["low"], row["high"], color=charts.GRID, alpha=0.5, linewidth=0)
        ax.axvline(row["weight"], color=charts.INK, linestyle="--", linewidth=0.9)
        ax.set_xlim(0, 1)
        ax.set_ylim(bottom=0)
        charts._style(ax)
        ax.set_title(v.name(row["criterion"]), fontsize=9, loc="left")
        ax.set_xlabel(v.t["chart_x"], fontsize=8)
    axes[0].set_ylabel(v.t["chart_y"], fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 3), fontsize=7.5, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    return charts.to_png(fig)

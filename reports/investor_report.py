"""The monthly investor report of a monitored pool: one self-contained HTML file, English or Chinese.

Shaped like a servicer report: the pool and the notes, collections, the delinquency stack, defaults and
cumulative net loss against its trigger line, prepayment speed, static-pool vintage curves, the
waterfall of the latest period, the triggers, the liquidity support and the back-test of the screening
model. It reads only what ``poolgate monitor`` wrote (``summary.json``, ``monthly.parquet``,
``vintages.parquet``, ``backtest.json``); every number shown comes from those files. Charts are PNG
images inline; Chinese chart text is drawn with a CJK font (:mod:`reports.monitor_charts`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.exceptions import TapeError
from features.io import read_json_object
from reports.html import Document, Markup, badge, figure, key_values, note, table
from reports.monitor_charts import bars_chart, cjk_charts, line_chart, stack_chart

__all__ = ["TEXTS", "MonitorOutput", "load_monitor_output", "render_investor_report"]

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Investor report", "sub": "{deal} · collection period {period} ({month}) · monitor {mid}",
        "s_pool": "Pool and notes", "s_coll": "Collections", "s_dq": "Delinquency", "s_loss": "Defaults and losses",
        "s_prepay": "Prepayment", "s_vint": "Static pool: vintage curves", "s_wf": "Waterfall of the period",
        "s_trig": "Triggers", "s_liq": "Liquidity support", "s_bt": "Back-test of the screening model",
        "balance": "pool balance (CNY)", "factor": "pool factor", "assets": "assets", "cnl": "cumulative net loss",
        "dq60": "60+ delinquency", "cpr": "CPR", "deal": "deal", "deal_hash": "deal sha256", "run": "screening run",
        "model": "model", "cutoff": "cut-off", "cutoff_balance": "cut-off balance (CNY)", "asof": "reporting to",
        "perf": "performance tape", "left_out": "rows left out (rule: count)",
        "class": "class", "rank": "rank", "orig": "original (CNY)", "coupon": "coupon", "current": "balance (CNY)",
        "ce": "credit enhancement", "month": "month", "scheduled": "scheduled (CNY)", "collected": "collected (CNY)",
        "rate": "collection rate", "interest": "interest (CNY)", "principal": "principal (CNY)",
        "last12": "The table shows the last {n} of {total} periods; every period is in monthly.csv.",
        "note_factor": "note factor", "paid_interest": "interest paid (CNY)", "paid_principal": "principal paid (CNY)",
        "prepaid": "prepaid (CNY)", "recoveries": "recoveries (CNY)", "bucket": "days past due", "count": "count",
        "share": "share of balance", "dq_chart": "Delinquent balance by bucket, share of the pool balance",
        "loss_chart": "Cumulative net loss and its trigger schedule, share of the cut-off balance",
        "cgd": "cumulative gross default", "trigger_line": "CNL trigger", "cpr_chart": "Prepayment speed",
        "smm": "SMM", "abs": "ABS speed", "vint_chart": "Cumulative default by vintage (share of the vintage's cut-off balance)",
        "mob": "months on book", "factor_chart": "Note factors", "item": "item", "amount": "amount (CNY)",
        "available": "available funds", "fees": "fees", "liq_draw": "liquidity draw", "liq_repaid": "liquidity repaid",
        "excess": "excess spread released to the subordinated class", "turbo": "turbo principal (trigger)",
        "code": "trigger", "measure": "measure", "value": "value", "threshold": "threshold", "status": "status",
        "first": "first breach", "action": "what a breach does", "ok": "not breached", "breached": "breached",
        "provider": "provider", "covers": "covers", "limit": "limit (CNY)", "draws": "periods with a draw",
        "outstanding": "outstanding (CNY)", "verdict": "verdict", "reasons": "reasons", "horizon": "horizon",
        "band": "PD band", "observed": "observed defaults", "expected": "expected defaults", "jeffreys": "Jeffreys p",
        "outcome": "outcome", "bt_chart": "Observed and expected defaults by PD band", "auc": "AUC", "ks": "KS",
        "psi": "PSI (within the pool's range)", "psi_u": "PSI (unconditional)", "feature": "model input",
        "bin": "bin that moved most",
        "drift_none": "Input drift was not measured: {why}", "no_cjk": "",
        "footer": "poolgate investor report. Every figure is read from the monitoring output {out}.",
        "unreported": "", "holds": "model holds", "watch": "watch", "retrain": "retrain",
    },
    "zh": {
        "title": "资产服务机构报告（投资者报告）", "sub": "{deal} · 第 {period} 个收款期间（{month}） · 监测编号 {mid}",
        "s_pool": "资产池与证券概况", "s_coll": "回收款", "s_dq": "逾期情况", "s_loss": "违约与损失", "s_prepay": "早偿",
        "s_vint": "静态池：分批次曲线", "s_wf": "本期现金流分配", "s_trig": "触发事件", "s_liq": "流动性支持",
        "s_bt": "入池模型的回溯检验",
        "balance": "资产池余额（元）", "factor": "资产池因子", "assets": "资产笔数", "cnl": "累计净损失率",
        "dq60": "逾期 60 天以上占比", "cpr": "年化早偿率（CPR）", "deal": "交易", "deal_hash": "交易文件 sha256",
        "run": "入池筛选批次", "model": "模型", "cutoff": "初始起算日", "cutoff_balance": "起算日余额（元）",
        "asof": "报告截止", "perf": "表现数据", "left_out": "剔除的行（规则：笔数）",
        "class": "档次", "rank": "级别", "orig": "初始本金（元）", "coupon": "票面利率", "current": "当前余额（元）",
        "ce": "信用增级", "month": "月份", "scheduled": "应收（元）", "collected": "实收（元）", "rate": "回收率",
        "interest": "利息回收（元）", "principal": "本金回收（元）", "prepaid": "早偿本金（元）",
        "last12": "表中为 {total} 个期间中的最近 {n} 个；全部期间见 monthly.csv。",
        "note_factor": "证券本金因子", "paid_interest": "支付利息（元）", "paid_principal": "偿付本金（元）",
        "recoveries": "违约回收（元）", "bucket": "逾期天数", "count": "笔数", "share": "余额占比",
        "dq_chart": "各逾期区间余额占资产池余额比例", "loss_chart": "累计净损失率与触发阈值（占起算日余额）",
        "cgd": "累计违约率", "trigger_line": "累计净损失触发线", "cpr_chart": "早偿速度", "smm": "单月早偿率（SMM）",
        "abs": "ABS 早偿速度", "vint_chart": "各批次累计违约率（占该批次起算日余额）", "mob": "账龄（月）",
        "factor_chart": "证券本金因子", "item": "项目", "amount": "金额（元）", "available": "可分配资金",
        "fees": "服务费与受托管理费", "liq_draw": "流动性支持提取", "liq_repaid": "流动性支持偿还",
        "excess": "超额利差（分配给次级档）", "turbo": "加速清偿本金（触发后）",
        "code": "触发事件", "measure": "指标", "value": "当前值", "threshold": "阈值", "status": "状态",
        "first": "首次触发", "action": "触发后果", "ok": "未触发", "breached": "已触发",
        "provider": "提供方", "covers": "覆盖项目", "limit": "额度（元）", "draws": "提取期数",
        "outstanding": "未偿还（元）", "verdict": "结论", "reasons": "理由", "horizon": "期限说明",
        "band": "违约概率区间", "observed": "实际违约笔数", "expected": "预期违约笔数", "jeffreys": "Jeffreys p 值",
        "outcome": "检验结果", "bt_chart": "各违约概率区间的实际与预期违约笔数", "auc": "AUC", "ks": "KS",
        "psi": "PSI（资产池覆盖范围内）", "psi_u": "PSI（不加条件）", "feature": "模型变量",
        "bin": "变化最大的区间",
        "drift_none": "未测量变量漂移：{why}", "no_cjk": "未找到中文字体，图表标签使用英文。",
        "footer": "poolgate 投资者报告。所有数字均取自监测输出 {out}。",
        "unreported": "", "holds": "模型有效", "watch": "关注", "retrain": "需重新训练",
    },
}
_BUCKET_NAMES = {"current": ("current", "正常"), "1_30": ("1-30", "1-30 天"), "31_60": ("31-60", "31-60 天"),
                 "61_90": ("61-90", "61-90 天"), "91_plus": ("91+", "91 天以上")}
_RANK_ZH = {"senior": "优先级", "mezzanine": "中间级", "subordinated": "次级"}
#: The deal file's measure and cover codes in Chinese (``monitoring.deal.MEASURES``, ``liquidity.covers``).
_MEASURE_ZH = {"cumulative_net_loss_share": "累计净损失率", "cumulative_gross_default_share": "累计违约率",
               "delinquency_60_plus_3m": "60天以上逾期率（3个月平均）", "delinquency_30_plus_share": "30天以上逾期率",
               "liquidity_draws": "流动性支持提取期数", "liquidity_outstanding_share": "流动性支持占用比例",
               "pool_factor": "资产池因子"}
_COVERS_ZH = {"fees": "费用", "senior_interest": "优先级利息", "mezzanine_interest": "中间级利息"}
_OUTCOME_ZH = {"consistent": "一致", "pd_too_low": "违约概率偏低", "pd_too_high": "违约概率偏高", "no assets": "无资产"}


@dataclass(frozen=True)
class MonitorOutput:
    """The files of one ``poolgate monitor --out`` folder."""

    folder: Path
    summary: dict[str, Any]
    monthly: pd.DataFrame
    vintages: pd.DataFrame
    backtest: dict[str, Any]


def load_monitor_output(folder: str | os.PathLike[str]) -> MonitorOutput:
    """Read a monitoring output folder.

    Raises
    ------
    TapeError
        If a file is missing (naming it).
    """
    d = Path(folder)
    for name in ("summary.json", "monthly.parquet", "vintages.parquet", "backtest.json"):
        if not (d / name).is_file():
            raise TapeError(f"{d / name}: missing; --monitor must be a poolgate monitor output folder")
    what = "a file poolgate monitor wrote"
    return MonitorOutput(folder=d, summary=read_json_object(d / "summary.json", what=what),
                         monthly=pd.read_parquet(d / "monthly.parquet"), vintages=pd.read_parquet(d / "vintages.parquet"),
                         backtest=read_json_object(d / "backtest.json", what=what))


def _card(value: str, label: str) -> str:
    return f'<div class="card"><div class="v">{value}</div><div class="l">{label}</div></div>'


def render_investor_report(mon: MonitorOutput, *, language: str = "en") -> str:
    """The report as one HTML text (see the module docstring); ``language`` is ``en`` or ``zh``."""
    from reports.html import esc, fmt

    t = TEXTS[language]
    zh = language == "zh"
    s, m, bt = mon.summary, mon.monthly, mon.backtest
    last = s["latest"]
    months = pd.to_datetime(m["month"])
    doc = Document(title=t["title"], lang="zh-CN" if zh else "en",
                   subtitle=t["sub"].format(deal=s["deal"]["name"], period=last["period"], month=last["month"],
                                            mid=s["monitor_id"]),
                   footer=t["footer"].format(out=mon.folder))
    with cjk_charts(language) as can_draw:
        c = t if can_draw else TEXTS["en"]

        sec = doc.section("pool", t["s_pool"])
        sec.add(Markup('<div class="cards">' + "".join([
            _card(esc(fmt(last["pool_balance"], "cny")), t["balance"]),
            _card(esc(fmt(last["pool_factor"], "f4")), t["factor"]),
            _card(esc(fmt(last["assets"], "int")), t["assets"]),
            _card(esc(fmt(last["cumulative_net_loss_share"], "pct")), t["cnl"]),
            _card(esc(fmt(last["delinquency_60_plus_share"], "pct")), t["dq60"]),
            _card(esc(fmt(last["cpr"], "pct")), t["cpr"])]) + "</div>"))
        run = s["run"]
        left = s["performance"]["left_out_by_rule"]
        sec.add(key_values([
            (t["deal"], f"{s['deal']['name']} ({s['deal']['version']})"), (t["deal_hash"], s["deal"]["sha256"]),
            (t["run"], str(run.get("run_id"))), (t["model"], f"{run.get('model_uri')} {run.get('model_version') or ''}"),
            (t["cutoff"], s["cutoff"]), (t["cutoff_balance"], fmt(s["cutoff_balance"], "cny")), (t["asof"], s["asof"]),
            (t["perf"], f"{s['performance']['file']} ({s['performance']['rows']:,})"),
            (t["left_out"], ", ".join(f"{k}: {v}" for k, v in left.items()) or "0")]))
        rows = []
        priority = [cls["name"] for cls in s["deal"]["classes"]]   # the deal's order of payment, not the keys'
        for cls in s["deal"]["classes"]:
            n = last["notes"][cls["name"]]
            rows.append([cls["name"], _RANK_ZH[cls["rank"]] if zh else cls["rank"], cls["balance"], cls["coupon"],
                         n["balance"], n["factor"], n["credit_enhancement"]])
        sec.add(table(rows, [t["class"], t["rank"], t["orig"], t["coupon"], t["current"], t["note_factor"], t["ce"]],
                      kinds=["text", "text", "cny", "pct", "cny", "f4", "pct"]))
        sec.add(figure(line_chart(months, {f"{k}": m[f"class_{k}_factor"] for k in priority},
                                  title=c["factor_chart"], percent=False), c["factor_chart"]))

        shown = t["last12"].format(n=12, total=len(m)) if len(m) > 12 else ""
        sec = doc.section("collections", t["s_coll"], shown)
        tail = m.tail(12)
        sec.add(table([[r["month"], r["scheduled_amount"], r["collected_amount"], r["collection_rate"],
                        r["interest_collections"], r["principal_collections"], r["prepaid_principal"], r["recoveries"]]
                       for _, r in tail.iterrows()],
                      [t["month"], t["scheduled"], t["collected"], t["rate"], t["interest"], t["principal"],
                       t["prepaid"], t["recoveries"]], kinds=["text", "cny", "cny", "pct", "cny", "cny", "cny", "cny"]))

        sec = doc.section("delinquency", t["s_dq"])
        pool_bal = m["pool_balance"].where(m["pool_balance"] > 0)
        layers = {(_BUCKET_NAMES[b][1] if zh and can_draw else _BUCKET_NAMES[b][0]): m[f"dq_{b}_balance"] / pool_bal
                  for b in ("1_30", "31_60", "61_90", "91_plus")}
        sec.add(figure(stack_chart(months, layers, title=c["dq_chart"]), c["dq_chart"]))
        dq = last["delinquency"]
        total = max(float(last["pool_balance"]), 1e-9)
        sec.add(table([[_BUCKET_NAMES[b][1 if zh else 0], v["count"], v["balance"], v["balance"] / total]
                       for b, v in dq.items()], [t["bucket"], t["count"], t["current"], t["share"]],
                      kinds=["text", "int", "cny", "pct"]))

        sec = doc.section("losses", t["s_loss"], shown)
        cnl = next((tr for tr in s["triggers"] if tr["measure"] == "cumulative_net_loss_share"), None)
        dashed = {c["trigger_line"]: m[f"trigger_{cnl['code']}_threshold"]} if cnl else None
        sec.add(figure(line_chart(months, {c["cnl"]: m["cumulative_net_loss_share"],
                                           c["cgd"]: m["cumulative_gross_default_share"]},
                                  title=c["loss_chart"], dashed=dashed), c["loss_chart"]))
        sec.add(table([[r["month"], r["defaults"], r["default_balance"], r["recoveries"], r["cumulative_gross_default_share"],
                        r["cumulative_net_loss_share"]] for _, r in m.tail(12).iterrows()],
                      [t["month"], t["count"], t["amount"], t["recoveries"], t["cgd"], t["cnl"]],
                      kinds=["text", "int", "cny", "cny", "pct", "pct"]))

        sec = doc.section("prepayment", t["s_prepay"])
        sec.add(figure(line_chart(months, {c["cpr"]: m["cpr"], c["abs"]: m["abs_speed"], c["smm"]: m["smm"]},
                                  title=c["cpr_chart"]), c["cpr_chart"]))

        sec = doc.section("vintages", t["s_vint"])
        v = mon.vintages
        fig_v = {name: g.set_index("months_on_book")["cumulative_default_share"] for name, g in v.groupby("vintage")}
        if fig_v:
            x = sorted(set(v["months_on_book"]))
            sec.add(figure(line_chart(x, {k: s_.reindex(x).to_numpy() for k, s_ in fig_v.items()},
                                      title=c["vint_chart"], xlabel=c["mob"]), c["vint_chart"]))

        sec = doc.section("waterfall", t["s_wf"])
        r = m.iloc[-1]
        def out(v: float) -> float:  # money paid out of the period's funds, as a negative amount (0, not -0)
            return 0.0 - float(v)

        items = [(t["available"], r["available_funds"]), (t["liq_draw"], r["liquidity_draw"]), (t["fees"], out(r["fees_paid"]))]
        for k in priority:
            items.append((f"{t['class']} {k} · {t['paid_interest']}", out(r[f"class_{k}_interest"])))
        items.append((t["liq_repaid"], out(r["liquidity_repaid"])))
        for k in priority:
            items.append((f"{t['class']} {k} · {t['paid_principal']}", out(r[f"class_{k}_principal"])))
        items += [(t["turbo"], out(r["turbo_principal"])), (t["excess"], out(r["excess_released"]))]
        sec.add(table([[a, b] for a, b in items], [t["item"], t["amount"]], kinds=["text", "cny"]))

        sec = doc.section("triggers", t["s_trig"])
        trows = []
        for tr in s["triggers"]:
            kind = "int" if tr["measure"] == "liquidity_draws" else "pct"
            state = badge(t["breached"], "bad") if tr["breached"] else badge(t["ok"], "ok")
            trows.append([tr["code"], _MEASURE_ZH.get(tr["measure"], tr["measure"]) if zh else tr["measure"],
                          fmt(tr["value"], kind), fmt(tr["threshold"], kind), state,
                          tr["first_breach_month"] or "\u2013", tr["zh" if zh else "en"]])
        sec.add(table(trows, [t["code"], t["measure"], t["value"], t["threshold"], t["status"], t["first"], t["action"]],
                      kinds=["text"] * 7))

        sec = doc.section("liquidity", t["s_liq"])
        liq = s["deal"]["liquidity"]
        covers = "、".join(_COVERS_ZH.get(x, x) for x in liq["covers"]) if zh else ", ".join(liq["covers"])
        sec.add(key_values([(t["provider"], liq["provider"]), (t["covers"], covers),
                            (t["limit"], fmt(liq["limit"], "cny")), (t["draws"], fmt(last["liquidity_draws"], "int")),
                            (t["outstanding"], fmt(last["liquidity_outstanding"], "cny"))]))
        sec.add(table([[rr["month"], rr["liquidity_draw"], rr["liquidity_repaid"], rr["liquidity_outstanding"]]
                       for _, rr in m[(m["liquidity_draw"] > 0) | (m["liquidity_repaid"] > 0)].iterrows()],
                      [t["month"], t["liq_draw"], t["liq_repaid"], t["outstanding"]], kinds=["text", "cny", "cny", "cny"],
                      empty="无" if zh else "none"))

        sec = doc.section("backtest", t["s_bt"])
        level = {"holds": "ok", "watch": "warn", "retrain": "bad"}[bt["verdict"]]
        sec.add(Markup(f"<p>{t['verdict']}: {badge(t[bt['verdict']], level).text}</p>"))
        reasons = bt.get("reasons_zh", bt["reasons"]) if zh else bt["reasons"]
        sec.add(Markup("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in reasons) + "</ul>"))
        sec.add(note(bt.get("horizon_zh", bt["horizon"]) if zh else bt["horizon"]))
        bands = bt["bands"]
        whole = "全部" if zh else "all"
        sec.add(table([[whole if g is bt["pool"] else g["band"], g["assets"], g["defaults"], g["expected_defaults"],
                        g["jeffreys_watch"]["p_value"],
                        _OUTCOME_ZH.get(g["jeffreys_watch"]["outcome"], "") if zh else g["jeffreys_watch"]["outcome"]]
                       for g in [*bands, bt["pool"]]],
                      [t["band"], t["assets"], t["observed"], t["expected"], t["jeffreys"], t["outcome"]],
                      kinds=["text", "int", "int", "f1", "f3", "text"]))
        sec.add(figure(bars_chart([g["band"] for g in bands], {c["observed"]: [g["defaults"] for g in bands],
                                                               c["expected"]: [g["expected_defaults"] for g in bands]},
                                  title=c["bt_chart"]), c["bt_chart"]))
        ro = bt["rank_ordering"]
        sec.add(key_values([(t["auc"], fmt(ro["auc"], "f3")), (t["ks"], fmt(ro["ks"], "f3"))]))
        drift = bt["drift"]
        if drift["measured"]:
            sec.add(table([[f.get("display_zh" if zh else "display_en", f["feature"]), f["psi"], f.get("psi_unconditional"),
                            f["largest_bin"]]
                           for f in drift["features"][:10]], [t["feature"], t["psi"], t["psi_u"], t["bin"]],
                          kinds=["text", "f3", "f3", "text"]))
        else:
            sec.add(note(t["drift_none"].format(why=drift["note"]), "warn"))
        if not can_draw:
            sec.add(note(t["no_cjk"], "warn"))
    return doc.render()

"""Headline metrics: their exact definitions (the glossary) and the one helper that records them.

``GLOSSARY`` is the single source of ``docs/metrics.md`` (``python -m kamlib.analysis.metrics > docs/metrics.md``);
a test keeps the two identical. Notebooks record every headline number with :class:`MetricsRecorder`, which
the report runner collects into ``reports/<month>/metrics.json``. A metric that cannot be computed is
recorded as ``None`` *with a reason*; a silent zero is never written.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WINDOW = "the 12 calendar months ending with the analysis month"
IN_BOOK = "in the book at the analysis date (not recorded as churned, or won back since)"
STRATEGY_POPULATION = (f"Population: accounts {IN_BOOK} with at least one order up to it; value = window margin, "
                       "potential = CLV (or margin growth when no CLV model is available); high value = among the "
                       "accounts that, largest first, together make segmentation.value_share (default 80%) of the "
                       "margin, high potential likewise with segmentation.potential_share (default 80%) of the "
                       "positive potential (unless thresholds are set).")


@dataclass(frozen=True)
class Metric:
    key: str
    en: str
    zh: str
    unit: str
    definition: str
    issue: str


GLOSSARY: dict[str, Metric] = {m.key: m for m in [
    # --- book (foundation / monthly batch)
    Metric("active_accounts_12m", "Active accounts (12 months)", "活跃客户数（12个月）", "accounts",
           f"Accounts with at least one order line with positive revenue in {WINDOW}.", "book"),
    Metric("revenue_12m", "Revenue (12 months)", "销售收入（12个月）", "currency",
           f"Sum of revenue of order lines dated in {WINDOW} (returns and zero-revenue lines excluded and "
           "counted in the data-quality summary).", "book"),
    Metric("margin_12m", "Gross margin (12 months)", "毛利（12个月）", "currency",
           "Sum of gross margin of the same order lines as revenue_12m.", "book"),
    Metric("accounts_at_risk", "Accounts at risk", "流失风险客户数", "accounts",
           f"Accounts {IN_BOOK} whose probability of being alive at the analysis date "
           "(P(alive) of the selected CLV model) is below the alert threshold (default 0.5) and that are "
           "valuable: among the top clv.alert_value_share (default 20%) of the book by CLV (by 12-month margin "
           "without a CLV model). Listed by the margin at risk, 12-month margin x (1 - P(alive)).", "clv"),
    Metric("clv_holdout_mae", "Purchase model holdout error (MAE)", "购买模型检验期误差（MAE）", "purchases",
           "Mean absolute error, per account, of the chosen purchase model's expected repeat purchase days in the "
           "holdout months (fitted on the calibration period before them) against the actual ones, over every "
           "account with an order in the calibration period, including those acquired before the order history "
           "starts.", "clv"),
    Metric("clv_holdout_aggregate_error", "Purchase model aggregate holdout error", "购买模型检验期总量误差",
           "share", "Expected total repeat purchase days in the holdout months under the chosen model of every "
           "account with an order in the calibration period (older and younger than the order history alike), "
           "divided by the actual total, minus 1 (positive: the model over-forecasts).", "clv"),
    Metric("clv_baseline_holdout_mae", "Naive baseline holdout error (MAE)", "朴素基准检验期误差（MAE）",
           "purchases", "The same MAE for the naive forecast: each account keeps its calibration-period rate of "
           "repeat purchase days (frequency / T) through the holdout. A model worth its parameters has a lower "
           "clv_holdout_mae.", "clv"),
    Metric("customer_equity", "Customer equity", "客户资产价值", "currency",
           "Discounted expected margin of the existing book over the horizon (sum of per-account CLV from the "
           "purchase model the CLV report chooses and Gamma-Gamma, equal to the CLV report's total, or the "
           "labelled simple model margin x r / (1 + d - r) x (1 - (r / (1 + d))^n) when no model is available), "
           "plus the expected discounted value of the cohorts acquired at the start of each year of the same "
           "horizon (n = the CLV horizon in whole years, default 3), each valued to its end, net of acquisition "
           "cost: one horizon for both parts.", "economics"),
    # --- economics
    Metric("new_accounts_12m", "New accounts (12 months)", "新增客户数（12个月）", "accounts",
           f"Accounts whose acquired_on falls in {WINDOW}.", "economics"),
    Metric("churned_accounts_12m", "Churned accounts (12 months)", "流失客户数（12个月）", "accounts",
           f"Accounts at risk at window start (acquired before the window and not churned before it; a recorded "
           f"churn ended by a win-back before the window does not count) that "
           f"churned in {WINDOW}, under the configured churn definition.", "economics"),
    Metric("churn_rate_12m", "Churn rate (12 months)", "客户流失率（12个月）", "share 0-1",
           "churned_accounts_12m / accounts at risk at window start.", "economics"),
    Metric("acquisition_spend_12m", "Acquisition spend (12 months)", "获客费用（12个月）", "currency",
           f"Sum of costs of kind 'acquisition' with period in {WINDOW}.", "economics"),
    Metric("retention_spend_12m", "Retention spend (12 months)", "客户保持费用（12个月）", "currency",
           f"Sum of costs of kind 'retention' with period in {WINDOW}.", "economics"),
    Metric("cac", "Acquisition cost per new account (CAC)", "单个新客户获取成本", "currency per account",
           "acquisition_spend_12m / new_accounts_12m.", "economics"),
    Metric("retention_cost_per_account", "Retention spend per retained account", "单个老客户保持成本",
           "currency per account",
           "retention_spend_12m / retained accounts (at risk at window start and not churned in the window).",
           "economics"),
    Metric("cac_to_retention_cost_ratio", "CAC / retention cost per account", "获客成本与保持成本之比", "ratio",
           "cac / retention_cost_per_account (the rule of thumb says 5 to 7).", "economics"),
    Metric("referral_share_new", "Referral share of new accounts", "老客户推荐的新客户占比", "share 0-1",
           "Share of new_accounts_12m whose acquisition_channel is 'referral' (the rule of thumb says 0.6).",
           "economics"),
    # --- segmentation
    Metric("top20_margin_share", "Margin share of the top 20% of accounts", "前20%客户的毛利占比", "share 0-1",
           f"Over every account with revenue in {WINDOW} (churned ones included): margin of the top ceil(0.2 n) "
           "accounts ranked by window "
           "margin / total window margin (the rule of thumb says 0.8).", "segmentation"),
    Metric("accounts_share_for_80pct_margin", "Share of accounts making 80% of margin",
           "贡献80%毛利的客户占比", "share 0-1",
           "Smallest share of accounts, ranked by window margin, whose cumulative margin reaches 80% of the "
           "total window margin.", "segmentation"),
    Metric("gini_revenue", "Gini coefficient of revenue", "收入基尼系数", "0-1",
           "Population Gini coefficient of window revenue over accounts with window revenue.", "segmentation"),
    Metric("hhi_revenue", "Herfindahl index of revenue", "收入赫芬达尔指数", "0-1",
           "Sum of squared window-revenue shares of accounts.", "segmentation"),
    Metric("unprofitable_accounts_after_cost_to_serve", "Unprofitable accounts after cost-to-serve",
           "扣除服务成本后亏损的客户数", "accounts",
           "Accounts in the strategy population whose window margin minus allocated cost-to-serve (service "
           "costs booked to the account, unassigned service costs allocated by revenue, visits x visit cost) is "
           "below zero.", "segmentation"),
    Metric("service_compliance_rate", "Visit-policy compliance (12 months)", "拜访政策达标率（12个月）", "share 0-1",
           "Share of strategic and A accounts meeting their visit policy (default: strategic >= 2 in-person "
           "visits a week, A >= 1) over the weeks they were active in the window: visits in the full calendar "
           "weeks of the window the account was in the book (listed holiday weeks excluded) >= required per "
           "week x those weeks.", "segmentation"),
    Metric("strategy_support_develop", "Accounts to support & develop", "重点发展客户数", "accounts",
           "Accounts with high current value and high potential. " + STRATEGY_POPULATION, "segmentation"),
    Metric("strategy_maintain_efficiently", "Accounts to maintain efficiently", "高效维持客户数", "accounts",
           "Accounts with high current value and low potential, and accounts low on both that are not "
           "unprofitable after cost-to-serve (all of them when cost-to-serve is unknown). " + STRATEGY_POPULATION, "segmentation"),
    Metric("strategy_nurture_change", "Accounts to nurture & change", "培育转化客户数", "accounts",
           "Accounts with low current value and high potential. " + STRATEGY_POPULATION, "segmentation"),
    Metric("strategy_cut_cost_exit", "Accounts to cut cost or exit", "降本或退出客户数", "accounts",
           "Accounts with low current value and low potential that are unprofitable after cost-to-serve "
           "(window margin minus allocated cost-to-serve below zero); none when cost-to-serve is unknown. " + STRATEGY_POPULATION, "segmentation"),
    # --- scorecards, pipeline, payments
    Metric("win_rate_existing", "Win rate, existing accounts", "老客户商机赢单率", "share 0-1",
           f"Opportunities of existing accounts closed in {WINDOW}: won / (won + lost) (rule of thumb 0.5).",
           "scorecard"),
    Metric("win_rate_new", "Win rate, new accounts", "新客户商机赢单率", "share 0-1",
           f"Opportunities of prospects / new accounts closed in {WINDOW}: won / (won + lost) "
           "(rule of thumb 0.15).", "scorecard"),
    Metric("doubtful_receivables", "Doubtful receivables", "可疑应收账款", "currency",
           "Amount of invoices open at the end of the analysis month and unpaid more than "
           "payments.doubtful_after_days (default 365) days after their due date: doubtful debt, left out of "
           "dso_days and late_payment_share.", "scorecard"),
    Metric("doubtful_invoices", "Doubtful invoices", "可疑应收发票数", "invoices",
           "Number of the invoices counted in doubtful_receivables.", "scorecard"),
    Metric("dso_days", "Days sales outstanding", "回款周期（应收账款周转天数）", "days",
           "Receivables open at the end of the analysis month (invoices dated on or before it and unpaid at it, "
           "doubtful debt left out) "
           f"/ amount invoiced in {WINDOW} x 365 (x the days from the first invoice in the data when invoicing "
           "starts inside the window).", "scorecard"),
    Metric("late_payment_share", "Late-payment share", "逾期付款占比", "share 0-1",
           "Invoices due in the window paid after their due date or unpaid at the end of the analysis month, by "
           "count (doubtful debt left out).", "scorecard"),
    Metric("complaint_resolution_days_median", "Median complaint resolution time", "投诉解决时间中位数", "days",
           f"Median days from complaint to its resolution, for complaints made in {WINDOW} and resolved by the "
           "analysis date (an account's resolutions close its complaints oldest first).",
           "scorecard"),
    Metric("winback_cost_per_recovered_account", "Win-back spend per recovered account",
           "单个挽回客户成本", "currency per account",
           f"Costs of kind 'win_back' in {WINDOW} / accounts won back in the window.", "scorecard"),
    # --- findings of the decision memo (kamlib.analysis.findings; recorded by the executive summary)
    Metric("top10_clv", "Lifetime value of the 10 most valuable accounts", "价值最高的10个客户的终身价值", "currency",
           "Sum of the CLV of the 10 accounts with the highest CLV (the CLV report's per-account values).",
           "findings"),
    Metric("top10_clv_share", "Their share of the book's lifetime value", "其占全部客户终身价值的比例", "share 0-1",
           "top10_clv / sum of the CLV of every account valued.", "findings"),
    Metric("memo_findings", "The memo's findings", "管理摘要的发现", "text",
           "Kinds of the memo's findings, ranked by money at stake, comma-separated ('none': no finding); the "
           "index and deck rebuild the memo's headline from it and the metrics below.", "findings"),
    Metric("finding_open_complaint_accounts", "Accounts with an open complaint", "有未解决投诉的客户数", "accounts",
           "Accounts in the book with a complaint not resolved at the analysis date (this month's action list).",
           "findings"),
    Metric("finding_open_complaint_margin", "Margin at risk from open complaints", "未解决投诉带来的毛利风险",
           "currency", "Money at stake of their open-complaint actions (this month's action list: the margin the unresolved "
           "complaints put at risk).", "findings"),
    Metric("finding_complaint_hazard_ratio", "Churn hazard ratio of unresolved complaints", "未解决投诉的流失风险比",
           "ratio", "Hazard ratio of the churn-driver model (Cox, counting process) for unresolved complaints in "
           "the 90 days before a month (complaints made when unresolved ones are not measured).", "findings"),
    Metric("finding_complaint_hazard_ratio_lower", "Lower 95% bound of that hazard ratio", "该风险比95%区间下限",
           "ratio", "Lower Wald 95% bound of finding_complaint_hazard_ratio.", "findings"),
    Metric("finding_complaint_hazard_ratio_upper", "Upper 95% bound of that hazard ratio", "该风险比95%区间上限",
           "ratio", "Upper Wald 95% bound of finding_complaint_hazard_ratio.", "findings"),
    Metric("finding_complaint_p_adjusted", "Adjusted p-value of the complaint driver", "投诉驱动因素调整后p值",
           "p-value", "Holm-adjusted p-value of finding_complaint_hazard_ratio over all churn drivers.", "findings"),
    Metric("finding_churn_events", "Churns in the churn-driver model", "流失驱动模型中的流失数", "accounts",
           "Churns (events) the churn-driver model was estimated on.", "findings"),
    Metric("finding_driver_accounts", "Accounts in the churn-driver model", "流失驱动模型中的客户数", "accounts",
           "Accounts the churn-driver model was estimated on.", "findings"),
    Metric("finding_visit_policy_accounts", "Strategic and A accounts", "特级和A级客户数", "accounts",
           "Strategic and A accounts in the book (the accounts under the visit policy).", "findings"),
    Metric("finding_visits_behind_accounts", "Key accounts behind the visit policy (13 weeks)", "拜访不足的重点客户数（近13周）",
           "accounts", "Strategic and A accounts with fewer in-person visits than the policy requires over the "
           "last 13 full weeks (this month's action list).", "findings"),
    Metric("finding_visits_on_track_share", "Key accounts on track with visits (13 weeks)", "拜访达标的重点客户占比（近13周）",
           "share 0-1", "1 - finding_visits_behind_accounts / finding_visit_policy_accounts.", "findings"),
    Metric("finding_visits_on_track_lower", "Lower 95% bound of that share", "该占比95%区间下限", "share 0-1",
           "Lower bound of the Wilson 95% interval of finding_visits_on_track_share.", "findings"),
    Metric("finding_visits_on_track_upper", "Upper 95% bound of that share", "该占比95%区间上限", "share 0-1",
           "Upper bound of the Wilson 95% interval of finding_visits_on_track_share.", "findings"),
    Metric("finding_visits_behind_margin", "Margin at risk from missed visits", "拜访不足带来的毛利风险",
           "currency", "Money at stake of their visit actions (this month's action list: the margin the visit shortfall "
           "puts at risk). Not available when visits are no supported churn driver (Holm-adjusted p >= 0.05 or a 95% "
           "interval of the hazard ratio including 1).", "findings"),
    Metric("finding_whitespace_accounts", "Accounts with cross-sell whitespace", "有交叉销售空白的客户数",
           "accounts", "Accounts that buy a category far below their peers (industry and tier) or not at all.",
           "findings"),
    Metric("finding_whitespace_margin", "Cross-sell potential (largest gap per account)", "交叉销售潜力（每个客户最大缺口）",
           "currency", "Sum over finding_whitespace_accounts of the cross-sell potential of the account's largest "
           "whitespace category: the peers' median share of their 12-month margin in the category x the account's "
           "12-month margin, less its own margin there (segmentation.whitespace; accounts with 12 months in the book "
           "and a positive margin). A size of the gaps, not margin expected to come.", "findings"),
    Metric("finding_overdue_accounts", "Accounts with overdue invoices", "有逾期发票的客户数", "accounts",
           "Accounts in the book with invoices past their due date and unpaid at the analysis date.", "findings"),
    Metric("finding_overdue_amount", "Overdue receivables", "逾期应收账款", "currency",
           "Amount of the invoices of finding_overdue_accounts that are past their due date.", "findings"),
    Metric("finding_churn_alert_accounts", "Valuable accounts that may have lapsed", "可能已流失的高价值客户数",
           "accounts", "Churn alerts of this month's action list (12-month margin above the median, P(alive) "
           "below the alert threshold).", "findings"),
    Metric("finding_churn_alert_margin", "Margin of valuable accounts that may have lapsed",
           "可能已流失高价值客户的毛利", "currency", "Sum of the 12-month gross margin of finding_churn_alert_accounts.",
           "findings"),
] + [Metric(f"finding_win_{what}_{group}", f"{label}, {group} accounts", f"{zh_group}{zh}", unit,
            definition.format(group=group), "findings")
     for group, zh_group in (("existing", "老客户"), ("new", "新客户"))
     for what, label, zh, unit, definition in (
         ("closed", "Opportunities closed", "已关闭商机数", "opportunities",
          f"Opportunities of {{group}} accounts won or lost in {WINDOW}."),
         ("rate", "Win rate", "商机赢单率", "share 0-1", "Won / closed of finding_win_closed_{group}."),
         ("rate_lower", "Win rate, lower 95% bound", "赢单率95%区间下限", "share 0-1",
          "Lower bound of the Wilson 95% interval of finding_win_rate_{group}."),
         ("rate_upper", "Win rate, upper 95% bound", "赢单率95%区间上限", "share 0-1",
          "Upper bound of the Wilson 95% interval of finding_win_rate_{group}."),
         ("rate_p_adjusted", "Win rate against the rule of thumb, adjusted p-value", "赢单率与经验法则比较的调整后p值",
          "p-value", "Two-sided exact binomial test of finding_win_rate_{group} against its rule of thumb "
          "(existing 0.5, new 0.15), Holm-adjusted over the two groups."),
         ("gap_amount", "Pipeline at stake below the rule of thumb", "低于经验法则的商机金额", "currency",
          "Open opportunity amount of {group} accounts x (rule of thumb - finding_win_rate_{group}), when the "
          "rate is significantly below the rule."),
     )
]}


def _clean(value):
    """JSON-safe scalar: numpy types to Python, NaN/inf refused."""
    if value is None:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"metric value {v} is not finite; record None with a reason instead")
        return v
    if isinstance(value, (int, str, bool)):
        return value
    raise TypeError(f"metric values must be numbers, strings or None, got {type(value).__name__}")


class MetricsRecorder:
    """Records headline metrics of one notebook run into a JSON file (``path``; in memory when None).

    >>> rec = MetricsRecorder(None)
    >>> rec.record("revenue_12m", 1250.0)
    1250.0
    >>> rec.record("cac", None, reason="no cost data")
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else None
        self.metrics: dict[str, object] = {}
        self.notes: dict[str, str] = {}

    def record(self, key: str, value, *, reason: str | None = None, strict: bool = True):
        if strict and key not in GLOSSARY:
            raise KeyError(f"unknown metric '{key}': add its definition to kamlib.analysis.metrics.GLOSSARY first")
        value = _clean(value)
        if value is None and not reason:
            raise ValueError(f"metric '{key}' is None: give the reason it is not available")
        self.metrics[key] = value
        if reason:
            self.notes[key] = reason
        else:
            self.notes.pop(key, None)
        self._save()
        return value

    def record_many(self, values: dict, reasons: dict | None = None) -> None:
        for k, v in values.items():
            self.record(k, v, reason=(reasons or {}).get(k))

    def _save(self) -> None:
        """Write the file whole or not at all (a temporary file renamed over it): the deck and the executive
        summary run side by side and each reads the other's file."""
        if self.path is not None:
            import os
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"metrics": self.metrics, "notes": self.notes}, indent=2, ensure_ascii=False))
            os.replace(tmp, self.path)


def merge_metric_files(paths: list[Path]) -> tuple[dict, dict]:
    """Union of metrics and notes recorded by several notebooks (later files win on a repeated key)."""
    metrics, notes = {}, {}
    for p in paths:
        d = json.loads(Path(p).read_text())
        metrics.update(d.get("metrics", {}))
        notes.update(d.get("notes", {}))
    return metrics, notes


TERMS = [   # terms the reports use that are not recorded metrics: (key, English, 中文, definition)
    ("money_at_stake", "Money at stake", "涉及金额",
     "Of an action in this month's action list (kamlib.analysis.actions, the one list behind the segmentation "
     "report, the scorecard, the manager reports and the briefs): the money plausibly at risk in the next 12 "
     "months. Churn alert: 12-month margin x (1 - P(alive)). Visits behind the policy: 12-month margin x "
     "(S0 - S0^(HR^-d)), S0 = 1 - the book's 12-month churn rate (accounts in the book at the window start that "
     "churned in it), HR = the churn drivers' hazard ratio per in-person visit in 90 days, d = visits short of the "
     "policy in the last 13 weeks; 'not available' when the hazard ratio's 95% interval includes 1. Open "
     "complaint: the same with the hazard ratio per unresolved complaint and d = the account's open complaints. "
     "Overdue invoices: the overdue amount. Margin falling (more than 30% on the previous 12 months): the margin "
     "lost. Unprofitable after cost-to-serve: the loss. Ageing opportunity: its amount. Whitespace: the "
     "peer-median margin of the category. Decision maker not met: not available (no churn-driver estimate links "
     "it to churn). Complaints open longer than actions.stale_after_days (default 180) are "
     "a data-hygiene list, not actions."),
]


def glossary_markdown() -> str:
    """The text of docs/metrics.md."""
    lines = ["# Headline metrics — glossary / 指标说明", "",
             "Generated from `kamlib.analysis.metrics.GLOSSARY` (`python -m kamlib.analysis.metrics > docs/metrics.md`); a test "
             "keeps this file and the code identical.", "",
             f"*Window* means {WINDOW}. Money is in the configured currency. A metric that cannot be computed "
             "is recorded as `null` with the reason in `notes` and shown as 'not available' — never as zero.", ""]
    for area in dict.fromkeys(m.issue for m in GLOSSARY.values()):
        lines += [f"## {area.title()}", "", "| key | English | 中文 | unit | definition |", "|---|---|---|---|---|"]
        for m in GLOSSARY.values():
            if m.issue == area:
                lines.append(f"| `{m.key}` | {m.en} | {m.zh} | {m.unit} | {m.definition} |")
        lines.append("")
    lines += ["## Terms", "", "| key | English | 中文 | definition |", "|---|---|---|---|"]
    lines += [f"| `{k}` | {en} | {zh} | {d} |" for k, en, zh, d in TERMS]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(glossary_markdown(), end="")

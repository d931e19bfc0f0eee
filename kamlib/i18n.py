"""The one translation table for report text: headings, table headers, axis labels, narrative templates."""
from __future__ import annotations

LANGUAGES = ("en", "zh")

LABELS: dict[str, dict[str, str]] = {
    # general
    "month": {"en": "Month", "zh": "月份"},
    "accounts": {"en": "Accounts", "zh": "客户数"},
    "account": {"en": "Account", "zh": "客户"},
    "revenue": {"en": "Revenue", "zh": "销售收入"},
    "gross_margin": {"en": "Gross margin", "zh": "毛利"},
    "margin_rate": {"en": "Margin rate", "zh": "毛利率"},
    "active_accounts": {"en": "Active accounts", "zh": "活跃客户数"},
    "tier": {"en": "Tier", "zh": "客户级别"},
    "region": {"en": "Region", "zh": "区域"},
    "industry": {"en": "Industry", "zh": "行业"},
    "enterprise_type": {"en": "Enterprise type", "zh": "企业类型"},
    "acquisition_channel": {"en": "Acquisition channel", "zh": "获客渠道"},
    "account_manager": {"en": "Account manager", "zh": "客户经理"},
    "name": {"en": "Name", "zh": "客户名称"},
    "table": {"en": "Table", "zh": "数据表"},
    "reason": {"en": "Reason", "zh": "原因"},
    "rows": {"en": "Rows", "zh": "行数"},
    "rows_read": {"en": "Rows read", "zh": "读取行数"},
    "rows_excluded": {"en": "Rows excluded", "zh": "排除行数"},
    "rows_used": {"en": "Rows used", "zh": "使用行数"},
    "amount": {"en": "Amount", "zh": "金额"},
    "analysis_month": {"en": "Analysis month", "zh": "分析月份"},
    "data_fingerprint": {"en": "Data fingerprint", "zh": "数据指纹"},
    "data_quality": {"en": "Data quality", "zh": "数据质量"},
    "book_size": {"en": "Book size", "zh": "客户规模"},
    "breakdowns": {"en": "Accounts by tier, region and industry", "zh": "按客户级别、区域和行业分布"},
    "not_available": {"en": "not available", "zh": "无法计算"},
    # overview
    "title_overview": {"en": "Account overview", "zh": "客户概览"},
    "monthly_trend": {"en": "Revenue and gross margin by month", "zh": "月度销售收入与毛利"},
    "active_by_month": {"en": "Active accounts by month", "zh": "月度活跃客户数"},
    "top_accounts": {"en": "Top accounts by 12-month revenue", "zh": "近12个月收入最高的客户"},
    "by_attribute": {"en": "12-month revenue by {attr}", "zh": "按{attr}的近12个月收入"},
    "accounts_by_attribute": {"en": "Accounts by {attr}", "zh": "按{attr}的客户数"},
    "revenue_12m": {"en": "Revenue, last 12 months", "zh": "近12个月收入"},
    "margin_12m": {"en": "Gross margin, last 12 months", "zh": "近12个月毛利"},
    "in_currency": {"en": "{label} ({currency})", "zh": "{label}（{currency}）"},
    "in_millions": {"en": "{label} ({currency} million)", "zh": "{label}（百万{currency}）"},
    # narrative
    "overview_sentence": {
        "en": "The book has {accounts} accounts; {active} ordered in the 12 months to {month}, bringing "
              "{revenue} of revenue and {margin} of gross margin ({margin_rate} margin rate).",
        "zh": "客户总数为{accounts}个；截至{month}的近12个月内有{active}个客户下单，带来销售收入{revenue}，"
              "毛利{margin}（毛利率{margin_rate}）。"},
    "quality_sentence": {
        "en": "{read} rows were read; {excluded} were left out of the analysis for the reasons listed below.",
        "zh": "共读取{read}行数据；其中{excluded}行因下列原因未纳入分析。"},
    "quality_clean": {"en": "{read} rows were read; none was left out.", "zh": "共读取{read}行数据，全部纳入分析。"},
    "trend_sentence": {
        "en": "Revenue in the last 12 months is {change} against the 12 months before.",
        "zh": "近12个月收入较之前12个月{change}。"},
    "up": {"en": "up {pct}", "zh": "增长{pct}"},
    "down": {"en": "down {pct}", "zh": "下降{pct}"},
    "flat": {"en": "flat", "zh": "持平"},
}


def t(key: str, lang: str = "en", **fmt) -> str:
    """The label ``key`` in ``lang``, formatted with ``fmt``. Unknown keys raise KeyError."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")
    text = LABELS[key][lang]
    return text.format(**fmt) if fmt else text

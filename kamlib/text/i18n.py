"""The one translation table for report text: headings, table headers, axis labels, narrative templates."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

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
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "account_id": {"en": "Account id", "zh": "客户编号"},
    "revenue_share": {"en": "Share of revenue", "zh": "收入占比"},
    # model summaries (statsmodels-style results objects)
    "fit_title": {"en": "{model} results", "zh": "{model} 模型估计结果"},
    "fit_model": {"en": "Model", "zh": "模型"},
    "fit_method": {"en": "Method", "zh": "估计方法"},
    "fit_ml": {"en": "Maximum likelihood", "zh": "最大似然估计"},
    "fit_observations": {"en": "Observations", "zh": "观测数"},
    "fit_converged": {"en": "Converged", "zh": "是否收敛"},
    "fit_iterations": {"en": "Iterations", "zh": "迭代次数"},
    "fit_time_unit": {"en": "Time unit", "zh": "时间单位"},
    "fit_llf": {"en": "Log-likelihood", "zh": "对数似然"},
    "fit_estimate": {"en": "estimate", "zh": "估计值"},
    "fit_std_err": {"en": "std err", "zh": "标准误"},
    "fit_freq_spend_corr": {"en": "Freq.-spend corr.", "zh": "频次与客单价相关系数"},
    "fit_mean_spend": {"en": "Mean spend", "zh": "平均客单价"},
    "fit_note_se": {"en": "Standard errors from the Hessian at the optimum; intervals are Wald intervals on the "
                           "log scale.",
                    "zh": "标准误由最优点处的海森矩阵得到；置信区间为对数尺度上的Wald区间。"},
    "fit_note_no_se": {"en": "No standard error for {names}: the Hessian is not negative definite there, so the "
                             "likelihood has no well-defined maximum in that direction.",
                       "zh": "{names}没有标准误：该方向上海森矩阵非负定，似然函数没有明确的最大值。"},
    "fit_note_independence": {"en": "The model assumes spend is independent of frequency; a correlation far "
                                    "from 0 questions it.",
                              "zh": "模型假设客单价与购买频次相互独立；相关系数明显偏离0时应谨慎使用。"},
    "time_unit_D": {"en": "days", "zh": "天"}, "time_unit_W": {"en": "weeks", "zh": "周"},
    "time_unit_M": {"en": "months", "zh": "月"}, "time_unit_Y": {"en": "years", "zh": "年"},
    "fit_note_time_unit": {"en": "Time unit of frequency/recency/T: {unit}.",
                           "zh": "频次/最近购买时间/观察期的时间单位：{unit}。"},
    "rank_of": {"en": "Rank: {kpi}", "zh": "排名：{kpi}"},
    "age": {"en": "Age", "zh": "账龄"},
    "cluster": {"en": "Cluster", "zh": "聚类"},
    "monetary": {"en": "Monetary", "zh": "金额"},
    "reason_tier": {"en": "{change} to {tier}", "zh": "{change}为{tier}"},
    "reason_loss": {"en": "loss after cost-to-serve", "zh": "扣除服务成本后亏损"},
    "reason_margin_down": {"en": "margin down {pct}", "zh": "毛利下降{pct}"},
    "reason_pays_late": {"en": "pays late", "zh": "经常逾期付款"},
    "reason_open_complaint": {"en": "open complaint", "zh": "投诉未解决"},
    "reason_separator": {"en": "; ", "zh": "；"},
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
    # customer lifetime value
    "clv": {"en": "CLV", "zh": "客户终身价值"},
    "clv_lower": {"en": "CLV, lower 95%", "zh": "终身价值下限(95%)"},
    "clv_upper": {"en": "CLV, upper 95%", "zh": "终身价值上限(95%)"},
    "clv_total": {"en": "Total CLV", "zh": "终身价值合计"},
    "clv_mean": {"en": "Mean CLV", "zh": "平均终身价值"},
    "clv_share": {"en": "Share of CLV", "zh": "终身价值占比"},
    "p_alive": {"en": "P(alive)", "zh": "存活概率"},
    "p_alive_mean": {"en": "Mean P(alive)", "zh": "平均存活概率"},
    "frequency": {"en": "Repeat purchases", "zh": "重复购买次数"},
    "calibration_frequency": {"en": "Repeat purchases in calibration", "zh": "校准期重复购买次数"},
    "actual": {"en": "Actual", "zh": "实际"},
    "expected": {"en": "Model", "zh": "模型"},
    "model": {"en": "Model", "zh": "模型"},
    "log_likelihood": {"en": "Log-likelihood", "zh": "对数似然"},
    "aic": {"en": "AIC", "zh": "AIC"},
    "bic": {"en": "BIC", "zh": "BIC"},
    "mae": {"en": "MAE (purchases)", "zh": "平均绝对误差（次）"},
    "rmse": {"en": "RMSE (purchases)", "zh": "均方根误差（次）"},
    "aggregate_error": {"en": "Aggregate error", "zh": "总量误差"},
    "converged": {"en": "Converged", "zh": "已收敛"},
    "chosen": {"en": "Chosen", "zh": "选用"},
    "margin_12m_short": {"en": "Margin, 12 months", "zh": "近12个月毛利"},
    "last_purchase_weeks_ago": {"en": "Weeks since last purchase", "zh": "距上次购买（周）"},
    "expected_purchases_12m": {"en": "Expected purchases, next 12 months", "zh": "未来12个月预期购买次数"},
    "expected_spend": {"en": "Expected revenue per purchase", "zh": "预期每次购买金额"},
    "title_clv": {"en": "Customer lifetime value", "zh": "客户终身价值"},
    "clv_model_check": {"en": "Model check on a holdout period", "zh": "模型检验（留出期）"},
    "clv_fits": {"en": "Fitted models", "zh": "模型估计结果"},
    "clv_distribution": {"en": "Distribution of account CLV", "zh": "客户终身价值分布"},
    "clv_top": {"en": "Top accounts by CLV, with 95% bands", "zh": "终身价值最高的客户（含95%区间）"},
    "clv_top_points": {"en": "Top accounts by CLV", "zh": "终身价值最高的客户"},
    "clv_alerts": {"en": "Churn alerts: valuable accounts that may have lapsed",
                   "zh": "流失预警：可能已流失的高价值客户"},
    "clv_by_segment": {"en": "CLV by segment", "zh": "按细分的终身价值"},
    "tracking_title": {"en": "Cumulative repeat purchases: actual vs model", "zh": "累计重复购买：实际与模型"},
    "holdout_title": {"en": "Holdout purchases by calibration frequency", "zh": "按校准期购买次数的留出期购买"},
    "histogram_title": {"en": "Accounts by repeat purchases in calibration", "zh": "校准期重复购买次数分布"},
    "mean_holdout_purchases": {"en": "Mean purchases in holdout", "zh": "留出期平均购买次数"},
    "date": {"en": "Date", "zh": "日期"},
    "calibration_end_label": {"en": "end of calibration", "zh": "校准期结束"},
    "clv_axis": {"en": "CLV ({currency}, log scale)", "zh": "终身价值（{currency}，对数刻度）"},
    "clv_choice_sentence": {
        "en": "Both purchase models were fitted on the order history up to {cal_end} and asked to predict the "
              "{months} after it. The {model} model predicted each account's purchases with a mean "
              "absolute error of {mae} purchases and the total within {agg}; it is used below.",
        "zh": "两个购买模型均以{cal_end}之前的订单数据估计，并预测其后{months}的购买。{model}模型对每个客户购买次数的"
              "平均绝对误差为{mae}次，总量误差为{agg}，下文采用该模型。"},
    "clv_holdout_shortened": {
        "en": "The order history covers {history}, too little to hold out the {requested} asked for and still "
              "fit on as long a period; {months} are held out instead.",
        "zh": "订单数据仅覆盖{history}，不足以留出所设定的{requested}并保留同样长的估计期；改为留出{months}。"},
    "clv_holdout_skipped": {
        "en": "The order history covers only {history}, too short to hold some out and check the purchase "
              "models' predictions. Both models were fitted on all of it; the {model} model is used below "
              "({reason}). Treat the values below with care until more history accumulates.",
        "zh": "订单数据仅覆盖{history}，无法留出一段时间检验购买模型的预测。两个模型均以全部数据估计，下文采用{model}模型"
              "（{reason}）。在积累更多数据之前，请谨慎看待以下数值。"},
    "clv_reason_aic": {"en": "lower AIC", "zh": "AIC较低"},
    "clv_reason_configured": {"en": "as configured", "zh": "按配置指定"},
    "clv_sentence": {
        "en": "Valued over the next {horizon} months at a {rate} annual discount rate, the book's expected gross "
              "margin (CLV) is {total} (95% band {lower} to {upper} from parameter uncertainty). The top 20% "
              "of accounts by CLV hold {top_share} of it.",
        "zh": "以年贴现率{rate}计算未来{horizon}个月，客户群预期毛利（终身价值）合计{total}（参数不确定性95%区间：{lower}至"
              "{upper}）。终身价值最高的20%客户占其中{top_share}。"},
    "clv_sentence_no_band": {
        "en": "Valued over the next {horizon} months at a {rate} annual discount rate, the book's expected gross "
              "margin (CLV) is {total}. No uncertainty band is given: {reason}. The top 20% of accounts by CLV "
              "hold {top_share} of it.",
        "zh": "以年贴现率{rate}计算未来{horizon}个月，客户群预期毛利（终身价值）合计{total}。未给出区间：{reason}。"
              "终身价值最高的20%客户占其中{top_share}。"},
    "clv_no_band_not_requested": {"en": "no parameter draws were requested (n_draws = 0)",
                                  "zh": "未设定参数抽样（n_draws = 0）"},
    "clv_no_band_not_converged": {
        "en": "a model fit did not converge (see the model warning above), so its standard errors do not describe "
              "the uncertainty",
        "zh": "模型估计未收敛（见上方模型警告），其标准误不能反映不确定性"},
    "clv_no_band_poorly_determined": {
        "en": "the data determine some model parameters too poorly (their 95% intervals span many orders of "
              "magnitude) for parameter bands; treat the values as rough",
        "zh": "数据对部分模型参数的约束过弱（其95%区间跨越多个数量级），无法给出参数区间；请将数值视为粗略估计"},
    "clv_alert_sentence": {
        "en": "{n} accounts not marked as churned earned more than the median margin in the last 12 months but "
              "have a probability below {threshold} of still being active: account managers should call them.",
        "zh": "有{n}个未标记为流失的客户近12个月毛利高于中位数，但仍活跃的概率低于{threshold}，客户经理应尽快联系。"},
    "clv_no_alerts": {"en": "No valuable account currently looks lapsed.", "zh": "目前没有疑似流失的高价值客户。"},
    "spend_sentence": {
        "en": "Spend per purchase follows the Gamma-Gamma model (mean {mean} per purchase); its correlation with "
              "purchase frequency is {corr}, {verdict}.",
        "zh": "每次购买金额采用Gamma-Gamma模型（平均每次{mean}）；其与购买频率的相关系数为{corr}，{verdict}。"},
    "spend_ok": {"en": "small enough for the model's independence assumption",
                 "zh": "满足模型的独立性假设"},
    "spend_warn": {"en": "large enough to question the model's independence assumption",
                   "zh": "可能违背模型的独立性假设"},
    # segmentation
    "title_segmentation": {"en": "Segmentation and account strategy", "zh": "客户细分与客户战略"},
    "concentration": {"en": "Who carries the profit (the 20/80 rule)", "zh": "谁贡献利润（二八法则）"},
    "equality_line": {"en": "equal accounts", "zh": "完全平均"},
    "lorenz_title": {"en": "Lorenz curve, last 12 months", "zh": "洛伦兹曲线（近12个月）"},
    "whale_title": {"en": "Whale curve: profit after cost-to-serve", "zh": "鲸鱼曲线：扣除服务成本后的利润"},
    "whale_peak": {"en": "peak {pct} of total profit", "zh": "峰值：总利润的{pct}"},
    "cum_accounts_pct": {"en": "Accounts, smallest first (cumulative %)", "zh": "客户（由小到大，累计%）"},
    "cum_value_pct": {"en": "Value (cumulative %)", "zh": "价值（累计%）"},
    "cum_accounts_pct_by_profit": {"en": "Accounts, most profitable first (cumulative %)",
                                   "zh": "客户（按利润由高到低，累计%）"},
    "cum_profit_pct": {"en": "Profit after cost-to-serve (cumulative % of total)", "zh": "扣除服务成本后利润（占总额累计%）"},
    "rule_vs_measured": {"en": "Rule of thumb vs this book", "zh": "经验法则与本企业实测"},
    "claim": {"en": "Claim", "zh": "说法"},
    "rule_of_thumb": {"en": "Rule of thumb", "zh": "经验值"},
    "measured": {"en": "Measured", "zh": "实测值"},
    "concentration_sentence": {
        "en": "In the 12 months to {month}, the top 20% of accounts made {top20} of gross margin (rule of thumb: "
              "80%); {share80} of accounts made 80% of it. The revenue Gini coefficient is {gini}. After "
              "cost-to-serve, {unprofitable} accounts lose money; the most profitable accounts earn {peak} of "
              "total profit before the loss-makers pull it back.",
        "zh": "截至{month}的近12个月，前20%的客户贡献了{top20}的毛利（经验值80%）；{share80}的客户贡献了80%的毛利。"
              "收入基尼系数为{gini}。扣除服务成本后，有{unprofitable}个客户亏损；最赚钱的客户贡献了总利润的{peak}，"
              "其余被亏损客户抵消。"},
    "abc_class": {"en": "ABC class", "zh": "ABC分类"},
    "value": {"en": "Value", "zh": "价值"},
    "account_share": {"en": "Share of accounts", "zh": "客户占比"},
    "value_share": {"en": "Share of value", "zh": "价值占比"},
    "abc_title": {"en": "ABC classes by 12-month gross margin", "zh": "按近12个月毛利的ABC分类"},
    "rfm_title": {"en": "RFM scores and segments", "zh": "RFM评分与细分"},
    "rfm_edges_sentence": {"en": "Scores 1-5 from quantiles; bin edges (recency in days, orders and revenue in "
                                 "the last 12 months):",
                           "zh": "按分位数评分1-5；分箱边界（最近购买天数、近12个月订单数与收入）："},
    "rfm_segment": {"en": "RFM segment", "zh": "RFM细分"},
    "strategy": {"en": "Strategy", "zh": "战略"},
    "strategy_title": {"en": "Value x potential strategy matrix", "zh": "价值×潜力战略矩阵"},
    "strategy_matrix_title": {"en": "Current value vs potential", "zh": "当前价值与潜力"},
    "strategy_support_develop": {"en": "Support & develop", "zh": "支持和有利发展"},
    "strategy_maintain_efficiently": {"en": "Maintain efficiently", "zh": "维持且高效"},
    "strategy_nurture_change": {"en": "Nurture & change behaviour", "zh": "培育并改变行为"},
    "strategy_cut_cost_exit": {"en": "Cut cost-to-serve or exit", "zh": "削减成本与清除"},
    "strategy_sentence": {
        "en": "Value is 12-month gross margin, potential is {source}; thresholds (medians unless set): value "
              "{vt}, potential {pt}.",
        "zh": "价值为近12个月毛利，潜力为{source}；阈值（默认中位数）：价值{vt}，潜力{pt}。"},
    "potential": {"en": "Potential", "zh": "潜力"},
    "cost_to_serve": {"en": "Cost-to-serve", "zh": "服务成本"},
    "profit_after_cost_to_serve": {"en": "Profit after cost-to-serve", "zh": "扣除服务成本后利润"},
    "actions": {"en": "Suggested actions", "zh": "建议行动"},
    "tiers_title": {"en": "Tiers and service levels", "zh": "客户分级与服务水平"},
    "recorded_tier": {"en": "Recorded tier", "zh": "现有级别"},
    "suggested_tier": {"en": "Suggested tier", "zh": "建议级别"},
    "tier_sentence": {
        "en": "Tiers suggested from 12-month margin: {up} accounts merit an upgrade, {down} a downgrade. Visit "
              "policy ({policy}) is met by {rate} of {tiers} accounts; {under} accounts are under-served "
              "for their value and {over} low-value accounts are over-served.",
        "zh": "按近12个月毛利建议分级：{up}个客户应升级，{down}个应降级。拜访政策（{policy}）的达标率为{rate}（{tiers}客户）；"
              "{under}个客户相对其价值服务不足，{over}个低价值客户服务过度。"},
    "tier_name_strategic": {"en": "strategic", "zh": "特级"}, "tier_name_A": {"en": "A", "zh": "A级"},
    "tier_name_B": {"en": "B", "zh": "B级"}, "tier_name_C": {"en": "C", "zh": "C级"},
    "visit_rule": {"en": "{tier}: {n:g}+ visits a week", "zh": "{tier}客户每周至少拜访{n:g}次"},
    "list_separator": {"en": ", ", "zh": "，"},
    "list_and": {"en": " and ", "zh": "和"},
    "compliance_title": {"en": "Visit-policy compliance by account manager", "zh": "各客户经理拜访政策达标率"},
    "compliance_rate_pct": {"en": "Compliant strategic/A accounts (%)", "zh": "达标的特级/A级客户（%）"},
    "compliance_rate": {"en": "Compliance rate", "zh": "达标率"},
    "compliant": {"en": "Compliant", "zh": "达标"},
    "visits_per_week": {"en": "Visits per week", "zh": "每周拜访次数"},
    "service_flag": {"en": "Service flag", "zh": "服务标记"},
    "clusters_title": {"en": "Data-driven clusters", "zh": "数据驱动聚类"},
    "silhouette_title": {"en": "Choice of k (silhouette)", "zh": "聚类数选择（轮廓系数）"},
    "clusters_k": {"en": "Number of clusters k", "zh": "聚类数k"},
    "silhouette_score": {"en": "Silhouette score", "zh": "轮廓系数"},
    "orders_12m": {"en": "Order lines, 12 months", "zh": "近12个月订单行数"},
    "recency_days": {"en": "Days since last order", "zh": "距上次下单天数"},
    "price_title": {"en": "Price sensitivity and discount flags", "zh": "价格敏感度与折扣预警"},
    "price_sentence": {
        "en": "{n_corr} accounts have enough months to relate discount to volume; the median rank correlation "
              "is {median}. {risk} accounts at churn risk got no retention offer in the last 3 months; {deep} "
              "low-value (C) accounts receive deep discounts.",
        "zh": "{n_corr}个客户有足够月份分析折扣与销量的关系；中位秩相关为{median}。{risk}个有流失风险的客户近3个月未获挽留优惠；"
              "{deep}个低价值（C类）客户享受深度折扣。"},
    "price_not_available": {"en": "The transactions carry no discount column: price sensitivity is not available.",
                            "zh": "交易数据无折扣字段，无法分析价格敏感度。"},
    "price_flag": {"en": "Price flag", "zh": "价格预警"},
    "mean_discount_12m": {"en": "Mean discount, 12 months", "zh": "近12个月平均折扣"},
    "top20_claim": {"en": "Margin share of the top 20% of accounts", "zh": "前20%客户的毛利占比"},
    "share80_claim": {"en": "Share of accounts making 80% of margin", "zh": "贡献80%毛利的客户占比"},
    "reasons": {"en": "Reasons", "zh": "原因"},
    "act_on_title": {"en": "Accounts to act on, by account manager", "zh": "各客户经理需行动的客户"},
    # economics and survival
    "title_economics": {"en": "Retention vs acquisition", "zh": "客户保持与获取"},
    "churn_recorded": {"en": "the recorded churn date", "zh": "记录的流失日期"},
    "churn_inactivity": {"en": "no order for {days} days", "zh": "连续{days}天无订单"},
    "churn_p_alive": {"en": "P(alive) below {threshold}", "zh": "存活概率低于{threshold}"},
    "rules_title": {"en": "Rules of thumb measured on this book", "zh": "经验法则的实测结果"},
    "rule_keep_fifth": {"en": "Keeping an account costs 1/5 of winning one (CAC / retention cost per account)",
                        "zh": "保持一个客户的费用是吸引新客户的1/5（获客成本/保持成本）"},
    "rule_win_seven": {"en": "Winning a new account costs 7x keeping one", "zh": "获取新客户的成本是保留现有客户的七倍"},
    "rule_winback_tenth": {"en": "Winning back costs 10x keeping (win-back / retention cost per account)",
                           "zh": "挽回不满意客户的费用是保持的10倍"},
    "rule_churn_profit": {"en": "5 points less churn lifts profit 25-85% (customer equity change)",
                          "zh": "客户流失率降低5%，利润增长25%-85%（客户资产变化）"},
    "rule_referral": {"en": "60% of new accounts come from referrals", "zh": "60%的新客户来自老客户推荐"},
    "flows_title": {"en": "New, churned and retained accounts", "zh": "新增、流失与保持客户"},
    "flows_sentence": {
        "en": "Churn is dated by {churn}. In the 12 months to {month}, {new} accounts were won and {churned} of "
              "the {at_risk} accounts in the book at the start were lost ({rate} churn).",
        "zh": "流失口径：{churn}。截至{month}的近12个月新增客户{new}个，期初{at_risk}个客户中流失{churned}个（流失率{rate}）。"},
    "spend_sentence_eco": {
        "en": "Acquisition spend was {acq} ({cac} per new account); retention spend {ret} ({rpa} per retained "
              "account). Winning an account cost {ratio} times keeping one.",
        "zh": "获客费用{acq}（每个新客户{cac}）；保持费用{ret}（每个保持客户{rpa}）。获取一个客户的成本是保持的{ratio}倍。"},
    "model_warning": {"en": "Model warning: {message}", "zh": "模型警告：{message}"},
    "model_warning_not_converged": {
        "en": "Model warning: the {model} fit did not converge, so its estimates are unreliable. Optimiser: {detail}.",
        "zh": "模型警告：{model} 拟合未收敛，估计值不可靠。优化器信息：{detail}。"},
    "model_warning_edge": {
        "en": "Model warning: the {model} fit did not converge, so its estimates are unreliable; {params} heading to "
              "the edge of the parameter space: the likelihood may have no interior maximum on these data (few "
              "accounts, or little variation). Optimiser: {detail}.",
        "zh": "模型警告：{model} 拟合未收敛，估计值不可靠；{params} 趋向参数空间的边界：在这些数据上似然函数可能没有内部"
              "最大值（客户较少或差异较小）。优化器信息：{detail}。"},
    "not_available_because": {"en": "{metric}: not available — {reason}.", "zh": "{metric}：无法计算——{reason}。"},
    "channel": {"en": "Channel", "zh": "渠道"},
    "new_accounts": {"en": "New accounts", "zh": "新增客户"},
    "at_risk_start": {"en": "In book at window start", "zh": "期初客户"},
    "churned": {"en": "Churned", "zh": "流失"},
    "retained": {"en": "Retained", "zh": "保持"},
    "retention_rate": {"en": "Retention rate", "zh": "保持率"},
    "margin_per_retained_account": {"en": "Margin per retained account", "zh": "每个保持客户毛利"},
    "months_to_pay_back_cac": {"en": "Months to pay back CAC", "zh": "收回获客成本月数"},
    "margin_of_new_accounts": {"en": "Margin of new accounts", "zh": "新客户毛利"},
    "accounts_at_start": {"en": "Accounts at start", "zh": "期初客户数"},
    "period": {"en": "Period", "zh": "期间"},
    "cohorts_title": {"en": "Cohorts by acquisition quarter", "zh": "按获客季度的客户群"},
    "cohort": {"en": "Acquisition quarter", "zh": "获客季度"},
    "cohorts_through": {"en": "Complete quarters only: cohorts and quarters of age up to {quarter} (the quarter of "
                              "the analysis date {date} is left out until it ends).",
                        "zh": "仅统计完整季度：客户群与客户年龄季度截至{quarter}（分析日期{date}所在季度结束后再纳入）。"},
    "cohorts_none": {"en": "No acquisition quarter has ended by the analysis date yet; cohort tables start after "
                           "the first complete quarter.",
                     "zh": "截至分析日期尚无完整的获客季度；客户群分析从第一个完整季度之后开始。"},
    "age_quarters": {"en": "Quarters since acquisition", "zh": "获客后季度数"},
    "cohort_retention": {"en": "Share of cohort in the book (not churned, or won back)",
                         "zh": "仍在客户池中的占比（未流失或已挽回）"},
    "cohort_nrr": {"en": "Net revenue retention (vs first quarter)", "zh": "净收入留存率（相对首季度）"},
    "cohort_margin": {"en": "Gross margin per acquired account by cohort and quarter of age (first 12 quarters)",
                      "zh": "各获客季度客户群按季度的单客户毛利（前12个季度）"},
    "equity_title": {"en": "Customer equity", "zh": "客户资产价值"},
    "equity_sentence": {
        "en": "Customer equity is {ce}: {existing} from the existing book ({source}) and {future} from the next "
              "{years} years of new cohorts net of acquisition cost.",
        "zh": "客户资产价值为{ce}：现有客户{existing}（{source}），未来{years}年新客户群扣除获客成本后{future}。"},
    "source_clv": {"en": "sum of CLV over {months} months, {model}", "zh": "未来{months}个月终身价值合计，{model}模型"},
    "potential_clv": {"en": "CLV over {months} months ({model})", "zh": "未来{months}个月终身价值（{model}模型）"},
    "potential_margin_growth": {"en": "the growth of 12-month gross margin over the previous 12 months",
                                "zh": "近12个月毛利较前12个月的增长"},
    "source_simple": {"en": "simple model margin x r / (1 + d - r)", "zh": "简化模型：毛利×r/(1+d-r)"},
    "whatif_title": {"en": "What if", "zh": "情景分析"},
    "churn_reduction_points": {"en": "Churn reduction (points)", "zh": "流失率降低（百分点）"},
    "retention": {"en": "Retention", "zh": "保持率"},
    "customer_equity": {"en": "Customer equity", "zh": "客户资产价值"},
    "change": {"en": "Change", "zh": "变化"},
    "change_pct": {"en": "Change (%)", "zh": "变化（%）"},
    "whatif_sentence": {
        "en": "In the simple model (measured margin, retention and CAC), cutting churn by 5 points changes customer equity by {pct5}. A retention programme costing {cost} "
              "per account a year that lifts retention by {gain} changes it by {prog}; such a programme breaks "
              "even up to {breakeven} per account. Raising acquisition spend by 20% changes it by {acq}.",
        "zh": "在简化模型（实测毛利、保持率和获客成本）下，流失率降低5个百分点，客户资产变化{pct5}。每个客户每年投入{cost}、使保持率提高{gain}的保持计划使其变化{prog}；"
              "此类计划的盈亏平衡投入为每个客户{breakeven}。获客投入增加20%使其变化{acq}。"},
    "tornado_title": {"en": "Sensitivity of customer equity", "zh": "客户资产价值敏感性"},
    "ce_change_axis": {"en": "Change in customer equity ({currency} million)", "zh": "客户资产价值变化（百万{currency}）"},
    "input_minus": {"en": "input -{pct}", "zh": "输入-{pct}"},
    "input_plus": {"en": "input +{pct}", "zh": "输入+{pct}"},
    "input_margin": {"en": "Margin per account", "zh": "单客户毛利"},
    "input_retention": {"en": "Retention rate", "zh": "保持率"},
    "input_discount_rate": {"en": "Discount rate", "zh": "贴现率"},
    "input_new_accounts": {"en": "New accounts per year", "zh": "每年新增客户"},
    "input_cac": {"en": "CAC", "zh": "获客成本"},
    "input_retention_cost": {"en": "Retention cost per account", "zh": "单客户保持成本"},
    "budget_title": {"en": "Splitting the budget between acquisition and retention", "zh": "获客与保持的预算分配"},
    "acquisition_share_axis": {"en": "Share of budget on acquisition (%)", "zh": "用于获客的预算占比（%）"},
    "optimal_share": {"en": "best: {pct} on acquisition", "zh": "最优：{pct}用于获客"},
    "budget_sentence": {
        "en": "With today's total spend of {budget} and diminishing returns on both sides, customer equity peaks "
              "when {best} of the budget goes to acquisition (today: {now}).",
        "zh": "按当前总投入{budget}且两端均边际递减，获客占预算{best}时客户资产价值最高（当前为{now}）。"},
    "survival_title": {"en": "Survival and churn drivers", "zh": "客户生存与流失驱动因素"},
    "km_title": {"en": "Accounts still active by {group}", "zh": "按{group}的客户存活曲线"},
    "months_since_acquisition": {"en": "Months since acquisition", "zh": "获客后月数"},
    "still_active_pct": {"en": "Still active (%)", "zh": "仍活跃（%）"},
    "logrank_sentence": {"en": "Log-rank test, {group}: chi2 = {chi2} on {df} df, {p}.",
                         "zh": "{group}间对数秩检验：卡方={chi2}，自由度{df}，{p}。"},
    "logrank_untestable": {"en": "Log-rank test, {group}: not possible, {reason}.",
                           "zh": "{group}间对数秩检验：无法进行，{reason}。"},
    "logrank_one_group": {"en": "all accounts are in one group", "zh": "所有客户属于同一组"},
    "logrank_no_events": {"en": "no account has churned yet", "zh": "尚无客户流失"},
    "logrank_singular": {"en": "the groups' churn events leave its variance matrix singular",
                         "zh": "各组流失事件使方差矩阵奇异"},
    "forest_title": {"en": "Churn drivers: hazard ratios (Cox model, 95% CI)", "zh": "流失驱动因素：风险比（Cox模型，95%置信区间）"},
    "hazard_ratio_axis": {"en": "Hazard ratio (log scale; > 1 = churns sooner)", "zh": "风险比（对数刻度；>1表示更早流失）"},
    "hazard_ratio": {"en": "Hazard ratio", "zh": "风险比"},
    "lower": {"en": "Lower 95%", "zh": "下限95%"},
    "upper": {"en": "Upper 95%", "zh": "上限95%"},
    "p_value": {"en": "p-value", "zh": "p值"},
    "rho": {"en": "Correlation with time", "zh": "与时间的相关"},
    "cov_complaints_per_year": {"en": "Complaints per year", "zh": "每年投诉次数"},
    "cov_complaints_resolved_share": {"en": "Share of complaints resolved", "zh": "投诉解决比例"},
    "cov_visits_per_month": {"en": "Visits per month", "zh": "每月拜访次数"},
    "cov_credit_risk_grade": {"en": "Credit grade (0 = AAA, higher = riskier)", "zh": "信用等级（0=AAA，越高越差）"},
    "cov_mean_discount_pct": {"en": "Mean discount (%)", "zh": "平均折扣（%）"},
    "cov_late_payment_share": {"en": "Share of invoices paid late", "zh": "逾期付款发票占比"},
    "cov_tier_strategic": {"en": "Tier: strategic (vs C)", "zh": "级别：特级（相对C级）"},
    "cov_tier_A": {"en": "Tier: A (vs C)", "zh": "级别：A级（相对C级）"},
    "cov_tier_B": {"en": "Tier: B (vs C)", "zh": "级别：B级（相对C级）"},
    "cox_sentence": {
        "en": "The Cox model ({n} accounts, {events} churned) shows each driver's effect holding the others "
              "fixed; covariates are averaged over each account's life, so read them as associations. The "
              "proportional-hazards check flags {flagged}.",
        "zh": "Cox模型（{n}个客户，{events}个流失）在控制其他因素后估计各因素的影响；协变量为客户生命周期内的平均值，应理解为相关关系。"
              "比例风险检验提示：{flagged}。"},
    "none_flagged": {"en": "no covariate at the 1% level", "zh": "无显著违背（1%水平）"},
    "cox_dropped": {"en": "Left out of the Cox model, as their hazard ratio cannot be estimated: {covariates}.",
                    "zh": "以下因素无法估计风险比，未纳入Cox模型：{covariates}。"},
    "cox_dropped_constant": {"en": "the same for every account", "zh": "所有客户取值相同"},
    "cox_dropped_no_churn": {"en": "none of its {n} accounts churned", "zh": "其{n}个客户均未流失"},
    "cox_dropped_all_churn": {"en": "every churned account is among its {n} accounts",
                              "zh": "所有流失客户都属于其{n}个客户"},
    "cox_unavailable": {"en": "No Cox model of churn drivers this month: {reason}.",
                        "zh": "本月无法拟合流失驱动因素的Cox模型：{reason}。"},
    "cox_too_few": {"en": "only {events} churn events, too few", "zh": "仅{events}个流失事件，数量不足"},
    "cox_no_covariates": {"en": "no driver can be estimated on these accounts", "zh": "没有可估计的驱动因素"},
    "cox_not_estimable": {"en": "the drivers separate churned from retained accounts, so the hazard ratios have "
                                "no finite estimate", "zh": "驱动因素将流失客户与留存客户完全分开，风险比无有限估计值"},
    "late_hr_unavailable": {"en": "(No hazard ratio for late payment: {reason}.)",
                            "zh": "（无逾期付款的风险比：{reason}。）"},
    "conclusion_title": {"en": "What this means for the manager", "zh": "对管理者的启示"},
    "conclusion_sentence": {
        "en": "Each new account costs {cac}; keeping one costs {rpa} a year and earns {margin} of margin a year. "
              "The biggest lever on customer equity is {lever}. {advice}",
        "zh": "每个新客户成本{cac}；保持一个客户每年花费{rpa}，每年带来毛利{margin}。对客户资产价值影响最大的因素是{lever}。{advice}"},
    "advice_retention": {"en": "Money moved from acquisition to retention would raise customer equity.",
                         "zh": "将部分获客预算转向客户保持可提高客户资产价值。"},
    "advice_acquisition": {"en": "Money moved from retention to acquisition would raise customer equity.",
                           "zh": "将部分保持预算转向获客可提高客户资产价值。"},
    "advice_balanced": {"en": "Today's split is close to the best one.", "zh": "当前预算分配接近最优。"},
    # scorecards, pipeline, payments
    "title_scorecard": {"en": "Account-manager scorecard", "zh": "客户经理考核"},
    "claims_title": {"en": "Claims beside this book's numbers", "zh": "经验说法与实测"},
    "rule_win_existing": {"en": "Sale success with existing accounts: 50%", "zh": "向现有客户销售成功率50%"},
    "rule_win_new": {"en": "Sale success with new accounts: 15%", "zh": "向新客户销售成功率15%"},
    "pipeline_title": {"en": "Pipeline: win rates and cycle", "zh": "销售机会：成功率与周期"},
    "win_rate_title": {"en": "Win rate, last 12 months (95% CI)", "zh": "近12个月成功率（95%置信区间）"},
    "win_rate_pct": {"en": "Won / (won + lost) (%)", "zh": "赢单/(赢单+输单)（%）"},
    "rule_dashed": {"en": "dashed: rule of thumb", "zh": "虚线：经验值"},
    "existing_accounts": {"en": "Existing accounts", "zh": "现有客户"},
    "new_accounts_short": {"en": "New accounts / prospects", "zh": "新客户/潜在客户"},
    "existing": {"en": "Existing account", "zh": "现有客户"},
    "closed": {"en": "Closed", "zh": "已结束"},
    "won": {"en": "Won", "zh": "赢单"},
    "win_rate": {"en": "Win rate", "zh": "成功率"},
    "cycle_days": {"en": "Cycle (days)", "zh": "周期（天）"},
    "won_amount_mean": {"en": "Mean won amount", "zh": "平均赢单金额"},
    "win_sentence": {
        "en": "In the last 12 months existing accounts closed {existing} of their opportunities and new accounts "
              "{new} (rules of thumb: 50% and 15%).",
        "zh": "近12个月现有客户销售机会成功率为{existing}，新客户为{new}（经验值：50%和15%）。"},
    "stage": {"en": "Stage", "zh": "阶段"},
    "share_of_first": {"en": "Share of opportunities", "zh": "占比"},
    "opportunities": {"en": "Opportunities", "zh": "销售机会"},
    "payments_title": {"en": "Payments: DSO, ageing and late payers", "zh": "回款：回款周期、账龄与逾期"},
    "payments_sentence": {
        "en": "Days sales outstanding are {dso} days; {late} of invoices due in the last 12 months were paid late "
              "or not at all. {hr_text}",
        "zh": "应收账款周转天数为{dso}天；近12个月到期发票中有{late}逾期或未付。{hr_text}"},
    "late_hr": {"en": "Accounts that always pay late churn at {hr} times the hazard of those that pay on time "
                      "(95% CI {lo}-{hi}, Cox model holding the other drivers fixed).",
                "zh": "始终逾期付款的客户流失风险是按时付款客户的{hr}倍（95%置信区间{lo}-{hi}，Cox模型控制其他因素）。"},
    "ageing_title": {"en": "Open receivables by credit rating and days past due", "zh": "按信用等级与逾期天数的应收账款"},
    "credit_rating": {"en": "Credit rating", "zh": "信用等级"},
    "receivables": {"en": "Open receivables", "zh": "应收账款"},
    "days_past_due": {"en": "Days past due", "zh": "逾期天数"},
    "bucket_not due": {"en": "not due", "zh": "未到期"},
    "bucket_0-30": {"en": "0-30", "zh": "0-30天"},
    "bucket_31-60": {"en": "31-60", "zh": "31-60天"},
    "bucket_61-90": {"en": "61-90", "zh": "61-90天"},
    "bucket_90+": {"en": "90+", "zh": "90天以上"},
    "dso_days": {"en": "DSO (days)", "zh": "回款周期（天）"},
    "late_payment_share": {"en": "Late-payment share", "zh": "逾期付款占比"},
    "complaints_title": {"en": "Complaints (first-contact responsibility)", "zh": "投诉处理（首问负责制）"},
    "complaints_sentence": {
        "en": "{n} complaints in the last 12 months: {resolved} resolved, median {days} days to resolution, "
              "{first} at first contact. {churn_c} of accounts that complained churned, against {churn_o} of the "
              "others.",
        "zh": "近12个月投诉{n}次：已解决{resolved}，解决时间中位数{days}天，首次接触即解决{first}。投诉客户流失率{churn_c}，"
              "其他客户{churn_o}。"},
    "complaint_funnel_title": {"en": "Complaints, last 12 months", "zh": "近12个月投诉"},
    "complaints": {"en": "Complaints", "zh": "投诉"},
    "resolved": {"en": "Resolved", "zh": "已解决"},
    "first_contact": {"en": "Resolved at first contact", "zh": "首次接触即解决"},
    "complaints_12m": {"en": "Complaints", "zh": "投诉次数"},
    "winback_title": {"en": "Win-back", "zh": "客户挽回"},
    "winback_sentence": {
        "en": "{n} churned accounts were won back in the last 12 months at {cost} each, {ratio} the retention "
              "spend per retained account (rule of thumb: 10x).",
        "zh": "近12个月挽回流失客户{n}个，每个花费{cost}，是单个保持客户费用的{ratio}（经验值：10倍）。"},
    "league_title": {"en": "Manager league table", "zh": "客户经理排名"},
    "weights_sentence": {"en": "Composite score = weighted mean of KPI percentile scores (100 = best on every "
                                "KPI); weights:", "zh": "综合得分=各KPI百分位得分的加权平均（100=各项最佳）；权重："},
    "weight": {"en": "Weight", "zh": "权重"},
    "kpi": {"en": "KPI", "zh": "考核指标"},
    "margin_prev_12m": {"en": "Margin, previous 12 months", "zh": "上一个12个月毛利"},
    "margin_growth": {"en": "Margin growth", "zh": "毛利增长"},
    "portfolio_clv": {"en": "Portfolio CLV", "zh": "客户组合终身价值"},
    "visit_compliance": {"en": "Visit compliance", "zh": "拜访达标率"},
    "complaint_resolution_days": {"en": "Complaint resolution (days)", "zh": "投诉解决（天）"},
    "score": {"en": "Score", "zh": "综合得分"},
    "rank": {"en": "Rank", "zh": "排名"},
    "panels_title": {"en": "Each manager: monthly margin, retention, compliance, DSO",
                     "zh": "各客户经理：月度毛利、保持率、达标率、回款周期"},
    "attention_title": {"en": "Accounts that need attention, by manager", "zh": "各客户经理需关注的客户"},
    # executive summary
    "title_summary": {"en": "Executive summary", "zh": "管理摘要"},
    "summary_highlights": {"en": "Highlights", "zh": "要点"},
    # highlight clauses of the executive summary (kamlib.summary.HIGHLIGHTS); "_na": the metric is missing
    "hl_book": {"en": "In the 12 months to {month}, {active_accounts_12m} accounts bought {revenue_12m}, earning "
                      "{margin_12m} of gross margin.",
                "zh": "截至{month}的近12个月，{active_accounts_12m}个客户采购{revenue_12m}，贡献毛利{margin_12m}。"},
    "hl_book_na": {"en": "The book's 12-month totals are not available.", "zh": "近12个月客户群汇总数据不可用。"},
    "hl_equity": {"en": "Customer equity — the value of today's book plus future cohorts net of acquisition cost — "
                        "is {customer_equity}.",
                  "zh": "客户资产价值（现有客户价值加未来客户群扣除获客成本）为{customer_equity}。"},
    "hl_equity_na": {"en": "Customer equity (today's book plus future cohorts net of acquisition cost) is not "
                           "available; the table below says why.",
                     "zh": "客户资产价值（现有客户价值加未来客户群扣除获客成本）暂无法计算，原因见下表。"},
    "hl_churn": {"en": "Churn was {churn_rate_12m}.", "zh": "客户流失率为{churn_rate_12m}。"},
    "hl_churn_na": {"en": "The churn rate is not available; the table below says why.",
                    "zh": "客户流失率暂无法计算，原因见下表。"},
    "hl_at_risk": {"en": "{accounts_at_risk} valuable accounts may have lapsed and should be called.",
                   "zh": "{accounts_at_risk}个高价值客户可能已流失，应尽快联系。"},
    "hl_at_risk_none": {"en": "No valuable account looks lapsed.", "zh": "目前没有疑似流失的高价值客户。"},
    "hl_at_risk_na": {"en": "Churn alerts are not available; the table below says why.",
                      "zh": "流失预警暂不可用，原因见下表。"},
    "hl_top20": {"en": "The top 20% of accounts carry {top20_margin_share} of margin (rule of thumb: 80%).",
                 "zh": "前20%的客户贡献{top20_margin_share}的毛利（经验值80%）。"},
    "hl_top20_na": {"en": "The margin share of the top 20% of accounts is not available.",
                    "zh": "前20%客户的毛利占比不可用。"},
    "hl_cac_ratio": {"en": "Winning an account cost {cac_to_retention_cost_ratio} keeping one (rule of thumb: 5-7x).",
                     "zh": "获取一个客户的成本是保持的{cac_to_retention_cost_ratio}（经验值5-7倍）。"},
    "hl_cac_ratio_na": {"en": "The cost of winning an account against keeping one is not available; the table below "
                              "says why.",
                        "zh": "获客成本与保客成本之比暂无法计算，原因见下表。"},
    "hl_win_rates": {"en": "Existing accounts won {win_rate_existing} of their opportunities, new ones {win_rate_new} "
                           "(50% / 15%).",
                     "zh": "现有客户销售机会成功率{win_rate_existing}，新客户{win_rate_new}（经验值50%/15%）。"},
    "hl_win_rates_na": {"en": "Win rates are not available; the table below says why.",
                        "zh": "销售机会成功率暂无法计算，原因见下表。"},
    "hl_dso": {"en": "Customers pay in {dso_days} days on average.", "zh": "平均回款周期{dso_days}天。"},
    "hl_dso_na": {"en": "Days sales outstanding are not available; the table below says why.",
                  "zh": "回款周期暂无法计算，原因见下表。"},
    "hl_visits": {"en": "{service_compliance_rate} of strategic and A accounts got the visits the policy requires.",
                  "zh": "特级和A级客户拜访达标率{service_compliance_rate}。"},
    "hl_visits_na": {"en": "Visit-policy compliance is not available; the table below says why.",
                     "zh": "拜访达标率暂无法计算，原因见下表。"},
    "summary_table": {"en": "All headline metrics, with last month", "zh": "全部关键指标（含上月）"},
    "summary_no_previous": {"en": "No report of the previous month was found, so there is no comparison yet.",
                            "zh": "未找到上月报告，暂无环比。"},
    "section": {"en": "Section", "zh": "板块"},
    "metric": {"en": "Metric", "zh": "指标"},
    "this_month": {"en": "This month", "zh": "本月"},
    "last_month": {"en": "Last month", "zh": "上月"},
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


# Category values shown in tables (data codes -> display text). Data keep the codes; only display translates.
VALUES: dict[str, dict[str, str]] = {
    # tiers, enterprise types, channels (schema)
    "strategic": {"en": "strategic", "zh": "特级"},
    "state-owned": {"en": "state-owned", "zh": "国有"}, "private": {"en": "private", "zh": "私营"},
    "foreign": {"en": "foreign", "zh": "外资"}, "joint-venture": {"en": "joint-venture", "zh": "合资"},
    "direct": {"en": "direct", "zh": "直销"}, "referral": {"en": "referral", "zh": "老客户推荐"},
    "agent": {"en": "agent", "zh": "代理商"},
    # bundled sample: industries and regions
    "machinery": {"en": "machinery", "zh": "机械"}, "food service": {"en": "food service", "zh": "餐饮"},
    "construction": {"en": "construction", "zh": "建筑"}, "electronics": {"en": "electronics", "zh": "电子"},
    "chemicals": {"en": "chemicals", "zh": "化工"}, "retail chain": {"en": "retail chain", "zh": "连锁零售"},
    "logistics": {"en": "logistics", "zh": "物流"}, "printing": {"en": "printing", "zh": "印刷"},
    "East China": {"en": "East China", "zh": "华东"}, "South China": {"en": "South China", "zh": "华南"},
    "North China": {"en": "North China", "zh": "华北"}, "Central China": {"en": "Central China", "zh": "华中"},
    "West China": {"en": "West China", "zh": "西部"}, "Northeast": {"en": "Northeast", "zh": "东北"},
    # strategies, RFM segments, service and tier changes
    "support_develop": {"en": "Support & develop", "zh": "支持和有利发展"},
    "maintain_efficiently": {"en": "Maintain efficiently", "zh": "维持且高效"},
    "nurture_change": {"en": "Nurture & change behaviour", "zh": "培育并改变行为"},
    "cut_cost_exit": {"en": "Cut cost & exit", "zh": "削减成本与清除"},
    "champions": {"en": "Champions", "zh": "核心客户"}, "loyal": {"en": "Loyal", "zh": "忠诚客户"},
    "cannot_lose": {"en": "Cannot lose", "zh": "不能流失"}, "at_risk": {"en": "At risk", "zh": "风险客户"},
    "new_promising": {"en": "New / promising", "zh": "新客户/潜力"},
    "need_attention": {"en": "Need attention", "zh": "需要关注"},
    "hibernating": {"en": "Hibernating", "zh": "休眠客户"}, "lost": {"en": "Lost", "zh": "流失客户"},
    "other": {"en": "Other", "zh": "其他"},
    "under-served": {"en": "under-served", "zh": "服务不足"}, "over-served": {"en": "over-served", "zh": "服务过度"},
    "upgrade": {"en": "upgrade", "zh": "升级"}, "downgrade": {"en": "downgrade", "zh": "降级"},
    "keep": {"en": "keep", "zh": "保持"},
    "at risk, no retention offer": {"en": "at risk, no retention offer", "zh": "有流失风险但未获挽留优惠"},
    "deep discount, low value": {"en": "deep discount, low value", "zh": "低价值客户享受大幅折扣"},
    # pipeline and payments
    "existing": {"en": "existing", "zh": "现有客户"}, "new": {"en": "new", "zh": "新客户"},
    "won": {"en": "won", "zh": "赢单"}, "open": {"en": "open", "zh": "进行中"},
    "qualification": {"en": "qualification", "zh": "资格确认"}, "proposal": {"en": "proposal", "zh": "方案报价"},
    "negotiation": {"en": "negotiation", "zh": "商务谈判"}, "not due": {"en": "not due", "zh": "未到期"},
    # data tables, exclusion and adjustment reasons (data-quality sections)
    "accounts": {"en": "accounts", "zh": "客户档案"}, "transactions": {"en": "transactions", "zh": "交易明细"},
    "costs": {"en": "costs", "zh": "费用"}, "interactions": {"en": "interactions", "zh": "客户互动记录"},
    "opportunities": {"en": "opportunities", "zh": "销售机会"}, "payments": {"en": "payments", "zh": "回款记录"},
    "return (negative revenue)": {"en": "return (negative revenue)", "zh": "退货（负收入）"},
    "zero revenue": {"en": "zero revenue", "zh": "零收入"},
    "churn dates after the analysis date treated as not yet churned": {
        "en": "churn dates after the analysis date treated as not yet churned", "zh": "流失日期晚于分析日期，视为尚未流失"},
    "win-back dates after the analysis date ignored": {
        "en": "win-back dates after the analysis date ignored", "zh": "赢回日期晚于分析日期，不予计入"},
    "opportunities closed after the analysis date treated as open": {
        "en": "opportunities closed after the analysis date treated as open", "zh": "分析日期后关闭的销售机会视为进行中"},
    "payments after the analysis date treated as unpaid": {
        "en": "payments after the analysis date treated as unpaid", "zh": "分析日期后的回款视为未付"},
    # sections of the executive summary
    "book": {"en": "Book", "zh": "客户概况"}, "clv": {"en": "Lifetime value", "zh": "客户终身价值"},
    "economics": {"en": "Retention vs acquisition", "zh": "保留与获取"},
    "segmentation": {"en": "Segmentation", "zh": "客户细分"}, "scorecard": {"en": "Scorecards", "zh": "客户经理考核"},
    "team median": {"en": "team median", "zh": "团队中位数"},
}

# Values built from a template (the date varies): pattern -> text per language
VALUE_PATTERNS: tuple[tuple[re.Pattern, dict[str, str]], ...] = (
    (re.compile(r"dated after the analysis date (\S+)"),
     {"en": "dated after the analysis date {0}", "zh": "日期晚于分析日期{0}"}),
)


def tv(value, lang: str = "en"):
    """Display text of a category value (a tier, strategy, flag, yes/no ...); other values are unchanged."""
    if isinstance(value, (bool, np.bool_)):
        return t("yes" if value else "no", lang)
    if not isinstance(value, str):
        return value
    if value in VALUES:
        return VALUES[value][lang]
    for pattern, text in VALUE_PATTERNS:
        m = pattern.fullmatch(value)
        if m:
            return text[lang].format(*m.groups())
    return value


def visit_policy_text(visits_per_week: dict, lang: str = "en") -> tuple[str, str]:
    """A visit policy ({tier: visits per week}) in words, and the tiers it covers ('strategic and A')."""
    def name(tier) -> str:
        return t(f"tier_name_{tier}", lang) if f"tier_name_{tier}" in LABELS else str(tv(tier, lang))
    rules = t("list_separator", lang).join(t("visit_rule", lang, tier=name(k), n=v)
                                           for k, v in visits_per_week.items())
    return rules, t("list_and", lang).join(name(k) for k in visits_per_week)


def join_reasons(reasons: pd.DataFrame, lang: str = "en") -> pd.Series:
    """The non-empty reason columns of each row joined into one text ('' when there is none)."""
    sep = t("reason_separator", lang)
    return pd.Series([sep.join(v for v in row if v) for row in reasons.itertuples(index=False)],
                     index=reasons.index, dtype=object)


def header(key, lang: str = "en", prefer_values: bool = False):
    """Display text of a table header or row key: a label, 'rank_<kpi>', a model covariate or a value
    (row keys pass ``prefer_values``: 'accounts' as a row is the accounts table, as a column the count)."""
    if not isinstance(key, str) or (prefer_values and key in VALUES):
        return tv(key, lang)
    if key in LABELS:
        return t(key, lang)
    if key.startswith("rank_") and key[5:] in LABELS:
        return t("rank_of", lang, kpi=t(key[5:], lang))
    if "cov_" + key in LABELS:
        return t("cov_" + key, lang)
    return tv(key, lang)

"""Segmentation and account strategy: RFM scores, the value x potential matrix, clusters, price flags.

The per-account frame (:func:`account_frame`) joins window revenue/margin, cost-to-serve, visits, RFM and
potential; everything else is a pure function of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data import aggregate as agg
from . import book, concentration, service
from ..data.dataset import Dataset
from ..text.display import Shown, Summary, headed
from ..text.i18n import t
from ..data.periods import window_12m

STRATEGIES = ("support_develop", "maintain_efficiently", "nurture_change", "cut_cost_exit")
ACTIONS = {
    "support_develop": {
        "en": "Personalised offers and joint planning; senior contact; reward loyalty; protect from competitors.",
        "zh": "个性化方案与联合规划；高层对接；奖励忠诚；防范竞争对手。"},
    "maintain_efficiently": {
        "en": "Keep the business; move service to cheaper channels (phone, portal); avoid over-servicing.",
        "zh": "保住业务；将服务转向低成本渠道（电话、平台）；避免过度服务。"},
    "nurture_change": {
        "en": "Grow share of wallet; cross-sell; change ordering behaviour (larger, fewer orders) to become profitable.",
        "zh": "提升钱包份额；交叉销售；改变订货行为（少批次、大批量），使其盈利。"},
    "cut_cost_exit": {
        "en": "Standardise service, minimum order sizes, decline unprofitable demands; exit if still loss-making.",
        "zh": "标准化服务、设最低订货量、拒绝亏损需求；仍亏损则考虑退出。"},
}
RFM_SEGMENTS = (  # (name, en, zh, rule on R and FM = mean of F and M scores)
    ("champions", "Champions", "核心客户", lambda r, fm: (r >= 4) & (fm >= 4)),
    ("loyal", "Loyal", "忠诚客户", lambda r, fm: (r >= 3) & (fm >= 3.5)),
    ("cannot_lose", "Cannot lose", "不能流失", lambda r, fm: (r <= 2) & (fm >= 4)),
    ("at_risk", "At risk", "风险客户", lambda r, fm: (r <= 2) & (fm >= 2.5)),
    ("new_promising", "New / promising", "新客户/潜力", lambda r, fm: (r >= 4) & (fm < 2.5)),
    ("need_attention", "Need attention", "需要关注", lambda r, fm: (r >= 3)),
    ("hibernating", "Hibernating", "休眠客户", lambda r, fm: (r == 2)),
    ("lost", "Lost", "流失客户", lambda r, fm: r <= 1),
)


def quantile_scores(values: pd.Series, bins: int = 5, higher_is_better: bool = True) -> tuple[pd.Series, np.ndarray]:
    """Scores 1..bins from the empirical quantiles of ``values``; tie-safe (equal values share a score).

    Edges are the (k/bins) quantiles, k = 1..bins-1 (linear interpolation); a value's score is 1 + the number
    of edges strictly below it (or, when lower is better, bins - that). Heavy ties give uneven bins, never
    split equal accounts. Returns (scores, edges).
    """
    v = pd.Series(values, dtype=float)
    edges = np.quantile(v, np.arange(1, bins) / bins) if len(v) else np.array([])
    raw = 1 + np.searchsorted(edges, v.to_numpy(), side="left")
    scores = raw if higher_is_better else bins + 1 - raw
    return pd.Series(scores, index=v.index, dtype="int64"), edges


def rfm_scores(recency_days: pd.Series, frequency: pd.Series, monetary: pd.Series, bins: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """R (recent is better), F and M scores 1..bins with a named segment, and the documented bin edges."""
    r, r_edges = quantile_scores(recency_days, bins, higher_is_better=False)
    f, f_edges = quantile_scores(frequency, bins)
    m, m_edges = quantile_scores(monetary, bins)
    fm = (f + m) / 2
    seg = np.select([rule(r, fm) for *_, rule in RFM_SEGMENTS], [s[0] for s in RFM_SEGMENTS], "other")
    out = pd.DataFrame({"r_score": r, "f_score": f, "m_score": m, "rfm_segment": seg})
    edges = pd.DataFrame({"recency_days": r_edges, "frequency": f_edges, "monetary": m_edges},
                         index=[f"{k}/{bins}" for k in range(1, bins)])
    return out, edges


VALUE_SHARE = 0.8       # high value: the accounts that together make 80% of the margin
POTENTIAL_SHARE = 0.8   # high potential: the accounts that together hold 80% of the (positive) potential


def share_threshold(values: pd.Series, share: float) -> float:
    """The smallest of the largest values that together make ``share`` of the positive total (inf when there
    is none): an account at or above it is among those that carry the book."""
    v = values.fillna(0.0).clip(lower=0.0).sort_values(ascending=False)
    total = float(v.sum())
    if total <= 0:
        return float("inf")
    n = int((v.cumsum().to_numpy() / total < share - 1e-12).sum()) + 1
    return float(v.iloc[min(n, len(v)) - 1])


def strategy(value: pd.Series, potential: pd.Series, value_threshold: float | None = None,
             potential_threshold: float | None = None, *, profit: pd.Series | None = None,
             value_share: float = VALUE_SHARE, potential_share: float = POTENTIAL_SHARE) -> pd.Series:
    """The four strategies from value and potential (at or above the threshold is high), the rule stated in
    ``attrs``: high value = the accounts that together make ``value_share`` of the value (12-month margin),
    high potential likewise with ``potential_share``, unless thresholds are given. Low value and low potential
    is 'cut cost-to-serve or exit' only for accounts unprofitable after cost-to-serve (``profit`` < 0); the
    other low-low accounts are 'maintain efficiently' (all of them when cost-to-serve is unknown) — so the exit
    quadrant is not half the book by construction."""
    from ..models.arguments import fraction
    fraction("value_share", value_share)
    fraction("potential_share", potential_share)
    potential = potential.reindex(value.index)
    vt = share_threshold(value, value_share) if value_threshold is None else float(value_threshold)
    pt = share_threshold(potential, potential_share) if potential_threshold is None else float(potential_threshold)
    hv, hp = value >= vt, potential >= pt
    loss = (profit.reindex(value.index) < 0) if profit is not None else pd.Series(False, index=value.index)
    s = np.select([hv & hp, hv & ~hp, ~hv & hp, loss], list(STRATEGIES), "maintain_efficiently")
    out = pd.Series(s, index=value.index, name="strategy")
    out.attrs |= {"value_threshold": vt, "potential_threshold": pt, "value_share": value_share,
                  "potential_share": potential_share,
                  "cost_to_serve_known": bool(profit is not None and profit.notna().any())}
    return out


def strategy_table(frame: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """Per strategy (labelled in ``lang``): accounts, window margin, cost-to-serve, profit and suggested
    actions; empty rows kept."""
    g = frame.groupby("strategy").agg(accounts=("strategy", "size"), gross_margin=("gross_margin", "sum"),
                                      cost_to_serve=("cost_to_serve", "sum"), potential=("potential", "sum"))
    g = g.reindex(list(STRATEGIES), fill_value=0)
    g["profit_after_cost_to_serve"] = g["gross_margin"] - g["cost_to_serve"]
    g["actions"] = [ACTIONS[s][lang] for s in g.index]
    return g.rename(index=lambda s: t(f"strategy_{s}", lang))


@dataclass(repr=False)
class Segmentation(Shown):
    """Per-account frame and the parameters that produced it.

    ``frame``, indexed by account_id (accounts in the book with an order): the profile columns (name, tier,
    account_manager, industry, region, acquisition_channel, enterprise_type), ``revenue`` / ``gross_margin`` /
    ``orders_12m`` of the 12-month window, ``recency_days`` (days since the last order), ``cost_to_serve`` and
    ``profit_after_cost_to_serve`` (NaN without interactions), ``potential`` (see ``potential_source``),
    ``r_score`` / ``f_score`` / ``m_score`` (1-4 quartile scores, 4 best) and ``rfm_segment``, ``abc_class`` (by
    window margin), ``strategy`` (value x potential), ``suggested_tier`` and ``tier_change``,
    ``visits_per_week`` and ``service_flag`` (against the visit policy). ``window``: revenue and gross_margin of
    every account with window revenue; ``compliance``: visits against the policy per account (None: no
    interactions table)."""

    frame: pd.DataFrame
    rfm_edges: pd.DataFrame
    compliance: pd.DataFrame | None        # None: no interactions table, visits unknown
    potential_source: str
    policy: service.ServicePolicy
    window: pd.DataFrame                   # revenue and margin of every account with window revenue (churned too)
    strategy_rule: dict = field(default_factory=dict)   # thresholds and shares of the strategies (strategy attrs)

    @property
    def has_cost_to_serve(self) -> bool:
        return bool(self.frame["cost_to_serve"].notna().any())

    @property
    def reasons(self) -> dict[str, str]:
        """Metric -> text key of why it is not available (visits unknown without an interactions table)."""
        out = {}
        if not self.has_cost_to_serve:
            out["unprofitable_accounts_after_cost_to_serve"] = "reason_no_interactions"
        if self.compliance is None:
            out["service_compliance_rate"] = "reason_no_interactions"
        return out

    def summary(self, lang: str = "en") -> Summary:
        """Accounts, window margin and potential per strategy."""
        g = self.frame.groupby("strategy").agg(accounts=("strategy", "size"), gross_margin=("gross_margin", "sum"),
                                               potential=("potential", "sum")).reindex(list(STRATEGIES))
        g = g.rename(index=lambda s: t(f"strategy_{s}", lang))
        info = [(t("accounts", lang), f"{len(self.frame):,}"),
                (t("res_potential_source", lang), self.potential_source.removeprefix("potential_")),
                (t("res_cost_to_serve_known", lang), t("yes" if self.has_cost_to_serve else "no", lang))]
        return Summary(t("res_segmentation_title", lang), info, headed(g, lang))

    def metrics(self) -> dict:
        """Headline metrics: concentration over every account with revenue in the 12-month window, churned ones
        included (docs/metrics.md); the rest over the strategy population (accounts in the book)."""
        out = concentration.concentration_metrics(self.window)
        out["unprofitable_accounts_after_cost_to_serve"] = (
            int((self.frame["profit_after_cost_to_serve"] < 0).sum()) if self.has_cost_to_serve else None)
        pol = (self.compliance[self.compliance["tier"].isin(["strategic", "A"])] if self.compliance is not None
               else self.compliance)
        out["service_compliance_rate"] = float(pol["compliant"].mean()) if pol is not None and len(pol) else None
        counts = self.frame["strategy"].value_counts()
        for s in STRATEGIES:
            out[f"strategy_{s}"] = int(counts.get(s, 0))
        return out


def window_sales(ds: Dataset) -> pd.DataFrame:
    """Revenue, gross margin and order lines per account (index) over the 12-month window to the analysis
    date, aggregated in the engine: accounts with order lines in the window. Those with revenue are the
    population of the concentration metrics (:meth:`Segmentation.metrics`)."""
    w = window_12m(ds.analysis_date)
    return agg.execute(agg.window_by_account(ds.table("transactions"), start=w.start, end=w.end)
                       ).set_index("account_id")


def account_frame(ds: Dataset, potential: pd.Series | None = None, *, potential_source: str = "potential_clv",
                  value_threshold=None,
                  potential_threshold=None, value_share: float = VALUE_SHARE, potential_share: float = POTENTIAL_SHARE,
                  policy: service.ServicePolicy = service.ServicePolicy(),
                  tier_rules: dict = service.DEFAULT_TIER_RULES, visit_cost: float = 500.0,
                  allocation: str = "revenue") -> Segmentation:
    """Everything segmentation needs per account, for accounts in the book at the analysis date.

    Population: accounts in the book at the analysis date (not recorded as churned on or before it, or won
    back since: :func:`kamlib.analysis.book.churned_as_of`) that ordered at least once up to it. ``potential``: CLV per
    account (default use) or another potential per account, described by the i18n key ``potential_source``
    (``"potential_clv"``, ``"potential_whitespace"``); when None, potential is the growth of window margin over
    the previous 12 months (``"potential_margin_growth"``).
    """
    end = ds.analysis_date
    w = window_12m(end)
    tx = ds.table("transactions")
    win = window_sales(ds)
    hist = agg.execute(agg.last_order_by_account(tx, end=end)).set_index("account_id")
    acc = ds.accounts.set_index("account_id")
    ids = acc.index[~book.churned_as_of(acc, end) & acc.index.isin(hist.index)]
    f = acc.loc[ids, ["name", "tier", "account_manager", "industry", "region", "acquisition_channel",
                      "enterprise_type"]].copy()
    f[["revenue", "gross_margin"]] = win[["revenue", "gross_margin"]].reindex(ids).fillna(0.0)
    f["orders_12m"] = win["lines"].reindex(ids).fillna(0)
    f["recency_days"] = (end - hist["last_order"].reindex(ids)).dt.days
    f["cost_to_serve"] = service.cost_to_serve(ds, w.start, w.end, visit_cost=visit_cost,
                                               allocation=allocation).reindex(ids)
    f["profit_after_cost_to_serve"] = f["gross_margin"] - f["cost_to_serve"]
    if potential is None:
        prev_start, prev_end = w.start - pd.DateOffset(years=1), w.start - pd.Timedelta(days=1)
        prev = agg.execute(agg.window_by_account(tx, start=prev_start, end=prev_end)).set_index("account_id")
        f["potential"] = f["gross_margin"] - prev["gross_margin"].reindex(ids).fillna(0.0)
        source = "potential_margin_growth"
    else:
        f["potential"] = potential.reindex(ids).fillna(0.0)
        source = potential_source
    scores, edges = rfm_scores(f["recency_days"], f["orders_12m"], f["revenue"])
    f = f.join(scores)
    f["abc_class"] = concentration.abc_classes(f["gross_margin"])
    rule = strategy(f["gross_margin"], f["potential"], value_threshold, potential_threshold,
                    profit=f["profit_after_cost_to_serve"], value_share=value_share, potential_share=potential_share)
    f["strategy"] = rule
    f["suggested_tier"] = service.suggested_tiers(f["gross_margin"], tier_rules)
    f["tier_change"] = service.tier_changes(f["tier"], f["suggested_tier"])
    everyone = service.ServicePolicy({**{t: 0.0 for t in service.TIERS}, **policy.visits_per_week}, policy.holidays)
    seen = ds.interactions_of(["visit"], start=w.start, end=w.end)
    visits = service.visit_compliance(acc.loc[ids].reset_index(), seen, w.start, w.end, everyone)
    if visits is None:           # visits unknown: no flag rather than 'under-served'
        f["visits_per_week"], f["service_flag"] = np.nan, ""
    else:
        f["visits_per_week"] = visits["visits_per_week"].reindex(ids)
        f["service_flag"] = service.service_flags(f["suggested_tier"], f["visits_per_week"], policy)
    compliance = service.visit_compliance(acc.loc[ids].reset_index(), seen, w.start, w.end, policy)
    return Segmentation(f, edges, compliance, source, policy, win.loc[win["revenue"] > 0, ["revenue", "gross_margin"]],
                        dict(rule.attrs))


def whitespace(ds: Dataset, peers: tuple[str, ...] = ("industry", "tier"), *, min_share: float = 0.5,
               far_below: float = 0.25, min_peers: int = 5) -> pd.DataFrame:
    """Cross-sell whitespace: per account, the product categories most of its peers buy and it does not, or
    buys far below them, over the 12-month window, with the cross-sell *potential* that account's size implies.

    Assessed: the accounts active in the window (revenue, in the book at the analysis date) with a full window
    in the book (acquired at least 12 months before the analysis date: a younger account has not had the time
    to buy what its peers buy in a year) and a positive window margin (the scale of the potential). Peers: the
    other assessed accounts with the same ``peers`` attributes, in groups of at least ``min_peers`` accounts.
    An account *buys* a category when its revenue there, net of the returns the data hold, is positive —
    whatever the margin (an account buying at a loss buys). A category is whitespace for an account when at
    least ``min_share`` of its peers buy it and the account does not ("not bought"), or its share of its own
    revenue there is below ``far_below`` x the peers' median share ("below peers"). The potential scales with
    the account: the peers' median share of their margin in the category x the account's window margin, less
    its own margin there — what the account would earn there a year if it bought like its peers; a size, not a
    forecast, and not to be summed as money to come.

    Columns: account_id, product_category, status, margin (the account's in the category), revenue_share,
    peer_median_revenue_share, peer_median_margin_share, peer_share (of peers buying it), peers,
    account_margin (window), potential; largest potential first. ``attrs``: ``assessed`` (accounts),
    ``left_out_new`` (active accounts with less than 12 months in the book), ``left_out_no_margin`` (active
    accounts with a window margin of 0 or less)."""
    from ..models.arguments import columns_of, fraction, positive
    columns_of("peers", peers, ds.accounts, "the accounts table")
    fraction("min_share", min_share)
    fraction("far_below", far_below)
    positive("min_peers", min_peers, integer=True)
    w = window_12m(ds.analysis_date)
    per = agg.execute(agg.margin_by_account_category(ds.table("transactions"), start=w.start, end=w.end))
    acc = ds.accounts.set_index("account_id")
    rev = per.pivot_table(index="account_id", columns="product_category", values="revenue", aggfunc="sum",
                          fill_value=0.0)
    mar = per.pivot_table(index="account_id", columns="product_category", values="gross_margin", aggfunc="sum",
                          fill_value=0.0).reindex(index=rev.index, columns=rev.columns, fill_value=0.0)
    active = rev.index[(rev.sum(axis=1) > 0).to_numpy()]
    active = active[~book.churned_as_of(acc.loc[active], ds.analysis_date).to_numpy()]
    new = acc.loc[active, "acquired_on"] > w.start
    total = mar.loc[active].sum(axis=1)
    no_margin = ~new.to_numpy() & (total <= 0).to_numpy()
    ids = active[~new.to_numpy() & ~no_margin]
    rev, mar, total = rev.loc[ids], mar.loc[ids], total.loc[ids]
    columns = ["account_id", "product_category", "status", "margin", "revenue_share", "peer_median_revenue_share",
               "peer_median_margin_share", "peer_share", "peers", "account_margin", "potential"]
    attrs = {"assessed": len(ids), "left_out_new": int(new.sum()), "left_out_no_margin": int(no_margin.sum())}
    if len(ids) == 0:
        out = pd.DataFrame(columns=columns)
        out.attrs.update(attrs)
        return out
    groups = acc.loc[ids, list(peers)].astype(str).agg(" | ".join, axis=1).rename("group")
    size = groups.map(groups.value_counts())
    bought = rev > 0
    # leave-one-out: the peers of an account are the others in its group
    buyers = bought.astype(float).groupby(groups).transform("sum") - bought
    share = buyers.div((size - 1).where(size - 1 > 0), axis=0)
    rshare = rev.div(rev.sum(axis=1), axis=0)
    mshare = mar.div(total, axis=0)
    med_r = rshare.where(bought).groupby(groups).transform("median")
    med_m = mshare.where(bought).groupby(groups).transform("median")
    long = pd.DataFrame({"bought": bought.stack(), "margin": mar.stack(), "revenue_share": rshare.stack(),
                         "peer_median_revenue_share": med_r.stack(), "peer_median_margin_share": med_m.stack(),
                         "peer_share": share.stack()})
    long = long.join(size.rename("group_size"), on="account_id").join(total.rename("account_margin"),
                                                                       on="account_id")
    long["peers"] = long["group_size"] - 1
    keep = ((long["peers"] >= min_peers - 1) & (long["peer_share"] >= min_share)
            & long["peer_median_revenue_share"].gt(0) & long["peer_median_margin_share"].gt(0))
    gap = ~long["bought"] | (long["revenue_share"] < far_below * long["peer_median_revenue_share"])
    long = long[keep & gap].copy()
    long["status"] = np.where(long["bought"], "below peers", "not bought")
    long["potential"] = (long["peer_median_margin_share"] * long["account_margin"]
                         - long["margin"].clip(lower=0)).clip(lower=0)
    out = long[long["potential"] > 0].reset_index()[columns]
    out = out.sort_values(["potential", "account_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out.attrs.update(attrs)
    return out


def whitespace_potential(ws: pd.DataFrame) -> pd.Series:
    """Per account, the sum of its whitespace potentials: a ranking axis for the value x potential matrix (how
    far the account's buying falls short of its peers', in margin a year), not money expected to come."""
    return ws.groupby("account_id")["potential"].sum().rename("whitespace")


def clusters(frame: pd.DataFrame, k_range=range(3, 9), seed: int = 0) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """K-means on standardised behaviour features; k chosen by the silhouette score (seeded, stable).

    Returns (cluster per account, silhouette by k, cluster profiles with feature means and sizes).
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    feats = pd.DataFrame({
        "log_revenue": np.log1p(frame["revenue"].clip(lower=0)),
        "margin_rate": (frame["gross_margin"] / frame["revenue"].where(frame["revenue"] > 0)).fillna(0).clip(-1, 1),
        "log_orders": np.log1p(frame["orders_12m"]),
        "log_recency_days": np.log1p(frame["recency_days"]),
        "visits_per_week": frame["visits_per_week"].fillna(0),
    }, index=frame.index)
    x = StandardScaler().fit_transform(feats)
    ks = [k for k in k_range if k < len(frame)]
    if not ks:
        raise ValueError(f"need more than {min(k_range)} accounts to cluster, got {len(frame)}")
    sample = min(len(frame), 3000)
    fits, scores = {}, {}
    for k in ks:
        km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(x)
        fits[k] = km
        scores[k] = silhouette_score(x, km.labels_, sample_size=sample, random_state=seed)
    best = max(scores, key=scores.get)
    labels = pd.Series(fits[best].labels_, index=frame.index, name="cluster")
    # order clusters by mean revenue so labels are stable and readable (0 = highest revenue)
    order = feats.groupby(labels)["log_revenue"].mean().sort_values(ascending=False).index
    labels = labels.map({old: new for new, old in enumerate(order)})
    profile = frame.assign(cluster=labels).groupby("cluster").agg(
        accounts=("revenue", "size"), revenue=("revenue", "mean"), gross_margin=("gross_margin", "mean"),
        orders_12m=("orders_12m", "mean"), recency_days=("recency_days", "mean"),
        visits_per_week=("visits_per_week", "mean"))
    diag = pd.DataFrame({"silhouette": pd.Series(scores)}).rename_axis("k")
    diag["chosen"] = diag.index == best
    return labels, diag, profile


def cluster_names(profile: pd.DataFrame, lang: str = "en") -> pd.Series:
    """A name per cluster from its profile (:func:`clusters`), e.g. 'large, frequent, low margin': revenue,
    orders and margin rate against the account-weighted mean of all clusters (recency added when two names
    would be the same)."""
    from ..text.i18n import t
    w = profile["accounts"] / profile["accounts"].sum()
    rate = profile["gross_margin"] / profile["revenue"].where(profile["revenue"] > 0)

    def side(values: pd.Series, high: str, low: str) -> pd.Series:
        mean = float((values.fillna(0) * w).sum())
        return values.map(lambda v: t(high if v >= mean else low, lang))

    parts = [side(profile["revenue"], "cluster_large", "cluster_small"),
             side(profile["orders_12m"], "cluster_frequent", "cluster_occasional"),
             side(rate, "cluster_high_margin", "cluster_low_margin")]
    sep = t("list_separator", lang)
    names = pd.Series([sep.join(p) for p in zip(*parts)], index=profile.index, name="cluster")
    recency = side(profile["recency_days"], "cluster_lapsing", "cluster_recent")
    twice = names.duplicated(keep=False)
    names[twice] = names[twice] + sep + recency[twice]
    twice = names.duplicated(keep=False)                       # still the same: number them
    names[twice] = names[twice] + " (" + (names[twice].groupby(names[twice]).cumcount() + 1).astype(str) + ")"
    return names


def price_sensitivity(ds: Dataset, frame: pd.DataFrame, *, p_alive: pd.Series | None = None,
                      min_months: int = 6, deep_discount: float = 0.10, offer_discount: float = 0.05,
                      risk_threshold: float = 0.5) -> pd.DataFrame | None:
    """Per account: Spearman correlation of monthly mean discount and monthly revenue, mean discount, and
    flags — 'at risk, no retention offer' (P(alive) < threshold and no month in the last 3 with mean
    discount >= ``offer_discount``) and 'deep discount, low value' (C-class by value, mean discount >=
    ``deep_discount``). None when the transactions have no discount column."""
    tx = ds.table("transactions")
    if "discount" not in tx.columns:
        return None
    end = ds.analysis_date
    m = agg.execute(agg.discount_by_account_month(tx, end=end))
    m = m[m["account_id"].isin(frame.index)].assign(month=lambda d: d["month"].dt.to_period("M"))
    m = m.set_index(["account_id", "month"]).sort_index()
    m["discount"] = m["discounted"] / m["revenue"]
    ranks = m.groupby(level=0)[["discount", "revenue"]].rank()
    n = m.groupby(level=0).size()
    corr = _corr_by_account(ranks["discount"], ranks["revenue"])
    last3 = m[m.index.get_level_values(1) > pd.Period(end, "M") - 3]
    offered = (last3["discount"] >= offer_discount).groupby(level=0).any()
    w = window_12m(end)
    recent = m[m.index.get_level_values(1) >= pd.Period(w.start, "M")]
    mean_disc = recent["discounted"].groupby(level=0).sum() / recent["revenue"].groupby(level=0).sum()
    out = pd.DataFrame(index=frame.index)
    out["months"] = n.reindex(out.index).fillna(0).astype(int)
    out["discount_volume_correlation"] = corr.where(n >= min_months).reindex(out.index)
    out["mean_discount_12m"] = mean_disc.reindex(out.index)
    out["retention_offer_last_3m"] = offered.reindex(out.index).fillna(False).astype(bool)
    flags = pd.Series("", index=out.index)
    if p_alive is not None:
        risk = p_alive.reindex(out.index) < risk_threshold
        flags[risk & ~out["retention_offer_last_3m"]] = "at risk, no retention offer"
    deep = (frame["abc_class"] == "C") & (out["mean_discount_12m"] >= deep_discount)
    flags[deep] = "deep discount, low value"
    out["price_flag"] = flags
    return out


def _corr_by_account(x: pd.Series, y: pd.Series) -> pd.Series:
    """Pearson correlation of ``x`` and ``y`` per account (the first index level) over the rows where both are
    known, as ``groupby(level=0).corr()`` gives it (NaN for fewer than two rows or no variation), from group
    sums rather than a Python call per account."""
    both = x.notna() & y.notna()
    x, y = x[both], y[both]
    account = x.index.get_level_values(0)
    dx = x - x.groupby(account).transform("mean")
    dy = y - y.groupby(account).transform("mean")
    sums = pd.DataFrame({"xy": dx * dy, "xx": dx * dx, "yy": dy * dy}).groupby(account).sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return (sums["xy"] / np.sqrt(sums["xx"] * sums["yy"])).where(lambda r: np.isfinite(r))


def rule_vs_measured(metrics: dict, lang: str = "en") -> pd.DataFrame:
    """The '20/80' rule of thumb beside this book's measured values."""
    rows = [(t("top20_claim", lang), 0.8, metrics["top20_margin_share"]),
            (t("share80_claim", lang), 0.2, metrics["accounts_share_for_80pct_margin"])]
    return pd.DataFrame(rows, columns=["claim", "rule_of_thumb", "measured"]).set_index("claim")

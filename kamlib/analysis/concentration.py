"""Who carries the revenue and the profit: top shares, Lorenz curve, Gini, HHI, ABC classes, whale curve.

All functions take plain arrays or Series of per-account values (window revenue or margin), so they are
exact and testable by hand; :func:`concentration_metrics` applies the headline definitions.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..models.arguments import fraction


def _values(values) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim != 1:
        raise ValueError("expected one value per account")
    if not np.isfinite(v).all():
        raise ValueError("values contain NaN or infinite entries")
    return v


def top_share(values, share: float = 0.2) -> float | None:
    """Total of the top ceil(share * n) accounts / total (None when the total is not positive); ``share`` is a
    fraction (0.2 for the top 20%)."""
    fraction("share", share)
    v = np.sort(_values(values))[::-1]
    if len(v) == 0 or v.sum() <= 0:
        return None
    return float(v[: math.ceil(share * len(v))].sum() / v.sum())


def share_of_accounts_for(values, target: float = 0.8) -> float | None:
    """Smallest share of accounts, ranked by value, whose cumulative value reaches ``target`` of the total."""
    fraction("target", target)
    v = np.sort(_values(values))[::-1]
    total = v.sum()
    if len(v) == 0 or total <= 0:
        return None
    k = int(np.argmax(np.cumsum(v) >= target * total - 1e-12 * abs(total))) + 1
    return k / len(v)


def gini(values) -> float | None:
    """Population Gini coefficient sum_ij |x_i - x_j| / (2 n^2 mean); needs non-negative values."""
    v = np.sort(_values(values))
    if len(v) == 0 or v.sum() <= 0:
        return None
    if v[0] < 0:
        raise ValueError("the Gini coefficient needs non-negative values")
    n = len(v)
    return float(2 * np.sum(np.arange(1, n + 1) * v) / (n * v.sum()) - (n + 1) / n)


def hhi(values) -> float | None:
    """Herfindahl-Hirschman index: the sum of squared shares (1/n for equal accounts, 1 for a monopoly)."""
    v = _values(values)
    if len(v) == 0 or v.sum() <= 0:
        return None
    return float(np.sum((v / v.sum()) ** 2))


def lorenz_curve(values) -> pd.DataFrame:
    """Points of the Lorenz curve: cumulative share of accounts (smallest first) vs cumulative share of value."""
    v = np.sort(_values(values))
    n = len(v)
    return pd.DataFrame({"account_share": np.arange(n + 1) / max(n, 1),
                         "value_share": np.r_[0.0, np.cumsum(v) / v.sum()] if n and v.sum() else np.zeros(n + 1)})


def top_share_curve(values, steps: int = 20) -> pd.DataFrame:
    """Share of the total made by the top x of accounts (ranked largest first), x = 0, 1/steps, ..., 1: each
    point is :func:`top_share` (so x = 0.2 is the top-20% share); empty when the total is not positive."""
    xs = np.linspace(0.0, 1.0, steps + 1)
    ys = [0.0] + [top_share(values, float(x)) for x in xs[1:]]
    if any(y is None for y in ys):
        return pd.DataFrame(columns=["account_share", "value_share"])
    return pd.DataFrame({"account_share": xs, "value_share": ys})


def abc_classes(values: pd.Series, thresholds: tuple[float, float] = (0.8, 0.95)) -> pd.Series:
    """ABC (Pareto) class per account: A while the cumulative share before the account is below the first
    threshold (so the account that crosses 80% is still A), B below the second, C after; accounts without
    positive value are C. Equal values keep their input order (stable sort), so classes are reproducible."""
    if not 0 < thresholds[0] < thresholds[1] <= 1:
        raise ValueError(f"thresholds must satisfy 0 < a < b <= 1, got {thresholds}")
    s = pd.Series(values, dtype=float)
    order = s.sort_values(ascending=False, kind="stable")
    total = order.clip(lower=0).sum()
    if total <= 0:
        return pd.Series("C", index=s.index, name="abc_class")
    before = (order.clip(lower=0).cumsum() - order.clip(lower=0)) / total
    cls = np.select([before < thresholds[0] - 1e-12, before < thresholds[1] - 1e-12], ["A", "B"], "C")
    cls = np.where(order.to_numpy() <= 0, "C", cls)
    return pd.Series(cls, index=order.index, name="abc_class").reindex(s.index)


def abc_table(values: pd.Series, thresholds: tuple[float, float] = (0.8, 0.95)) -> pd.DataFrame:
    """Accounts and value per ABC class (all three classes shown, empty ones as 0)."""
    cls = abc_classes(values, thresholds)
    out = pd.DataFrame({"abc_class": cls, "value": values}).groupby("abc_class")["value"].agg(["size", "sum"])
    out = out.reindex(["A", "B", "C"], fill_value=0).rename(columns={"size": "accounts", "sum": "value"})
    out["account_share"] = out["accounts"] / max(out["accounts"].sum(), 1)
    out["value_share"] = out["value"] / out["value"].sum() if out["value"].sum() else 0.0
    return out


def whale_curve(profit: pd.Series) -> pd.DataFrame:
    """Cumulative profit (after cost-to-serve) with accounts ranked from most to least profitable.

    The curve peaks above 100% of total profit when some accounts destroy profit; ``peak`` marks it.
    """
    p = pd.Series(profit, dtype=float).sort_values(ascending=False, kind="stable")
    total = p.sum()
    cum = p.cumsum()
    out = pd.DataFrame({"account_id": p.index, "profit": p.to_numpy(),
                        "account_share": np.arange(1, len(p) + 1) / len(p),
                        "cumulative_profit": cum.to_numpy(),
                        "cumulative_share": cum.to_numpy() / total if total else np.nan})
    out["peak"] = False
    if len(out):
        out.loc[int(np.argmax(out["cumulative_profit"].to_numpy())), "peak"] = True
    return out


def concentration_metrics(window: pd.DataFrame) -> dict[str, float | None]:
    """The headline concentration metrics over accounts with window revenue (columns revenue, gross_margin)."""
    active = window[window["revenue"] > 0]
    return {"top20_margin_share": top_share(active["gross_margin"], 0.2),
            "accounts_share_for_80pct_margin": share_of_accounts_for(active["gross_margin"], 0.8),
            "gini_revenue": gini(active["revenue"]),
            "hhi_revenue": hhi(active["revenue"])}

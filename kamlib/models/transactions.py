"""What every fitted purchase-process model (BG/NBD, Pareto/NBD) offers beyond its parameters: CLV.

Subclasses provide ``p_alive(rfm)``, ``expected_purchases_if_alive(t, rfm)`` (conditional on history),
``expected_purchases_new(t)`` (a newly acquired account) and ``simulate(T, rng, future)``.

Units are explicit: model time is in ``time_unit`` (the unit of the ``rfm_summary`` it was fitted on, e.g.
weeks); CLV horizons are in calendar months; discount rates are annual unless ``rate_period="month"``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..data.aggregate import UNIT_DAYS
from .arguments import fraction, non_negative
from .base import FitResults, compress, require_columns

RFM_COLUMNS = ["frequency", "recency", "T"]
#: an account's age at the start of its observation window (left truncation; 0: observed from its first purchase)
AGE_COLUMN = "age_at_start"

MONTH_DAYS = 365.25 / 12


def monthly_discount_rate(discount_rate: float, rate_period: str = "annual") -> float:
    """Per-month rate equivalent to ``discount_rate`` given per year (``"annual"``) or per month."""
    fraction("discount_rate", discount_rate)
    if rate_period == "annual":
        return (1 + discount_rate) ** (1 / 12) - 1
    if rate_period == "month":
        return discount_rate
    raise ValueError(f"rate_period must be 'annual' or 'month', got {rate_period!r}")


class TransactionResults(FitResults):
    """Fitted purchase-process model: P(alive), expected purchases and customer lifetime value."""

    def p_alive(self, rfm: pd.DataFrame) -> pd.Series:  # pragma: no cover - abstract
        raise NotImplementedError

    def _alive(self, rfm: pd.DataFrame, alive: np.ndarray | None) -> np.ndarray:
        """``alive`` (P(alive) of the accounts of ``rfm``, already computed), or P(alive) computed now."""
        return self.p_alive(rfm).to_numpy() if alive is None else alive

    def expected_purchases_if_alive(self, t, rfm: pd.DataFrame) -> np.ndarray:  # pragma: no cover - abstract
        """Per account (a number ``t``), or a (k, accounts) table for a column of k times (``t`` shaped (k, 1))."""
        raise NotImplementedError

    def expected_purchases(self, t, rfm: pd.DataFrame) -> pd.Series:
        """E[Y(t) | x, t_x, T]: expected repeat purchases of each account in the next ``t`` time units."""
        non_negative("t", t)
        ey = self.expected_purchases_if_alive(t, rfm) * self.p_alive(rfm).to_numpy()
        return pd.Series(ey, index=rfm.index, name="expected_purchases")

    def expected_purchases_new(self, t) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def simulate(self, T, rng: np.random.Generator, future: float = 0.0) -> pd.DataFrame:  # pragma: no cover
        raise NotImplementedError

    def months_to_units(self, months: float) -> float:
        """Calendar months expressed in the model's time unit (weeks for a weekly rfm_summary)."""
        if not self.time_unit:
            raise ValueError("the model's time unit is unknown: fit it on an rfm_summary() frame or pass "
                             "time_unit= to the model")
        return months * MONTH_DAYS / UNIT_DAYS[self.time_unit]

    def _spend(self, spend, rfm: pd.DataFrame) -> np.ndarray:
        if hasattr(spend, "expected_spend"):
            return spend.expected_spend(rfm).to_numpy(float)
        if isinstance(spend, pd.Series):
            missing = rfm.index.difference(spend.index)
            if len(missing):
                raise KeyError(f"spend has no value for {len(missing)} account(s), e.g. {missing[0]!r}")
            return spend.reindex(rfm.index).to_numpy(float)
        return np.full(len(rfm), float(spend))

    def clv(self, rfm: pd.DataFrame, spend=1.0, *, horizon_months: int = 36, discount_rate: float = 0.10,
            rate_period: str = "annual", margin_rate=1.0) -> pd.Series:
        """Discounted expected value of each account's purchases over the next ``horizon_months``.

        CLV_i = sum_k margin_i * spend_i * (E[Y_i(t_k)] - E[Y_i(t_{k-1})]) / (1 + d_month)^k with t_k the end
        of month k. ``spend``: expected value per purchase — a GammaGamma results object, a Series by account
        or a number. ``margin_rate``: number or Series (1.0 values revenue; a margin rate values margin).
        ``discount_rate`` is per year (``rate_period="annual"``) or per month (``"month"``).
        """
        non_negative("horizon_months", horizon_months, integer=True)
        fraction("margin_rate", margin_rate, allow_negative=True)
        d_month = monthly_discount_rate(discount_rate, rate_period)
        value = self._spend(spend, rfm) * _aligned(margin_rate, rfm)
        months = np.arange(1, int(horizon_months) + 1)
        ends = np.array([self.months_to_units(k) for k in months])[:, None]     # t_1 .. t_K as a column
        cum = self.expected_purchases_if_alive(ends, rfm).reshape(len(months), len(rfm))   # (K, accounts)
        total = (1 + d_month) ** -months.astype(float) @ np.diff(cum, axis=0, prepend=0.0)
        return pd.Series(total * value * self.p_alive(rfm).to_numpy(), index=rfm.index, name="clv")

    def clv_interval(self, rfm: pd.DataFrame, spend=1.0, *, alpha: float = 0.05, n_draws: int = 200,
                     seed: int = 0, **clv_kw) -> pd.DataFrame:
        """CLV with a (1 - alpha) band per account by parametric bootstrap (``attrs["total"]``: the book's).

        Parameter vectors are drawn from the asymptotic (log-normal) distribution of the estimates — of this
        model and, when ``spend`` is a GammaGamma results object, of the spend model too — and CLV is
        recomputed for each draw. The band reflects parameter uncertainty, not the account's own randomness.
        """
        point = self.clv(rfm, spend, **clv_kw)
        draws = self.draw_params(n_draws, seed)
        spend_draws = spend.draw_params(n_draws, seed + 1) if hasattr(spend, "draw_params") else None
        sims = np.empty((n_draws, len(rfm)))
        # a draw far in the tail of a poorly determined fit can overflow: its CLV is left out of the quantiles
        # (NaN) and counted in attrs["invalid_draws"]
        with np.errstate(all="ignore"):
            for i in range(n_draws):
                s = spend.with_params(spend_draws[i]) if spend_draws is not None else spend
                sims[i] = self.with_params(draws[i]).clv(rfm, s, **clv_kw).to_numpy()
        sims[~np.isfinite(sims)] = np.nan
        quantile = np.nanquantile if np.isnan(sims).any() else np.quantile   # the same numbers; nan- is 1-D per account
        lo, hi = quantile(sims, [alpha / 2, 1 - alpha / 2], axis=0)
        out = pd.DataFrame({"clv": point, "lower": lo, "upper": hi}, index=rfm.index)
        out.attrs["invalid_draws"] = int(np.isnan(sims).any(axis=1).sum())
        # the band of the total is a quantile of the summed draws, not the sum of per-account quantiles
        out.attrs["total"] = {"clv": float(point.sum()),
                              **dict(zip(("lower", "upper"), np.nanquantile(sims.sum(axis=1), [alpha / 2, 1 - alpha / 2])))}
        return out

    def p_alive_check(self, rfm: pd.DataFrame, n_sims: int = 1, seed: int = 0) -> pd.DataFrame:
        """Monte Carlo check: simulate accounts with the observed T, compare mean P(alive) with the share alive."""
        rng = np.random.default_rng(seed)
        sim = self.simulate(np.tile(rfm["T"].to_numpy(float), n_sims), rng)
        p = self.p_alive(sim).to_numpy()
        return pd.DataFrame({"model": [p.mean()], "simulated": [sim["alive"].mean()],
                             "se": [stats.sem(sim["alive"].astype(float))]})

    def _extra_notes(self) -> list[tuple[str, dict]]:
        return [("note_time_unit", {})]               # the summary fills in the unit's name


def ages_at_start(rfm: pd.DataFrame) -> np.ndarray:
    """Each account's age at the start of its window (column ``age_at_start``; 0 without it)."""
    if AGE_COLUMN in rfm.columns:
        return rfm[AGE_COLUMN].to_numpy(float)
    return np.zeros(len(rfm))


def prepare_rfm(data: pd.DataFrame, weights, model: str, ages: bool = False):
    """Check an rfm_summary-like frame and compress identical (frequency, recency, T) rows into weights.
    ``ages``: the model fits left-truncated accounts, so the rows keep ``age_at_start`` (0 without the column)."""
    require_columns(data, RFM_COLUMNS, model)
    bad = (data["recency"] > data["T"] + 1e-9) | ((data["frequency"] == 0) & (data["recency"] > 0))
    if bad.any():
        i = data.index[bad.to_numpy()][0]
        raise ValueError(f"{model}: {int(bad.sum())} row(s) have recency > T or recency > 0 without repeat "
                         f"purchases, e.g. index {i!r}: {data.loc[i, RFM_COLUMNS].to_dict()}")
    if not ages:
        if AGE_COLUMN in data.columns and (data[AGE_COLUMN].to_numpy(float) > 0).any():
            raise ValueError(f"{model}: rows with {AGE_COLUMN} > 0 (accounts older than their window) need a "
                             "left-truncated likelihood, which this model does not have: fit it on accounts "
                             "observed from their first purchase (rfm_summary without acquired_on)")
        return compress(data, RFM_COLUMNS, weights)
    if AGE_COLUMN in data.columns:
        require_columns(data, [AGE_COLUMN], model)
    else:
        data = data[RFM_COLUMNS].assign(**{AGE_COLUMN: 0.0})
    return compress(data, [*RFM_COLUMNS, AGE_COLUMN], weights)


def _aligned(value, rfm: pd.DataFrame) -> np.ndarray:
    if isinstance(value, pd.Series):
        return value.reindex(rfm.index).fillna(value.mean()).to_numpy(float)
    return np.full(len(rfm), float(value))

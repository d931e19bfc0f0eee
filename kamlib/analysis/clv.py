"""CLV workflow on a data set: calibration/holdout checks, model comparison and choice, per-account value.

The models themselves live in :mod:`kamlib.models`; this module feeds them from the aggregation layer and
checks them against what happened in a holdout period.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data import aggregate as agg
from . import book, memo
from ..data.dataset import Dataset
from ..models import BGNBD, MBGNBD, GammaGamma, ParetoNBD
from ..models.arguments import fraction, non_negative, one_of
from ..models import prediction
from ..models.base import PoorlyDetermined
from ..models.transactions import AGE_COLUMN, MONTH_DAYS, TransactionResults, ages_at_start
from ..data.periods import window_12m
from .rfm import PREDATING_GRACE_DAYS, rfm_summary
from ..text.display import Shown, Summary, distribution, headed
from ..text.i18n import t

TRANSACTION_MODELS = {"bgnbd": BGNBD, "paretonbd": ParetoNBD, "mbgnbd": MBGNBD}


def calibration_end(analysis_date, holdout_months: int) -> pd.Timestamp:
    """Last day of the calibration period: ``holdout_months`` calendar months before the analysis month ends."""
    m = pd.Period(pd.Timestamp(analysis_date), freq="M") - int(holdout_months)
    return m.end_time.normalize()


MIN_HOLDOUT_MONTHS = 3


@dataclass(frozen=True)
class HoldoutPlan:
    """The holdout period actually used for the model check.

    ``months`` = the requested months, shortened to half of the order history (calendar months from the
    first order to the analysis month, ``history_months``) so that the calibration period is at least as
    long as the holdout; 0 (no holdout check) when that leaves fewer than ``MIN_HOLDOUT_MONTHS``.
    """

    requested: int
    history_months: int
    months: int

    @property
    def shortened(self) -> bool:
        return 0 < self.months < self.requested


def plan_holdout(ds: Dataset, holdout_months: int = 12) -> HoldoutPlan:
    """How many months of the order history can be held out to check the purchase models."""
    first = agg.execute(agg.first_order_date(ds.table("transactions"), end=ds.analysis_date))["first_order"]
    history = 0 if first.isna().all() else (ds.analysis_month - pd.Period(first.min(), freq="M")).n + 1
    months = min(int(holdout_months), history // 2)
    return HoldoutPlan(int(holdout_months), int(history), months if months >= MIN_HOLDOUT_MONTHS else 0)


def holdout_summary(ds: Dataset, holdout_months: int = 12, time_unit: str = "W", left_truncated: bool = False
                    ) -> pd.DataFrame:
    """rfm_summary with a calibration period ending ``holdout_months`` before the analysis date;
    ``left_truncated``: accounts older than the order history measured from the data start, with their
    ``age_at_start`` (:func:`~kamlib.analysis.rfm.rfm_summary` with ``acquired_on``)."""
    if holdout_months < 1:
        raise ValueError(f"holdout_months must be at least 1, got {holdout_months}")
    return rfm_summary(ds.table("transactions"), observation_end=ds.analysis_date,
                       calibration_end=calibration_end(ds.analysis_date, holdout_months), time_unit=time_unit,
                       acquired_on=acquisition_dates(ds) if left_truncated else None)


def acquisition_dates(ds: Dataset) -> pd.Series:
    """Each listed account's ``acquired_on`` (index account_id)."""
    return ds.accounts.set_index("account_id")["acquired_on"]


def frequency_bins(frequency, n_bins: int = 8) -> tuple[np.ndarray, list[str]]:
    """Lower edges and labels of at most ``n_bins`` calibration-frequency bins.

    The classic chart (one bin per count, the last ``n_bins - 1``+) where no more than a quarter of the accounts
    fall in its last bin; otherwise (key accounts that buy every week) 0 on its own and ranges holding about
    equal numbers of repeat buyers, e.g. '1-9', '10-24', ..., '180+'.
    """
    f = np.asarray(frequency, dtype=np.int64)
    top = n_bins - 1
    if len(f) == 0 or np.mean(f >= top) <= 0.25:
        edges = np.arange(n_bins)
    else:
        inner = np.quantile(f[f > 0], np.arange(1, top) / top, method="lower")
        edges = np.unique(np.concatenate([[0, 1], inner]).astype(np.int64))
    hi = np.append(edges[1:] - 1, -1)
    labels = [f"{lo}+" if h < 0 else str(lo) if h == lo else f"{lo}-{h}" for lo, h in zip(edges, hi)]
    return edges, labels


def _bin_index(frequency, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, np.asarray(frequency, dtype=np.int64), side="right") - 1


def holdout_by_frequency(results: TransactionResults, rfm: pd.DataFrame, n_bins: int = 8) -> pd.DataFrame:
    """Mean actual vs conditional expected holdout purchases by calibration frequency (bins of
    :func:`frequency_bins`)."""
    edges, labels = frequency_bins(rfm["frequency"], n_bins)
    pred = results.expected_purchases(rfm["duration_holdout"].iloc[0], rfm)
    out = pd.DataFrame({"bin": _bin_index(rfm["frequency"], edges), "actual": rfm["frequency_holdout"],
                        "expected": pred})
    out = out.groupby("bin").agg(accounts=("actual", "size"), actual=("actual", "mean"),
                                 expected=("expected", "mean"))
    out.index = pd.Index([labels[i] for i in out.index], name="calibration_frequency")
    return out


BASELINE = "Naive baseline (past rate)"


def baseline_predictions(rfm: pd.DataFrame) -> np.ndarray:
    """The naive forecast a model must beat: each account keeps its calibration-period rate of repeat purchase
    days (frequency / T, none for an account first seen at the end of the period) through the holdout."""
    x, age = rfm["frequency"].to_numpy(float), rfm["T"].to_numpy(float)
    rate = np.divide(x, age, out=np.zeros_like(x), where=age > 0)
    return rate * rfm["duration_holdout"].to_numpy(float)


def holdout_errors(results: TransactionResults | None, rfm: pd.DataFrame) -> dict[str, float]:
    """Per-account MAE and RMSE of holdout purchases and the aggregate % error of their total, of a fitted
    model (None: of the naive baseline, :func:`baseline_predictions`)."""
    pred = (baseline_predictions(rfm) if results is None
            else results.expected_purchases(rfm["duration_holdout"].iloc[0], rfm).to_numpy())
    act = rfm["frequency_holdout"].to_numpy(float)
    err = pred - act
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
            "aggregate_error": float(pred.sum() / act.sum() - 1) if act.sum() else np.nan}


def frequency_histogram(results: TransactionResults, rfm: pd.DataFrame, n_bins: int = 8,
                        n_sims: int = 20, seed: int = 0) -> pd.DataFrame:
    """Accounts by calibration frequency (bins of :func:`frequency_bins`): actual vs expected under the model
    (Monte Carlo with each account's T, and its ``age_at_start`` when left-truncated)."""
    rng = np.random.default_rng(seed)
    ages = ages_at_start(rfm)
    sim = results.simulate(np.tile(rfm["T"].to_numpy(float), n_sims), rng,
                           **({"age": np.tile(ages, n_sims)} if ages.any() else {}))
    edges, labels = frequency_bins(rfm["frequency"], n_bins)
    actual = np.bincount(_bin_index(rfm["frequency"], edges), minlength=len(edges))
    model = np.bincount(_bin_index(sim["frequency"], edges), minlength=len(edges)) / n_sims
    return pd.DataFrame({"actual": actual, "model": model}, index=pd.Index(labels, name="frequency"))


def tracking(results: TransactionResults, ds: Dataset, rfm: pd.DataFrame, cal_end, time_unit: str = "W",
             freq: str = "W") -> pd.DataFrame:
    """Cumulative repeat purchases of the calibration accounts: actual vs model, by week (or ``freq``).

    Model: sum over accounts of E[X(t - first purchase)] for a newly acquired account — the standard
    tracking check of Fader, Hardie & Lee (2005, Figure 3). Accounts acquired before the order history
    starts: left out of both series when they are left out of ``rfm`` (:func:`calibration_frame`); with left
    truncation (rows with ``age_at_start`` = a > 0, listed accounts without orders included) every purchase
    day of theirs from the data start counts, against sum over them of E[X(t - data start) | age a] (alive or
    not at the start: ``expected_purchases_new(t, age)`` of the Pareto/NBD).
    """
    ages = ages_at_start(rfm)
    old, rfm = rfm[ages > 0], rfm[ages == 0]
    unit = agg.unit_days(time_unit)
    first = (pd.Timestamp(cal_end) - pd.to_timedelta(np.round(rfm["T"].to_numpy() * unit), unit="D"))
    births = pd.Series(1, index=first).groupby(level=0).size()
    predating = predating_accounts(ds)[0]
    tx = ds.table("transactions")
    daily = agg.execute(agg.repeat_purchases_by_day(tx, end=ds.analysis_date, first_on_or_before=cal_end,
                                                    exclude=list(predating.difference(rfm.index))))
    daily = daily.set_index("day")["repeat_purchases"]
    begin = births.index.min()
    if len(old):
        start = pd.Timestamp(old.attrs["data_start"])
        begin = start if pd.isna(begin) else min(begin, start)
        seen = agg.execute(agg.purchase_days_by_day(tx, end=ds.analysis_date, accounts=list(old.index)))
        daily = daily.add(seen.set_index("day")["purchase_days"], fill_value=0)
    grid = pd.date_range(begin, ds.analysis_date, freq=freq)
    grid = grid.append(pd.DatetimeIndex([ds.analysis_date])).unique()
    actual = daily.sort_index().reindex(pd.date_range(begin, ds.analysis_date, freq="D"), fill_value=0).cumsum()
    age = (grid.to_numpy()[:, None] - births.index.to_numpy()[None, :]) / np.timedelta64(1, "D") / unit
    expected = np.where(age > 0, results.expected_purchases_new(np.clip(age, 0, None)), 0.0) @ births.to_numpy()
    if len(old):
        since = ((grid - start) / np.timedelta64(1, "D") / unit).to_numpy()
        counts = old.groupby(AGE_COLUMN).size()
        expected = expected + np.where(since[:, None] > 0, results.expected_purchases_new(
            np.clip(since, 0, None)[:, None], counts.index.to_numpy()[None, :]), 0.0) @ counts.to_numpy()
    return pd.DataFrame({"actual": actual.reindex(grid).to_numpy(), "expected": expected},
                        index=pd.Index(grid, name="date"))


#: the fewest accounts acquired inside the data to calibrate on without the older ones
MIN_CALIBRATION_ACCOUNTS = 100
#: the share of accounts older than the order history from which a report says that BG/NBD and MBG/NBD,
#: without left truncation, describe the book from its younger accounts
MANY_PREDATING_SHARE = 0.25


def predating_accounts(ds: Dataset) -> tuple[pd.Index, pd.Timestamp | None]:
    """Accounts whose ``acquired_on`` lies before the order history starts (their earlier orders are not in
    the data), and the date of the first order in the data."""
    first = agg.execute(agg.first_order_date(ds.table("transactions"), end=ds.analysis_date))["first_order"]
    if first.isna().all():
        return pd.Index([], name="account_id"), None
    start = pd.Timestamp(first.min())
    acc = ds.accounts
    old = acc.loc[acc["acquired_on"] < start - pd.Timedelta(days=PREDATING_GRACE_DAYS), "account_id"]
    return pd.Index(old, name="account_id"), start


def calibration_frame(ds: Dataset, rfm: pd.DataFrame) -> tuple[pd.DataFrame, pd.Index]:
    """The rows of ``rfm`` the purchase models are fitted on, and the accounts left out: accounts acquired
    before the order history starts would enter with their first order in the data as their birth — survivors
    described as new accounts (their tracking runs high) — so the models are calibrated on the accounts
    acquired inside the data, when at least :data:`MIN_CALIBRATION_ACCOUNTS` of them have orders, and value
    the older ones with those parameters from their history in the data. This is the treatment of the BG/NBD
    and MBG/NBD (and of the Pareto/NBD without left truncation): they have no closed-form likelihood for an
    account whose earlier purchases are unseen."""
    old = predating_accounts(ds)[0].intersection(rfm.index)
    inside = rfm.drop(index=old)
    if not len(old) or len(inside) < MIN_CALIBRATION_ACCOUNTS:
        return rfm, pd.Index([], name="account_id")
    inside.attrs = dict(rfm.attrs)
    return inside, old


HOLDOUT_COLUMNS = ("mae", "rmse", "aggregate_error", "chosen")        # ModelChoice.holdout_table
FIT_COLUMNS = ("log_likelihood", "aic", "bic", "converged", "chosen")   # ModelChoice.fit_table


@dataclass(repr=False)
class ModelChoice(Shown):
    """The comparison of purchase models on the holdout and the chosen one. ``table``: one row per model key
    (``bgnbd``, ``paretonbd``, ``mbgnbd``; ``baseline`` when there is a holdout) with ``model`` (long name),
    ``log_likelihood``, ``aic``, ``bic``, ``mae`` and ``rmse`` (purchase days per account in the holdout),
    ``aggregate_error`` (expected total / actual - 1), ``converged`` and ``chosen``. ``frames``: per model key,
    the rows its holdout predictions were made from (the same accounts for every model; left-truncated rows
    for a Pareto/NBD fitted with left truncation)."""

    table: pd.DataFrame
    chosen: str
    calibration_fits: dict[str, TransactionResults]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def beats_baseline(self) -> bool | None:
        """Whether the chosen model's holdout MAE is below the naive baseline's (None without a holdout)."""
        if "baseline" not in self.table.index:
            return None
        return bool(self.table.loc[self.chosen, "mae"] < self.table.loc["baseline", "mae"])

    def holdout_table(self) -> pd.DataFrame:
        """What a client reads of the comparison: per model (long name as index, baseline included) the
        holdout errors and which one is chosen; without a holdout, the fit criteria the choice was made on
        (:meth:`fit_table`). The fit criteria of a holdout comparison are diagnostics (:meth:`fit_table`)."""
        if "mae" not in self.table.columns:
            return self.fit_table()
        return self.table.set_index("model")[[c for c in HOLDOUT_COLUMNS if c in self.table.columns]]

    def fit_table(self) -> pd.DataFrame:
        """The analyst's diagnostics of the comparison: per fitted model (long name as index; no baseline) the
        log-likelihood, AIC and BIC of its calibration fit, whether it converged and which one is chosen."""
        fitted = self.table[self.table.index != "baseline"].set_index("model")
        return fitted[[c for c in FIT_COLUMNS if c in fitted.columns]]

    def summary(self, lang: str = "en") -> Summary:
        """The comparison table (fit criteria and holdout errors per model)."""
        info = [(t("res_chosen_model", lang), self.table.loc[self.chosen, "model"])]
        if self.beats_baseline is not None:
            info.append((t("res_beats_baseline", lang), t("yes" if self.beats_baseline else "no", lang)))
        table = self.table.set_index("model").drop(columns=["chosen"], errors="ignore")
        return Summary(t("res_model_check_title", lang), info, headed(table, lang))


def compare_models(rfm_holdout: pd.DataFrame, models=tuple(TRANSACTION_MODELS), model: str = "auto", *,
                   calibrate_on: pd.Index | None = None, left_truncated: pd.DataFrame | None = None) -> ModelChoice:
    """Fit each model on the calibration period; table of LL, AIC, BIC, holdout MAE/RMSE/aggregate error.

    ``model="auto"`` picks the lowest holdout MAE among the fits that converged (among all when none did);
    otherwise the named model is kept (still compared). A last row ``baseline`` gives the naive forecast's
    errors (:func:`baseline_predictions`), which a model must beat to be worth its parameters. A frame without
    holdout columns (a plain ``rfm_summary``, when the history is too short for a holdout, see
    :func:`plan_holdout`) gives a table without holdout errors or baseline, and ``"auto"`` picks the lowest AIC.

    The holdout errors are over every account of ``rfm_holdout``. ``calibrate_on``: the accounts the models
    are fitted on (default: all; :func:`calibration_frame`). ``left_truncated``: the same book with accounts
    older than the data measured from the data start (:func:`holdout_summary` with ``left_truncated=True``,
    which also lists old accounts without a calibration order): the Pareto/NBD is fitted on all of its rows
    with the left-truncated likelihood and predicts the accounts of ``rfm_holdout`` from their rows in it.
    """
    model = one_of("model", model, ["auto", *TRANSACTION_MODELS], loose=True)
    has_holdout = "frequency_holdout" in rfm_holdout.columns
    own = rfm_holdout if calibrate_on is None else _rows(rfm_holdout, calibrate_on)
    fits, frames, rows = {}, {}, []
    for name in models:
        truncated = left_truncated is not None and name == "paretonbd"
        res = TRANSACTION_MODELS[name]().fit(left_truncated if truncated else own)
        fits[name] = res
        frames[name] = _rows(left_truncated, rfm_holdout.index) if truncated else rfm_holdout
        errors = holdout_errors(res, frames[name]) if has_holdout else {}
        rows.append({"model": res.model.long_name, "key": name, "log_likelihood": res.llf, "aic": res.aic,
                     "bic": res.bic, **errors, "converged": res.converged})
    table = pd.DataFrame(rows).set_index("key")
    candidates = table[table["converged"]] if table["converged"].any() else table
    chosen = str(candidates["mae" if has_holdout else "aic"].idxmin()) if model == "auto" else model
    if model == "auto" and not has_holdout and "paretonbd" in frames and left_truncated is not None \
            and "paretonbd" in candidates.index:
        chosen = "paretonbd"     # its likelihood covers more accounts than the others': AICs not comparable
    if has_holdout:
        base = pd.DataFrame([{"model": BASELINE, **holdout_errors(None, rfm_holdout)}],
                            index=pd.Index(["baseline"], name="key"))
        table = pd.concat([table.astype({"converged": object}), base])
    table["chosen"] = table.index == chosen
    return ModelChoice(table, chosen, fits, frames)


def _rows(frame: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """``frame``'s rows for ``index`` (in its order), keeping ``attrs`` (the time unit)."""
    out = frame.loc[index]
    out.attrs = dict(frame.attrs)
    return out


@dataclass(repr=False)
class ModelCheck(Shown):
    """The holdout check of the purchase models on a data set (:func:`model_check`). ``rfm``: the
    :func:`~kamlib.analysis.rfm.rfm_summary` frame of the chosen model, indexed by account_id — frequency,
    recency, T, monetary_value and, with a holdout, frequency_holdout, monetary_value_holdout, duration_holdout
    (was ``summary`` before ``summary()`` became the printed summary): the accounts it was fitted on, or with
    left truncation (``left_truncation``; the Pareto/NBD) every account checked, the older ones with
    ``age_at_start`` > 0 and measured from the data start. ``predating``: the accounts acquired before the
    order history starts, left out of the fits of the models without left truncation."""

    plan: HoldoutPlan
    calibration_end: pd.Timestamp | None   # None: no holdout (history too short)
    rfm: pd.DataFrame                      # rfm_summary (holdout columns, or all history) of the chosen model
    choice: ModelChoice
    predating: pd.Index = field(default_factory=lambda: pd.Index([]))   # acquired before the order history
    data_start: pd.Timestamp | None = None                              # the first order in the data
    left_truncation: bool = False         # the Pareto/NBD was fitted on every account, older ones left-truncated

    @property
    def fitted_accounts(self) -> dict[str, int]:
        """Accounts each model (by key) was fitted on."""
        return {k: int(round(f.nobs)) for k, f in self.choice.calibration_fits.items()}

    @property
    def accounts_fitted(self) -> int:
        """Accounts the chosen model was fitted on."""
        return self.fitted_accounts[self.choice.chosen]

    @property
    def predating_share(self) -> float:
        """Share of the accounts checked (every account with an order in the calibration period) acquired
        before the order history starts (NaN without accounts)."""
        checked = self.choice.frames.get(self.choice.chosen, self.rfm).index
        return float(checked.isin(self.predating).mean()) if len(checked) else float("nan")

    @property
    def many_predating(self) -> bool:
        """Whether at least :data:`MANY_PREDATING_SHARE` of the accounts checked predate the order history:
        then a model without left truncation (BG/NBD, MBG/NBD) describes the book from its younger accounts."""
        return bool(self.predating_share >= MANY_PREDATING_SHARE)

    @property
    def by_age(self) -> pd.DataFrame | None:
        """The chosen model's holdout check for the older (acquired before the order history) and younger
        accounts apart: rows ``older`` / ``younger`` / ``all`` with ``accounts``, ``actual`` and ``expected``
        holdout purchase days and ``aggregate_error`` (expected / actual - 1; NaN where nothing was bought).
        None without a holdout. Every account with an order in the calibration period is checked."""
        if not self.plan.months:
            return None
        frame = self.choice.frames.get(self.choice.chosen, self.rfm)
        fit = self.choice.calibration_fits[self.choice.chosen]
        expected = fit.expected_purchases(frame["duration_holdout"].iloc[0], frame).to_numpy()
        actual = frame["frequency_holdout"].to_numpy(float)
        old = frame.index.isin(self.predating)
        rows = {}
        for key, mask in (("older", old), ("younger", ~old), ("all", np.ones(len(frame), bool))):
            a, e = actual[mask].sum(), expected[mask].sum()
            rows[key] = {"accounts": int(mask.sum()), "actual": a, "expected": e,
                         "aggregate_error": e / a - 1 if a > 0 else np.nan}
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "accounts_group"
        return out

    @property
    def choice_reason(self) -> str:
        """Text key of how ``"auto"`` chose without a holdout: the lowest AIC, or with left truncation the
        Pareto/NBD (the only model whose likelihood covers the older accounts)."""
        return "clv_reason_left_truncation" if self.left_truncation and self.choice.chosen == "paretonbd" \
            else "clv_reason_aic"

    def metrics(self) -> dict[str, float | None]:
        """The model check's headline metrics: holdout MAE and aggregate error of the chosen model, and the
        naive baseline's MAE (None without a holdout: :attr:`reasons`)."""
        t = self.choice.table
        if not self.plan.months:
            return dict.fromkeys(("clv_holdout_mae", "clv_holdout_aggregate_error", "clv_baseline_holdout_mae"))
        return {"clv_holdout_mae": float(t.loc[self.choice.chosen, "mae"]),
                "clv_holdout_aggregate_error": float(t.loc[self.choice.chosen, "aggregate_error"]),
                "clv_baseline_holdout_mae": float(t.loc["baseline", "mae"])}

    @property
    def reasons(self) -> dict[str, str]:
        """Metric -> text key of why it is not available."""
        return {} if self.plan.months else dict.fromkeys(self.metrics(), "clv_reason_no_holdout")

    def summary(self, lang: str = "en") -> Summary:
        """Holdout plan, chosen model and the models' fit criteria and holdout errors."""
        choice = self.choice.summary(lang)
        cal = str(self.calibration_end.date()) if self.calibration_end is not None else "-"
        info = [(t("res_holdout_months", lang), str(self.plan.months)), (t("res_calibration_end", lang), cal),
                (t("res_accounts_fitted", lang), f"{self.accounts_fitted:,}"),
                (t("res_predating", lang), f"{len(self.predating):,}"),
                (t("res_left_truncation", lang), t("yes" if self.left_truncation else "no", lang)), *choice.info]
        by_age = self.by_age
        if by_age is not None and len(self.predating):
            for key in ("older", "younger"):
                err = by_age.loc[key, "aggregate_error"]
                info.append((t(f"res_holdout_error_{key}", lang),
                             f"{err:+.1%}" if np.isfinite(err) else t("not_available", lang)))
        notes = [] if self.plan.months else [t("res_no_holdout", lang)]
        return Summary(choice.title, info, choice.table, notes)

    @property
    def fit_on_all_history(self) -> TransactionResults | None:
        """The chosen model's fit when it was fitted on all history (no holdout), for :func:`account_value`."""
        return None if self.plan.months else self.choice.calibration_fits[self.choice.chosen]


def model_check(ds: Dataset, holdout_months: int = 12, model: str = "auto", time_unit: str = "W",
                left_truncation: bool | None = None) -> ModelCheck:
    """Fit the purchase models on a calibration period and compare their holdout errors
    (:func:`compare_models`) over every account with an order in the calibration period, older and younger;
    the holdout is shortened or left out when the history is short (:func:`plan_holdout`), and then the models
    are compared on all history by AIC.

    ``left_truncation`` (default None: on when ``acquired_on`` shows accounts older than the order history,
    :func:`predating_accounts`): fit the Pareto/NBD on every account, the older ones with the left-truncated
    likelihood (measured from the data start, listed ones without orders included). BG/NBD and MBG/NBD (and the
    Pareto/NBD with ``left_truncation=False``) are calibrated on the accounts acquired inside the data
    (:func:`calibration_frame`). Without a holdout, ``"auto"`` then takes the Pareto/NBD: its likelihood covers
    accounts the others' does not, so their AICs are not comparable."""
    plan = plan_holdout(ds, holdout_months)
    old, start = predating_accounts(ds)
    truncate = uses_left_truncation(old, left_truncation)
    if plan.months:
        cal_end = calibration_end(ds.analysis_date, plan.months)
        summary = holdout_summary(ds, plan.months, time_unit=time_unit)
        truncated = holdout_summary(ds, plan.months, time_unit=time_unit, left_truncated=True) if truncate else None
    else:
        cal_end = None
        summary, truncated = _all_history(ds, time_unit, truncate)
    inside = calibration_frame(ds, summary)[0]
    choice = compare_models(summary, model=model, calibrate_on=inside.index, left_truncated=truncated)
    fitted = truncated if truncate and choice.chosen == "paretonbd" else inside
    return ModelCheck(plan, cal_end, fitted, choice, old, start, truncate)


def uses_left_truncation(predating: pd.Index, left_truncation: bool | None = None) -> bool:
    """Whether the Pareto/NBD is fitted with left truncation: ``left_truncation`` when given, else (None)
    when some accounts are older than the order history (``predating``, :func:`predating_accounts`)."""
    if left_truncation is None:
        return bool(len(predating))
    if not isinstance(left_truncation, (bool, np.bool_)):
        raise TypeError(f"left_truncation must be True, False or None (automatic), got {left_truncation!r}")
    return bool(left_truncation)


def _all_history(ds: Dataset, time_unit: str, truncate: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """rfm_summary of all history to the analysis date, and its left-truncated version (None unless
    ``truncate``)."""
    def summary(acquired_on=None):
        return rfm_summary(ds.table("transactions"), observation_end=ds.analysis_date, time_unit=time_unit,
                           acquired_on=acquired_on)
    return summary(), summary(acquisition_dates(ds)) if truncate else None


def margin_rates(ds: Dataset) -> pd.Series:
    """Each account's gross margin / revenue over its history up to the analysis date, clipped to [0, 1];
    accounts without positive revenue get the book's rate."""
    per = agg.execute(agg.window_by_account(ds.table("transactions"), start="1900-01-01",
                                            end=ds.analysis_date)).set_index("account_id")
    book_rate = per["gross_margin"].sum() / per["revenue"].sum()
    rate = (per["gross_margin"] / per["revenue"].where(per["revenue"] > 0)).fillna(book_rate)
    return rate.clip(0, 1)


#: the share of an account's outcomes its prediction interval ("range") holds
PREDICTION_LEVEL = 0.9


def purchase_interval(results: TransactionResults, rfm: pd.DataFrame, t: float, level: float = PREDICTION_LEVEL,
                      *, n_samples: int = 1000, n_draws: int = 200, seed: int = 0) -> pd.DataFrame:
    """Prediction interval of each account's purchases in the next ``t`` time units (the model's unit).

    Returns, indexed like ``rfm``, ``expected`` (E[Y(t) | history]) and ``lower`` / ``upper``: the
    (1 - level) / 2 and (1 + level) / 2 quantiles of the account's predictive distribution — its own randomness
    (alive or not, its purchase and dropout rates given its history, the purchase process) from its posterior,
    mixed over ``n_draws`` parameter vectors for the estimates' uncertainty (:mod:`kamlib.models.prediction`).
    The count is discrete, so the interval holds at least ``level`` of the probability (more for accounts
    that are almost surely gone, whose interval is 0 to 0). On simulated books the 90% interval holds the
    actual holdout purchases of 85-97% of accounts (tests/test_prediction_intervals.py); the band of the
    expected value alone (parameter uncertainty) holds about 1%.
    """
    non_negative("t", t)
    fraction("level", level)
    return prediction.purchase_interval(results, t, rfm, level=level, n_samples=n_samples, n_draws=n_draws,
                                        seed=seed)


@dataclass(repr=False)
class AccountValue(Shown):
    """Per-account valuation at the analysis date and the fitted models behind it.

    ``frame``, indexed by account_id (every account with an order up to the analysis date): ``frequency``,
    ``recency``, ``T`` (repeat purchase days and ages in the model's time unit, :func:`rfm_summary`),
    ``monetary_value`` (mean revenue per repeat purchase day), ``p_alive`` (probability the account is still
    buying at the analysis date), ``expected_purchases_12m`` (expected purchase days in the next 12 calendar
    months) and ``purchases_12m_lower`` / ``purchases_12m_upper`` (the account's range: its prediction interval
    holding ``level`` of its outcomes, :func:`purchase_interval`), ``expected_spend`` (Gamma-Gamma expected
    revenue per purchase day), ``margin_rate`` (the account's margin / revenue), ``clv`` (discounted expected
    gross margin over ``horizon_months``), ``clv_lower`` / ``clv_upper`` (the range of the account's value:
    purchases from its posterior, spend from the Gamma-Gamma posterior, parameters drawn,
    :func:`kamlib.models.prediction.value_interval`; NaN when no draws were requested) and
    ``clv_expected_lower`` / ``clv_expected_upper`` (the uncertainty of the expected value: 1 - alpha band from
    parameter draws only; NaN without bands, see ``no_band``). ``total``: the book's total CLV and the
    uncertainty of its expected value.
    """

    frame: pd.DataFrame            # account_id -> frequency, recency, T, p_alive, expected purchases, spend, CLV
    purchases: TransactionResults
    spend: object
    horizon_months: int
    discount_rate: float
    total: dict                    # {"clv", "lower", "upper"} of the book's total CLV
    no_band: str | None = None     # i18n key of why there are no bands of the expected value
    level: float = PREDICTION_LEVEL   # share of an account's outcomes its range holds

    @property
    def has_bands(self) -> bool:
        """Whether the expected values have (parameter) uncertainty bands."""
        return self.no_band is None

    @property
    def has_ranges(self) -> bool:
        """Whether the accounts have prediction intervals (ranges) of their purchases and value."""
        return bool(self.frame["clv_lower"].notna().any())

    def summary(self, lang: str = "en") -> Summary:
        """Models, horizon, the book's total CLV with its band, and the spread of the per-account values."""
        total = f"{self.total['clv']:,.0f}"
        band = (f"{self.total['lower']:,.0f} – {self.total['upper']:,.0f}" if self.has_bands else "-")
        info = [(t("res_purchase_model", lang), self.purchases.model.long_name),
                (t("accounts", lang), f"{len(self.frame):,}"),
                (t("res_horizon_months", lang), str(self.horizon_months)),
                (t("res_discount_rate", lang), f"{self.discount_rate:.0%}"),
                (t("res_total_clv", lang), total), (t("res_band", lang), band)]
        notes = [] if self.has_bands else [t("res_no_band", lang, why=t(self.no_band, lang))]
        table = distribution(self.frame, ("p_alive", "expected_purchases_12m", "clv"), lang, totals=("clv",))
        return Summary(t("res_value_title", lang), info, table, notes)


def account_value(ds: Dataset, model: str = "bgnbd", *, horizon_months: int = 36, discount_rate: float = 0.10,
                  time_unit: str = "W", n_draws: int = 200, alpha: float = 0.05, seed: int = 0,
                  fitted: TransactionResults | None = None, level: float = PREDICTION_LEVEL,
                  n_samples: int = 500, left_truncation: bool | None = None) -> AccountValue:
    """Fit the purchase model and Gamma-Gamma on all history to the analysis date; CLV of margin with bands.
    Every account with an order up to the analysis date is valued. Accounts acquired before the order history
    starts (:func:`predating_accounts`): with ``left_truncation`` (default None: on when there are such
    accounts) and the Pareto/NBD, the model is fitted on every account — the older ones measured from the data
    start with the left-truncated likelihood, listed ones without orders included (they are fitted, not
    valued) — and the older accounts are valued as the survivors they are (their rows in ``frame`` are measured
    from the data start, ``age_at_start`` > 0); otherwise (BG/NBD, MBG/NBD, which have no such likelihood)
    the model is calibrated on the accounts acquired inside the order history (:func:`calibration_frame`)
    and the older ones are valued from their orders in the data as if born at the first.

    CLV is the discounted expected gross margin over ``horizon_months`` (annual ``discount_rate``): expected
    purchases x expected revenue per purchase (Gamma-Gamma) x the account's margin rate. ``n_draws`` parameter
    draws give the 1 - ``alpha`` bands (0: point values only). No bands either (``no_band`` says why) when a
    fit did not converge, as its covariance does not describe the uncertainty, or when its estimates are too
    poorly determined for the asymptotic distribution (:class:`~kamlib.models.base.PoorlyDetermined`).
    ``fitted``: the purchase model already fitted on the same history (:attr:`ModelCheck.fit_on_all_history`),
    used instead of fitting again.

    Each account's range (prediction interval holding ``level`` of its outcomes, from ``n_samples`` draws) of
    its purchases in the next 12 months and of its CLV: with the parameter draws when there are bands, from
    the estimates alone otherwise; none when ``n_draws`` is 0.
    """
    model = one_of("model", model, list(TRANSACTION_MODELS), loose=True)
    non_negative("horizon_months", horizon_months, integer=True)
    fraction("discount_rate", discount_rate)
    fraction("alpha", alpha)
    fraction("level", level)
    truncate = model == "paretonbd" and uses_left_truncation(predating_accounts(ds)[0], left_truncation)
    standard, truncated = _all_history(ds, time_unit, truncate)
    if truncate:
        fit_rows = truncated
        rfm = _rows(truncated, standard.index)          # valued: every account with an order
    else:
        rfm, fit_rows = standard, calibration_frame(ds, standard)[0]
    if fitted is not None and (fitted.time_unit != time_unit or fitted.nobs != len(fit_rows)):
        raise ValueError("fitted: not a fit of this data set's history in the same time unit")
    # the fits are kept in a batch kernel (memo): its next valuation with other draws or horizon reuses them
    history = (model, time_unit, truncate)
    purchases = fitted if fitted is not None else memo.remembered(
        "purchase_fit", ds, history, lambda: TRANSACTION_MODELS[model]().fit(fit_rows))
    spend = memo.remembered("spend_fit", ds, history, lambda: GammaGamma(time_unit=time_unit).fit(rfm))
    margin = margin_rates(ds).reindex(rfm.index)
    kw = dict(horizon_months=horizon_months, discount_rate=discount_rate, rate_period="annual", margin_rate=margin)
    band, no_band = None, None
    if n_draws <= 0:
        no_band = "clv_no_band_not_requested"
    elif not (purchases.converged and spend.converged):
        no_band = "clv_no_band_not_converged"
    else:
        try:
            band = purchases.clv_interval(rfm, spend, alpha=alpha, n_draws=n_draws, seed=seed, **kw)
        except PoorlyDetermined:
            no_band = "clv_no_band_poorly_determined"
    if band is None:   # point values only
        point = purchases.clv(rfm, spend, **kw)
        band = pd.DataFrame({"clv": point, "lower": np.nan, "upper": np.nan})
        band.attrs["total"] = {"clv": float(point.sum()), "lower": np.nan, "upper": np.nan}
    year = 12 * MONTH_DAYS / agg.unit_days(time_unit)
    ranges = pd.DataFrame(np.nan, index=rfm.index, columns=["p_lower", "p_upper", "v_lower", "v_upper"])
    if n_draws > 0:
        draws = n_draws if no_band is None else 0      # no parameter draws from a fit without bands
        p = purchase_interval(purchases, rfm, year, level, n_samples=n_samples, n_draws=draws, seed=seed)
        v = prediction.value_interval(purchases, rfm, spend, level=level, n_samples=n_samples, n_draws=draws,
                                      seed=seed, **kw)
        ranges = pd.DataFrame({"p_lower": p["lower"], "p_upper": p["upper"], "v_lower": v["lower"],
                               "v_upper": v["upper"]})
    frame = rfm.assign(
        p_alive=purchases.p_alive(rfm),
        expected_purchases_12m=purchases.expected_purchases(year, rfm),
        purchases_12m_lower=ranges["p_lower"], purchases_12m_upper=ranges["p_upper"],
        expected_spend=spend.expected_spend(rfm), margin_rate=margin,
        clv=band["clv"], clv_lower=ranges["v_lower"], clv_upper=ranges["v_upper"],
        clv_expected_lower=band["lower"], clv_expected_upper=band["upper"])
    return AccountValue(frame, purchases, spend, horizon_months, discount_rate, band.attrs["total"], no_band,
                        level)


def value_accounts(ds: Dataset, model: str = "auto", *, holdout_months: int = 12, check: ModelCheck | None = None,
                   **kw) -> AccountValue:
    """:func:`account_value` with the purchase model the CLV report uses, so every report values the book with
    the same model: ``"auto"`` runs :func:`model_check` (or takes ``check``, already run) and values with its
    choice, reusing its fit when that was on all history; a named model is used as given. ``kw`` goes to
    :func:`account_value` (horizon, discount rate, time unit, draws, ``left_truncation``; with ``check``, its
    choice of left truncation)."""
    model = one_of("model", model, ["auto", *TRANSACTION_MODELS], loose=True)
    if check is None and model == "auto":
        check = model_check(ds, holdout_months, model=model, time_unit=kw.get("time_unit", "W"),
                            left_truncation=kw.get("left_truncation"))
    if check is not None:
        model, kw["left_truncation"] = check.choice.chosen, check.left_truncation
        if check.fit_on_all_history is not None:        # no holdout: the check's fit is the valuation's
            return account_value(ds, model, fitted=check.fit_on_all_history, **kw)
    else:                                               # 'automatic' resolved, so both routes share one key
        kw["left_truncation"] = uses_left_truncation(predating_accounts(ds)[0], kw.get("left_truncation"))
    # in a batch kernel, the CLV report and then the book tables value the book once (memo)
    return memo.remembered("value_accounts", ds, (model, tuple(sorted(kw.items()))),
                           lambda: account_value(ds, model, **kw))


def accounts_at_risk(ds: Dataset, value: AccountValue, threshold: float = 0.5, value_share: float = 0.2
                     ) -> pd.DataFrame:
    """Churn alerts (the ``accounts_at_risk`` metric; the churn alerts of :mod:`kamlib.analysis.actions`):
    accounts in the book with P(alive) < ``threshold`` among the top ``value_share`` by CLV, ranked by the
    margin at risk (``money_at_stake``: 12-month margin x (1 - P(alive))). Columns (index account_id): name,
    tier, account_manager, margin_12m, p_alive, clv, money_at_stake, last_purchase_weeks_ago."""
    from .actions import account_table, churn_alerts
    table = account_table(ds, value)
    hit = churn_alerts(table, threshold, value_share).set_index("account_id")
    out = table.loc[hit.index, ["name", "tier", "account_manager", "margin_12m", "p_alive", "clv"]].assign(
        money_at_stake=hit["money_at_stake"],
        last_purchase_weeks_ago=weeks_since_last_purchase(value).reindex(hit.index))
    return out.sort_values("money_at_stake", ascending=False).rename_axis("account_id")


def weeks_since_last_purchase(value: AccountValue) -> pd.Series:
    """T - recency of each account, converted from the model's time unit to weeks."""
    units = value.frame["T"] - value.frame["recency"]
    return units * agg.unit_days(value.purchases.time_unit or "W") / 7


def clv_by(ds: Dataset, value: AccountValue, by: str) -> pd.DataFrame:
    """Accounts, total and mean CLV, and mean P(alive) by an account attribute (tier, industry, ...). Columns
    (index: the attribute's values, largest total first): accounts, clv_total, clv_mean, p_alive_mean,
    clv_share."""
    from ..models.arguments import columns_of
    columns_of("by", by, ds.accounts, "the accounts table")
    acc = ds.accounts.set_index("account_id")[[by]].join(value.frame[["clv", "p_alive"]], how="inner")
    out = acc.groupby(by).agg(accounts=("clv", "size"), clv_total=("clv", "sum"), clv_mean=("clv", "mean"),
                              p_alive_mean=("p_alive", "mean"))
    out["clv_share"] = out["clv_total"] / out["clv_total"].sum()
    return out.sort_values("clv_total", ascending=False)


def top_share(values: pd.Series, share: float = 0.2) -> float:
    """Share of the total held by the top ``share`` of accounts (ceil(share * n) accounts)."""
    fraction("share", share)
    v = values.sort_values(ascending=False).to_numpy()
    k = int(np.ceil(share * len(v)))
    return float(v[:k].sum() / v.sum()) if v.sum() else float("nan")

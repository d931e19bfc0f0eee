"""The fits a batch kernel shares between its notebooks (kamlib.analysis.memo), the churn-driver fit's route
to its maximum, and metrics files that the notebooks of a batch read from each other."""
from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from kamlib.analysis import memo, survival
from kamlib.data.loading import load_dataset

from conftest import TODAY


@pytest.fixture
def batch():
    memo.enable()
    yield
    memo.enable(False)


def _ds(fingerprint="f1", date="2026-10-31"):
    return SimpleNamespace(fingerprint=fingerprint, source="s", analysis_date=pd.Timestamp(date))


def _counted():
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"x": [1.0, 2.0]})
    return calls, compute


def test_off_outside_a_batch_every_call_computes():
    calls, compute = _counted()
    memo.remembered("k", _ds(), (1,), compute)
    memo.remembered("k", _ds(), (1,), compute)
    assert len(calls) == 2


def test_a_batch_reuses_a_result_only_for_the_same_data_and_arguments(batch):
    calls, compute = _counted()
    first = memo.remembered("k", _ds(), (1,), compute)
    first.loc[0, "x"] = 99.0                       # a notebook changing its copy in place
    again = memo.remembered("k", _ds(), (1,), compute)
    assert len(calls) == 1 and again["x"].tolist() == [1.0, 2.0]
    memo.remembered("k", _ds(), (2,), compute)                       # other arguments
    memo.remembered("k", _ds("f2"), (1,), compute)                   # other data
    memo.remembered("k", _ds(date="2026-09-30"), (1,), compute)      # other analysis date
    memo.remembered("k", _ds(fingerprint=""), (1,), compute)         # data without a fingerprint
    assert len(calls) == 5


def test_series_arguments_are_keyed_by_content():
    a = pd.Series(pd.to_datetime(["2026-01-01", None]), index=["A1", "A2"])
    assert memo.content(a) == memo.content(a.copy())
    assert memo.content(a) != memo.content(a.fillna(pd.Timestamp("2026-02-01")))
    assert memo.content(a) != memo.content(a.set_axis(["A1", "A3"]))


def test_churn_drivers_are_fitted_once_for_the_same_churn_dates(small_dir, batch, monkeypatch):
    ds = load_dataset(small_dir, analysis_date="2026-10-31", today=TODAY)
    memo.enable(False)                                  # as outside a batch
    fresh = survival.churn_drivers(ds)
    memo.enable()
    fits = []
    real = survival._churn_drivers
    monkeypatch.setattr(survival, "_churn_drivers", lambda *a: fits.append(1) or real(*a))
    recorded = ds.accounts.set_index("account_id")["churned_on"]
    one = survival.churn_drivers(ds)
    two = survival.churn_drivers(ds, recorded.sample(frac=1, random_state=0))    # the same dates, other order
    assert len(fits) == 1 and fresh.result is not None
    for res in (one, two):
        assert res.result is None                  # the Cox fit (as large as the data) is not kept
        pd.testing.assert_frame_equal(res.hazard_ratios, fresh.hazard_ratios)
        pd.testing.assert_frame_equal(res.discrete, fresh.discrete)
    survival.churn_drivers(ds, lookback_days=60)
    survival.churn_drivers(ds, recorded.where(recorded.isna(), recorded + pd.Timedelta(days=5)))
    assert len(fits) == 3


def test_the_cox_fit_reaches_the_maximum_bfgs_reaches(small_dir):
    """The churn-driver fit (Newton-Raphson with step halving from 0) on the sample's account-months ends where
    BFGS ends on the same partial likelihood (a route that does not share its Newton steps), with a zero score."""
    from scipy.optimize import minimize

    from kamlib.models.cox import CoxPH
    ds = load_dataset(small_dir, analysis_date="2026-10-31", today=TODAY)
    rows = survival.periods(ds)
    x = survival.lookback_covariates(ds, rows)[0]
    known = x.notna().all(axis=1).to_numpy()
    rows, x = rows[known].reset_index(drop=True), x[known].reset_index(drop=True)
    x = x.drop(columns=list(survival.inestimable_covariates(rows, x)))
    x = x.drop(columns=list(survival.collinear_covariates(x)))
    time, status, entry = rows["duration_days"].to_numpy(), rows["event"].to_numpy(), rows["entry_days"].to_numpy()
    model = CoxPH(time, x.to_numpy(float), status, entry)
    res = survival.fit_cox(model, list(x.columns))
    scale = x.to_numpy(float).std(axis=0)               # BFGS on standardised coefficients: well conditioned
    bfgs = minimize(lambda b: -model.loglike(b / scale), np.zeros(x.shape[1]), method="BFGS",
                    jac=lambda b: -model.derivatives(b / scale)[1] / scale, options={"gtol": 1e-6, "maxiter": 5000})
    assert survival._at_maximum(res) and x.shape[1] >= 5
    np.testing.assert_allclose(res.params, bfgs.x / scale, rtol=1e-4, atol=1e-6)
    assert res.llf >= -bfgs.fun - 1e-9 * abs(bfgs.fun)
    assert np.abs(model.derivatives(res.params)[1]).max() <= 1e-6 * (1 + abs(res.llf))


def test_a_metrics_file_is_never_seen_half_written(tmp_path, monkeypatch):
    """The deck and the executive summary run side by side, each reading the other's metrics file."""
    import json
    from pathlib import Path

    from kamlib.analysis.metrics import MetricsRecorder
    path = tmp_path / "metrics" / "00.json"
    rec = MetricsRecorder(path)
    rec.record("active_accounts_12m", 1.0)
    real = Path.write_text

    def torn(self, text, *a, **k):                 # a writer stopped half way
        real(self, text[: len(text) // 2], *a, **k)
        raise OSError("stopped")
    monkeypatch.setattr(Path, "write_text", torn)
    with pytest.raises(OSError):
        rec.record("active_accounts_12m", 2.0)
    assert json.loads(path.read_text())["metrics"] == {"active_accounts_12m": 1.0}
    monkeypatch.setattr(Path, "write_text", real)
    rec.record("active_accounts_12m", 3.0)
    assert json.loads(path.read_text())["metrics"] == {"active_accounts_12m": 3.0}
    assert [p.name for p in path.parent.glob("*.json")] == ["00.json"]


def _shared_frames():
    return memo.Shared(lambda v, folder: v.to_parquet(folder / "v.parquet"),
                       lambda folder: pd.read_parquet(folder / "v.parquet"))


def _other_kernel_computes(folder, log):
    """A second process of the run: counts its computations in ``log``."""
    import time
    memo.enable()
    memo.share_in(folder)

    def compute():
        with open(log, "a") as f:
            f.write("computed\n")
        time.sleep(1.0)
        return pd.DataFrame({"x": [1.0, 2.0]})
    return memo.remembered("k", _ds(), (1,), compute, shared=_shared_frames())["x"].tolist()


def test_the_kernels_of_a_run_compute_a_shared_result_once(batch, tmp_path):
    """Two processes that need the same result at the same time: one computes it (under the lock), the other
    waits and reads what it wrote; a later one reads it too; other arguments compute again."""
    from concurrent.futures import ProcessPoolExecutor
    log = tmp_path / "log.txt"
    with ProcessPoolExecutor(2) as pool:
        got = list(pool.map(_other_kernel_computes, [tmp_path / "shared"] * 2, [log] * 2))
    assert got == [[1.0, 2.0]] * 2 and log.read_text().count("computed") == 1
    memo.share_in(tmp_path / "shared")
    calls, compute = _counted()
    assert memo.remembered("k", _ds(), (1,), compute, shared=_shared_frames())["x"].tolist() == [1.0, 2.0]
    memo.remembered("k", _ds(), (2,), compute, shared=_shared_frames())
    assert len(calls) == 1
    memo.share_in(None)


def test_shared_churn_drivers_read_back_as_fitted(small_dir, tmp_path):
    """The churn drivers' written form (Parquet and JSON) gives back every table and fact of the fit."""
    ds = load_dataset(small_dir, analysis_date="2026-10-31", today=TODAY)
    fitted = survival.churn_drivers(ds)
    (tmp_path / "d").mkdir()
    survival.SHARED_DRIVERS.write(fitted, tmp_path / "d")
    back = survival.SHARED_DRIVERS.read(tmp_path / "d")
    for name in ("hazard_ratios", "ph_check", "discrete"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(fitted, name))
    for name in ("nobs", "accounts", "events", "lookback_days", "unknown_tier_rows", "follow_up_end", "dropped"):
        assert getattr(back, name) == getattr(fitted, name), name
    assert fitted.dropped and back.result is None

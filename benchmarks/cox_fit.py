"""Benchmark: the Cox fit of the churn drivers (kamlib.models.cox) on simulated counting-process rows, against
statsmodels' PHReg (optional: it takes minutes at full size).

    python benchmarks/cox_fit.py [--rows 4600000] [--covariates 6] [--statsmodels]

One row per account and month of age (a 200k-account book has ~4.6M), times in whole days, so event times tie
and many rows enter at some event time; covariates: counts, 0/1 dummies and normals. Prints the time to build
the model and to fit it, the peak RSS, and with --statsmodels the same for PHReg(..., entry=..., ties="breslow")
and the largest relative difference of the estimates and standard errors.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kamlib.models.cox import CoxPH  # noqa: E402


def simulate(rows: int, p: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """exit, entry, event, exog: accounts of up to 58 months (as in the sample), a first partial month, ~1.5%
    monthly churn."""
    rng = np.random.default_rng(seed)
    accounts = rows * 2 // 43                                        # ~rows after churn ends some
    months = rng.integers(1, 59, accounts)
    acc = np.repeat(np.arange(accounts), months)
    k = np.arange(len(acc)) - np.repeat(np.cumsum(months) - months, months)
    first = rng.integers(1, 31, accounts)[acc]                       # days in the account's first month
    entry = np.where(k == 0, 0, first + 30 * (k - 1)).astype(float)
    exit_ = (first + 30 * k).astype(float)
    kinds = [lambda n: rng.poisson(0.3, n), lambda n: rng.random(n) < 0.2, lambda n: rng.normal(size=n)]
    exog = np.column_stack([kinds[j % 3](len(acc)) for j in range(p)]).astype(float)
    beta = np.resize([0.4, -0.3, 0.2], p)
    hazard = 0.015 / 30 * np.exp(exog @ beta)
    hit = rng.random(len(acc)) < -np.expm1(-hazard * (exit_ - entry))
    # an account's rows end at its first event, dated on a whole day inside that row
    hits = np.cumsum(hit)
    before = np.repeat(np.concatenate([[0], hits])[np.cumsum(months) - months], months)   # events before its rows
    keep = hits - hit == before                                                          # no event before the row
    exit_ = np.where(hit, np.ceil(entry + (exit_ - entry) * rng.random(len(acc))), exit_)
    return exit_[keep], entry[keep], hit[keep].astype(int), exog[keep]


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=4_600_000)
    ap.add_argument("--covariates", type=int, default=6)
    ap.add_argument("--statsmodels", action="store_true", help="also fit statsmodels' PHReg (slow)")
    args = ap.parse_args()
    exit_, entry, event, exog = simulate(args.rows, args.covariates)
    print(f"{len(exit_):,} rows x {exog.shape[1]} covariates, {event.sum():,} events at "
          f"{len(np.unique(exit_[event == 1])):,} distinct times; peak RSS {peak_gib():.2f} GiB", flush=True)
    t0 = time.perf_counter()
    model = CoxPH(exit_, exog, event, entry)
    t1 = time.perf_counter()
    res = model.fit()
    t2 = time.perf_counter()
    print(f"kamlib CoxPH:      build {t1 - t0:6.1f} s, fit {t2 - t1:6.1f} s ({res.iterations} Newton steps, "
          f"converged {res.converged}), total {t2 - t0:6.1f} s; peak RSS {peak_gib():.2f} GiB", flush=True)
    print("  coef", np.round(res.params, 4), "se", np.round(res.bse, 5))
    if args.statsmodels:
        from statsmodels.duration.hazard_regression import PHReg
        t0 = time.perf_counter()
        sm = PHReg(exit_, exog, status=event, entry=entry, ties="breslow")
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = sm.fit()
        t2 = time.perf_counter()
        print(f"statsmodels PHReg: build {t1 - t0:6.1f} s, fit {t2 - t1:6.1f} s, total {t2 - t0:6.1f} s; "
              f"peak RSS {peak_gib():.2f} GiB")
        print(f"  largest relative difference: coef {np.max(np.abs(res.params / ref.params - 1)):.1e}, "
              f"se {np.max(np.abs(res.bse / ref.bse - 1)):.1e}")


if __name__ == "__main__":
    main()

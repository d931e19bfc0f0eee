"""Run inside a separate venv with the `lifetimes` package (pins: pandas<2, numpy<1.25); prints JSON timings.

Usage: python lifetimes_worker.py fit <model> <npz with frequency, recency, T>
       python lifetimes_worker.py rfm <csv with account_id, order_date, revenue> <observation_end>
"""
import json
import sys
import time

import numpy as np
import pandas as pd


def main(argv):
    task = argv[1]
    if task == "fit":
        from lifetimes import BetaGeoFitter, ParetoNBDFitter
        d = np.load(argv[3])
        fitter = {"bgnbd": BetaGeoFitter, "paretonbd": ParetoNBDFitter}[argv[2]](penalizer_coef=0.0)
        t = time.perf_counter()
        fitter.fit(d["frequency"], d["recency"], d["T"])
        seconds = time.perf_counter() - t
        print(json.dumps({"seconds": seconds, "params": [float(v) for v in fitter.params_.values]}))
    elif task == "rfm":
        from lifetimes.utils import summary_data_from_transaction_data
        tx = pd.read_csv(argv[2], parse_dates=["order_date"])
        kw = dict(observation_period_end=argv[3], freq="D", monetary_value_col="revenue")
        summary_data_from_transaction_data(tx.head(1000), "account_id", "order_date", **kw)  # warm-up
        t = time.perf_counter()
        out = summary_data_from_transaction_data(tx, "account_id", "order_date", **kw)
        seconds = time.perf_counter() - t
        print(json.dumps({"seconds": seconds, "rows": int(len(out)), "frequency_sum": float(out["frequency"].sum()),
                          "monetary_sum": float(out["monetary_value"].sum())}))


if __name__ == "__main__":
    main(sys.argv)

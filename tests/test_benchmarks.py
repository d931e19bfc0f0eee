"""The benchmark scripts run (tiny sizes) and their own checks hold: engines agree, kamlib matches itself on
Parquet and on a table. Their timings are measured by `make bench`, never asserted here."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_aggregate_benchmark_runs_and_engines_agree(capsys):
    import aggregate_scale
    aggregate_scale.main(["--sizes", "20000"])
    out = capsys.readouterr().out
    assert "rfm_summary speed-up over pandas" in out
    for engine in ("duckdb", "duckdb_table", "pandas"):
        assert f" {engine} " in out


def test_engine_agreement_check_stops_on_a_difference():
    import pandas as pd
    from aggregate_scale import check_agreement
    runs = pd.DataFrame({"lines": [10, 10], "engine": ["duckdb", "pandas"], "accounts": [5, 5],
                         "repeat_value": [100.0, 100.0]})
    check_agreement(runs)
    runs.loc[1, "repeat_value"] = 100.001
    with pytest.raises(SystemExit, match="engines disagree at 10 lines"):
        check_agreement(runs)


def test_clv_benchmark_runs_without_lifetimes(capsys):
    import clv_vs_lifetimes
    clv_vs_lifetimes.main(["--sizes", "2000", "--tx-sizes", "20000", "--models", "bgnbd", "--no-lifetimes"])
    out = capsys.readouterr().out
    assert "kamlib_parquet_s" in out and "kamlib_table_s" in out


def test_generated_order_lines_share_account_and_day_within_an_order():
    import numpy as np
    from order_lines import draw_lines
    rng = np.random.default_rng(0)
    account, day, order = draw_lines(rng, 50_000, n_accounts=100, n_days=30, lines_per_order=5)
    assert account.min() >= 0 and account.max() < 100 and day.min() >= 0 and day.max() < 30
    first = np.unique(order, return_index=True)[1]
    per_order = np.repeat(np.arange(len(first)), np.diff(np.append(first, len(order))))
    assert (account == account[first][per_order]).all() and (day == day[first][per_order]).all()
    assert 4.5 < len(order) / len(first) < 5.5           # ~5 lines per order (orders with no line drop out)
    single = draw_lines(rng, 1000, n_accounts=10, n_days=1460)[2]
    assert (single == np.arange(1000)).all()             # lines_per_order=1: every line its own order


@pytest.mark.slow
def test_batch_scale_benchmark_runs_every_step(capsys):
    import batch_scale
    batch_scale.main(["--accounts", "300", "--managers", "3", "--jobs", "1"])
    out = capsys.readouterr().out
    assert "300 accounts, 3 managers" in out and "FAILED" not in out
    for step in ("generate", "batch (all notebooks, manager reports, deck)", "kam brief after the batch"):
        assert step in out
    assert "3 manager reports" in out

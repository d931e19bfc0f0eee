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

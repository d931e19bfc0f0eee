"""The shared-table cache holds data only (Parquet and a JSON manifest, never pickles), gives back the same
tables and fitted model, and is rebuilt when its data, parameters, kamlib version or files do not match."""
import json

import pandas as pd
import pytest

from kamlib.analysis import portfolio
from kamlib.data.loading import load_dataset
from kamlib.report import cache
from kamlib.report.cache import cached

from conftest import TODAY


@pytest.fixture(scope="module")
def ds(small_dir):
    return load_dataset(small_dir, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")


@pytest.fixture
def counted():
    """book_tables, counting its calls (the cache rebuilds the dataclass its return annotation names)."""
    import functools

    @functools.wraps(portfolio.book_tables)
    def counter(ds, **kw):
        counter.calls += 1
        return portfolio.book_tables(ds, **kw)
    counter.calls = 0
    return counter


def test_book_tables_round_trip_as_parquet_and_manifest(ds, tmp_path, counted):
    first = cached(tmp_path, "book_tables", counted, ds, clv_model="bgnbd", n_draws=20)
    again = cached(tmp_path, "book_tables", counted, ds, clv_model="bgnbd", n_draws=20)
    assert counted.calls == 1
    files = sorted(p.name for p in (tmp_path / "book_tables").iterdir())
    assert "manifest.json" in files and all(f.endswith((".parquet", ".json")) for f in files)
    assert not list(tmp_path.rglob("*.pickle")) and not list(tmp_path.rglob("*.pkl"))
    for name in ("accounts", "actions", "scorecard", "whitespace", "rfm"):
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name))
        assert getattr(first, name).attrs == getattr(again, name).attrs
    assert isinstance(again.actions["detail"].dropna().iloc[0], dict)      # nested details come back as they were
    assert (again.model, again.horizon_months) == (first.model, first.horizon_months)
    # the fitted purchase model: same predictions and the same parameter draws (the bands of a brief)
    pd.testing.assert_series_equal(first.purchases.p_alive(first.rfm), again.purchases.p_alive(again.rfm))
    assert (first.purchases.draw_params(5, 1) == again.purchases.draw_params(5, 1)).all()
    manifest = json.loads((tmp_path / "book_tables" / "manifest.json").read_text())
    assert manifest["fingerprint"] == [ds.fingerprint] and manifest["parameters"]["kwargs"]["clv_model"] == "bgnbd"
    assert manifest["kamlib_version"] and manifest["function"] == "kamlib.analysis.portfolio.book_tables"


def test_a_cache_that_does_not_match_is_rebuilt(ds, tmp_path, counted, monkeypatch):
    cached(tmp_path, "book_tables", counted, ds, clv_model="bgnbd", n_draws=0)
    fresh = cached(tmp_path, "book_tables", counted, ds, clv_model="bgnbd", n_draws=5)  # other parameters
    assert counted.calls == 2
    manifest = tmp_path / "book_tables" / "manifest.json"
    doc = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(dict(doc, fingerprint=["another-book"])))            # other data
    cached(tmp_path, "book_tables", counted, ds, clv_model="bgnbd", n_draws=5)
    assert counted.calls == 3
    monkeypatch.setattr("kamlib.__version__", "99.0")                                   # another kamlib
    cached(tmp_path, "book_tables", counted, ds, clv_model="bgnbd", n_draws=5)
    assert counted.calls == 4 and json.loads(manifest.read_text())["kamlib_version"] == "99.0"
    (tmp_path / "book_tables" / "accounts.parquet").write_bytes(b"not parquet")         # damaged
    tables = cached(tmp_path, "book_tables", counted, ds, clv_model="bgnbd", n_draws=5)
    assert counted.calls == 5
    pd.testing.assert_frame_equal(tables.accounts, fresh.accounts)
    cached(tmp_path, "book_tables", counted, ds, clv_model="bgnbd", n_draws=5)
    assert counted.calls == 5


def test_an_old_pickle_is_never_loaded(ds, tmp_path, counted):
    import pickle

    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle executed')",))
    (tmp_path / "book_tables.pickle").write_bytes(pickle.dumps(Boom()))
    cached(tmp_path, "book_tables", counted, ds, clv_model="bgnbd", n_draws=0)
    assert counted.calls == 1


def test_only_data_is_cached(tmp_path):
    with pytest.raises(TypeError, match="not set"):
        cache.save(tmp_path / "x", {1, 2}, {})
    frame = pd.DataFrame({"a": [1.5, None]}, index=pd.Index(["x", "y"], name="id"))
    assert cached(tmp_path, "frame", lambda: frame).equals(frame)
    assert cached(tmp_path, "frame", lambda: None).equals(frame)                  # read, not computed
    assert cached("", "frame", lambda: 3) == 3                                    # no folder: computed

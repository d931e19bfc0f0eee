"""docs/from-lifetimes.md runs as written and reproduces lifetimes' CDNOW estimates; lifetimes' call shape."""
import re

import numpy as np
import pandas as pd
import pytest

from kamlib.models import BGNBD, MBGNBD, GammaGamma, ParetoNBD

from conftest import ROOT


def test_the_page_runs_and_matches_lifetimes_on_cdnow(monkeypatch):
    monkeypatch.chdir(ROOT)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "from-lifetimes.md").read_text(encoding="utf-8"),
                        flags=re.S)
    assert len(blocks) == 3
    ns: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/from-lifetimes.md block {i + 1}", "exec"), ns)
    assert ns["bgf"].converged and ns["bgf"].time_unit == "W" and ns["bgf"].nobs == 2357
    assert ns["params_gap"] < 1e-5 and ns["se_gap"] < 1e-4
    assert ns["ggf"].params.round(2).to_list() == [6.25, 3.74, 15.45]
    # the frame call gives the same fit as the arrays
    frame = BGNBD().fit(ns["rfm"])
    np.testing.assert_allclose(frame.params, ns["bgf"].params, rtol=1e-12)
    # a 12-month CLV in calendar months: the sum of discounted monthly increments of expected purchases
    units = ns["bgf"].months_to_units(12)
    assert units == pytest.approx(12 * 365.25 / 12 / 7)
    undiscounted = ns["bgf"].clv(ns["rfm"], ns["ggf"], horizon_months=12, discount_rate=0.0)
    expected = ns["bgf"].p_alive(ns["rfm"]) * ns["bgf"].expected_purchases_if_alive(units, ns["rfm"]) \
        * ns["ggf"].expected_spend(ns["rfm"])
    np.testing.assert_allclose(undiscounted, expected, rtol=1e-9)
    assert (ns["clv"] < undiscounted + 1e-9).all() and (ns["clv"] >= 1.01 ** -12 * undiscounted - 1e-9).all()


def test_lifetimes_call_shape_needs_the_time_unit_and_shows_the_kamlib_call():
    f, r, T = pd.Series([2.0, 0.0]), pd.Series([30.0, 0.0]), pd.Series([38.0, 38.0])
    with pytest.raises(TypeError) as e:
        BGNBD().fit(f, r, T)
    msg = str(e.value)
    assert "needs the unit of recency and T" in msg and "BGNBD().fit(rfm)" in msg and "time_unit='D'" in msg
    with pytest.raises(TypeError, match=r"ParetoNBD\(\)\.fit\(rfm\)"):
        ParetoNBD().fit(f, r)
    with pytest.raises(ValueError, match="time_unit must be one of"):
        BGNBD().fit(f, r, T, time_unit="fortnight")
    with pytest.raises(ValueError, match="same length"):
        BGNBD().fit(f, r, T.iloc[:1], time_unit="W")


def test_lifetimes_weights_and_gamma_gamma_shape():
    cdnow = pd.read_csv(ROOT / "data" / "cdnow" / "cdnow_customers_summary_with_transactions.csv")
    rows = cdnow.groupby(["x", "t_x", "T"]).size().reset_index(name="n")      # lifetimes' weights: row counts
    weighted = BGNBD().fit(rows["x"], rows["t_x"], rows["T"], rows["n"], time_unit="W")
    whole = BGNBD().fit(cdnow["x"], cdnow["t_x"], cdnow["T"], time_unit="W")
    np.testing.assert_allclose(weighted.params, whole.params, rtol=1e-6)
    gg = GammaGamma().fit(cdnow["x"], cdnow["zbar"])
    assert gg.nobs == 946
    # lifetimes' ModifiedBetaGeoFitter on CDNOW: r=0.525, alpha=6.183, a=0.891, b=1.614
    mbg = MBGNBD().fit(cdnow["x"], cdnow["t_x"], cdnow["T"], time_unit="W")
    assert mbg.params.round(3).to_list() == [0.525, 6.183, 0.891, 1.614]

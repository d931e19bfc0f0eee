"""Arguments are checked at the public boundary: a percentage passed as a rate, a negative horizon or time
raise a clear error instead of returning wrong money."""
import numpy as np
import pandas as pd
import pytest

from kamlib.analysis.economics import EquityInputs
from kamlib.models import BGNBD, ShiftedBetaGeometric
from kamlib.models.arguments import fraction, non_negative
from kamlib.models.simulate import simulate_bgnbd


@pytest.fixture(scope="module")
def fitted():
    rfm = simulate_bgnbd(np.full(400, 52.0), r=0.5, alpha=5.0, a=0.8, b=2.5, rng=np.random.default_rng(3))
    rfm.attrs["time_unit"] = "W"
    return BGNBD().fit(rfm), rfm


def test_a_percentage_passed_as_a_rate_is_refused_with_the_fraction_to_pass(fitted):
    bg, rfm = fitted
    with pytest.raises(ValueError, match=r"discount_rate=10 looks like a percentage: pass 0\.1\b"):
        bg.clv(rfm, 100.0, discount_rate=10)
    with pytest.raises(ValueError, match=r"margin_rate=25 looks like a percentage: pass 0\.25"):
        bg.clv(rfm, 100.0, margin_rate=25)
    with pytest.raises(ValueError, match="margin_rate=25"):
        bg.clv(rfm, 100.0, margin_rate=pd.Series(0.2, index=rfm.index).where(rfm.index != rfm.index[0], 25))
    with pytest.raises(ValueError, match="discount_rate=12 looks like a percentage"):
        ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326]).derl(discount_rate=12)
    with pytest.raises(ValueError, match="retention=90 looks like a percentage: pass 0.9"):
        EquityInputs(accounts=100, margin=1e5, retention=90, discount_rate=0.1, new_accounts=10, cac=2e4)


def test_negative_times_and_horizons_are_refused(fitted):
    bg, rfm = fitted
    with pytest.raises(ValueError, match="t must be a number >= 0, got -5"):
        bg.expected_purchases(-5, rfm)
    with pytest.raises(ValueError, match="horizon_months must be a number >= 0"):
        bg.clv(rfm, 100.0, horizon_months=-12)
    with pytest.raises(ValueError, match="horizon_months must be a whole number"):
        bg.clv(rfm, 100.0, horizon_months=2.5)


def test_valid_arguments_pass_and_give_the_same_money(fitted):
    bg, rfm = fitted
    a = bg.clv(rfm, 100.0, discount_rate=0.10, margin_rate=0.25, horizon_months=12)
    b = bg.clv(rfm, 100.0, discount_rate=0.10, margin_rate=pd.Series(0.25, index=rfm.index), horizon_months=12)
    assert np.allclose(a, b) and (a > 0).all()
    assert fraction("margin_rate", -0.3, allow_negative=True) == -0.3           # a loss-making account
    assert np.isnan(fraction("rate", float("nan")))                           # missing stays missing
    with pytest.raises(ValueError, match="negative"):
        fraction("discount_rate", -0.1)
    with pytest.raises(ValueError, match="out of range"):
        fraction("discount_rate", 250)
    assert non_negative("t", 0) == 0

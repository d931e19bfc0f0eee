"""Cross-sell whitespace on a book with planted gaps: found, sized to the account, and not raised for accounts
that buy everything, buy a category at a loss, or are too new to have bought a year's mix."""
import numpy as np
import pandas as pd
import pytest

from kamlib.analysis import segmentation as sg
from kamlib.data.loading import load_dataset

from conftest import TODAY, tiny_accounts, write_tables

CATEGORIES = ("bearings", "hydraulics", "fasteners", "packaging", "consumables", "spare parts")
MIX = np.array([0.3, 0.2, 0.15, 0.15, 0.1, 0.1])          # the peers' revenue mix


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rng = np.random.default_rng(3)
    n = 400
    ids = [f"P{i:04d}" for i in range(n)]
    acquired = np.where(np.arange(n) < 20, "2026-08-05", "2023-03-01")         # 20 accounts two months old
    acc = tiny_accounts(ids=ids, acquired=acquired).assign(industry=rng.choice(["machinery", "printing"], n),
                                                           tier=rng.choice(["A", "B"], n))
    size = np.exp(rng.normal(11, 1.0, n))                                      # yearly revenue, ~0.4x-3x spread
    gaps = {i: int(rng.integers(len(CATEGORIES))) for i in range(20, n) if rng.random() < 0.15}
    loss = {i: int(rng.integers(len(CATEGORIES))) for i in rng.choice([i for i in range(20, n) if i not in gaps],
                                                                      10, replace=False)}
    rows = []
    for i in range(n):
        mix = rng.dirichlet(MIX * 60)
        for c, share in enumerate(mix):
            if gaps.get(i) == c or (i < 20 and c >= 2):                      # the new accounts buy 2 categories
                continue
            rate = -0.05 if loss.get(i) == c else 0.25
            for day in rng.choice(np.arange(0, 55 if i < 20 else 365), 4, replace=False):
                rev = size[i] * share / 4
                rows.append({"account_id": ids[i], "product_category": CATEGORIES[c], "revenue": round(rev, 2),
                             "gross_margin": round(rev * rate, 2),
                             "order_date": (pd.Timestamp("2026-09-30") - pd.Timedelta(days=int(day))).date()})
    folder = write_tables(tmp_path_factory.mktemp("ws"), accounts=acc, transactions=pd.DataFrame(rows))
    ds = load_dataset(folder, analysis_date="2026-09-30", today=TODAY)
    return ds, gaps, loss, ids


def test_planted_gaps_are_found_and_nothing_else_much(planted):
    ds, gaps, loss, ids = planted
    ws = sg.whitespace(ds)
    found = set(zip(ws["account_id"], ws["product_category"]))
    truth = {(ids[i], CATEGORIES[c]) for i, c in gaps.items()}
    assert len(found & truth) / len(truth) >= 0.95
    full = {ids[i] for i in range(20, len(ids)) if i not in gaps and i not in loss}
    assert len(full & set(ws["account_id"])) / len(full) <= 0.03
    # an account buying a category at a loss buys it; the new accounts are left out, and counted
    assert not {(ids[i], CATEGORIES[c]) for i, c in loss.items()} & found
    assert not set(ids[:20]) & set(ws["account_id"])
    assert ws.attrs["left_out_new"] == 20 and ws.attrs["assessed"] == len(ids) - 20
    gap_rows = ws[ws["status"] == "not bought"]
    assert gap_rows["margin"].eq(0).all()


def test_the_potential_scales_with_the_account(planted):
    ds, gaps, loss, ids = planted
    ws = sg.whitespace(ds).set_index(["account_id", "product_category"])
    rows = ws.loc[[(ids[i], CATEGORIES[c]) for i, c in gaps.items() if (ids[i], CATEGORIES[c]) in ws.index]]
    # peers' median share of their margin in the category x the account's margin: about the planted mix
    ratio = rows["potential"] / rows["account_margin"]
    expected = MIX[[CATEGORIES.index(c) for c in rows.index.get_level_values(1)]]
    np.testing.assert_allclose(ratio, expected, rtol=0.35)
    big = rows["account_margin"] > rows["account_margin"].median()
    assert rows.loc[big, "potential"].median() > 2 * rows.loc[~big, "potential"].median()
    assert sg.whitespace_potential(ws.reset_index()).sum() == pytest.approx(ws["potential"].sum())

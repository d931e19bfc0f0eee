"""The bundled-sample generator: deterministic, valid under the schema, realistic in shape."""
import json

import numpy as np
import pandas as pd
import pytest

from kamlib import load_dataset
from kamlib.data.generator import GeneratorConfig, generate_book
from kamlib.models.simulate import simulate_bgnbd
from kamlib.data.schema import TABLES
from conftest import TODAY


def test_deterministic_for_a_seed(small_book):
    again = generate_book(GeneratorConfig(n_accounts=150, seed=7))
    for name in ("accounts", "transactions", "costs", "interactions"):
        pd.testing.assert_frame_equal(getattr(small_book, name), getattr(again, name))
    other = generate_book(GeneratorConfig(n_accounts=150, seed=8))
    assert not other.transactions["revenue"].equals(small_book.transactions["revenue"])


def test_tables_follow_the_schema_and_validate(small_book, small_dir):
    for name in ("accounts", "transactions", "costs", "interactions"):
        required = {c.name for c in TABLES[name].columns if c.required}
        assert required <= set(getattr(small_book, name).columns), name
    ds = load_dataset(small_dir, analysis_date="2026-10-31", today=TODAY)
    assert len(ds.accounts) == 150
    assert ds.accounts["account_id"].is_unique
    reasons = set(ds.quality.exclusions_table()["reason"])
    assert {"return (negative revenue)", "zero revenue"} <= reasons


def test_truth_is_recorded(small_book, small_dir):
    truth = json.loads((small_dir / "truth.json").read_text())
    assert truth["parameters"] == {"r": 1.2, "alpha": 4.0, "p": 4.0, "q": 3.0, "gamma": 10000.0, "time_unit": "W"}
    assert truth["config"]["seed"] == 7
    hazard = truth["churn_hazard"]
    assert hazard["hazard_ratios"] == {"complaints_90d": 1.5, "unresolved_complaints_90d": 2.0, "visits_90d": 0.97}
    assert hazard["lookback_days"] == 90 and hazard["tier_hazard_ratios"] == {"strategic": 1.0, "A": 1.0, "B": 1.0}


def test_shape_of_the_default_sample():
    book = generate_book(GeneratorConfig(n_accounts=600, seed=3))
    acc, tx = book.accounts, book.transactions
    assert len(acc) == 600
    assert acc["acquired_on"].min() >= pd.Timestamp("2022-01-01")
    assert tx["order_date"].max() <= pd.Timestamp("2026-10-31")
    # every account's first order is on its acquisition date
    first = tx[tx.revenue >= 0].groupby("account_id")["order_date"].min()     # zero-revenue lines are orders too
    assert (first == acc.set_index("account_id")["acquired_on"].reindex(first.index)).all()
    # heavy-tailed value: the top 20% of accounts carry well over half of the margin
    margin = tx[tx.revenue > 0].groupby("account_id")["gross_margin"].sum().sort_values(ascending=False)
    assert margin.head(int(0.2 * len(margin))).sum() / margin.sum() > 0.55
    assert set(acc["acquisition_channel"]) == {"direct", "referral", "agent"}
    assert set(book.costs["kind"]) == {"acquisition", "retention", "service", "win_back"}
    # strategic accounts are visited more often than C accounts
    visits = book.interactions.query("kind == 'visit'").groupby("account_id").size()
    per_tier = visits.reindex(acc["account_id"]).fillna(0).groupby(acc.set_index("account_id")["tier"]).mean()
    assert per_tier["strategic"] > per_tier["C"]
    # churned accounts order no more (returns of earlier orders may come later); won-back accounts order again
    churned = acc.dropna(subset=["churned_on"]).set_index("account_id")
    back = churned["won_back_on"].notna()
    assert back.any() and (churned.loc[back, "won_back_on"] > churned.loc[back, "churned_on"]).all()
    last = tx[tx["revenue"] > 0].groupby("account_id")["order_date"].max()
    assert (last.reindex(churned.index[~back]) <= churned.loc[~back, "churned_on"]).all()   # none after the churn
    assert (last.reindex(churned.index[back]) >= churned.loc[back, "won_back_on"]).all()
    # every account was won through an opportunity; payments cover every order; risky ratings pay later
    opp = book.opportunities
    won_accounts = opp[(opp["outcome"] == "won") & (opp["closed_on"] == opp["account_id"].map(
        acc.set_index("account_id")["acquired_on"]))]["account_id"]
    assert set(won_accounts) == set(acc["account_id"])
    pay = book.payments
    assert set(pay["invoice_id"]) == set(tx.loc[tx["revenue"] > 0, "order_id"])
    delay = (pay["paid_date"] - pay["due_date"]).dt.days.groupby(
        pay["account_id"].map(acc.set_index("account_id")["credit_rating"])).mean()
    assert delay["AAA"] < delay["A"] < delay["BB"]


def test_simulate_bgnbd_moments():
    """x ~ min(Geometric(p), Poisson(lambda T)): E[x] for homogeneous rates matches the closed form."""
    rng = np.random.default_rng(0)
    T = np.full(200_000, 20.0)
    sim = simulate_bgnbd(T, r=1e6, alpha=1e6 / 0.5, a=1e4, b=1e4 * 9, rng=rng)  # lambda=0.5, p=0.1
    lam, p = 0.5, 0.1
    # BG/NBD E[X(t)] with homogeneous lambda, p: (1 - exp(-lam p t)) / p
    assert sim["frequency"].mean() == pytest.approx((1 - np.exp(-lam * p * 20)) / p, rel=0.01)
    assert (sim["recency"] <= sim["T"]).all() and (sim.loc[sim.frequency == 0, "recency"] == 0).all()


def test_span_of_control_scales_with_the_book():
    from kamlib.data.generator import MANAGERS, SPAN_OF_CONTROL
    assert GeneratorConfig().managers == MANAGERS                        # the sample: 2,000 accounts, 12 managers
    big = GeneratorConfig(n_accounts=200_000).managers
    assert len(big) == round(200_000 / SPAN_OF_CONTROL) and len(set(big)) == len(big) and big[:12] == MANAGERS
    assert len(GeneratorConfig(n_accounts=200_000, n_managers=3000).managers) == 3000
    book = generate_book(GeneratorConfig(n_accounts=600, seed=3, n_managers=4))
    per = book.accounts["account_manager"].value_counts()
    assert sorted(per.index) == sorted(MANAGERS[:4]) and per.min() > 100       # ~150 accounts each
    assert set(book.opportunities["account_manager"]) <= set(MANAGERS[:4])
    assert book.truth["config"]["n_managers"] == 4


def test_chunked_csv_writer_writes_what_pandas_writes(small_book, tmp_path):
    """Every table of a book, written 37 rows at a time by Arrow, is byte for byte pandas' ``to_csv`` text."""
    from kamlib.data.csv_out import write_csv
    for name in ("accounts", "transactions", "costs", "interactions", "opportunities", "payments", "contacts",
                 "tier_changes"):
        frame = getattr(small_book, name)
        path = write_csv(frame, tmp_path / f"{name}.csv", chunk_rows=37)
        assert path.read_bytes() == frame.to_csv(index=False, date_format="%Y-%m-%d").encode(), name


def test_chunked_csv_writer_edge_values(tmp_path):
    from kamlib.data.csv_out import write_csv
    values = [0.0, -0.0, 12.0, 0.1, -1234.56, 1e-4, 5e-05, 1.5e-300, 1e13, 123456789012345.67, 1e16, 2.5e21,
              np.nan, np.inf, -np.inf, 1 / 3]
    frame = pd.DataFrame({
        "x": values,
        "text": ["plain", 'say "hi"', "a,b", "two\nlines", None, "", "汉字", "cr\r", "x", "y", "z", "w", "v", "u",
                 "t", "s"],
        "day": pd.to_datetime(["2026-01-05", None] + ["2024-02-29"] * 14),
        "n": np.arange(16) - 3,
        "flag": np.arange(16) % 3 == 0,
    })
    frame["obj"] = pd.Series([None, "KA00001"] * 8, dtype=object)
    frame["stamps"] = pd.Series([pd.Timestamp("2026-03-01"), None] * 8, dtype=object)
    frame["chunked"] = pd.concat([pd.Series(["a"] * 8), pd.Series([None, "b"] * 4)], ignore_index=True)
    for chunk in (1, 5, 100):
        write_csv(frame, tmp_path / "edge.csv", chunk_rows=chunk)
        assert (tmp_path / "edge.csv").read_bytes() == frame.to_csv(index=False, date_format="%Y-%m-%d").encode()
    parts = [frame.iloc[:7], frame.iloc[7:]]          # a table written part by part: one header
    write_csv(iter(parts), tmp_path / "parts.csv", chunk_rows=3)
    assert (tmp_path / "parts.csv").read_bytes() == frame.to_csv(index=False, date_format="%Y-%m-%d").encode()


def test_streamed_write_equals_in_memory_write(small_book, small_dir, tmp_path):
    """``write_book`` (``kam sample``: each table written from the codes as soon as it is final, a few rows at a
    time) writes the same files, truth.json included, as the in-memory book's ``write``."""
    from kamlib.data.generator import TABLE_NAMES, write_book
    streamed = write_book(GeneratorConfig(n_accounts=150, seed=7), tmp_path / "streamed", chunk_rows=101)
    assert sorted(p.name for p in streamed.iterdir()) == sorted([f"{t}.csv" for t in TABLE_NAMES] + ["truth.json"])
    for path in small_dir.iterdir():
        assert (streamed / path.name).read_bytes() == path.read_bytes(), path.name
    assert json.loads((streamed / "truth.json").read_text()) == json.loads(json.dumps(small_book.truth, default=str))


def test_order_ids_sort_as_text_also_past_their_width():
    from kamlib.data.generator import _text_order
    codes = np.array([0, 1, 0, 0, 1, 0, 1])
    numbers = np.array([12, 3, 100, 9, 10, 2, 1])
    for widths in ((3, 2), (2, 1)):         # every number fits its width / some do not ("SO100" < "SO12")
        text = [("SO", "WB")[c] + str(x).zfill(widths[c]) for c, x in zip(codes, numbers)]
        key = _text_order(("SO", "WB"), widths, codes, numbers)
        assert [text[j] for j in np.argsort(key, kind="stable")] == sorted(text)

"""One set of settings for every page that shares the book tables: kam.yaml's CLV, alert, policy, segmentation
and scorecard settings reach the memo, deck, manager pages and briefs as they reach the segmentation report."""
from __future__ import annotations

import pytest

from kamlib.analysis import clv, portfolio, segmentation
from kamlib.config import load_config
from kamlib.data.loading import load_dataset

from conftest import TODAY


def test_every_book_setting_comes_from_kam_yaml(tmp_path):
    (tmp_path / "kam.yaml").write_text("segmentation:\n  value_share: 0.6\n  potential: whitespace\n"
                                       "clv:\n  alert_value_share: 0.1\nactions:\n  stale_after_days: 90\n"
                                       "service_policy:\n  holidays: ['2026-10-01']\n", encoding="utf-8")
    settings = portfolio.book_settings(load_config(tmp_path / "kam.yaml").notebook_parameters())
    assert set(settings) == set(portfolio.BOOK_SETTINGS)
    assert (settings["value_share"], settings["potential"], settings["alert_value_share"],
            settings["stale_after_days"], settings["holidays"]) == (0.6, "whitespace", 0.1, 90, ["2026-10-01"])
    # settings a run does not give keep their defaults, so equal settings share one cache entry
    unset = set(portfolio.BOOK_SETTINGS) - set(load_config(tmp_path / "kam.yaml").notebook_parameters())
    assert unset <= {"n_draws", "whitespace_peers"}
    assert portfolio.book_settings({}) == portfolio.book_settings(portfolio.book_settings({}))


@pytest.fixture(scope="module")
def ds(small_dir):
    return load_dataset(small_dir, analysis_date="2026-09-30", today=TODAY, future_rows="exclude")


def test_the_shared_tables_follow_the_segmentation_settings(ds):
    """The strategy the manager pages show is the segmentation report's under the same settings."""
    settings = {"n_draws": 0, "value_share": 0.5, "potential_share": 0.6, "visit_cost": 900.0}
    tables = portfolio.tables_for(ds, settings)
    value = clv.value_accounts(ds, "auto", n_draws=0)              # the settings' default model, as the tables
    seg = segmentation.account_frame(ds, value.frame["clv"], value_share=0.5, potential_share=0.6, visit_cost=900.0)
    shared = tables.accounts["strategy"].dropna()
    assert shared.equals(seg.frame["strategy"].reindex(shared.index))
    default = portfolio.tables_for(ds, {"n_draws": 0}).accounts["strategy"].dropna()
    assert not default.equals(shared)             # the settings changed something, so the check above can fail

"""Book overview on a hand-computed book, the metrics recorder and the glossary."""
import json

import pandas as pd
import pytest

from kamlib import load_dataset
from kamlib.analysis import overview
from kamlib.analysis.metrics import GLOSSARY, MetricsRecorder, glossary_markdown, merge_metric_files
from kamlib.data.periods import window_12m
from conftest import ROOT, TODAY, tiny_accounts, write_tables


@pytest.fixture
def tiny(tmp_path):
    tx = pd.DataFrame({"account_id": ["A1", "A1", "A2", "A3", "A1"],
                       "order_date": ["2025-01-15", "2025-11-03", "2025-03-01", "2026-02-10", "2026-10-31"],
                       "revenue": [100.0, 200.0, 50.0, 80.0, 40.0], "gross_margin": [20.0, 50.0, 5.0, 8.0, -4.0],
                       "product_category": ["x"] * 5})
    return load_dataset(write_tables(tmp_path, accounts=tiny_accounts(), transactions=tx),
                        analysis_date="2026-10-31", today=TODAY)


def test_window_is_twelve_calendar_months():
    w = window_12m("2026-10-15")
    assert (w.start, w.end) == (pd.Timestamp("2025-11-01"), pd.Timestamp("2026-10-31"))


def test_book_summary_hand_computed(tiny):
    b = overview.book_summary(tiny)
    assert b["accounts"] == 3 and b["active_accounts_12m"] == 2    # A2 last ordered before the window
    assert b["revenue_12m"] == 320.0 and b["margin_12m"] == 54.0
    assert b["margin_rate_12m"] == pytest.approx(54 / 320)


def test_monthly_trend_fills_empty_months(tiny):
    tr = overview.monthly_trend(tiny)
    assert tr.index[0] == pd.Timestamp("2025-01-01") and tr.index[-1] == pd.Timestamp("2026-10-01")
    assert len(tr) == 22 and tr["revenue"].sum() == 470.0
    assert tr.loc["2025-02-01", "revenue"] == 0 and tr.loc["2026-10-01", "active_accounts"] == 1
    assert overview.revenue_change_12m(tr) is None


def test_top_accounts_and_breakdown(tiny):
    top = overview.top_accounts(tiny, n=2)
    assert top["account_id"].tolist() == ["A1", "A3"] and top.loc[1, "revenue"] == 240.0
    by = overview.breakdown(tiny, "tier")
    assert by.loc["A", "accounts"] == 3 and by.loc["A", "active_accounts"] == 2
    with pytest.raises(ValueError, match=r"no column 'colour' in the accounts table; its columns are: .*tier"):
        overview.breakdown(tiny, "colour")


def test_recorder_writes_json_and_requires_reasons(tmp_path):
    rec = MetricsRecorder(tmp_path / "m.json")
    rec.record("revenue_12m", 10.5)
    rec.record("cac", None, reason="no cost data")
    with pytest.raises(ValueError, match="reason"):
        rec.record("cac", None)
    with pytest.raises(ValueError, match="not finite"):
        rec.record("cac", float("nan"))
    with pytest.raises(KeyError, match="unknown metric"):
        rec.record("made_up", 1)
    d = json.loads((tmp_path / "m.json").read_text())
    assert d == {"metrics": {"revenue_12m": 10.5, "cac": None}, "notes": {"cac": "no cost data"}}
    other = MetricsRecorder(tmp_path / "n.json")
    other.record("cac", 3.0)
    metrics, notes = merge_metric_files([tmp_path / "m.json", tmp_path / "n.json"])
    assert metrics["cac"] == 3.0 and metrics["revenue_12m"] == 10.5 and notes == {"cac": "no cost data"}


def test_docs_metrics_md_is_generated_from_the_glossary():
    text = (ROOT / "docs/metrics.md").read_text()
    assert text == glossary_markdown(), "docs/metrics.md is stale: run `make docs`"
    for key in GLOSSARY:
        assert f"`{key}`" in text


def test_summary_highlights_say_what_is_missing():
    from kamlib.analysis import summary
    current = {"active_accounts_12m": 600, "revenue_12m": 36.6e6, "margin_12m": 7.5e6, "customer_equity": None,
               "churn_rate_12m": None, "accounts_at_risk": 0, "top20_margin_share": 0.623,
               "cac_to_retention_cost_ratio": 6.2, "win_rate_existing": 0.421, "win_rate_new": None,
               "dso_days": 51.3, "service_compliance_rate": 0.456}
    book, risk, economics = summary.highlight_paragraphs(current, "2022-03")
    assert book == ("In the 12 months to March 2022, 600 accounts bought CN¥36.6M, earning CN¥7.5M of gross margin. "
                    "Customer equity (today's book plus future cohorts net of acquisition cost) is not available; "
                    "the table below says why.")
    assert risk.startswith("The churn rate is not available") and "No valuable account looks lapsed." in risk
    assert "62.3% of margin" in risk
    assert economics.startswith("Winning an account cost 6.2x keeping one") and "Win rates are not available" in economics
    assert "not available keeping" not in economics and "51 days" in economics
    zh = summary.highlight_paragraphs(current | {"accounts_at_risk": 3}, "2022-03", lang="zh")
    assert "3个高价值客户可能已流失" in zh[1] and "客户流失率暂无法计算" in zh[1] and " " not in zh[1]
    assert "获取一个客户的成本是保持的6.2倍" in zh[2]

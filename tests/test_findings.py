"""The decision memo's findings follow the month's results: significant and material ones only, ranked by
money at stake, and every number they quote is a recorded metric."""
import re

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from kamlib.analysis import findings
from kamlib.analysis.metrics import GLOSSARY
from kamlib.analysis.scorecard import wilson_interval

MARGIN = 10_000_000.0


def _actions(**money_by_kind) -> pd.DataFrame:
    """An action list with one account per (kind, amount), managers alternating."""
    rows = []
    for kind, amounts in money_by_kind.items():
        for i, m in enumerate(amounts):
            rows.append({"account_id": f"{kind}-{i}", "account_manager": ["Li Na", "Chen Jing"][i % 2],
                         "name": "x", "tier": "A", "kind": kind, "money_at_stake": m, "detail": {}})
    return pd.DataFrame(rows, columns=["account_id", "account_manager", "name", "tier", "kind", "money_at_stake",
                                       "detail"])


ACCOUNTS = pd.DataFrame({"tier": ["strategic"] * 10 + ["A"] * 30 + ["C"] * 60})


def _hazards(hr=2.0, p=1e-6, lower=1.7, upper=2.4, driver="unresolved_complaints_90d"):
    return pd.DataFrame({"hazard_ratio": [hr, 0.97, 1.01], "lower": [lower, 0.95, 0.9], "upper": [upper, 0.99, 1.1],
                         "p_value": [p, 0.01, 0.8]}, index=[driver, "visits_90d", "tier_A"])


def _rates(won_existing, closed_existing, won_new, closed_new):
    rows = []
    for flag, won, n in ((True, won_existing, closed_existing), (False, won_new, closed_new)):
        lo, hi = wilson_interval(won, n)
        rows.append({"existing": flag, "closed": n, "won": won, "win_rate": won / n, "lower": lo, "upper": hi})
    return pd.DataFrame(rows).set_index("existing")


def _memo(actions=None, hazards="default", rates=None, pipeline=None, **kw):
    return findings.choose({"margin_12m": MARGIN}, _actions() if actions is None else actions, ACCOUNTS,
                           hazard_ratios=_hazards() if isinstance(hazards, str) else hazards,
                           drivers_base={"events": 120, "accounts": 900}, win_rates=rates,
                           open_pipeline=pipeline, **kw)


def test_complaint_finding_needs_a_significant_driver_and_material_money():
    acts = _actions(open_complaint=[300_000.0, 200_000.0])
    memo = _memo(acts)
    assert memo.kinds() == ["open_complaint"]
    f = memo.findings[0]
    assert f.money_at_stake == 500_000.0 and f.lead_manager == "Li Na"
    assert memo.metrics["finding_open_complaint_accounts"] == 2
    assert memo.metrics["finding_complaint_hazard_ratio"] == 2.0
    # Holm over the three drivers: the smallest p times 3
    assert memo.metrics["finding_complaint_p_adjusted"] == pytest.approx(3e-6)
    # the same book without complaints: no complaint driver, no open complaint -> no complaint finding
    none = _memo(_actions(), hazards=_hazards().drop("unresolved_complaints_90d"))
    assert "open_complaint" not in none.kinds()
    assert "finding_complaint_hazard_ratio" in none.reasons
    # significant but no open complaint now: nothing at stake, no finding
    assert _memo(_actions()).kinds() == []
    # not significant after Holm (0.03 is second of three: 0.03 x 2 > 0.05): open complaints alone are no finding
    assert _memo(acts, hazards=_hazards(p=0.03, lower=1.01)).kinds() == []
    # an interval that reaches 1 is no evidence of a higher hazard
    assert _memo(acts, hazards=_hazards(lower=0.9)).kinds() == []
    # not material: below 1% of 12-month margin
    assert _memo(_actions(open_complaint=[50_000.0])).kinds() == []
    # no churn-driver model at all: said why, no finding
    assert _memo(acts, hazards=None).reasons["finding_complaint_hazard_ratio"].startswith("the churn-driver model")


def test_adjusted_p_values_come_from_the_model_when_it_has_them():
    hz = _hazards().assign(p_adjusted=[0.2, 0.03, 0.9])
    assert findings.adjusted_p(hz).tolist() == [0.2, 0.03, 0.9]
    assert _memo(_actions(open_complaint=[500_000.0]), hazards=hz).kinds() == []
    p = pd.Series([0.01, 0.04, 0.03, 0.2], index=list("abcd"))
    assert np.allclose(findings.holm(p), multipletests(p, method="holm")[1])


def test_findings_are_ranked_by_money_and_capped():
    acts = _actions(visits_behind=[2_000_000.0], whitespace=[400_000.0, 300_000.0],
                    overdue_invoices=[900_000.0], churn_alert=[150_000.0], open_complaint=[1_000_000.0])
    memo = _memo(acts)
    assert memo.kinds() == ["visits_behind", "open_complaint", "overdue_invoices", "whitespace", "churn_alert"]
    assert [f.money_at_stake for f in memo.findings] == sorted((f.money_at_stake for f in memo.findings),
                                                               reverse=True)
    assert _memo(acts, max_findings=3).kinds() == ["visits_behind", "open_complaint", "overdue_invoices"]
    # materiality scales with the book: with 1% -> 5% the small ones drop out
    assert _memo(acts, material_share=0.05).kinds() == ["visits_behind", "open_complaint", "overdue_invoices",
                                                        "whitespace"]
    # the visit finding's base and interval: 1 of the 40 strategic and A accounts behind
    assert memo.metrics["finding_visit_policy_accounts"] == 40
    lo, hi = wilson_interval(39, 40)
    assert memo.metrics["finding_visits_on_track_lower"] == pytest.approx(lo)


def test_win_rates_matching_the_rule_of_thumb_are_said_to_match():
    memo = _memo(rates=_rates(251, 500, 76, 500), pipeline={"existing": 5e6, "new": 5e6})
    assert memo.kinds() == []
    assert [k for k, _ in memo.notes] == ["note_win_rate_existing_as_rule", "note_win_rate_new_as_rule"]
    fmt = findings.formatter(memo.metrics)
    said = [findings.note(k, v, fmt) for k, v in memo.notes]
    assert said[0].startswith("Existing accounts win 50.2% of their deals") and "in line with" in said[0]
    assert "新客户商机赢单率15.2%" in findings.note(*memo.notes[1], findings.formatter(memo.metrics, lang="zh"),
                                                   lang="zh")


def test_win_rates_below_the_rule_are_a_finding_when_pipeline_is_at_stake():
    memo = _memo(rates=_rates(150, 500, 76, 500), pipeline={"existing": 5e6, "new": 5e6})
    assert memo.kinds() == ["win_rate_existing"]
    assert memo.findings[0].money_at_stake == pytest.approx(5e6 * (0.5 - 0.3))
    assert [k for k, _ in memo.notes] == ["note_win_rate_new_as_rule"]
    # well above the rule: good news, a note
    above = _memo(rates=_rates(400, 500, 76, 500), pipeline={"existing": 5e6, "new": 5e6})
    assert above.kinds() == [] and above.notes[0][0] == "note_win_rate_existing_above_rule"
    # below the rule with no open pipeline: a note, not a finding
    small = _memo(rates=_rates(150, 500, 76, 500), pipeline={"existing": 0.0, "new": 0.0})
    assert small.kinds() == [] and small.notes[0][0] == "note_win_rate_existing_below_rule"


ALLOWED_CONSTANTS = {"95%", "50%", "15%", "1%", "12"}   # interval level, rules of thumb, materiality, window


def memo_numbers(text: str) -> set[str]:
    """The numbers a text quotes, as written (money with its symbol and unit, shares with %, multiples)."""
    return set(re.findall(r"(?:CN¥|¥)?\d[\d,]*(?:\.\d+)?(?:%|x|倍|万|亿|M|K|B)?", text))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_number_in_the_memo_is_a_recorded_metric(lang):
    acts = _actions(visits_behind=[2_000_000.0, 1_000_000.0], open_complaint=[1_000_000.0],
                    overdue_invoices=[900_000.0], whitespace=[400_000.0])
    memo = _memo(acts, rates=_rates(150, 500, 76, 500), pipeline={"existing": 5e6, "new": 5e6})
    assert set(memo.metrics) <= set(GLOSSARY)
    fmt = findings.formatter(memo.metrics, lang=lang)
    text = " ".join([findings.headline(memo, fmt, lang), *findings.table(memo, fmt, lang).drop(
        columns="owner").stack().tolist(), *(findings.note(k, v, fmt, lang) for k, v in memo.notes)])
    recorded = set().union(*(memo_numbers(fmt(k)) for k in memo.metrics))
    assert memo_numbers(text) - recorded - ALLOWED_CONSTANTS == set()


def test_every_finding_metric_is_recorded_or_said_why():
    """The batch records every glossary metric: each memo number has a value or a reason, whatever the data."""
    keys = {k for k in GLOSSARY if k.startswith(("finding_", "memo_"))}
    for memo in (_memo(), _memo(hazards=None), _memo(rates=_rates(150, 500, 76, 500), pipeline={"existing": 5e6}),
                 findings.choose({}, _actions(), ACCOUNTS.iloc[:0])):
        assert set(memo.metrics) | set(memo.reasons) == keys
        assert not set(memo.metrics) & set(memo.reasons)
        assert all(memo.reasons.values())


def test_money_the_driver_model_cannot_link_to_churn_is_not_available_not_zero():
    """Visits behind the policy put no margin at risk when visits are no supported churn driver (the action
    list's money is NaN): the metric is absent with its reason, never a 0 that reads 'nothing at stake'."""
    acts = _actions(visits_behind=[np.nan, np.nan], overdue_invoices=[900_000.0])
    memo = _memo(acts)
    assert "finding_visits_behind_margin" not in memo.metrics
    assert "churn-driver model" in memo.reasons["finding_visits_behind_margin"]
    assert memo.metrics["finding_visits_behind_accounts"] == 2 and memo.kinds() == ["overdue_invoices"]
    # with a supported link the same accounts carry their money
    memo = _memo(_actions(visits_behind=[2_000_000.0, np.nan]))
    assert memo.metrics["finding_visits_behind_margin"] == 2_000_000.0 and memo.kinds() == ["visits_behind"]

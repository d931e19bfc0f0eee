"""Presentation versions read as a client reads: one title, diagnostics in an appendix, named clusters,
no p-value like 8.88e-32."""
import nbformat
import pytest
import pandas as pd

from kamlib.analysis.segmentation import cluster_names
from kamlib.report.html import for_presentation


def test_one_title_and_an_appendix_at_the_end():
    nb = nbformat.v4.new_notebook()
    header = nbformat.v4.new_output("display_data", data={"text/html": "<p>month</p>"}, metadata={"kam": "header"})
    setup = nbformat.v4.new_code_cell("ctx = open_notebook()")
    setup.outputs = [header, nbformat.v4.new_output("display_data", data={"text/plain": "kept"})]
    fits = nbformat.v4.new_code_cell("fits", metadata={"tags": ["appendix"]})
    nb.cells = [nbformat.v4.new_markdown_cell("# Customer lifetime value\nWhat each account is worth."), setup,
                fits, nbformat.v4.new_code_cell("conclusions")]
    out = for_presentation(nb, "en")
    assert out.cells[0].source == "What each account is worth."
    assert [o.data for o in out.cells[1].outputs] == [{"text/plain": "kept"}]
    assert [c.source for c in out.cells[2:]] == ["conclusions", "## Appendix: model details", "fits"]
    assert nb.cells[0].source.startswith("# Customer")                       # the analyst version keeps it
    assert for_presentation(nb, "zh").cells[3].source == "## 附录：模型细节"


def test_clusters_are_named_from_their_profile():
    profile = pd.DataFrame({"accounts": [100, 300, 600], "revenue": [900_000.0, 200_000.0, 50_000.0],
                            "gross_margin": [90_000.0, 60_000.0, 5_000.0], "orders_12m": [40.0, 20.0, 3.0],
                            "recency_days": [10.0, 20.0, 200.0], "visits_per_week": [1.0, 0.5, 0.0]},
                           index=pd.Index([0, 1, 2], name="cluster"))
    names = cluster_names(profile)
    assert names.tolist() == ["large, frequent, low margin", "large, frequent, high margin",
                              "small, occasional, low margin"]
    assert cluster_names(profile, "zh")[0] == "大额，高频，低毛利"
    same = cluster_names(pd.concat([profile.iloc[[0]], profile.iloc[[0]].assign(recency_days=400.0)]))
    assert same.is_unique and same.iloc[1].endswith("lapsing")


def _choice(with_holdout: bool = True):
    from kamlib.analysis.clv import ModelChoice
    rows = {"bgnbd": {"model": "BG/NBD", "log_likelihood": -82534.0, "aic": 165076.0, "bic": 165098.0,
                      "mae": 3.65, "rmse": 6.31, "aggregate_error": -0.001, "converged": True},
            "paretonbd": {"model": "Pareto/NBD", "log_likelihood": -82453.0, "aic": 164914.0, "bic": 164935.0,
                          "mae": 3.57, "rmse": 6.18, "aggregate_error": -0.012, "converged": True}}
    if with_holdout:
        rows["baseline"] = {"model": "Naive baseline (past rate)", "mae": 5.56, "rmse": 8.92,
                            "aggregate_error": 0.298, "converged": None}
    table = pd.DataFrame.from_dict(rows, orient="index")
    if not with_holdout:
        table = table.drop(columns=["mae", "rmse", "aggregate_error"])
    table["chosen"] = table.index == "paretonbd"
    return ModelChoice(table, "paretonbd", {})


def test_the_model_check_shows_holdout_errors_and_keeps_fit_criteria_for_the_appendix():
    choice = _choice()
    shown = choice.holdout_table()
    assert list(shown.columns) == ["mae", "rmse", "aggregate_error", "chosen"]
    assert shown.index.tolist() == ["BG/NBD", "Pareto/NBD", "Naive baseline (past rate)"]
    fits = choice.fit_table()
    assert list(fits.columns) == ["log_likelihood", "aic", "bic", "converged", "chosen"]
    assert fits.index.tolist() == ["BG/NBD", "Pareto/NBD"]                 # the baseline has no fit
    assert list(_choice(with_holdout=False).holdout_table().columns)[:3] == ["log_likelihood", "aic", "bic"]


def test_fit_criteria_and_parameter_tables_are_shown_only_in_the_appendix():
    """A client's page leads with conclusions: LL / AIC / BIC and parameter tables only in cells tagged
    ``appendix`` (moved to the end of the presentation version)."""
    from pathlib import Path
    diagnostics = ("fit_table(", ".summary(lang", "choice.table.drop(", "choice.table.set_index(")
    for path in sorted(Path(__file__).parents[1].joinpath("notebooks").glob("0[0-5]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "appendix" not in cell.metadata.get("tags", []):
                assert not any(d in cell.source for d in diagnostics), (path.name, cell.source[:80])


def test_counts_in_a_table_have_thousands_separators():
    from kamlib.report.notebook import NotebookContext
    frame = pd.DataFrame({"accounts": [1023, 384], "clv_total": [99.6e6, 45.0e6]},
                         index=pd.Index(["private", "state-owned"], name="enterprise_type"))
    html = NotebookContext(ds=None).table(frame, money_cols=("clv_total",)).to_html()
    assert ">1,023<" in html and ">384<" in html and "1023" not in html


@pytest.mark.parametrize("lang, unit", [("en", "purchase days"), ("zh", "购买日")])
def test_the_holdout_error_has_one_unit_in_its_header_and_sentences(lang, unit):
    from kamlib.text.i18n import t
    values = dict(cal_end="Oct 31, 2025", months="12 months", model="Pareto/NBD", mae="3.57", agg="1.2%",
                  base="5.56")
    for text in (t("mae", lang), t("rmse", lang), t("clv_choice_sentence", lang, **values),
                 t("clv_baseline_beaten", lang, **values), t("clv_baseline_not_beaten", lang, **values)):
        assert unit in text, text


def test_the_two_visit_policy_shares_name_their_periods():
    """Visit-policy compliance (12-month window, report 04) and key accounts on track (last 13 weeks, the
    memo's finding) measure the same policy over different periods (40.4% and 39.9% on the sample): each label
    names its period, in both languages, so a board does not read one number twice."""
    from kamlib.analysis.metrics import GLOSSARY
    by_key = GLOSSARY
    for key, en, zh in (("service_compliance_rate", "12 months", "12个月"),
                        ("finding_visits_on_track_share", "13 weeks", "13周"),
                        ("finding_visits_behind_accounts", "13 weeks", "13周")):
        assert en in by_key[key].en and zh in by_key[key].zh, key


@pytest.mark.parametrize("lang, largest", [("en", "largest gap"), ("zh", "最大")])
def test_report_04_and_the_memo_agree_on_how_cross_sell_potential_adds_up(lang, largest):
    """The memo totals each account's largest gap; report 04 must not say the potentials are never added up."""
    from kamlib.text.i18n import t
    values = dict(n="521", assessed="835", peers="Industry, Tier", money="CN¥3.3M")
    for key in ("whitespace_sentence", "finding_whitespace_evidence"):
        assert largest in t(key, lang, **values), key
    assert "so the potentials are not added up" not in t("whitespace_sentence", lang, **values)

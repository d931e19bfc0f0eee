"""Every figure function, drawn with lang="zh", reads in Chinese: titles, axis labels, tick labels, legends and
annotations come from the locale files (PNG images cannot be read back, so the matplotlib figures are checked)."""
import importlib
import inspect
import pkgutil

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import kamlib.figures  # noqa: E402
from kamlib.figures.style import use_style  # noqa: E402

from zh_text import stray_latin  # noqa: E402

MANAGERS = ["Li Na", "王芳", "Zhang Wei"]
ACCOUNTS = ["Hongtai Machinery Holdings", "华信化工有限公司", "Acme Industrial Supply"]
MONTHS = pd.date_range("2024-11-01", periods=24, freq="MS")
DATA = set(MANAGERS) | set(ACCOUNTS) | {"A", "B", "C", "AAA", "AA", "BBB"}      # names and codes the data gave


def _km():
    t = np.arange(0, 900, 30)
    return pd.concat([pd.DataFrame({"group": g, "time_days": t, "survival": np.exp(-t / k),
                                    "lower": np.exp(-t / k) * 0.9, "upper": np.minimum(np.exp(-t / k) * 1.1, 1)})
                      for g, k in (("strategic", 3000), ("A", 1500))])


def _frame():
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame({"revenue": rng.gamma(2, 5e4, n), "gross_margin": rng.gamma(2, 1e4, n),
                         "potential": rng.gamma(2, 2e4, n), "profit_after_cost_to_serve": rng.normal(5e3, 1e4, n),
                         "strategy": rng.choice(["support_develop", "maintain_efficiently", "nurture_change",
                                                 "cut_cost_exit"], n)})


FIGURES = {
    "clv.tracking": lambda f: f(pd.DataFrame({"actual": np.arange(24.0), "expected": np.arange(24.0) * 1.1},
                                             index=MONTHS), MONTHS[12], lang="zh"),
    "clv.holdout_and_histogram": lambda f: f(
        pd.DataFrame({"actual": [0.2, 1.1, 2.3], "expected": [0.3, 1.0, 2.1]}, index=["0", "1", "2+"]),
        pd.DataFrame({"actual": [50, 30, 20], "model": [48, 33, 19]}, index=["0", "1", "2+"]), lang="zh"),
    "clv.clv_distribution": lambda f: f(pd.Series(np.random.default_rng(1).lognormal(10, 1.5, 300)),
                                        currency="CNY", lang="zh"),
    "clv.top_clv_bands": lambda f: f(pd.DataFrame({"name": ACCOUNTS, "clv": [3e6, 2e6, 1e6],
                                                   "clv_lower": [2e6, 1.5e6, 5e5], "clv_upper": [4e6, 3e6, 2e6]}),
                                     currency="CNY", lang="zh"),
    "economics.cohort_heatmap": lambda f: f(pd.DataFrame(np.triu(np.full((4, 4), 0.8))[::-1],
                                                         index=["2025Q1", "2025Q2", "2025Q3", "2025Q4"],
                                                         columns=[1, 2, 3, 4]), title_key="cohort_retention",
                                            lang="zh"),
    "economics.survival_curves": lambda f: f(_km(), group_label="客户级别", lang="zh"),
    "economics.forest": lambda f: f(pd.DataFrame({"hazard_ratio": [0.6, 2.1], "lower": [0.4, 1.9],
                                                  "upper": [0.9, 2.4]},
                                                 index=["visits_90d", "tier_strategic"]), lang="zh"),
    "economics.tornado": lambda f: f(pd.DataFrame({"low": [-2e6, -1e6], "high": [2e6, 1e6]},
                                                  index=["retention", "margin"]), currency="CNY", change=0.2,
                                     lang="zh"),
    "economics.budget_curve": lambda f: f(pd.DataFrame({"customer_equity": [1e8, 1.2e8, 1.1e8],
                                                        "optimal": [False, True, False]}, index=[0.2, 0.4, 0.6]),
                                          currency="CNY", lang="zh"),
    "overview.monthly_trend": lambda f: f(pd.DataFrame({"revenue": np.linspace(3e6, 4e6, 24),
                                                        "gross_margin": np.linspace(7e5, 9e5, 24),
                                                        "active_accounts": np.arange(24) + 800}, index=MONTHS),
                                          currency="CNY", lang="zh"),
    "overview.breakdown_bars": lambda f: f(pd.DataFrame({"accounts": [300, 200], "revenue": [2e8, 1e8]},
                                                        index=["machinery", "fasteners"]), "industry",
                                           currency="CNY", lang="zh"),
    "overview.top_accounts_bar": lambda f: f(pd.DataFrame({"name": ACCOUNTS, "revenue": [3e6, 2e6, 1e6],
                                                           "tier": ["strategic", "A", "B"]}), currency="CNY",
                                             lang="zh"),
    "portfolio.margin_trend": lambda f: f(pd.Series(np.linspace(2e5, 3e5, 24), index=MONTHS), manager="Li Na",
                                          currency="CNY", lang="zh"),
    "portfolio.account_months": lambda f: f(pd.DataFrame({"revenue": np.linspace(2e5, 3e5, 24),
                                                          "gross_margin": np.linspace(4e4, 6e4, 24)}, index=MONTHS),
                                            pd.DataFrame({"gross_margin": [3e5, 1e5]},
                                                         index=["bearings", "spare parts"]),
                                            name=ACCOUNTS[0], currency="CNY", lang="zh"),
    "scorecard.win_rates": lambda f: f(pd.DataFrame({"win_rate": [0.45, 0.15], "lower": [0.4, 0.1],
                                                     "upper": [0.5, 0.2]}, index=[True, False]), lang="zh"),
    "scorecard.ageing": lambda f: f(pd.DataFrame({"not due": [5e6, 1e6], "90+": [1e6, 2e6]}, index=["AAA", "BBB"]),
                                    currency="CNY", lang="zh"),
    "scorecard.complaint_funnel": lambda f: f({"complaints": 120, "resolved_share": 0.8,
                                               "first_contact_share": 0.5}, lang="zh"),
    "scorecard.manager_panels": lambda f: f(pd.DataFrame(np.full((3, 24), 1e5), index=MANAGERS, columns=MONTHS),
                                            pd.DataFrame({"retention_rate": [0.9, 0.8, 0.85],
                                                          "visit_compliance": [0.7, 0.9, 0.8],
                                                          "dso_days": [40, 55, 61]}, index=MANAGERS),
                                            currency="CNY", lang="zh"),
    "segmentation.lorenz_and_whale": lambda f: f(_frame(), lang="zh"),
    "segmentation.strategy_matrix": lambda f: f(_frame(), 2e4, 4e4, currency="CNY", potential_label="CLV",
                                                lang="zh"),
    "segmentation.compliance_by_manager": lambda f: f(pd.DataFrame({"compliance_rate": [0.7, 0.9, 0.8]},
                                                                   index=MANAGERS), lang="zh"),
    "segmentation.silhouette": lambda f: f(pd.DataFrame({"silhouette": [0.3, 0.4, 0.35],
                                                         "chosen": [False, True, False]}, index=[3, 4, 5]),
                                           lang="zh"),
}


def _figure_functions() -> set[str]:
    out = set()
    for info in pkgutil.iter_modules(kamlib.figures.__path__):
        if info.name == "style":                          # helpers, not figures
            continue
        module = importlib.import_module(f"kamlib.figures.{info.name}")
        out |= {f"{info.name}.{name}" for name, f in inspect.getmembers(module, inspect.isfunction)
                if f.__module__ == module.__name__ and not name.startswith("_")}
    return out


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_every_figure_function_is_checked_in_chinese():
    assert _figure_functions() == set(FIGURES)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_a_zh_figure_reads_in_chinese(name):
    module, function = name.split(".")
    use_style("zh")
    fig = FIGURES[name](getattr(importlib.import_module(f"kamlib.figures.{module}"), function))
    try:
        fig.canvas.draw()
        sup = [s.get_text() for s in (fig._suptitle, fig._supxlabel, fig._supylabel) if s is not None]
        texts = list(sup)
        for ax in (a for a in fig.axes if a.get_visible()):
            if ax.get_label() == "<colorbar>":
                texts.append(ax.get_ylabel())
                continue
            title, labels = ax.get_title(), [ax.get_xlabel(), ax.get_ylabel()]
            assert _chinese(title) or any(_chinese(s) for s in sup), f"{name}: no Chinese title"
            assert any(_chinese(s) for s in labels + sup), f"{name}: no Chinese axis label"
            assert all(_chinese(s) for s in labels if s), f"{name}: an axis label without Chinese: {labels}"
            texts += [title, *labels, *(t.get_text() for t in ax.texts)]
            texts += [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
            legend = ax.get_legend()
            if legend is not None:
                texts += [legend.get_title().get_text()] + [t.get_text() for t in legend.get_texts()]
                assert all(_chinese(t.get_text()) or t.get_text() in DATA for t in legend.get_texts()), name
        stray = [w for text in texts for w in stray_latin(text, DATA)]
        assert stray == [], f"{name}: {stray}"
    finally:
        plt.close(fig)

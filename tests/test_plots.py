import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from kamlib import economics_plots  # noqa: E402


def test_hazard_ratio_axis_reads_as_plain_ratios():
    hr = pd.DataFrame({"hazard_ratio": [0.6, 1.3, 3.1], "lower": [0.4, 1.2, 1.0], "upper": [0.9, 1.4, 9.4]},
                      index=["visits_per_month", "complaints_per_year", "tier_strategic"])
    fig = economics_plots.forest(hr, lang="en")
    ax = fig.axes[0]
    fig.canvas.draw()
    lo, hi = ax.get_xlim()
    shown = [tick.get_text() for tick, v in zip(ax.get_xticklabels(), ax.get_xticks()) if lo <= v <= hi]
    assert {"0.5", "1", "2", "5"} <= set(shown) and not any("^" in s for s in shown)
    assert ax.get_title() and ax.get_xlabel() and [lab.get_text() for lab in ax.get_yticklabels()][0] != ""
    plt.close(fig)

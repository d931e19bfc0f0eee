"""The one figure style of every report: theme, fonts (a CJK font for Chinese), log and money axes."""
from __future__ import annotations

import matplotlib
import matplotlib.ticker as mticker
import seaborn as sns

PALETTE = "deep"
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "AR PL UMing CN")


def cjk_font() -> str | None:
    """The first installed font that renders Chinese, or None."""
    from matplotlib import font_manager
    names = {f.name for f in font_manager.fontManager.ttflist}
    found = next((f for f in CJK_FONTS if f in names), None)
    if found is None:   # fonts installed after matplotlib built its cache: rescan once
        font_manager.fontManager = font_manager._load_fontmanager(try_read_cache=False)
        names = {f.name for f in font_manager.fontManager.ttflist}
        found = next((f for f in CJK_FONTS if f in names), None)
    return found


def use_style(lang: str = "en") -> None:
    """The report style. Chinese text (account names, regions) can appear in a report of any language, so an
    installed CJK font is always in the font list: first for ``lang='zh'`` (raises if none is installed),
    after the Latin font otherwise (matplotlib falls back to it glyph by glyph)."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc={"figure.figsize": (9, 4.5), "figure.dpi": 100,
                                                           "axes.titleweight": "bold"})
    font = cjk_font()
    if lang == "zh" and font is None:
        raise RuntimeError("no CJK font installed for Chinese plots: install Debian fonts-noto-cjk")
    if font is not None:
        fonts = [f for f in matplotlib.rcParams["font.sans-serif"] if f != font]
        matplotlib.rcParams["font.sans-serif"] = [font] + fonts if lang == "zh" else fonts[:1] + [font] + fonts[1:]
        matplotlib.rcParams["axes.unicode_minus"] = False


def shorten(text, width: int = 24) -> str:
    """A label cut to ``width`` characters with an ellipsis (a CJK character counts double, as it is drawn
    about twice as wide); tables show the full text."""
    text = str(text)
    out, used = "", 0
    for ch in text:
        w = 2 if ord(ch) >= 0x2E80 else 1
        if used + w > width:
            return out.rstrip() + "…"
        out, used = out + ch, used + w
    return out


def plain_log_ticks(axis, subs: tuple = (1.0,)) -> None:
    """Tick labels of a log or symlog axis as plain numbers (0.5, 1, 2, 10) instead of powers (10^0), at
    ``subs`` times each power of ten; no minor labels."""
    if axis.get_scale() == "log":
        axis.set_major_locator(mticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(mticker.NullFormatter())


RATING_ORDER = ("AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-", "BB+", "BB", "BB-", "B+", "B",
                "B-", "CCC", "CC", "C", "D")


def ordered(labels) -> list:
    """Category labels in their natural order: credit ratings best first (AAA, AA, A, BBB, BB ...), other
    labels as given — never alphabetical where an order exists."""
    labels = list(labels)
    if labels and all(str(v) in RATING_ORDER for v in labels):
        return sorted(labels, key=lambda v: RATING_ORDER.index(str(v)))
    return labels


def fit_axis(ax, top: float, axis: str = "y", headroom: float = 0.08) -> None:
    """An axis from 0 that shows its tallest bar (or stack) with some room above it."""
    if top > 0:
        (ax.set_ylim if axis == "y" else ax.set_xlim)(0, top * (1 + headroom))


def money_axis(ax, axis: str = "y", currency: str = "CNY", lang: str = "en") -> None:
    """Tick labels of an axis of amounts as money in the report's compact units ('CN¥1.5M'; '¥150万', '¥1.2亿'),
    one unit for the axis, chosen from its range when drawn — the same units as the tables and prose."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(_MoneyTicks(currency, lang))


class _MoneyTicks(mticker.Formatter):
    """Money tick labels (:func:`money_axis`): the unit from the view, the digits from the ticks' step, both
    read once per set of ticks (``set_locs``) rather than once per label."""

    def __init__(self, currency: str, lang: str):
        self.currency, self.lang = currency, lang
        self._ticks: list[float] = []
        self._style: tuple[float, int] | None = None      # (unit, digits) of the current set of ticks

    def set_locs(self, locs):
        self._ticks, self._style = list(locs), None

    def _unit_and_digits(self) -> tuple[float, int]:
        from ..text.formatting import money_unit
        if self._style is None:
            lo, hi = self.axis.get_view_interval()
            unit = money_unit([lo, hi], self.lang)
            ticks = [v / unit for v in (self._ticks or list(self.axis.get_majorticklocs()))]
            # the fewest digits (up to 2) that write every tick as it is: 2.5M is 'CN¥2.5M', never 'CN¥2M'
            self._style = unit, next((d for d in (0, 1) if all(abs(round(v, d) - v) <= 1e-9 * max(1.0, abs(v))
                                                                for v in ticks)), 2)
        return self._style

    def __call__(self, v, pos=None):
        from ..text.formatting import money
        if self.axis.get_scale() != "linear":      # log axis: each tick in its own unit ('CN¥1K', 'CN¥1M')
            return money(v, self.currency, self.lang)
        unit, digits = self._unit_and_digits()
        return money(v, self.currency, self.lang, unit=unit, digits=digits)

"""Report text in the report language: labels, headings, table headers, axis titles, narrative templates and
category values, read from one data file per language (``locales/en.yaml``, ``locales/zh.yaml``)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

LOCALE_DIR = Path(__file__).resolve().parent / "locales"


def _load_locales() -> tuple[tuple[str, ...], dict, dict, tuple, dict]:
    """Read every ``locales/<lang>.yaml`` once: (languages, labels, values, value patterns, CLDR locales), each
    table keyed by text key then language. English comes first; adding a language is adding a file."""
    files = sorted(LOCALE_DIR.glob("*.yaml"), key=lambda f: (f.stem != "en", f.stem))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = {f.stem: yaml.load(f.read_text(encoding="utf-8"), Loader=loader) for f in files}
    languages = tuple(data)

    def table(section: str) -> dict[str, dict[str, str]]:
        return {key: {lang: data[lang][section].get(key) for lang in languages} for key in data["en"][section]}

    patterns = tuple((re.compile(pattern), text) for pattern, text in table("value_patterns").items())
    return languages, table("labels"), table("values"), patterns, {lang: data[lang]["cldr_locale"] for lang in data}


LANGUAGES, LABELS, VALUES, VALUE_PATTERNS, CLDR_LOCALES = _load_locales()
"""``LABELS`` / ``VALUES``: key -> {language: text} (labels, headings, templates / category values shown in
tables; data keep their codes, only display translates); ``VALUE_PATTERNS``: (regex over a code, {language:
template with the regex groups}) for values built from a template (the date varies); ``CLDR_LOCALES``: the
locale whose number, currency and date rules (Babel) each report language uses."""


LABELS_ENV = "KAM_LABELS"   # display names of data codes from kam.yaml (`labels:`), JSON, inherited by kernels


def add_labels(labels: dict[str, dict[str, str]]) -> None:
    """Display names of data codes (a company's product categories, regions ...) per language, on top of the
    built-in ones: ``{"HYD-01": {"en": "Hydraulic pumps", "zh": "液压泵"}}``; a language left out keeps the
    code."""
    for code, names in (labels or {}).items():
        VALUES[str(code)] = {lang: str(names.get(lang) or VALUES.get(str(code), {}).get(lang) or code)
                             for lang in LANGUAGES}


def _labels_from_environment() -> None:
    import json
    import os
    text = os.environ.get(LABELS_ENV)
    if text:
        add_labels(json.loads(text))


_labels_from_environment()


def t(key: str, lang: str = "en", **fmt) -> str:
    """The label ``key`` in ``lang``, formatted with ``fmt``. Unknown keys raise KeyError."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")
    text = LABELS[key][lang]
    return text.format(**fmt) if fmt else text


def tv(value, lang: str = "en"):
    """Display text of a category value (a tier, strategy, flag, yes/no ...); other values are unchanged."""
    if isinstance(value, (bool, np.bool_)):
        return t("yes" if value else "no", lang)
    if not isinstance(value, str):
        return value
    if value in VALUES:
        return VALUES[value][lang]
    for pattern, text in VALUE_PATTERNS:
        m = pattern.fullmatch(value)
        if m:
            return text[lang].format(*m.groups())
    return value


def visit_policy_text(visits_per_week: dict, lang: str = "en") -> tuple[str, str]:
    """A visit policy ({tier: visits per week}) in words, and the tiers it covers ('strategic and A')."""
    def name(tier) -> str:
        return t(f"tier_name_{tier}", lang) if f"tier_name_{tier}" in LABELS else str(tv(tier, lang))
    rules = t("list_separator", lang).join(t("visit_rule", lang, tier=name(k), n=v)
                                           for k, v in visits_per_week.items())
    return rules, t("list_and", lang).join(name(k) for k in visits_per_week)


def join_reasons(reasons: pd.DataFrame, lang: str = "en") -> pd.Series:
    """The non-empty reason columns of each row joined into one text ('' when there is none)."""
    sep = t("reason_separator", lang)
    return pd.Series([sep.join(v for v in row if v) for row in reasons.itertuples(index=False)],
                     index=reasons.index, dtype=object)


def header(key, lang: str = "en", prefer_values: bool = False):
    """Display text of a table header or row key: a label, 'rank_<kpi>', a model covariate or a value
    (row keys pass ``prefer_values``: 'accounts' as a row is the accounts table, as a column the count)."""
    if not isinstance(key, str) or (prefer_values and key in VALUES):
        return tv(key, lang)
    if key in LABELS:
        return t(key, lang)
    if key.startswith("rank_") and key[5:] in LABELS:
        return t("rank_of", lang, kpi=t(key[5:], lang))
    if "cov_" + key in LABELS:
        return t("cov_" + key, lang)
    window = _LOOKBACK.fullmatch(key)          # a driver counted over a look-back window, e.g. visits_90d
    if window and "cov_" + window.group(1) in LABELS:
        return t("cov_" + window.group(1), lang, days=window.group(2))
    return tv(key, lang)


_LOOKBACK = re.compile(r"(.+)_(\d+)d")


def covariate_reading(name: str, lang: str = "en") -> str:
    """How a churn driver's hazard ratio reads: 'Each complaint in the last 90 days' (``cov_unit_*``)."""
    window = _LOOKBACK.fullmatch(name)
    base, days = (window.group(1), window.group(2)) if window else (name, "")
    return t(f"cov_unit_{base}", lang, days=days)

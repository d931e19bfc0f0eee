"""Translations as data: every key in every language file, no key given twice, templates consistent."""
import collections
import string

import numpy as np
import yaml

from kamlib.text import i18n



class _NoDuplicates(yaml.SafeLoader):
    """A YAML loader that fails on a key given twice (the plain loader keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        twice = [k for k, c in collections.Counter(keys).items() if c > 1]
        assert twice == [], f"line {node.start_mark.line + 1}: keys given twice: {twice}"
        return super().construct_mapping(node, deep=deep)


def _placeholders(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}


def test_every_locale_file_has_every_key_and_the_same_placeholders():
    files = sorted(i18n.LOCALE_DIR.glob("*.yaml"))
    assert {f.stem for f in files} == set(i18n.LANGUAGES) >= {"en", "zh"}
    data = {f.stem: yaml.load(f.read_text(encoding="utf-8"), Loader=_NoDuplicates) for f in files}
    for section in ("labels", "values", "value_patterns"):
        keys = set(data["en"][section])
        for lang, table in data.items():
            assert set(table[section]) == keys, f"{lang}.yaml {section}: missing {keys - set(table[section])}, " \
                                                 f"extra {set(table[section]) - keys}"
            for key, text in table[section].items():
                assert isinstance(text, str) and text, f"{lang}.yaml {section}.{key}: empty"
                assert _placeholders(text) == _placeholders(data["en"][section][key]), \
                    f"{lang}.yaml {section}.{key}: placeholders differ from en.yaml"


def test_a_placeholder_mismatch_is_caught():
    assert _placeholders("up {pct}") != _placeholders("增长{percent}")
    assert _placeholders("{0} days") == _placeholders("{0}天")


def test_adding_a_language_is_adding_a_file(tmp_path, monkeypatch):
    for f in i18n.LOCALE_DIR.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "fr.yaml").write_text((i18n.LOCALE_DIR / "en.yaml").read_text(encoding="utf-8")
                                      .replace('month: "Month"', 'month: "Mois"'), encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    languages, labels, values, _, cldr = i18n._load_locales()
    assert languages == ("en", "fr", "zh") and labels["month"]["fr"] == "Mois"
    assert values["strategic"]["fr"] == "strategic" and cldr["fr"] == "en"


def test_values_cover_every_code_the_data_model_and_analyses_emit():
    from kamlib.data import schema
    from kamlib.analysis import segmentation
    from kamlib.analysis.scorecard import AGEING_BUCKETS, STAGE_ORDER
    codes = (set(schema.ENTERPRISE_TYPES) | set(schema.ACQUISITION_CHANNELS) | {"strategic"}
             | set(segmentation.STRATEGIES) | {name for name, *_ in segmentation.RFM_SEGMENTS}
             | {"under-served", "over-served", "upgrade", "downgrade", "keep"} | set(STAGE_ORDER)
             | (set(AGEING_BUCKETS) - {"0-30", "31-60", "61-90", "90+"}) | set(schema.TABLES))
    assert codes - set(i18n.VALUES) == set()
    for code, labels in i18n.VALUES.items():
        assert set(labels) == {"en", "zh"} and all(labels.values()), code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in labels["zh"]), f"{code}: zh text has no Chinese"


def test_value_and_header_translation():
    assert i18n.tv("support_develop", "zh") == "重点发展"
    assert i18n.tv("support_develop", "en") == "Support & develop"
    assert i18n.tv(True, "zh") == "是" and i18n.tv(False, "en") == "no"
    assert i18n.tv("dated after the analysis date 2026-10-31", "zh") == "日期晚于分析日期2026-10-31"
    assert i18n.tv("Huaxin Machinery Co.", "zh") == "Huaxin Machinery Co."     # free text is untouched
    assert i18n.tv(3.5, "zh") == 3.5
    assert i18n.header("rank_win_rate", "en") == "Rank: " + i18n.t("win_rate", "en")
    assert i18n.header("tier_strategic", "zh") == i18n.t("cov_tier_strategic", "zh")
    # 'accounts' as a column is the count, as a row key the accounts table
    assert i18n.header("accounts", "zh") == "客户数"
    assert i18n.header("accounts", "zh", prefer_values=True) == "客户档案"


def test_tables_show_values_in_the_report_language():
    import pandas as pd

    from kamlib.report.notebook import translate_values
    df = pd.DataFrame({"name": ["private", "Acme <b>"], "tier": ["strategic", "B"], "flag": [True, False],
                       "margin": [1.0, 2.0]}, index=pd.Index(["support_develop", "team median"], name="strategy"))
    out = translate_values(df, "zh")
    assert out["name"].tolist() == ["private", "Acme <b>"]   # names are free text, even when they look like codes
    assert out["tier"].tolist() == ["特级", "B"]
    assert out["flag"].tolist() == ["是", "否"]
    assert out["margin"].tolist() == [1.0, 2.0]
    assert out.index.tolist() == ["重点发展", "团队中位数"]
    assert df["tier"].tolist() == ["strategic", "B"]       # the input is not modified
    named = translate_values(df.set_index("name"), "zh")
    assert named.index.tolist() == ["private", "Acme <b>"]


def test_model_summary_in_both_languages():
    import numpy as np
    import pandas as pd

    from kamlib.models import ShiftedBetaGeometric
    res = ShiftedBetaGeometric().fit(np.array([1000, 631, 468, 382, 326, 289, 262, 241]))
    en, zh = res.summary().as_text(), res.summary(lang="zh").as_text()
    assert "Log-likelihood" in en and "std err" in en and f"{res.params['alpha']:.4f}" in en
    assert "对数似然" in zh and "标准误" in zh and "Log-likelihood" not in zh
    html = res.summary(lang="zh")._repr_html_()
    assert "估计值" in html and isinstance(res.summary().table, pd.DataFrame)


def test_model_warnings_become_notes_in_the_reader_language(monkeypatch):
    import warnings

    from kamlib.report import notebook as kd
    from kamlib.models import ConvergenceWarning
    shown, elsewhere = [], []
    monkeypatch.setattr(kd, "display", shown.append)
    with warnings.catch_warnings():                    # restores warnings.showwarning afterwards
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, *args, **kw: elsewhere.append(str(message))
        kd.show_model_warnings("en")
        kd.show_model_warnings("zh")                   # a second notebook run: replaces, does not stack
        warnings.warn("BG/NBD: fit did not converge", ConvergenceWarning)
        warnings.warn("something else", UserWarning)
    assert len(shown) == 1 and "模型警告" in shown[0].data and "BG/NBD: fit did not converge" in shown[0].data
    assert elsewhere == ["something else"]
    # kamlib's own warnings are translated whole; only the optimiser's message stays as it came
    fit = ConvergenceWarning("Pareto/NBD: fit did not converge (...)", model="Pareto/NBD", edge="s = 1.3e-06",
                             detail="CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL")
    zh = kd.model_warning_text(fit, "zh")
    assert zh.startswith("模型警告：Pareto/NBD 拟合未收敛") and "s = 1.3e-06 趋向参数空间的边界" in zh
    assert "heading" not in zh and "PGTOL" in zh
    assert "s = 1.3e-06 heading to the edge" in kd.model_warning_text(fit, "en")
    fit.edge = ""
    assert "边界" not in kd.model_warning_text(fit, "zh") and "不可靠" in kd.model_warning_text(fit, "zh")


def test_table_numbers_get_a_format_by_magnitude():
    from kamlib.text.formatting import number_format
    assert number_format([8.0, 5.0, np.nan]) == "{:,.0f}"              # whole numbers (ranks, counts)
    assert number_format([38423.8, 12.1]) == "{:,.0f}"
    assert number_format([63.67, 30.01]) == "{:,.1f}" and number_format([7.07, 0.9]) == "{:,.2f}"
    assert number_format([0.02, 0.04]) == "{:.2g}"
    assert number_format([0.5, 0.0001]) == "{:.3g}"                   # p-values keep their digits
    assert number_format([]) == "{:,.0f}"


def test_model_summary_names_the_time_unit():
    import numpy as np

    from kamlib.models import BGNBD
    from kamlib.models.simulate import simulate_bgnbd
    rng = np.random.default_rng(0)
    rfm = simulate_bgnbd(np.full(500, 52.0), rng=rng, r=0.8, alpha=5.0, a=0.7, b=3.0)
    rfm.attrs["time_unit"] = "W"
    res = BGNBD().fit(rfm)
    en, zh = res.summary().as_text(), res.summary(lang="zh").as_text()
    assert "Time unit of frequency/recency/T: weeks." in en and "时间单位：周。" in zh
    res.time_unit = "fortnight"                          # a unit without a name is shown as given
    assert "frequency/recency/T: fortnight." in res.summary().as_text()


def test_p_values_in_prose_are_never_zero():
    from kamlib.text.formatting import p_value
    assert p_value(1.2e-30) == "p < 0.001" and p_value(0.0) == "p < 0.001"
    assert p_value(0.0104) == "p = 0.010" and p_value(0.245) == "p = 0.245" and p_value(0.001) == "p = 0.001"
    assert i18n.t("logrank_sentence", "zh", group="客户级别", chi2="140.4", df=3, p=p_value(1e-30)) == \
        "客户级别间对数秩检验：卡方=140.4，自由度3，p < 0.001。"


def test_visit_policy_in_words():
    policy = {"strategic": 2.0, "A": 1.0}
    assert i18n.visit_policy_text(policy, "en") == ("strategic: 2+ visits a week, A: 1+ visits a week",
                                                    "strategic and A")
    assert i18n.visit_policy_text(policy, "zh") == ("特级客户每周至少拜访2次，A级客户每周至少拜访1次", "特级和A级")


def test_data_codes_have_display_names_built_in_and_from_kam_yaml(tmp_path, monkeypatch):
    from kamlib.config import load_config
    from kamlib.data.generator import CATEGORIES, INDUSTRIES, REGIONS
    for code in (*CATEGORIES, *INDUSTRIES, *REGIONS):           # the sample's codes read in Chinese
        assert any("\u4e00" <= ch <= "\u9fff" for ch in i18n.tv(code, "zh")), code
    assert i18n.t("action_whitespace_below", "zh", category=i18n.tv("fasteners", "zh")) == "紧固件的购买量远低于同类客户"
    path = tmp_path / "kam.yaml"
    path.write_text("labels:\n  HYD-01: {en: Hydraulic pumps, zh: 液压泵}\n  fasteners: {zh: 螺栓螺母}\n",
                    encoding="utf-8")
    env = load_config(path).environment()
    monkeypatch.setattr(i18n, "VALUES", {k: dict(v) for k, v in i18n.VALUES.items()})
    monkeypatch.setenv(i18n.LABELS_ENV, env[i18n.LABELS_ENV])
    i18n._labels_from_environment()                              # as a notebook kernel starts
    assert (i18n.tv("HYD-01", "zh"), i18n.tv("HYD-01", "en")) == ("液压泵", "Hydraulic pumps")
    assert (i18n.tv("fasteners", "zh"), i18n.tv("fasteners", "en")) == ("螺栓螺母", "fasteners")

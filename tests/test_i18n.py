"""The translation table: every label in both languages, no key defined twice, templates consistent."""
import ast
import collections
import string

from kamlib import i18n

from conftest import ROOT


def test_no_duplicate_keys_and_both_languages():
    tree = ast.parse((ROOT / "kamlib" / "i18n.py").read_text())
    table = next(n for n in ast.walk(tree) if isinstance(n, ast.Dict) and len(n.keys) > 50)
    keys = [k.value for k in table.keys]
    assert [k for k, c in collections.Counter(keys).items() if c > 1] == []
    for key, labels in i18n.LABELS.items():
        assert set(labels) == {"en", "zh"} and all(labels.values()), key
        fields = [{f for _, f, _, _ in string.Formatter().parse(labels[lang]) if f} for lang in ("en", "zh")]
        assert fields[0] == fields[1], f"{key}: placeholders differ between en and zh"

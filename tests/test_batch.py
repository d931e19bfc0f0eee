"""The monthly batch: configuration, back-fill ranges with month-over-month comparison, Chinese reports,
HTML escaping of user text."""
import json
import shutil

import pandas as pd
import pytest

from kamlib.cli import main, months_between
from kamlib.config import ConfigError, load_config
from kamlib.report.pdf import find_chromium
from kamlib.figures.style import cjk_font

from conftest import ROOT, TODAY


def test_config_defaults_example_and_overrides(tmp_path):
    cfg = load_config(ROOT / "kam.example.yaml")
    assert cfg.language == "en" and cfg.service_policy.visits_per_week == {"strategic": 2.0, "A": 1.0}
    cfg = load_config(ROOT / "kam.example.yaml", {"language": "zh", "clv.discount_rate": 0.08, "company": None})
    assert cfg.language == "zh" and cfg.notebook_parameters()["discount_rate"] == 0.08
    assert cfg.company_in() == "示例工业供应有限公司" and cfg.company_in("en") == "Example Industrial Supply Co."
    assert load_config(ROOT / "kam.example.yaml", {"company": "Acme"}).company_in("zh") == "Acme"   # one for all
    # one model choice for every report that values accounts (notebook 02's "model", 03-05's "clv_model")
    params = load_config(ROOT / "kam.example.yaml", {"clv.model": "auto"}).notebook_parameters()
    assert params["model"] == params["clv_model"] == "auto"


@pytest.mark.parametrize("text,message", [
    ("language: fr\n", "key 'language': found 'fr'; allowed: 'en' or 'zh'"),
    ("clv:\n  discount_rate: 1.5\n", "key 'clv.discount_rate': found 1.5"),
    ("churn:\n  definition: vibes\n", "key 'churn.definition': found 'vibes'; allowed: 'auto', 'recorded'"),
    ("colour: red\n", "key 'colour': unknown key"),
    ("service_policy:\n  visits_per_week: {Z: 1}\n", "allowed: 'strategic', 'A', 'B' or 'C'"),
    ("[1, 2]\n", "expected a mapping"),
    ("data:\n  duckdb:\n    memory_limit: lots\n", "key 'data.duckdb.memory_limit': found 'lots'"),
    ("data:\n  duckdb:\n    threads: 0\n", "key 'data.duckdb.threads': found 0"),
    ("data:\n  duckdb:\n    max_temp_directory_size: big\n", "key 'data.duckdb.max_temp_directory_size': found 'big'"),
])
def test_config_errors_name_key_value_and_allowed(tmp_path, text, message):
    path = tmp_path / "kam.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert message in str(e.value)


def test_cli_rejects_bad_config(tmp_path, capsys):
    (tmp_path / "kam.yaml").write_text("language: fr\n")
    assert main(["report", "--config", str(tmp_path / "kam.yaml"), "--quiet"]) == 2
    assert "invalid configuration: kam.yaml: key 'language'" in capsys.readouterr().err


def test_months_between():
    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    with pytest.raises(ValueError):
        months_between("2026-03", "2026-01")


def test_backfill_range_compares_with_previous_month(small_dir, tmp_path):
    out = tmp_path / "r"
    code = main(["report", "--data", str(small_dir), "--from", "2026-07", "--to", "2026-08", "--out", str(out),
                 "--quiet", "--jobs", "1", "--today", TODAY, "--notebooks", "01_account_overview",
                 "00_executive_summary"])
    assert code == 0
    for month in ("2026-07", "2026-08"):
        m = json.loads((out / month / "metrics.json").read_text())
        assert m["month"] == month and m["metrics"]["revenue_12m"] > 0
    jul = json.loads((out / "2026-07" / "metrics.json").read_text())["metrics"]
    aug = json.loads((out / "2026-08" / "metrics.json").read_text())["metrics"]
    assert jul["revenue_12m"] != aug["revenue_12m"]              # later rows left out of July, not an error
    run = json.loads((out / "2026-08" / "run.json").read_text())
    assert run["parameters"]["previous_metrics"].endswith("2026-07/metrics.json")
    summary = (out / "2026-08" / "00_executive_summary.presentation.html").read_text()
    assert "No report of the previous month" not in summary and "Last month" in summary
    first = (out / "2026-07" / "00_executive_summary.presentation.html").read_text()
    assert "No report of the previous month" in first and "Last month" not in first


def test_chinese_report(small_dir, tmp_path):
    if cjk_font() is None:
        pytest.skip("no CJK font installed (Debian fonts-noto-cjk; `make system-deps` installs it)")
    out = tmp_path / "zh"
    assert main(["report", "--data", str(small_dir), "--month", "2026-09", "--out", str(out), "--quiet",
                 "--jobs", "2", "--today", TODAY, "--language", "zh", "--notebooks", "01_account_overview",
                 "00_executive_summary", *(["--pdf"] if find_chromium() else [])]) == 0
    page = (out / "2026-09" / "01_account_overview.presentation.html").read_text()
    assert '<html lang="zh-CN"' in page
    for heading in ("数据质量", "客户规模", "月度销售收入与毛利", "目录", "分析月份"):
        assert heading in page
    assert "Book size" not in page and "Data quality" not in page
    assert "客户是谁" in page and "Who the accounts are" not in page          # the introduction in Chinese only
    summary = (out / "2026-09" / "00_executive_summary.presentation.html").read_text()
    assert "需要管理层决策的事项" in summary and "全部核心指标" in summary
    if find_chromium():                      # PDF copies, with the Chinese text in a CJK font
        index = (out / "2026-09" / "index.html").read_text()
        for name in ("01_account_overview", "00_executive_summary"):
            pdf = (out / "2026-09" / f"{name}.presentation.pdf").read_bytes()
            assert pdf.startswith(b"%PDF") and b"NotoSansCJK" in pdf
            assert f'href="{name}.presentation.pdf"' in index


def test_pdf_without_chromium_stops_with_a_message(small_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("kamlib.report.pdf.find_chromium", lambda: None)
    assert main(["report", "--data", str(small_dir), "--month", "2026-09", "--out", str(tmp_path / "r"),
                 "--quiet", "--pdf", "--notebooks", "01_account_overview"]) == 2
    assert "PDF output needs Chromium" in capsys.readouterr().err
    assert not (tmp_path / "r" / "2026-09").exists()


def test_account_names_are_escaped(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    acc = pd.read_csv(data / "accounts.csv")
    top = pd.read_csv(data / "transactions.csv").groupby("account_id")["revenue"].sum().idxmax()
    acc.loc[acc["account_id"] == top, "name"] = "<script>alert(1)</script>"
    acc.to_csv(data / "accounts.csv", index=False)
    out = tmp_path / "r"
    assert main(["report", "--data", str(data), "--month", "2026-09", "--out", str(out), "--quiet",
                 "--today", TODAY, "--notebooks", "01_account_overview", "--company", "<b>ACME</b>"]) == 0
    for name in ("01_account_overview.html", "01_account_overview.presentation.html", "index.html"):
        page = (out / "2026-09" / name).read_text()
        assert "<script>alert(1)</script>" not in page and "<b>ACME</b>" not in page
    page = (out / "2026-09" / "01_account_overview.presentation.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;ACME&lt;/b&gt;" in page

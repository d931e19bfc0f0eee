"""User errors never show a traceback: one or two lines naming what is wrong and how to fix it, exit status 2
(``--debug`` shows the traceback); one writer per report month."""
import subprocess
import sys

import pytest

from kamlib.cli import main
from kamlib.report.runner import ReportLocked, month_lock, run_report

from conftest import TODAY


def _kam(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kamlib.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


@pytest.mark.parametrize("args, says", [
    (["validate", "--month", "2026-13"], "there is no month 13"),
    (["validate", "--month", "abc"], "is not of the form YYYY-MM"),
    (["report", "--month", "2031-01"], "the last complete month is"),
    (["report", "--data", "no/such/folder", "--month", "2026-10"], "data folder not found: no/such/folder"),
    (["validate", "--data", "no/such/folder"], "data folder not found"),
    (["report", "--from", "2026-05"], "--from and --to go together"),
])
def test_user_errors_are_one_message_without_a_traceback(args, says, tmp_path):
    done = _kam(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr + done.stdout
    assert len(done.stderr.strip().splitlines()) <= 2


def test_the_current_month_is_refused_naming_the_last_complete_one(small_dir, tmp_path, capsys):
    assert main(["report", "--data", str(small_dir), "--month", "2026-11", "--today", TODAY,
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "month 2026-11 is not complete yet (today is 2026-11-23); the last complete month is 2026-10" in err


def test_an_unwritable_output_folder_is_refused_before_any_work(small_dir, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["report", "--data", str(small_dir), "--month", "2026-09", "--today", TODAY,
                 "--out", str(blocker / "reports")]) == 2
    err = capsys.readouterr().err
    assert "cannot write to the output folder" in err and "--out" in err


def test_bad_kam_yaml_is_named(tmp_path):
    (tmp_path / "kam.yaml").write_text("data: [unclosed\n")
    done = _kam("report", "--config", "kam.yaml", "--month", "2026-09", cwd=tmp_path)
    assert done.returncode == 2 and "kam.yaml: not valid YAML" in done.stderr and "Traceback" not in done.stderr


def test_debug_shows_the_traceback(tmp_path):
    done = _kam("validate", "--month", "abc", "--debug", cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" in done.stderr and "UsageError" in done.stderr


def test_a_second_report_of_the_same_month_is_refused_naming_the_first(small_dir, tmp_path, capsys):
    out = tmp_path / "reports"
    out.mkdir()
    with month_lock(out.resolve(), "2026-09"):
        with pytest.raises(ReportLocked, match=r"another kam report is writing 2026-09 into .* \(pid \d+, started"):
            run_report(data_dir=small_dir, month="2026-09", out_dir=out, progress=False, today=TODAY)
        assert main(["report", "--data", str(small_dir), "--month", "2026-09", "--today", TODAY,
                     "--out", str(out), "--quiet"]) == 2
        assert "another kam report is writing 2026-09" in capsys.readouterr().err
        assert not (out / "2026-09").exists()
    with month_lock(out.resolve(), "2026-09"):     # released when the first run ends
        pass

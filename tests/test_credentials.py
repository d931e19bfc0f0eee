"""Database passwords never reach a report: not in any file under the report folder, not on the console,
also when the run fails. Against a PostgreSQL server with password (scram-sha-256) authentication."""
import json
from pathlib import Path

import pytest

from kamlib.cli import main
from kamlib.config import ConfigError, load_config
from kamlib.data.credentials import interpolate, redact, scrub, secrets, url_password

from conftest import TODAY
from engines import PostgresServer, pg_bin

PASSWORD = "Wh1te-Rabbit%sEcret"        # '%' so the URL form (percent-encoded) differs from the plain one
URL_PASSWORD = PASSWORD.replace("%", "%25")


def test_redact_scrub_and_interpolate():
    url = f"postgresql://analyst:{URL_PASSWORD}@db.example:5432/sales"
    assert url_password(url) == PASSWORD and redact(url) == "postgresql://analyst:***@db.example:5432/sales"
    assert redact("data/sample") == "data/sample" and url_password("postgresql://analyst@db/sales") is None
    found = secrets(url, environ={"PGPASSWORD": "pg-env-secret"})
    assert set(found) == {PASSWORD, URL_PASSWORD, "pg-env-secret"}
    assert scrub(f"failed: {url} / {PASSWORD} / pg-env-secret", found) == (
        "failed: postgresql://analyst:***@db.example:5432/sales / *** / ***")
    assert interpolate("postgresql://a:${KAM_PW}@h/db", {"KAM_PW": "x"}) == "postgresql://a:x@h/db"
    with pytest.raises(KeyError, match="KAM_PW is not set"):
        interpolate("postgresql://a:${KAM_PW}@h/db", {})


def test_kam_yaml_interpolates_the_environment_and_warns_of_a_written_password(tmp_path, monkeypatch):
    cfg_file = tmp_path / "kam.yaml"
    cfg_file.write_text("data:\n  source: postgresql://analyst:${KAM_TEST_PW}@warehouse/sales\n")
    monkeypatch.setenv("KAM_TEST_PW", "from-env")
    cfg = load_config(cfg_file)
    assert cfg.data.source == "postgresql://analyst:from-env@warehouse/sales" and cfg.notes == []
    monkeypatch.delenv("KAM_TEST_PW")
    with pytest.raises(ConfigError, match=r"data.source: environment variable KAM_TEST_PW is not set"):
        load_config(cfg_file)
    cfg_file.write_text("data:\n  source: postgresql://analyst:plain@warehouse/sales\n")
    (note,) = load_config(cfg_file).notes
    assert "holds a database password" in note and "${KAM_DB_PASSWORD}" in note and "PGPASSWORD" in note


@pytest.fixture(scope="module")
def pg_with_password(small_dir):
    if pg_bin() is None:
        pytest.skip("PostgreSQL server binaries not found (Debian package 'postgresql'; `make system-deps`)")
    server = PostgresServer(password=PASSWORD).start()
    server.load_folder(small_dir)
    yield server
    server.stop()


def _no_secret_anywhere(folder: Path, console: str, *, expect_files: bool = True) -> None:
    files = [f for f in folder.rglob("*") if f.is_file()]
    assert files or not expect_files
    for secret in (PASSWORD, URL_PASSWORD):
        assert secret not in console
        for f in files:
            assert secret.encode() not in f.read_bytes(), f"password in {f}"


def _report(tmp_path, capsys, *args) -> tuple[int, str, Path]:
    out = tmp_path / "reports"
    code = main(["report", *args, "--month", "2026-09", "--out", str(out), "--quiet", "--today", TODAY,
                 "--notebooks", "01_account_overview"])
    printed = capsys.readouterr()
    return code, printed.out + printed.err, out


@pytest.mark.parametrize("how", ["url", "pgpassword", "kam.yaml", "pgservice"])
def test_a_report_from_a_password_protected_database_holds_no_password(pg_with_password, tmp_path, capsys,
                                                                       monkeypatch, how):
    monkeypatch.chdir(tmp_path)
    if how == "url":
        args = ["--data", pg_with_password.url()]
    elif how == "pgpassword":
        monkeypatch.setenv("PGPASSWORD", PASSWORD)
        args = ["--data", pg_with_password.url(password=False)]
    elif how == "pgservice":          # pg_service.conf holds it all; kamlib never sees the password
        service = tmp_path / "pg_service.conf"
        service.write_text(f"[kamlib]\nhost=127.0.0.1\nport={pg_with_password.port}\nuser=postgres\n"
                           f"dbname=postgres\npassword={PASSWORD}\n")
        monkeypatch.setenv("PGSERVICEFILE", str(service))
        monkeypatch.setenv("PGSERVICE", "kamlib")
        args = ["--data", "postgresql://"]
    else:
        monkeypatch.setenv("KAM_DB_PASSWORD", URL_PASSWORD)
        (tmp_path / "kam.yaml").write_text("data:\n  source: " + pg_with_password.url(password=False)
                                           .replace("postgres@", "postgres:${KAM_DB_PASSWORD}@") + "\n")
        args = ["--config", "kam.yaml"]
    code, console, out = _report(tmp_path, capsys, *args)
    assert code == 0, console
    _no_secret_anywhere(out, console)
    run = json.loads((out / "2026-09" / "run.json").read_text())
    assert run["parameters"]["data_dir"].startswith("postgresql://")
    assert run["out_dir"] == str(out)
    assert not list(out.glob("**/source.json")) and not list(out.glob(".tmp-*"))
    analyst = (out / "2026-09" / "01_account_overview.html").read_text(encoding="utf-8")
    assert "postgresql://" in analyst and "kam-source-" not in analyst and ".snapshot-" not in analyst


def test_a_failed_run_leaves_no_password_either(pg_with_password, tmp_path, capsys, monkeypatch):
    """A notebook that fails with the source spec (URL and password) in its error message: the failure page,
    run.json and the console show it without the password."""
    import nbformat
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                           "display_name": "Python 3"},
                                            "language_info": {"name": "python"}})
    nb.cells = [nbformat.v4.new_code_cell('data_dir = ""\nmonth = ""', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("raise RuntimeError(open(data_dir).read())")]
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nbformat.write(nb, nb_dir / "broken.ipynb")
    monkeypatch.setattr("kamlib.report.runner.NOTEBOOK_DIR", nb_dir)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "reports"
    code = main(["report", "--data", pg_with_password.url(), "--month", "2026-09", "--out", str(out), "--quiet",
                 "--today", TODAY, "--notebooks", "broken"])
    printed = capsys.readouterr()
    console = printed.out + printed.err
    assert code != 0 and (out / "2026-09-failed" / "index.html").exists()
    assert "RuntimeError" in (out / "2026-09-failed" / "run.json").read_text()
    _no_secret_anywhere(out, console)


def test_invalid_data_in_a_password_protected_database_names_it_without_the_password(
        pg_with_password, data_copy, tmp_path, capsys):
    import pandas as pd
    import psycopg
    tx = pd.read_csv(data_copy / "transactions.csv")
    tx.loc[0, "account_id"] = "NO-SUCH-ACCOUNT"
    tx.to_csv(data_copy / "transactions.csv", index=False)
    with psycopg.connect(pg_with_password.url(), autocommit=True) as con:
        con.execute("DROP DATABASE IF EXISTS broken")
        con.execute("CREATE DATABASE broken")
    pg_with_password.load_folder(data_copy, db="broken")
    code, console, out = _report(tmp_path, capsys, "--data", pg_with_password.url("broken"))
    assert code == 2 and "NO-SUCH-ACCOUNT" in console and "postgresql://postgres:***@" in console
    _no_secret_anywhere(tmp_path, console, expect_files=False)

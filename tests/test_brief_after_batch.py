"""``kam brief`` after a batch: a successful batch keeps its validated snapshot with its shared tables, and the
brief is then made in-process from them (no validation, no kernel) with the same content as notebook 07 gives;
other data, parameters or reading, or a failed batch, never use a stale snapshot."""
from __future__ import annotations

import html
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from kamlib.cli import main
from kamlib.report import brief_run, runner

from conftest import TODAY, once_per_session

MONTH = "2026-09"


class _BriefText(HTMLParser):
    """The visible text of the brief (the ``div.kb`` fragment of :func:`kamlib.report.briefs.render_brief`) in
    a page, whatever wraps it (nbconvert's page or the brief template)."""

    def __init__(self):
        super().__init__()
        self.depth, self.briefs, self.parts, self.style = 0, 0, [], False

    def handle_starttag(self, tag, attrs):
        self.style = self.style or tag == "style"
        if tag == "div" and (self.depth or "kb" in (dict(attrs).get("class") or "").split()):
            self.depth += 1
            self.briefs += self.depth == 1
        if self.depth and tag in ("div", "li", "tr", "p"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        self.style = self.style and tag != "style"
        if tag == "div" and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and not self.style:
            self.parts.append(data)


def brief_text(page: Path) -> str:
    p = _BriefText()
    p.feed(page.read_text(encoding="utf-8"))
    assert p.briefs == 1, f"{page}: {p.briefs} briefs"
    return "\n".join(" ".join(line.split()) for line in "".join(p.parts).splitlines() if line.strip())


def _brief(data: Path, out: Path, account: str, *extra: str) -> int:
    return main(["brief", "--account", account, "--data", str(data), "--month", MONTH, "--out", str(out),
                 "--today", TODAY, "--quiet", *extra])


class _NoKernel:
    def __init__(self, *args, **kwargs):
        raise AssertionError("a kernel was started: the brief did not reuse the batch")


@pytest.fixture(scope="session")
def _batch(small_dir, tmp_path_factory, worker_id) -> Path:
    """A batch of the small book (the manager pages, which compute the shared book tables), once per session."""
    def make(root: Path) -> None:
        data = shutil.copytree(small_dir, root / "data")
        assert main(["report", "--data", str(data), "--month", MONTH, "--out", str(root / "reports"), "--today",
                     TODAY, "--quiet", "--jobs", "1", "--notebooks", "06_manager_portfolio"]) == 0
    return once_per_session(tmp_path_factory, worker_id, "brief-batch", make)


@pytest.fixture
def batch(_batch, tmp_path):
    """(data, out): the batch's data and a copy of its reports folder (tests write briefs into it)."""
    return _batch / "data", shutil.copytree(_batch / "reports", tmp_path / "batch")


@pytest.fixture(scope="session")
def account(_batch):
    """The key account with the most contacts (masking has something to hide)."""
    data = _batch / "data"
    acc = pd.read_csv(data / "accounts.csv", dtype=str)
    key = acc.loc[acc["tier"].isin(["strategic", "A"]) & acc["churned_on"].isna(), "account_id"]
    return pd.read_csv(data / "contacts.csv", dtype=str)["account_id"].value_counts().reindex(key).idxmax()


def test_a_successful_batch_keeps_its_snapshot_with_its_shared_tables_and_contacts_masked(batch):
    from kamlib.data.loading import load_dataset
    from kamlib.text.masking import mask_email, mask_phone
    data, out = batch
    (folder,) = (out / ".cache").iterdir()
    assert (folder / brief_run.BATCH_SNAPSHOT).is_file() and (folder / "book_tables" / "manifest.json").is_file()
    assert not list(out.glob(".snapshot-*")) and not list(out.glob(".tmp-*"))
    recorded = pd.read_csv(data / "contacts.csv", dtype=str).set_index("contact_id")
    raw = (folder / brief_run.BATCH_SNAPSHOT).read_bytes()
    assert not any(p.encode() in raw for p in recorded["phone"].dropna())
    assert not any(e.encode() in raw for e in recorded["email"].dropna())
    ds = load_dataset(folder / brief_run.BATCH_SNAPSHOT)
    kept = ds.frame("contacts").set_index("contact_id").reindex(recorded.index)
    ds.con.close()
    assert kept["phone"].fillna("").tolist() == recorded["phone"].map(mask_phone).tolist()
    assert kept["email"].fillna("").tolist() == recorded["email"].map(mask_email).tolist()
    assert kept.drop(columns=["phone", "email"]).notna().sum().equals(
        recorded.drop(columns=["phone", "email"]).notna().sum().reindex(kept.columns.drop(["phone", "email"])))


def test_a_masked_number_stays_as_it_is_when_masked_again():
    from kamlib.text.masking import mask_email, mask_phone
    for phone in ("13812341234", "+86 138-1234-1234", "12345"):
        assert mask_phone(mask_phone(phone)) == mask_phone(phone)
    assert mask_email(mask_email("zhang.wei@example.com")) == "z***@example.com"


@pytest.mark.parametrize("lang", ["en", pytest.param("zh", marks=pytest.mark.slow)])   # zh: also in zh_batch
def test_after_a_batch_the_brief_is_made_without_a_kernel_and_says_what_notebook_07_says(
        batch, account, tmp_path, monkeypatch, lang):
    data, out = batch
    notebook_out = tmp_path / "notebook"        # the same batch without its snapshot: notebook 07 in a kernel
    shutil.copytree(out, notebook_out)
    for snapshot in notebook_out.glob(f".cache/*/{brief_run.BATCH_SNAPSHOT}"):
        snapshot.unlink()
    assert _brief(data, notebook_out, account, "--language", lang) == 0
    with monkeypatch.context() as m:
        m.setattr(brief_run, "NotebookRunner", _NoKernel)
        assert _brief(data, out, account, "--language", lang) == 0
    fast, slow = out / MONTH / "accounts", notebook_out / MONTH / "accounts"
    for name in (f"{account}.presentation.html", f"{account}.html"):
        assert brief_text(fast / name) == brief_text(slow / name)
    text = brief_text(fast / f"{account}.presentation.html")
    name = pd.read_csv(data / "accounts.csv", dtype=str).set_index("account_id").loc[account, "name"]
    assert name in text and ("沟通要点" in text if lang == "zh" else "Talking points" in text)
    analyst = html.unescape(re.sub("<[^>]+>", "", (fast / f"{account}.html").read_text(encoding="utf-8")))
    assert "portfolio.account_brief(" in analyst and f'account = "{account}"' in analyst   # the code, as it ran
    assert f'data_dir = "{data}"' in analyst and brief_run.BATCH_SNAPSHOT not in analyst    # the user's data folder


def test_contact_details_are_masked_on_the_fast_path(batch, account, monkeypatch):
    data, out = batch
    monkeypatch.setattr(brief_run, "NotebookRunner", _NoKernel)
    people = pd.read_csv(data / "contacts.csv", dtype=str)
    phones = [p for p in people.loc[people["account_id"] == account, "phone"].dropna() if p]
    emails = [e for e in people.loc[people["account_id"] == account, "email"].dropna() if e]
    assert phones and emails
    assert _brief(data, out, account) == 0
    for page in (f"{account}.presentation.html", f"{account}.html"):
        text = (out / MONTH / "accounts" / page).read_text(encoding="utf-8")
        assert not any(p in text for p in phones) and not any(e in text for e in emails)
        assert all(f"{p[:3]}****{p[-4:]}" in text for p in phones)


@pytest.mark.slow
def test_contact_details_in_full_are_never_taken_from_the_masked_snapshot(batch, account, tmp_path):
    data, out = batch
    people = pd.read_csv(data / "contacts.csv", dtype=str)
    mine = people[people["account_id"] == account]
    config = tmp_path / "kam.yaml"
    config.write_text("report:\n  show_contact_details: true\n", encoding="utf-8")
    assert _brief(data, out, account, "--config", str(config)) == 0
    text = (out / MONTH / "accounts" / f"{account}.presentation.html").read_text(encoding="utf-8")
    assert all(p in text for p in mine["phone"].dropna()) and all(e in text for e in mine["email"].dropna())


def _found(data: Path, out: Path, *, params: dict | None = None, today: str = TODAY, **reading) -> Path | None:
    """The batch :func:`brief_run.batch_snapshot` finds for these data and parameters (the CLI's defaults)."""
    from kamlib.config import load_config
    from kamlib.analysis import portfolio
    cfg = load_config(None, overrides={"data.source": str(data)})
    p = {**cfg.notebook_parameters(), **(params or {}), "month": MONTH}
    if p.get("clv_model") == "auto":                # as run_brief: the model the batch chose
        import json
        p["clv_model"] = json.loads((out / MONTH / "run.json").read_text())["parameters"]["clv_model"]
    p["book_settings"] = portfolio.book_settings(p)
    read = {"tables": cfg.data.tables, "columns": cfg.data.columns, "read_options": cfg.data.read_options(), **reading}
    return brief_run.batch_snapshot(out.resolve(), MONTH, data, p, today=today, **read)


def test_other_data_parameters_reading_or_an_earlier_run_date_never_reuse_the_snapshot(batch, tmp_path):
    data, out = batch
    assert _found(data, out) is not None
    assert _found(data, out, today="2026-12-01") is not None        # a later run date validates the same
    assert _found(data, out, today="2026-10-15") is None            # rows dated after it would be errors now
    assert _found(data, out, params={"alert_threshold": 0.3}) is None
    assert _found(data, out, params={"show_contact_details": True}) is None   # the snapshot holds them masked
    assert _found(data, out, columns={"accounts": {"Kunde": "name"}}) is None
    changed = shutil.copytree(data, tmp_path / "data")
    with open(changed / "payments.csv", "a", encoding="utf-8") as f:
        f.write("\n")
    assert _found(changed, out) is None


def test_unchanged_files_are_known_by_their_stats_and_a_changed_one_is_read_again(batch, tmp_path, monkeypatch):
    """The batch records its files' sizes and modification times with their fingerprint: a brief on the same
    files does not read them all again to find the batch; a file rewritten to the same size is."""
    import os

    from kamlib.data import loading
    data, out = batch
    hashed = []
    real = loading.fingerprint
    monkeypatch.setattr(loading, "fingerprint", lambda *a, **k: hashed.append(1) or real(*a, **k))
    assert _found(data, out) is not None and not hashed
    changed = shutil.copytree(data, tmp_path / "data")
    assert _found(changed, out) is not None and len(hashed) == 1     # another folder: read, the same bytes
    raw = bytearray((changed / "payments.csv").read_bytes())
    raw[-2:-1] = b"9" if raw[-2:-1] != b"9" else b"8"                  # one digit, the same size
    (changed / "payments.csv").write_bytes(bytes(raw))
    st = (changed / "payments.csv").stat()
    os.utime(changed / "payments.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert _found(changed, out) is None and len(hashed) == 2


@pytest.mark.slow
def test_a_changed_data_file_is_validated_again_and_the_brief_shows_the_new_data(batch, account, tmp_path):
    data, out = batch
    changed = shutil.copytree(data, tmp_path / "data")
    accounts = pd.read_csv(changed / "accounts.csv", dtype=str)
    accounts.loc[accounts["account_id"] == account, "name"] = "Renamed Since The Batch Co."
    accounts.to_csv(changed / "accounts.csv", index=False)
    reports = out
    assert _brief(changed, reports, account) == 0
    page = (reports / MONTH / "accounts" / f"{account}.presentation.html").read_text(encoding="utf-8")
    assert "Renamed Since The Batch Co." in page
    assert not list(reports.glob(".snapshot-*"))


def test_a_failed_batch_leaves_no_snapshot(small_dir, tmp_path, monkeypatch):
    def broken(self, *args, **kwargs):
        raise OSError("no kernel here")
    monkeypatch.setattr("kamlib.report.kernels.WarmKernel.__init__", broken)
    run = runner.run_report(data_dir=small_dir, month=MONTH, out_dir=tmp_path, progress=False, today=TODAY, jobs=1,
                            notebooks=("01_account_overview",))
    assert not run.ok and [n.status for n in run.notebooks] == ["failed"]
    assert not list(tmp_path.rglob("*.duckdb")) and not list(tmp_path.rglob("snapshot.json"))

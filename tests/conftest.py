"""Shared fixtures: a small simulated book on disk, and a helper to write hand-made tables."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from kamlib.data.generator import GeneratorConfig, generate_book

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-23"


@pytest.fixture(scope="session")
def small_book():
    return generate_book(GeneratorConfig(n_accounts=150, seed=7))


@pytest.fixture(scope="session")
def small_dir(small_book, tmp_path_factory) -> Path:
    return small_book.write(tmp_path_factory.mktemp("small") / "data")


@pytest.fixture
def data_copy(small_dir, tmp_path) -> Path:
    """A writable copy of the small book, for tests that corrupt it."""
    dst = tmp_path / "data"
    shutil.copytree(small_dir, dst)
    return dst


def write_tables(folder: Path, **tables: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder


def tiny_accounts(ids=("A1", "A2", "A3"), acquired=("2025-01-15", "2025-03-01", "2026-02-10")) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame({"account_id": list(ids), "name": [f"Co {i}" for i in ids],
                         "enterprise_type": ["private"] * n, "industry": ["machinery"] * n,
                         "region": ["East China"] * n, "account_manager": ["Li Na"] * n, "tier": ["A"] * n,
                         "acquired_on": list(acquired), "acquisition_channel": ["direct"] * n,
                         "credit_rating": ["AA"] * n, "churned_on": [None] * n})


SAMPLE = ROOT / "data" / "sample"
SAMPLE_MONTH = "2026-10"


def busiest_key_account(data_dir: Path) -> str:
    """The active strategic account with the most contacts and unpaid invoices (the longest brief)."""
    acc = pd.read_csv(data_dir / "accounts.csv", dtype=str)
    key = acc.loc[(acc["tier"] == "strategic") & acc["churned_on"].isna(), "account_id"]
    pay = pd.read_csv(data_dir / "payments.csv", dtype=str)
    size = (pd.read_csv(data_dir / "contacts.csv", dtype=str)["account_id"].value_counts()
            .add(pay.loc[pay["paid_date"].isna(), "account_id"].value_counts(), fill_value=0))
    return size.reindex(key).fillna(0).idxmax()


def once_per_session(tmp_path_factory, worker_id, name: str, make) -> Path:
    """A folder ``name`` made by ``make(folder)`` once per test session and shared by the xdist workers (the
    first one makes it under a lock, the others wait and read it)."""
    import fcntl
    shared = tmp_path_factory.getbasetemp()
    shared = shared.parent if worker_id != "master" else shared
    out = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "done").exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            make(out)
            (out / "done").touch()
    return out


@pytest.fixture(scope="session")
def zh_batch(tmp_path_factory, worker_id) -> Path:
    """The Chinese batch of the bundled sample (every notebook report, manager pages, index, deck, workbook) and
    the brief of its busiest key account printed by ``kam brief --pdf``: run once per test session and shared by
    the xdist workers. Its month folder."""
    from kamlib.cli import main
    if not (SAMPLE / "transactions.csv").exists():
        pytest.skip("the bundled sample is not generated (`make data/sample/transactions.csv`)")

    def make(out: Path) -> None:
        common = ["--data", str(SAMPLE), "--month", SAMPLE_MONTH, "--out", str(out), "--language", "zh",
                  "--today", TODAY, "--quiet"]
        assert main(["report", *common, "--jobs", "2", "--deck"]) == 0
        from kamlib.report.pdf import find_chromium
        pdf = ["--pdf"] if find_chromium() else []
        assert main(["brief", *common, "--account", busiest_key_account(SAMPLE), *pdf]) == 0
    return once_per_session(tmp_path_factory, worker_id, "zh-batch", make) / SAMPLE_MONTH

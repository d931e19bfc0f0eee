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

"""Generated order lines shared by the benchmarks: lines on orders of random accounts and days."""
from __future__ import annotations

import numpy as np

START = np.datetime64("2022-01-01")


def draw_lines(rng: np.random.Generator, n_lines: int, *, n_accounts: int, n_days: int,
               lines_per_order: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(account, day, order) of each of ``n_lines`` lines: account index in [0, n_accounts), day offset from
    :data:`START` in [0, n_days) and order number (lines of one order share account and day).

    ``lines_per_order=1``: every line is its own order, so nearly every line is its own purchase day (the
    worst case for the (account, day) group-by behind rfm_summary); larger values put that many lines on an
    order on average, as in real order books."""
    n_orders = max(int(n_lines / lines_per_order), 1)
    order = np.sort(rng.integers(0, n_orders, n_lines)) if lines_per_order > 1 else np.arange(n_lines)
    account, day = rng.integers(0, n_accounts, n_orders), rng.integers(0, n_days, n_orders)
    return account[order], day[order], order


def dates(day: np.ndarray) -> np.ndarray:
    """Day offsets as datetime64[D] dates from :data:`START`."""
    return START + day.astype("timedelta64[D]")

"""The board pack read as a client reads it: the same number is the same everywhere, and a number that differs
from a headline says why (on the rendered sample batch)."""
import json

import pytest

from kamlib.text.formatting import money


@pytest.mark.slow
def test_the_what_if_names_its_own_base_beside_the_headline_customer_equity(zh_batch):
    """The headline customer equity values the existing book with the CLV model; the what-if's simple model
    gives another total, and its rows (e.g. churn 1 point lower) read as a loss unless that base is stated."""
    metrics = json.loads((zh_batch / "metrics.json").read_text(encoding="utf-8"))["metrics"]
    page = (zh_batch / "03_retention_vs_acquisition.presentation.html").read_text(encoding="utf-8")
    start = page.index("以下情景分析采用简化模型")
    sentence = page[start:page.index("</p>", start)]
    assert money(metrics["customer_equity"], "CNY", "zh") in sentence

"""Presentation versions read as a client reads: one title, diagnostics in an appendix, named clusters,
no p-value like 8.88e-32."""
import nbformat
import pandas as pd

from kamlib.analysis.segmentation import cluster_names
from kamlib.report.html import for_presentation


def test_one_title_and_an_appendix_at_the_end():
    nb = nbformat.v4.new_notebook()
    header = nbformat.v4.new_output("display_data", data={"text/html": "<p>month</p>"}, metadata={"kam": "header"})
    setup = nbformat.v4.new_code_cell("ctx = open_notebook()")
    setup.outputs = [header, nbformat.v4.new_output("display_data", data={"text/plain": "kept"})]
    fits = nbformat.v4.new_code_cell("fits", metadata={"tags": ["appendix"]})
    nb.cells = [nbformat.v4.new_markdown_cell("# Customer lifetime value\nWhat each account is worth."), setup,
                fits, nbformat.v4.new_code_cell("conclusions")]
    out = for_presentation(nb, "en")
    assert out.cells[0].source == "What each account is worth."
    assert [o.data for o in out.cells[1].outputs] == [{"text/plain": "kept"}]
    assert [c.source for c in out.cells[2:]] == ["conclusions", "## Appendix: model details", "fits"]
    assert nb.cells[0].source.startswith("# Customer")                       # the analyst version keeps it
    assert for_presentation(nb, "zh").cells[3].source == "## 附录：模型细节"


def test_clusters_are_named_from_their_profile():
    profile = pd.DataFrame({"accounts": [100, 300, 600], "revenue": [900_000.0, 200_000.0, 50_000.0],
                            "gross_margin": [90_000.0, 60_000.0, 5_000.0], "orders_12m": [40.0, 20.0, 3.0],
                            "recency_days": [10.0, 20.0, 200.0], "visits_per_week": [1.0, 0.5, 0.0]},
                           index=pd.Index([0, 1, 2], name="cluster"))
    names = cluster_names(profile)
    assert names.tolist() == ["large, frequent, low margin", "large, frequent, high margin",
                              "small, occasional, low margin"]
    assert cluster_names(profile, "zh")[0] == "大额，高频，低毛利"
    same = cluster_names(pd.concat([profile.iloc[[0]], profile.iloc[[0]].assign(recency_days=400.0)]))
    assert same.is_unique and same.iloc[1].endswith("lapsing")

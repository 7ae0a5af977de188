"""The example notebook runs and shows its charts inline (#18): executed with nbclient on a real kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parent.parent / "docs" / "examples" / "analysis.ipynb"


def _outputs(cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return list(cell.get("outputs", []))


def test_the_example_notebook_runs_and_shows_charts_inline(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in _outputs(c) if o.output_type == "error"]
    assert not errors, errors
    by_source = {c.source.splitlines()[-1]: c for c in code}
    report = [o for o in _outputs(by_source["report"]) if o.output_type == "execute_result"]
    assert report
    page = report[0]["data"]["text/html"]
    assert page.count("<svg") == 3  # both Pareto charts and the trend, inline
    assert "业主投诉分析报告" in page
    assert "text/markdown" in report[0]["data"]
    for line in ('report.plot("pareto-category")', "mine"):
        images = [o for o in _outputs(by_source[line]) if "image/png" in o.get("data", {})]
        assert images, f"no inline image from {line!r}"
    # after the engine drew its charts, pyplot still shows the user's own figure inline
    assert any("image/png" in o.get("data", {}) for o in _outputs(by_source["plt.show()"]))
    table = [o for o in _outputs(by_source['df[["serial", "category", "status", "received_at", "replied_at"]].head()'])
             if o.output_type == "execute_result"]
    assert "+08:00" in table[0]["data"]["text/plain"]

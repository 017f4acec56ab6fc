"""``examples/quickstart.ipynb`` executed end to end in a real Jupyter kernel (nbclient and
ipykernel, from the test extra), as a user runs it: its cells' outputs are what the notebook says."""

from __future__ import annotations

import re
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_the_quickstart_notebook_runs_and_its_outputs_hold(tmp_path) -> None:
    shutil.copy(ROOT / "examples" / "quickstart.ipynb", tmp_path)
    notebook = nbformat.read(tmp_path / "quickstart.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    code = [c for c in notebook.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors

    # The comparison's cell shows the leaderboard as an HTML table with the pick marked.
    (shown,) = [c for c in code if "automl.compare(" in c.source]
    page = next(o.data["text/html"] for o in shown.outputs if "text/html" in o.get("data", {}))
    pick = re.search(r"<b>Pick: (\w+)</b>", page)
    assert pick is not None and pick.group(1) in {"linear", "decision_tree", "random_forest",
                                                  "lightgbm", "ensemble"}, page  # fmt: skip
    assert "<table" in page and page.count("<tr>") >= 5  # the header and a row per learner
    # No log lines in the cell: the command's output went to results/compare.log.
    printed = "".join(o.text for o in shown.outputs if o.output_type == "stream")
    assert "Warning" not in printed and "INFO" not in printed and "[" not in printed, printed

    # The pick's predictions score on the test rows exactly as the leaderboard says.
    (checked,) = [c for c in code if "accuracy on the test rows" in c.source]
    text = "".join(o.text for o in checked.outputs if o.output_type == "stream")
    found = re.search(r"test rows ([\d.]+), on the leaderboard ([\d.]+)", text)
    assert found is not None, text
    assert found.group(1) == found.group(2)

    # Reopened from the storage alone: the same pick.
    assert code[-1].outputs[0].data["text/plain"] == "True"
    assert (tmp_path / "results" / "automl.journal").is_file()

"""The tutorial (``docs/tutorial.md``, a jupytext notebook) runs top to bottom: a broken tutorial fails the tests.

It is executed here with nbclient in a fresh kernel, as ``make docs`` executes it for the site. Besides running
without an error, it must show what its text promises: Figure 1's discovery order, the checks, the failing
check on the mislabelled record, the sweep's rows and the figures.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in ("jupytext", "nbclient", "ipykernel")),
                       reason="jupytext, nbclient or ipykernel is not installed (`make install` installs the docs "
                              "extra)"),
]


def _outputs(notebook) -> tuple[str, int]:
    """All stream text of the executed notebook, and the number of figures it produced."""
    text, figures = [], 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text.append(output["text"])
            figures += "image/png" in output.get("data", {})
    return "".join(text), figures


def test_the_tutorial_runs_top_to_bottom(tmp_path, monkeypatch):
    import jupytext
    import nbclient

    # The kernel imports this checkout, whatever else is installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = jupytext.read(TUTORIAL)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=False,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on the first failing cell
    text, figures = _outputs(notebook)
    assert figures == 2, figures  # Figure 1 and Algorithm 1's residuals
    assert "recovered every direction: [ True  True  True  True  True]" in text
    assert "'fail': 0" in text  # the checks on Figure 1
    assert text.count("fail margin -") == 1  # the mislabelled record fails P1
    assert "wrote 16 rows" in text and "second call wrote 0 rows" in text
    assert "30 digits" in text

"""Output folders and input files checked before any work starts, so that a bad path is one line, exit 2,
and nothing is written half-way."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from solver.errors import ValidationError

__all__ = ["check_out_dir", "add_overwrite_argument", "RESULT_FILES"]

# Files whose presence makes a folder a previous command's output: a run (run, figure1, precision), the
# baselines and the beyond study, the audit report. A sweep folder and an accuracy-frontier campaign's are not
# listed: rerunning one into its own folder is how it resumes.
RESULT_FILES = ("run.json", "trajectory.npz", "summary.json", "baselines.json", "beyond.json", "report.json",
                "index.html")


def add_overwrite_argument(parser) -> None:
    """``--overwrite``: allow ``--out`` to name a folder that already holds results (replaced file by file)."""
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the results already in --out (without it, an --out holding a previous "
                             "run is refused)")


def check_out_dir(path: str | os.PathLike, flag: str = "--out", overwrite: bool | None = None) -> Path:
    """``path`` as a folder the run can create (or reuse) and write, without creating it yet.

    Raises :class:`ValidationError` naming ``flag`` when ``path`` is an existing file, or its nearest existing
    ancestor is not a folder where a file can be created. The test is a real one (a temporary folder made and
    removed at once): permission bits say nothing for root, nor for paths such as ``/proc/x``.
    ``overwrite=False`` also refuses a folder that holds a previous command's results (:data:`RESULT_FILES`),
    so that a mistyped ``--out`` loses nothing; None skips that check (a sweep resumes in its own folder).
    """
    out = Path(path)
    if out.exists():
        if not out.is_dir():
            raise ValidationError(flag, "a folder (it names an existing file)", str(out))
        if overwrite is False:
            found = [name for name in RESULT_FILES if (out / name).exists()]
            if found:
                raise ValidationError(flag, f"a folder without previous results (it holds {found[0]}; "
                                            "add --overwrite to replace them)", str(out))
        _probe_write(out, flag, str(out))
        return out
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValidationError(flag, f"a path whose existing ancestor {parent} is a folder", str(out))
    _probe_write(parent, flag, str(out))
    return out


def _probe_write(folder: Path, flag: str, shown: str) -> None:
    try:
        os.rmdir(tempfile.mkdtemp(dir=folder, prefix=".deflation-probe-"))
    except OSError as err:
        raise ValidationError(flag, f"a folder that can be written ({folder}: {err.strerror})", shown) from None

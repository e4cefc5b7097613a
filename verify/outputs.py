"""Output folders and input files checked before any work starts, so that a bad path is one line, exit 2,
and nothing is written half-way."""

from __future__ import annotations

import os
from pathlib import Path

from solver.errors import ValidationError

__all__ = ["check_out_dir"]


def check_out_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """``path`` as a folder the run can create (or reuse) and write, without creating it yet.

    Raises :class:`ValidationError` naming ``flag`` when ``path`` is an existing file, or its nearest existing
    ancestor is not a writable folder.
    """
    out = Path(path)
    if out.exists():
        if not out.is_dir():
            raise ValidationError(flag, "a folder (it names an existing file)", str(out))
        if not os.access(out, os.W_OK | os.X_OK):
            raise ValidationError(flag, "a folder you can write to", str(out))
        return out
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValidationError(flag, f"a path whose existing ancestor {parent} is a folder", str(out))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValidationError(flag, f"a folder that can be created (no write permission in {parent})", str(out))
    return out

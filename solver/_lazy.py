"""Lazy package exports: a package's public names load their module on first use (PEP 562 ``__getattr__``).

Used where a package's ``__init__`` would otherwise import torch, matplotlib or sympy for every user, the CLI's
``--help`` included. Written here because ``importlib`` offers the mechanism, not this table-driven form.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping, Sequence


def lazy_exports(package: str, where: Mapping[str, Sequence[str]]) -> tuple[list[str], Callable[[str], Any]]:
    """``(__all__, __getattr__)`` for ``package``: each name in ``where[module]`` is
    ``importlib.import_module(f"{package}.{module}").<name>``, imported when first asked for."""
    owner = {name: module for module, names in where.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in owner:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{owner[name]}"), name)

    return list(owner), __getattr__

"""The flow's state layouts, for every array family (torch tensors, numpy float64 and object arrays).

Two layouts of the same numbers, ``rho_k = log ||w_k||`` and the directions ``x_k`` (columns of ``X``):

- rows, ``Y`` (..., d+1, m): row 0 the log-norms, rows 1..d the directions (the drivers' and the explicit
  and high-precision integrators' state);
- per component, ``u`` (..., m, d+1): row ``k`` is ``[rho_k, x_k]`` (the Jacobian's diagonal blocks and the
  preconditioners);
- packed, ``y`` (..., m (d+1)) = ``[rho_1..rho_m, x_1 (d), .., x_m (d)]`` (the stiff integrators' flat vector,
  and the row and column order of every Jacobian in :mod:`solver.jacobian`).

Only data moves here (no arithmetic), so a conversion never changes a value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["concat", "pack", "unpack", "to_rows", "from_rows", "rows_to_packed", "packed_to_rows",
           "rows_permutation",
           "to_components", "from_components"]


def concat(parts: list, axis: int) -> Any:
    """``torch.cat`` or ``np.concatenate`` along ``axis``, by the parts' family."""
    if hasattr(parts[0], "new_empty"):  # torch
        import torch

        return torch.cat(parts, dim=axis)
    return np.concatenate(parts, axis=axis)


def pack(rho: Any, X: Any) -> Any:
    """``[rho (m), x_1 (d), .., x_m (d)]`` from ``rho`` (..., m) and ``X`` (..., d, m)."""
    return concat([rho, X.mT.reshape(*X.shape[:-2], -1)], -1)


def unpack(y: Any, d: int, m: int) -> tuple[Any, Any]:
    """Inverse of :func:`pack`: ``(rho (..., m), X (..., d, m))``, the directions as stored (not normalized)."""
    return y[..., :m], y[..., m:].reshape(*y.shape[:-1], m, d).mT


def to_rows(rho: Any, X: Any) -> Any:
    """The rows layout ``Y`` (..., d+1, m) from ``rho`` (..., m) and ``X`` (..., d, m)."""
    return concat([rho[..., None, :], X], -2)


def from_rows(Y: Any) -> tuple[Any, Any]:
    """``(rho, X)`` of the rows layout."""
    return Y[..., 0, :], Y[..., 1:, :]


def rows_to_packed(Y: Any) -> Any:
    """Rows layout -> packed layout."""
    return pack(*from_rows(Y))


def packed_to_rows(y: Any, d: int, m: int) -> Any:
    """Packed layout -> rows layout."""
    return to_rows(*unpack(y, d, m))


def rows_permutation(d: int, m: int) -> np.ndarray:
    """``perm`` with ``rows_to_packed(Y).ravel()[perm] == Y.ravel()``: flat rows index -> packed index, so that a
    packed-layout Jacobian ``J`` reads ``J[np.ix_(perm, perm)]`` in the rows layout's flat order."""
    return np.argsort(rows_to_packed(np.arange(m * (d + 1)).reshape(d + 1, m)))


def to_components(y: Any, d: int, m: int) -> Any:
    """Packed layout -> per-component layout (..., m, d+1)."""
    rho, X = unpack(y, d, m)
    return concat([rho[..., None], X.mT], -1)


def from_components(u: Any) -> Any:
    """Per-component layout (..., m, d+1) -> packed layout."""
    return pack(u[..., 0], u[..., 1:].mT)

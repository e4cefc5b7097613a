"""Gram-form kernels of the normalized tensor-decomposition flow (SPEC section 1).

This module is the single place where the model's formulas live. Every other part of the
project (the torch solver, the stiff scipy path, the mpmath high-precision backend, the sympy
code cross-check) evaluates the model through these functions.

The functions are written against the operator subset shared by ``torch.Tensor``,
``numpy.ndarray`` of float64 and ``numpy.ndarray`` of ``object`` dtype holding ``mpmath.mpf``
values: ``@``, ``**``, ``*``, ``-``, ``.mT``, ``.sum(axis=...)`` and ``[..., None, :]``
indexing. They therefore take the *squared norms* ``c_k = ||w_k||^2`` rather than log-norms, so
that no transcendental function is needed here; callers convert ``rho = log ||w||`` with their own
``exp``.

Notation (SPEC section 1), leading batch dimensions ``...`` allowed everywhere:

- ``X``  (..., d, m): unit directions ``wbar_k`` as columns ("Wbar").
- ``c``  (..., m):    squared norms ``c_k = ||w_k||^2``.
- ``a``  (..., r):    ground-truth coefficients ``a_j > 0``.
- ``U``  (..., d, r): unit ground-truth directions ``u_j`` as columns.
- ``G = X^T X`` (m x m), ``H = X^T U`` (m x r), ``K = U^T U`` (r x r); ``.^p`` is elementwise.
- ``order`` is the tensor order ``l >= 3``.

No function here forms a ``d^l`` tensor; the dense references live in :mod:`solver.dense`.
"""

from __future__ import annotations

from typing import Any, TypeVar

Array = TypeVar("Array", bound=Any)

__all__ = [
    "correlations",
    "residual_contractions",
    "flow",
    "loss_terms",
    "loss_and_floor",
    "flow_rounding",
    "direction_residuals",
    "flow_w",
]


def correlations(X: Array, U: Array) -> Array:
    """Correlations ``H = Wbar^T U``, entry ``(k, j) = <wbar_k, u_j>``; shape (..., m, r)."""
    return X.mT @ U


def ipow(x: Array, n: int) -> Array:
    """``x.^n`` for an integer ``n >= 0`` by repeated squaring.

    numpy's ``**`` calls libm ``pow`` elementwise, which is ~200x slower than multiplying when the base
    is negative (as Gram entries are); multiplication is also exact to the last bit for small ``n`` in
    every arithmetic these kernels run in.
    """
    if n == 0:
        return x * 0 + 1
    result = None
    base = x
    while n:
        if n & 1:
            result = base if result is None else result * base
        n >>= 1
        if n:
            base = base * base
    return result


# Above this many entries, G = X^T X is formed a block of rows at a time (memory O(block m), not O(m^2)).
GRAM_BLOCK_ENTRIES = 1 << 26


def _concat_last(parts: list) -> Any:
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if hasattr(first, "new_empty"):  # torch
        import torch

        return torch.cat(parts, dim=-1)
    import numpy as np

    return np.concatenate(parts, axis=-1)


def residual_contractions(X: Array, c: Array, a: Array, U: Array, order: int,
                          block: int | None = None) -> tuple[Array, Array]:
    """The residual ``R = T* - T`` contracted with each direction.

    Returns ``(V, s)`` with, for every component ``k``,

        V[:, k] = R(wbar_k^{(x)(l-1)}, I) = sum_j a_j H_kj^{l-1} u_j - sum_i c_i G_ki^{l-1} wbar_i
        s[k]    = R(wbar_k^{(x)l})        = <wbar_k, V[:, k]>

    i.e. ``V = U (H.^(l-1) diag a)^T - Wbar (G.^(l-1) diag c)^T`` (shape (..., d, m)) and
    ``s`` (shape (..., m)). Cost ``O(m^2 d + m r d)``; ``G`` is built ``block`` rows at a time
    (default: all at once unless ``m^2`` exceeds ``GRAM_BLOCK_ENTRIES``), which bounds memory at
    ``O(block m)`` for the largest instances.
    """
    m = X.shape[-1]
    if block is None:
        block = m if m * m <= GRAM_BLOCK_ENTRIES else max(1, GRAM_BLOCK_ENTRIES // m)
    H = X.mT @ U
    target = U @ (ipow(H, order - 1) * a[..., None, :]).mT
    parts = []
    for start in range(0, m, block):
        rows = X[..., :, start:start + block]
        G_rows = rows.mT @ X
        parts.append(X @ (ipow(G_rows, order - 1) * c[..., None, :]).mT)
    V = target - _concat_last(parts)
    s = (X * V).sum(axis=-2)
    return V, s


def flow(X: Array, c: Array, a: Array, U: Array, order: int, lam: Any = 0.0) -> tuple[Array, Array]:
    """The gradient flow ``dW/dt = -grad L`` in (log-norm, direction) coordinates.

    With ``rho_k = log ||w_k||`` and ``V, s`` from :func:`residual_contractions`:

        d rho_k / dt = 2 R(wbar_k^{(x)l}) - lambda                         (radial law, C4)
        d wbar_k / dt = l (I - wbar_k wbar_k^T) R(wbar_k^{(x)(l-1)}, I)    (tangential law, C5)

    Both are independent of ``||w_k||`` itself; the other components enter only through ``c``.
    Returns ``(d_rho, d_X)`` with shapes (..., m) and (..., d, m). The tangential field is tangent to
    the sphere at every column of ``X``; integrators renormalize the columns after each step (C8).
    """
    V, s = residual_contractions(X, c, a, U, order)
    d_rho = 2 * s - lam
    d_X = order * (V - X * s[..., None, :])
    return d_rho, d_X


def loss_terms(X: Array, c: Array, a: Array, U: Array, order: int) -> tuple[Array, Array, Array]:
    """The three Gram terms of ``||T - T*||_F^2 = c^T G.^l c - 2 c^T H.^l a + a^T K.^l a``.

    Returns ``(model, cross, target)`` = ``(c^T G.^l c, c^T H.^l a, a^T K.^l a)`` (each shape (...)),
    using ``<u^{(x)l}, v^{(x)l}> = (u.v)^l`` (C1) and ``T = sum_k c_k wbar_k^{(x)l}``.
    """
    G = X.mT @ X
    H = X.mT @ U
    K = U.mT @ U
    model = (c[..., :, None] * ipow(G, order) * c[..., None, :]).sum(axis=-1).sum(axis=-1)
    cross = (c[..., :, None] * ipow(H, order) * a[..., None, :]).sum(axis=-1).sum(axis=-1)
    target = (a[..., :, None] * ipow(K, order) * a[..., None, :]).sum(axis=-1).sum(axis=-1)
    return model, cross, target


def loss_and_floor(X: Array, c: Array, a: Array, U: Array, order: int, unit_roundoff: float) -> tuple[Array, Array]:
    """Loss ``1/2 ||T - T*||_F^2`` (lambda term excluded) and its resolution floor.

    The Gram form subtracts numbers of size ``O(||T*||_F^2)``; a result below
    ``floor = 1/2 * unit_roundoff * (|c^T G.^l c| + 2 |c^T H.^l a| + a^T K.^l a)`` is rounding noise
    (SPEC numerics, "loss cancellation"). ``unit_roundoff`` is the arithmetic's machine epsilon
    (``2.2e-16`` for float64, ``10^(1-dps)`` for an mpmath run at ``dps`` digits).
    """
    model, cross, target = loss_terms(X, c, a, U, order)
    loss = (model - 2 * cross + target) * 0.5
    magnitude = abs(model) + 2 * abs(cross) + abs(target)
    return loss, magnitude * (0.5 * unit_roundoff)


def flow_rounding(X: Array, c: Array, a: Array, U: Array, order: int, unit_roundoff: float) -> tuple[Array, Array]:
    """The rounding level of :func:`flow`: what its subtractions of ``T*`` and ``T`` terms cannot resolve.

    :func:`flow`'s ``V = U (H.^(l-1) diag a)^T - Wbar (G.^(l-1) diag c)^T`` subtracts terms whose sizes are

        |V| = |U| (|H|.^(l-1) diag a)^T + |Wbar| (|G|.^(l-1) diag c)^T,
        |s|_k = sum_j a_j |H_kj|^l + sum_i c_i |G_ki|^l

    (entrywise absolute values), so once a run has fitted its target (``V`` and ``s`` near 0 while those sums
    stay O(a_1)) the field is rounding noise of size ``unit_roundoff`` times them. Returns that level for
    ``(d_rho, d_X)``: ``unit_roundoff * (2 |s|, l (|V| + |Wbar| |s|))``, shapes (..., m) and (..., d, m).
    This is the noise's typical size, not a worst-case bound (that would be about ``m`` times larger): measured
    float64 errors at fitted states reach 1-2 times it (``tests/test_kernels.py``).
    It is the floor below which an implicit step's Newton increments cannot shrink on a fitted state (the noise
    floor CVODE's Newton tolerates by declaring divergence only when an increment grows). Same Gram-form cost
    as :func:`flow`.
    """
    H = abs(X.mT @ U)
    G = abs(X.mT @ X)
    V_abs = abs(U) @ (ipow(H, order - 1) * a[..., None, :]).mT + abs(X) @ (ipow(G, order - 1) * c[..., None, :]).mT
    s_abs = (ipow(H, order) * a[..., None, :]).sum(axis=-1) + (ipow(G, order) * c[..., None, :]).sum(axis=-1)
    return 2 * unit_roundoff * s_abs, order * unit_roundoff * (V_abs + abs(X) * s_abs[..., None, :])


def direction_residuals(X: Array, c: Array, a: Array, U: Array, order: int) -> Array:
    """Residual on each ground-truth direction, ``(T* - T)(u_j^{(x)l})``; shape (..., r).

        (T* - T)(u_j^{(x)l}) = sum_i a_i K_ij^l - sum_k c_k H_kj^l
    """
    H = X.mT @ U
    K = U.mT @ U
    return (a[..., :, None] * ipow(K, order)).sum(axis=-2) - (c[..., :, None] * ipow(H, order)).sum(axis=-2)


def flow_w(X: Array, norms: Array, a: Array, U: Array, order: int, lam: Any = 0.0) -> Array:
    """The same flow in the plain coordinates ``w_k = ||w_k|| wbar_k`` (claim C3):

        dw/dt = l ||w|| R(wbar^{(x)(l-1)}, I) - (l-2) ||w|| R(wbar^{(x)l}) wbar - lambda w

    obtained from :func:`flow` by ``dw/dt = ||w|| (d rho/dt wbar + d wbar/dt)``. Shape (..., d, m).
    """
    V, s = residual_contractions(X, norms * norms, a, U, order)
    return (order * V - (order - 2) * X * s[..., None, :]) * norms[..., None, :] - lam * X * norms[..., None, :]

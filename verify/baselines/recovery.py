"""What a method recovered: aggregated recovery, relative error, order of discovery.

Every method's output is brought to one form, :class:`Decomposition`: ``T = sum_k weight_k
b_k^{(1)} (x) ... (x) b_k^{(l)}`` with unit factors. Symmetric outputs (the flows, the tensor power
methods) have ``b_k^{(n)} = wbar_k`` for every slot and ``weight_k = c_k = ||w_k||^2``; CP-ALS returns
one factor matrix per slot.

Recovery aggregates (an over-parametrized model fits one direction with a cluster of components):

    A_j = {k : <b_k^{(n)}, u_j>^2 >= align_cos2 for every slot n}
    M_j = sum_{k in A_j} weight_k prod_n sign(<b_k^{(n)}, u_j>)          (signed mass on u_j)
    direction j is recovered  <=>  |M_j - (a_j - lambda/2)| <= mass_rtol (a_j - lambda/2)

(``lambda`` is the run's regularizer: a fitted cluster carries ``a_j - lambda/2``, claim C10.) The sign
product makes an odd-order component anti-aligned with ``u_j`` count negatively, as it does in ``T``.
For a non-orthogonal ``T*`` a direction is not a coordinate of the fit (the fitted ``c_k`` need not equal
``a_j``), so success there is the relative error ``||T - T*||_F / ||T*||_F <= rel_error_tol`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from solver import kernels
from solver.ground_truth import GroundTruth

__all__ = ["Decomposition", "Recovery", "recovery", "relative_error", "order_matches", "ALIGN_COS2", "MASS_RTOL",
           "REL_ERROR_TOL", "half_residual_times", "flow_discovery_order"]

ALIGN_COS2 = 0.99
MASS_RTOL = 0.01
REL_ERROR_TOL = 1e-3
UNIT_ROUNDOFF = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class Decomposition:
    """``T = sum_k weights[k] factors[0][:, k] (x) ... (x) factors[l-1][:, k]``, unit factor columns.

    Attributes:
        weights: (m,) real weights (``c_k = ||w_k||^2`` for a symmetric model).
        factors: ``l`` arrays (d, m) with unit columns; one shared array for a symmetric decomposition.
        found: the order in which the method produced (deflated) its components, as indices into the
            columns; None when the method fits all components at once (CP-ALS).
    """

    weights: np.ndarray
    factors: tuple[np.ndarray, ...]
    found: tuple[int, ...] | None = None

    @classmethod
    def symmetric(cls, weights: np.ndarray, directions: np.ndarray, order: int,
                  found: Sequence[int] | None = None) -> "Decomposition":
        """A symmetric decomposition ``sum_k weights_k wbar_k^{(x)l}``; ``directions`` are normalized here."""
        X = np.asarray(directions, dtype=np.float64)
        norms = np.linalg.norm(X, axis=0)
        X = X / np.where(norms > 0, norms, 1.0)
        return cls(np.asarray(weights, dtype=np.float64), (X,) * order,
                   None if found is None else tuple(int(k) for k in found))

    @property
    def is_symmetric(self) -> bool:
        return all(f is self.factors[0] for f in self.factors)


@dataclass(frozen=True)
class Recovery:
    """The verdict on one run.

    Attributes:
        recovered: (r,) booleans, direction ``j`` recovered (aggregated mass rule; None for a
            non-orthogonal ``T*``, where success is by relative error).
        masses: (r,) the signed mass ``M_j`` on each direction.
        rel_error: ``||T - T*||_F / ||T*||_F``.
        rel_error_floor: below this the relative error is float64 rounding (Gram-form cancellation:
            ``sqrt(2 floor / ||T*||^2)`` with :func:`solver.kernels.loss_and_floor`'s floor); 0 when the
            error was computed from a dense difference.
        success: every direction recovered (orthogonal ``T*``) or ``rel_error <= REL_ERROR_TOL``.
        discovery_order: the directions in the order the method found them (each found component's
            best-aligned ``u_j``, first occurrence kept, directions never found omitted), or None.
        order_matches_a: whether ``discovery_order`` lists the directions by decreasing ``a_j`` (ties in
            ``a`` in any order) and contains all of them; None when the method has no order.
    """

    recovered: np.ndarray | None
    masses: np.ndarray
    rel_error: float
    rel_error_floor: float
    success: bool
    discovery_order: tuple[int, ...] | None
    order_matches_a: bool | None


def aligned_masses(decomposition: Decomposition, truth: GroundTruth, align_cos2: float = ALIGN_COS2) -> np.ndarray:
    """``M_j``: the signed weight of the components aligned with ``u_j`` in every slot (module docstring)."""
    aligned = np.ones((decomposition.weights.size, truth.r), dtype=bool)
    sign = np.ones((decomposition.weights.size, truth.r))
    for factor in decomposition.factors:
        H = kernels.correlations(factor, truth.U)
        aligned &= H * H >= align_cos2
        sign *= np.sign(H)
    return ((aligned * sign) * decomposition.weights[:, None]).sum(axis=0)


def relative_error(decomposition: Decomposition, truth: GroundTruth,
                   dense_target: np.ndarray | None = None) -> tuple[float, float]:
    """``(||T - T*||_F / ||T*||_F, floor)``.

    Symmetric: the Gram form of :func:`solver.kernels.loss_and_floor` (never a ``d^l`` tensor), with its
    resolution floor. Non-symmetric (CP-ALS): ``dense_target`` (the dense ``T*`` the method was given) is
    compared with TensorLy's ``cp_to_tensor`` of the output, floor 0 (no cancellation of large terms).
    """
    if decomposition.is_symmetric:
        X = decomposition.factors[0]
        loss, floor = kernels.loss_and_floor(X, decomposition.weights, truth.a, truth.U, truth.order, UNIT_ROUNDOFF)
        _, _, target = kernels.loss_terms(X, decomposition.weights, truth.a, truth.U, truth.order)
        return float(np.sqrt(max(2 * float(loss), 0.0) / target)), float(np.sqrt(2 * float(floor) / target))
    if dense_target is None:
        raise ValueError("a non-symmetric decomposition needs the dense target tensor")
    import tensorly as tl

    model = tl.cp_to_tensor((decomposition.weights, list(decomposition.factors)))
    return float(np.linalg.norm(model - dense_target) / np.linalg.norm(dense_target)), 0.0


def discovery_order_of(decomposition: Decomposition, truth: GroundTruth,
                       align_cos2: float = ALIGN_COS2) -> tuple[int, ...] | None:
    """The ground-truth directions in the order the method's components were found (first slot's factor
    aligned with ``u_j``, ``<b, u_j>^2 >= align_cos2``, best-aligned ``j``); None without an order."""
    if decomposition.found is None:
        return None
    H2 = kernels.correlations(decomposition.factors[0], truth.U) ** 2
    order: list[int] = []
    for k in decomposition.found:
        j = int(np.argmax(H2[k]))
        if H2[k, j] >= align_cos2 and j not in order:
            order.append(j)
    return tuple(order)


def order_matches(order: Sequence[int], a: np.ndarray) -> bool:
    """Whether ``order`` names every direction, by decreasing ``a_j`` (equal ``a_j`` in any order)."""
    if sorted(order) != list(range(a.size)):
        return False
    values = a[list(order)]
    return bool(np.all(np.diff(values) <= 0))


def recovery(decomposition: Decomposition, truth: GroundTruth, lam: float = 0.0, *,
             discovery_order: Sequence[int] | None = None, dense_target: np.ndarray | None = None,
             align_cos2: float = ALIGN_COS2, mass_rtol: float = MASS_RTOL,
             rel_error_tol: float = REL_ERROR_TOL) -> Recovery:
    """Judge one run's output against ``truth`` (rules in the module docstring).

    ``discovery_order`` overrides the order read from ``decomposition.found`` (the flows pass the order of
    their discovery times, :func:`flow_discovery_order`).
    """
    masses = aligned_masses(decomposition, truth, align_cos2)
    rel, floor = relative_error(decomposition, truth, dense_target)
    if truth.orthogonal:
        fitted = truth.a - lam / 2
        recovered = np.abs(masses - fitted) <= mass_rtol * fitted
        success = bool(recovered.all())
    else:
        recovered = None
        success = bool(rel <= rel_error_tol)
    order = tuple(discovery_order) if discovery_order is not None else discovery_order_of(decomposition, truth,
                                                                                          align_cos2)
    matches = None if order is None else order_matches(order, truth.a)
    return Recovery(recovered=recovered, masses=masses, rel_error=rel, rel_error_floor=floor, success=success,
                    discovery_order=order, order_matches_a=matches)


def flow_discovery_order(discovery_times: np.ndarray) -> tuple[int, ...]:
    """Directions sorted by their discovery time (first time ``(T*-T)(u_j^l) <= a_j/2``); never-discovered
    directions (NaN) are left out."""
    times = np.asarray(discovery_times, dtype=np.float64)
    found = np.nonzero(np.isfinite(times))[0]
    return tuple(int(j) for j in found[np.argsort(times[found], kind="stable")])


def half_residual_times(times: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """Per run and direction, the first time ``(T* - T)(u_j^l)`` falls to half its value at ``t = 0``
    (linear interpolation; NaN if never). ``residuals`` is (B, K, r).

    For an orthogonal ``T*`` and ``T(0) ~ 0`` this is the suite's discovery time (level ``a_j / 2``,
    :func:`solver.trajectory.discovery_times`); for a non-orthogonal one the initial residual is
    ``T*(u_j^l) = sum_i a_i K_ij^l > a_j``, and half of it is the level that means "u_j is being fitted".
    """
    B, K, r = residuals.shape
    out = np.full((B, r), np.nan)
    for b in range(B):
        for j in range(r):
            level = residuals[b, 0, j] / 2
            hits = np.nonzero(residuals[b, :, j] <= level)[0]
            if hits.size == 0:
                continue
            k = hits[0]
            r0, r1 = residuals[b, k - 1, j], residuals[b, k, j]
            frac = 1.0 if r0 == r1 else (r0 - level) / (r0 - r1)
            out[b, j] = times[k - 1] + frac * (times[k] - times[k - 1])
    return out

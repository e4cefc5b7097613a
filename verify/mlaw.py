"""The order law at T = 0 (SPEC C14) as a prediction: which directions the plain flow fits, how large m must be,
and the per-epoch model of Algorithm 1.

The law. For orthogonal ``T* = sum_j a_j u_j^{(x)l}`` and a component with direction ``wbar`` while the model is
still ``T ~ 0``, write ``x_j = <wbar, u_j>`` and ``y_j = a_j x_j^{l-2}``. C7 gives
``dx_j/dt = l x_j (a_j x_j^{l-2} - f)`` with ``f = sum_i a_i x_i^l``, hence::

    dy_j/dt = l (l-2) y_j (y_j - f)          (one f for every j)

a scalar ODE shared by all ``j``: two ``y``'s never cross, and ``y_j = 0`` is a fixed point. The component's
``max_j y_j`` grows (``f = sum_i y_i x_i^2 <= max_j y_j sum_i x_i^2 <= max_j y_j`` when the max is positive), so
the component heads for::

    basin(wbar(0)) = argmax_j a_j <wbar(0), u_j>^{l-2}

- ``l - 2`` even (l = 4, 6, ...): every ``y_j >= 0`` and the sign of ``x_j`` is irrelevant (``-u_j`` fits as
  well as ``u_j``).
- ``l - 2`` odd (l = 3, 5, ...): the sign matters. A ``y_j < 0`` stays negative, so the component heads for the
  ``+u_j`` with the largest positive ``a_j x_j^{l-2}``; when every ``y_j <= 0`` it is in no basin (``f < 0``
  shrinks its norm for l = 3: it never fits anything). Such a component has basin ``-1`` here.

Prediction for the plain flow: the fitted set is the set of occupied basins ``{basin(wbar_k(0)) : k}``. The law
is exact only while ``T ~ 0``: a component that is still small when a direction is fitted sees the residual,
not ``T*``, and may be "rescued" into a direction the law calls empty. The law tightens as ``delta0 -> 0``.

Consequences.
- The basin of ``wbar`` depends on ``g = sqrt(d) wbar`` only through ``(g_1, ..., g_r)`` up to a positive
  factor: for a Gaussian start the basin probabilities ``p_j`` do not depend on d. So the plain flow's
  ``P(all r directions fitted | m)`` does not depend on d at fixed r and spectrum.
- Occupancy (multinomial, ``p_0`` = no basin): ``P(every basin occupied | m) = sum_{S subset [r]} (-1)^{|S|}
  (1 - sum_{j in S} p_j)^m`` (inclusion-exclusion). For a geometric spectrum the smallest ``p_r`` falls
  exponentially in r, and m must grow like ``1/p_r``: the reason for Algorithm 1.
- A seed's ``m_needed`` (with nested draws) is the coupon-collector time ``max_j min{k : basin_k = j}``.

Algorithm 1 (per-epoch model): at epoch ``s``'s start ``t_s`` a re-initialized (fresh, uniform) component heads
for ``argmax_j res_j(t_s) x_j^{l-2}`` with ``res_j = a_j`` for a direction not yet fitted and ``0`` for a fitted
one. A direction is fitted in epoch ``s`` when a component heads for it and ``a_j >= beta_s`` (the epoch is
long enough for it); components heading for a direction with ``a_j < beta_s`` stay below ``delta1`` and are
re-initialized at the next epoch. Whether the other components that went to a fitted direction are free again
is the model's one choice (``claimed``): ``"all"`` keeps them (fewer fresh draws: pessimistic), ``"one"`` frees
all but one (optimistic). Success (every ``a_j >= eps`` fitted) is then a coupon-collector question over epochs.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["basins", "predicted_fitted", "basin_probabilities", "occupancy_probability", "p_all_occupied",
           "m_needed", "predicted_m_quantile", "algorithm1_epochs", "algorithm1_success", "OccupancyEstimate",
           "NO_BASIN", "LawCheck", "check_run"]

NO_BASIN = -1


def basins(directions: np.ndarray, a: np.ndarray, U: np.ndarray, order: int) -> np.ndarray:
    """Each component's basin ``argmax_j a_j <wbar_k, u_j>^{l-2}`` (0-based; :data:`NO_BASIN` when, for odd
    ``l - 2``, no ``a_j x_j^{l-2}`` is positive).

    Args:
        directions: (d, m) component directions (any norms; only the directions count).
        a: (r,) coefficients; U: (d, r) orthonormal ``u_j``; order: ``l >= 3``.
    Returns: (m,) integers.
    """
    X = np.asarray(directions, dtype=np.float64)
    X = X / np.linalg.norm(X, axis=0)
    x = np.asarray(U, dtype=np.float64).T @ X                     # (r, m): x_jk = <u_j, wbar_k>
    y = np.asarray(a, dtype=np.float64)[:, None] * x ** (order - 2)
    out = np.argmax(y, axis=0)
    if (order - 2) % 2 == 1:
        out = np.where(y.max(axis=0) > 0, out, NO_BASIN)
    return out.astype(np.int64)


def predicted_fitted(directions: np.ndarray, a: np.ndarray, U: np.ndarray, order: int) -> tuple[int, ...]:
    """The plain flow's predicted fitted set: the occupied basins of W(0), sorted, 0-based."""
    b = basins(directions, a, U, order)
    return tuple(int(j) for j in np.unique(b[b != NO_BASIN]))


def m_needed(directions: np.ndarray, a: np.ndarray, U: np.ndarray, order: int) -> int | None:
    """With nested draws (column k of W(0) does not depend on m): the smallest m whose first m columns occupy
    every basin, ``max_j min{k : basin_k = j} + 1``; None when the given columns never do."""
    b = basins(directions, a, U, order)
    firsts = []
    for j in range(len(a)):
        hits = np.nonzero(b == j)[0]
        if hits.size == 0:
            return None
        firsts.append(int(hits[0]))
    return max(firsts) + 1


def _gaussian_basins(rng: np.random.Generator, n: int, a: np.ndarray, order: int) -> np.ndarray:
    """Basins of ``n`` uniform directions with ``U = [e_1..e_r]`` (rotation invariance; d drops out: the
    basin depends on the first r Gaussian coordinates up to the common factor ``1/||g||``)."""
    r = a.size
    g = rng.standard_normal((r, n))
    return basins(g, a, np.eye(r), order) if (order - 2) % 2 else np.argmax(a[:, None] * g ** (order - 2), axis=0)


def basin_probabilities(a: Sequence[float], order: int, *, samples: int = 200_000,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Monte-Carlo ``p_j = P(basin(wbar) = j)`` for a uniform ``wbar`` (independent of d), and their standard
    errors ``sqrt(p (1-p) / samples)``. Returns ``(p, se)``, both (r,); ``1 - sum p`` is the no-basin mass."""
    a = np.asarray(a, dtype=np.float64)
    b = _gaussian_basins(np.random.default_rng(seed), samples, a, order)
    p = np.bincount(b[b >= 0], minlength=a.size)[: a.size] / samples
    return p, np.sqrt(p * (1 - p) / samples)


def occupancy_probability(p: Sequence[float], m: int) -> float:
    """``P(every basin occupied)`` for ``m`` independent components with basin probabilities ``p`` (the rest
    no basin): inclusion-exclusion ``sum_{S} (-1)^{|S|} (1 - p(S))^m`` (exact given p; 2^r terms)."""
    p = np.asarray(p, dtype=np.float64)
    r = p.size
    if r > 20:
        raise ValueError("inclusion-exclusion over more than 2^20 subsets; use p_all_occupied")
    total = 0.0
    for size in range(r + 1):
        for S in itertools.combinations(range(r), size):
            total += (-1) ** size * max(0.0, 1.0 - float(p[list(S)].sum())) ** m
    return float(min(1.0, max(0.0, total)))


@dataclass(frozen=True)
class OccupancyEstimate:
    """A Monte-Carlo probability ``p`` over ``n`` trials with its standard error ``sqrt(p (1-p) / n)``."""

    p: float
    se: float
    n: int


def p_all_occupied(m: int, a: Sequence[float], order: int = 4, d: int | None = None, *, trials: int = 20_000,
                   seed: int = 0) -> OccupancyEstimate:
    """Monte-Carlo ``P(every basin occupied | m, a, r, l, d)``: ``trials`` draws of W(0) (m uniform directions).

    ``d`` is accepted for the record and checked (``d >= r``), but the probability does not depend on it (module
    docstring); the draws use the first r coordinates only.
    """
    a = np.asarray(a, dtype=np.float64)
    if d is not None and d < a.size:
        raise ValueError(f"d = {d} < r = {a.size}: the basis cannot be orthogonal")
    rng = np.random.default_rng(seed)
    hits = 0
    chunk = max(1, 2_000_000 // max(1, m))
    done = 0
    while done < trials:
        n = min(chunk, trials - done)
        b = _gaussian_basins(rng, n * m, a, order).reshape(n, m)
        occupied = np.zeros((n, a.size), dtype=bool)
        rows = np.repeat(np.arange(n), m)
        flat = b.ravel()
        keep = flat >= 0
        occupied[rows[keep], flat[keep]] = True
        hits += int(occupied.all(axis=1).sum())
        done += n
    p = hits / trials
    return OccupancyEstimate(p=p, se=math.sqrt(p * (1 - p) / trials), n=trials)


def predicted_m_quantile(a: Sequence[float], order: int = 4, q: float = 0.9, *, samples: int = 200_000,
                         seed: int = 0, m_max: int = 1_000_000) -> int:
    """The smallest m with ``P(every basin occupied | m) >= q`` (the predicted ``m_q`` of the plain flow), from
    :func:`basin_probabilities` and :func:`occupancy_probability` (bisection; P is increasing in m)."""
    p, _ = basin_probabilities(a, order, samples=samples, seed=seed)
    if p.min() <= 0:
        raise ValueError("a basin with no Monte-Carlo mass: raise samples")
    lo, hi = 1, 1
    while occupancy_probability(p, hi) < q:
        lo, hi = hi, hi * 2
        if hi > m_max:
            raise ValueError(f"m_q above m_max = {m_max}")
    while lo < hi:
        mid = (lo + hi) // 2
        if occupancy_probability(p, mid) >= q:
            hi = mid
        else:
            lo = mid + 1
    return lo


# ------------------------------------------------------------------------------------ Algorithm 1, per epoch
def algorithm1_epochs(a: Sequence[float], order: int, m: int, betas: Sequence[float],
                      rng: np.random.Generator, *, initial: np.ndarray | None = None,
                      claimed: str = "all") -> list[tuple[int, ...]]:
    """One draw of the per-epoch model (module docstring): the directions fitted in each epoch (0-based).

    Args:
        a: (r,) coefficients (orthogonal ``T*``; the basis drops out by rotation invariance).
        order: l. m: components. betas: each epoch's ``beta_s`` (:func:`solver.flow.epoch_schedule`'s third
            entries). rng: the fresh directions' stream.
        initial: optional (r, m) coordinates ``<u_j, wbar_k(0)>`` of W(0) (a run's own start); drawn otherwise.
        claimed: ``"all"`` (every component that went to a fitted direction stays there) or ``"one"``.
    """
    a = np.asarray(a, dtype=np.float64)
    r = a.size
    if claimed not in ("all", "one"):
        raise ValueError("claimed: 'all' or 'one'")
    fitted = np.zeros(r, dtype=bool)
    free = m
    out: list[tuple[int, ...]] = []
    for s, beta in enumerate(betas):
        if s == 0 and initial is not None:
            x = np.asarray(initial, dtype=np.float64)
            free = x.shape[1]
        else:
            x = rng.standard_normal((r, free))
        res = np.where(fitted, 0.0, a)
        y = res[:, None] * x ** (order - 2)
        target = np.argmax(y, axis=0) if free else np.zeros(0, dtype=np.int64)
        if free and (order - 2) % 2 == 1:
            target = np.where(y.max(axis=0) > 0, target, NO_BASIN)
        new = sorted({int(j) for j in target if j != NO_BASIN and not fitted[j] and a[j] >= beta})
        for j in new:
            fitted[j] = True
            free -= int((target == j).sum()) if claimed == "all" else 1
        out.append(tuple(new))
    return out


def algorithm1_success(a: Sequence[float], order: int, m: int, betas: Sequence[float], eps: float, *,
                       trials: int = 2000, seed: int = 0, claimed: str = "all") -> OccupancyEstimate:
    """Monte-Carlo P(every ``a_j >= eps`` fitted by the last epoch) under :func:`algorithm1_epochs`."""
    a = np.asarray(a, dtype=np.float64)
    need = set(np.nonzero(a >= eps)[0].tolist())
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        got = set(itertools.chain.from_iterable(algorithm1_epochs(a, order, m, betas, rng, claimed=claimed)))
        hits += need <= got
    p = hits / trials
    return OccupancyEstimate(p=p, se=math.sqrt(p * (1 - p) / trials), n=trials)


# ------------------------------------------------------------------------------------ checking a run
@dataclass(frozen=True)
class LawCheck:
    """A plain run against the law: ``predicted`` (occupied basins of W(0)) and ``observed`` (directions
    fitted at the end, :meth:`solver.Trajectory.recovered`), 0-based; ``rescued`` = observed - predicted (a
    direction fitted that no component's basin held: a late component saw the residual, not T*),
    ``missed`` = predicted - observed (an occupied basin not fitted: the law's real failure)."""

    predicted: tuple[int, ...]
    observed: tuple[int, ...]
    command: str

    @property
    def rescued(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.observed) - set(self.predicted)))

    @property
    def missed(self) -> tuple[int, ...]:
        return tuple(sorted(set(self.predicted) - set(self.observed)))

    @property
    def agrees(self) -> bool:
        return self.predicted == self.observed


def check_run(spec) -> LawCheck:
    """Solve a one-seed plain-flow :class:`solver.spec.RunSpec` on an orthogonal T* and compare its fitted set
    with the occupied basins of its W(0) (:func:`solver.flow.seed_streams`, :func:`predicted_fitted`)."""
    from solver.flow import initial_directions, seed_streams

    truth = spec.instance.truth()
    if not truth.orthogonal or spec.config.algorithm != "plain" or spec.n_seeds != 1:
        raise ValueError("check_run: one seed of the plain flow on an orthogonal T*")
    X0 = initial_directions(seed_streams(spec.first_seed)[0], truth.d, spec.config.m)
    predicted = predicted_fitted(X0, truth.a, truth.U, truth.order)
    recovered = spec.solve().recovered()[0]
    observed = tuple(int(j) for j in np.nonzero(recovered)[0])
    return LawCheck(predicted=predicted, observed=observed, command=spec.command())

"""Integrators at arbitrary precision: explicit Gragg-Bulirsch-Stoer extrapolation and implicit Radau IIA.

Both work on a state ``Y`` (an object array of the arithmetic's scalars, shape (d+1, m): row 0 the
log-norms, rows 1..d the directions) through a :class:`Problem` (field, projection, Jacobian).

Why these two:

- Explicit: the Gragg-Bulirsch-Stoer (GBS) extrapolation of the explicit midpoint rule (Hairer, Norsett,
  Wanner, *Solving ODEs I*, II.9). Its order ``2k`` is a parameter, so it follows the precision (a fixed
  Runge-Kutta pair of order 8 needs ~10x more steps than order 16 at 40 digits), and every coefficient
  is a ratio of integers built from the step-number sequence ``n_j = 2j``: exact at any precision with
  no tableau to transcribe (we chose this over a Verner/DOP853 tableau for that reason).
  Error estimate ``T_kk - T_k,k-1``; step control ``h <- h * 0.9 err^(-1/(2k-1))``.
- Implicit: Radau IIA with ``s`` stages (order ``2s-1``, L-stable; Hairer & Wanner, *Solving ODEs II*,
  IV.5), nodes and coefficients computed at working precision. The stage equations are solved by
  simplified Newton whose matrix comes from the float64 analytic Jacobian (:mod:`solver.jacobian`),
  diagonalized over the eigenvalues of ``A`` (one complex ``n x n`` LU per eigenvalue pair). The
  residual is evaluated at full precision, so Newton converges to the exact collocation solution as
  long as ``h ||J - J_float64||`` stays below 1 (about ``h * ||J|| < 1e13``): the float64 Jacobian
  limits the stiffness ratio, not the accuracy. Error control by step doubling.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Protocol

import numpy as np
import scipy.linalg

from ..integrators._control import HIGH_PRECISION_CONTROL, StepStats, initial_step
from ..integrators.save_times import SaveTimes, reached, time_tolerance
from ..threads import limit_threads

from .arithmetic import Arithmetic

__all__ = ["Problem", "StepStats", "StepCarry", "integrate_gbs", "integrate_radau", "radau_iia", "gbs_columns",
           "INTEGRATORS", "NewtonFailure", "newton_solver"]

INTEGRATORS = ("gbs", "radau")
OnSave = Callable[[int, np.ndarray], None]
CONTROL = HIGH_PRECISION_CONTROL
# Newton's first guess for a step of size h comes from the previous accepted step's collocation polynomial only
# while h is at most this many times that step (farther out the extrapolation is worse than starting at 0); the
# measured effect is in BENCHMARKS.md ("High precision: Newton's starting values").
EXTRAPOLATION_REACH = 4.0


class Problem(Protocol):
    """What an integrator needs from the flow."""

    arithmetic: Arithmetic

    def field(self, Y: np.ndarray) -> np.ndarray: ...

    def project(self, Y: np.ndarray) -> np.ndarray: ...

    def scale(self, Y0: np.ndarray, Y1: np.ndarray, rtol: float, atol: float) -> np.ndarray:
        """float64 error scale per entry (only its magnitude matters)."""

    def jacobian(self, Y: np.ndarray) -> np.ndarray: ...


@dataclass
class StepCarry:
    """The step size one integration ended with, for the next span of the same flow to start from.

    Why: Algorithm 1's epochs are consecutive spans of one flow, each twice as long as the last (up to ``t ~ 1/eps``).
    Restarted from :func:`solver.integrators._control.initial_step`, whose fallback is ``1e-6`` when the field is
    negligible against the tolerance (all components at rest, as late epochs are), every epoch spent
    ``log_4(span / 1e-6)`` steps (about 30 at ``t ~ 1e13``) growing back to the size the previous epoch ended with
    (BENCHMARKS.md, "High precision: tolerance tied to eps, steps carried across epochs")."""

    h: float | None = None

    def first(self, guess: Callable[[], float], span: float) -> float:
        """The carried step (at most ``span``), else ``guess()``."""
        return min(self.h, span) if self.h is not None else guess()


class NewtonFailure(RuntimeError):
    """Simplified Newton did not converge even at the smallest step allowed."""


def _rms(problem: Problem, err: np.ndarray, scale: np.ndarray) -> float:
    ratio = problem.arithmetic.to_float(err) / scale
    value = float(np.sqrt(np.mean(ratio**2)))
    return value if math.isfinite(value) else math.inf


def gbs_columns(tol: float) -> int:
    """Number of extrapolation columns ``k`` (order ``2k``) for a relative tolerance: about 2.5 digits
    per column, between 4 (order 8) and 12 (order 24)."""
    digits = -math.log10(tol)
    return int(min(12, max(4, math.ceil(digits / 2.5))))


def _first_step(problem: Problem, Y: np.ndarray, f0: np.ndarray, span: float, rtol: float, atol: float) -> float:
    """:func:`solver.integrators._control.initial_step` from the scaled sizes of ``Y`` and its field ``f0``."""
    scale = problem.scale(Y, Y, rtol, atol)
    ar = problem.arithmetic
    y_size, f_size = (float(np.sqrt(np.mean((ar.to_float(v) / scale) ** 2))) for v in (Y, f0))
    return initial_step(y_size, f_size, span)


def _drive(problem: Problem, Y: np.ndarray, t0: float, t1: float, save_times: np.ndarray, on_save: OnSave,
           step: Callable[[np.ndarray, float, float], tuple[np.ndarray | None, float]], h0: float,
           stats: StepStats, progress: Callable[[float], None] | None, max_steps: int,
           carry: StepCarry | None) -> np.ndarray:
    """Shared loop: land exactly on every save time (:class:`solver.integrators.save_times.SaveTimes`), call
    ``step(Y, t, h) -> (Y_new or None, h_next)``; the step proposed after the last is left in ``carry``."""
    plan = SaveTimes(save_times, t0, t1)
    plan.report_start(on_save, Y)
    t, h = t0, h0
    for k, target in zip(plan.indices, plan.targets):
        while not reached(target, t):
            if stats.accepted + stats.rejected > max_steps:
                raise RuntimeError(f"max_steps={max_steps} exceeded at t={t:.6g} (target {t1:.6g})")
            h_try = min(h, target - t)
            last = reached(target, t + h_try)
            Y_new, h_next = step(Y, t, h_try)
            if Y_new is None:
                stats.rejected += 1
                h = h_next
                continue
            stats.accepted += 1
            Y = Y_new
            t = target if last else t + h_try
            # A step shortened to land on a save time says nothing about the next one's size.
            h = max(h_next, h) if last else h_next
            if progress is not None:
                progress(t)
        if k >= 0:
            on_save(int(k), Y)
    if carry is not None:
        carry.h = h
    return Y


def integrate_gbs(problem: Problem, Y0: np.ndarray, t0: float, t1: float, save_times: np.ndarray,
                  on_save: OnSave, *, rtol: float, atol: float, step: float | None = None,
                  columns: int | None = None, progress: Callable[[float], None] | None = None,
                  max_steps: int = 1_000_000, carry: StepCarry | None = None) -> tuple[np.ndarray, StepStats]:
    """Integrate ``dY/dt = field(Y)`` from ``t0`` to ``t1`` by GBS extrapolation (explicit).

    One macro step ``H`` runs the midpoint rule with ``n_j = 2j`` substeps (``j = 1..k``),
    ``z_1 = y0 + h f(y0)``, ``z_{i+1} = z_{i-1} + 2 h f(z_i)`` (``h = H/n_j``); ``T_j1 = z_{n_j}`` has an
    expansion in even powers of ``h`` for even ``n_j`` (Gragg), and the Aitken-Neville tableau
    ``T_{j,i+1} = T_{j,i} + (T_{j,i} - T_{j-1,i}) / ((n_j/n_{j-i})^2 - 1)`` raises the order to ``2k``.
    ``carry`` (:class:`StepCarry`): start from the step the previous span ended with, and leave this one's there.
    """
    ar = problem.arithmetic
    k = columns if columns is not None else gbs_columns(rtol)
    n = [2 * (j + 1) for j in range(k)]
    # Exact extrapolation weights 1 / ((n_j / n_{j-i})^2 - 1), converted once at working precision.
    weights = {(j, i): ar.scalar(1 / (Fraction(n[j], n[j - i]) ** 2 - 1)) for j in range(k) for i in range(1, j + 1)}
    stats = StepStats()
    cache: dict[str, np.ndarray] = {}

    def f(Y):
        stats.rhs_evals += 1
        return problem.field(Y)

    def macro(Y, _t, H):
        f0 = cache.get("f0")
        if f0 is None:
            f0 = cache["f0"] = f(Y)
        Hs = ar.scalar(H)
        rows: list[list[np.ndarray]] = []
        for j, nj in enumerate(n):
            h = Hs / nj
            z_prev, z = Y, Y + h * f0
            for _ in range(nj - 1):
                z_prev, z = z, z_prev + 2 * h * f(z)
            row = [z]
            for i in range(1, j + 1):
                row.append(row[i - 1] + (row[i - 1] - rows[j - 1][i - 1]) * weights[(j, i)])
            rows.append(row)
        Y1, Y1_low = rows[-1][-1], rows[-1][-2]
        err = _rms(problem, Y1 - Y1_low, problem.scale(Y, Y1, rtol, atol))
        factor = CONTROL.factor(err, 1.0 / (2 * k - 1))
        if err > 1.0:
            return None, H * factor
        Y1 = problem.project(Y1)
        cache["f0"] = f(Y1)
        return Y1, H * factor

    if step is None:
        cache["f0"] = f(Y0)
        step = (carry or StepCarry()).first(lambda: _first_step(problem, Y0, cache["f0"], t1 - t0, rtol, atol),
                                            t1 - t0)
    Y = _drive(problem, Y0, t0, t1, save_times, on_save, macro, step, stats, progress, max_steps, carry)
    return Y, stats


def newton_solver(matrix: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``v -> matrix^{-1} v`` for a Newton matrix ``I - h lambda J``: its LU, or, where the LU is numerically
    singular, the least-squares solution through its pseudo-inverse.

    Why the fallback: each direction block of the flow's Jacobian has the radial null vector ``xhat`` (the field
    is taken at ``x/||x||``), so at ``h ||J|| > 1/u`` (u = 2^-53; the late epochs reach ``h ~ t ~ 1/eps``) the
    identity's contribution along ``xhat`` is lost in the LU's rounding and a pivot can come out exactly zero.
    The lost component is the radial one, which the projection after each step removes anyway; the
    pseudo-inverse drops it instead of turning it into inf/NaN and a rejected step at every try.
    """
    n = matrix.shape[0]
    with warnings.catch_warnings():  # a singular LU is handled below, not reported
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        lu, piv = scipy.linalg.lu_factor(matrix, check_finite=False)
    pivots = np.abs(np.diag(lu))
    if np.all(np.isfinite(lu)) and pivots.min() > n * np.finfo(float).eps * np.abs(matrix).max():
        return lambda v: scipy.linalg.lu_solve((lu, piv), v, check_finite=False)
    inverse = np.linalg.pinv(matrix, rcond=n * np.finfo(float).eps)
    return lambda v: inverse @ v


def radau_iia(stages: int, arithmetic: Arithmetic) -> tuple[list, list[list], np.ndarray, np.ndarray]:
    """Radau IIA nodes ``c`` and matrix ``A`` at working precision (and float64 copies of both).

    The nodes are the zeros of ``d^{s-1}/dx^{s-1} [x^{s-1} (x-1)^s]`` (so ``c_s = 1``); ``A_ij`` is the
    integral over ``[0, c_i]`` of the Lagrange polynomial of node ``j`` (collocation).
    """
    import mpmath

    s = stages
    with mpmath.workdps(arithmetic.dps + 20):
        # Coefficients of x^{s-1} (x-1)^s, highest degree first, differentiated s-1 times (exact integers).
        poly = [Fraction(math.comb(s, i) * (-1) ** i) for i in range(s + 1)] + [Fraction(0)] * (s - 1)
        for _ in range(s - 1):
            deg = len(poly) - 1
            poly = [coef * (deg - i) for i, coef in enumerate(poly[:-1])]
        roots = sorted(mpmath.re(x) for x in mpmath.polyroots([mpmath.mpf(p.numerator) / p.denominator for p in poly],
                                                               maxsteps=200, extraprec=4 * arithmetic.dps))
        roots[-1] = mpmath.mpf(1)
        V = mpmath.matrix([[cj**q for q in range(s)] for cj in roots])
        Cint = mpmath.matrix([[ci ** (q + 1) / (q + 1) for q in range(s)] for ci in roots])
        A_mp = Cint * mpmath.inverse(V)
        c = [arithmetic.scalar(mpmath.nstr(x, arithmetic.dps + 10)) for x in roots]
        A = [[arithmetic.scalar(mpmath.nstr(A_mp[i, j], arithmetic.dps + 10)) for j in range(s)] for i in range(s)]
        c64 = np.array([float(x) for x in roots])
        A64 = np.array([[float(A_mp[i, j]) for j in range(s)] for i in range(s)])
    return c, A, c64, A64


def integrate_radau(problem: Problem, Y0: np.ndarray, t0: float, t1: float, save_times: np.ndarray,
                    on_save: OnSave, *, rtol: float, atol: float, step: float | None = None, stages: int | None = None,
                    newton_max: int = 20, progress: Callable[[float], None] | None = None,
                    max_steps: int = 100_000, carry: StepCarry | None = None) -> tuple[np.ndarray, StepStats]:
    """Integrate by ``stages``-stage Radau IIA (order ``2s-1``) with step-doubling error control.

    Stage equations ``Z_i = h sum_j A_ij f(y0 + Z_j)``, ``y1 = y0 + Z_s`` (stiffly accurate). Simplified
    Newton: ``(I - h A (x) J) dZ = -F(Z)`` with ``A = T Lambda T^{-1}`` solved as ``s`` decoupled systems
    ``(I - h lambda_i J) dV_i = -(T^{-1} F)_i`` in complex float64 (:func:`newton_solver`); ``F`` is evaluated
    at full precision and the correction added at full precision, so the iteration converges to the exact stage
    values. Newton starts from the collocation polynomial ``P`` of a neighbouring step (Hairer & Wanner IV.8):
    the half steps of the step-doubling pair from the full step's ``P``, the full step from the previous
    accepted step's (within :data:`EXTRAPOLATION_REACH`), and stops when the increment, or its linear-rate
    estimate ``rate/(1-rate) * |dZ|`` of the remaining error, is below ``1e-3`` of the tolerance. ``carry``
    (:class:`StepCarry`): start from the step the previous span ended with, and leave this one's there.
    """
    ar = problem.arithmetic
    shape = Y0.shape
    if stages is None:
        # Order 2s-1 grows with the digits asked for: 3 stages (order 5) at 1e-8, up to 7 (order 13).
        stages = int(min(7, max(3, math.ceil(-math.log10(rtol) / 4))))
    c, A, _c64, A64 = radau_iia(stages, ar)
    A_matrix = ar.matrices(np.array(A, dtype=object))
    lam, T = np.linalg.eig(A64)
    Tinv = np.linalg.inv(T)
    # A's complex eigenvalues come in conjugate pairs whose rows of T^{-1} are conjugate, so for a real residual
    # (I - h conj(lambda) J)^{-1} conj(w) = conj((I - h lambda J)^{-1} w): one complex LU per pair, not two.
    conjugate_of = {i: j for i in range(stages) for j in range(stages)
                    if lam[i].imag < 0 and lam[j].imag > 0 and np.isclose(lam[i], np.conj(lam[j]))
                    and np.allclose(Tinv[i], np.conj(Tinv[j]))}
    order = 2 * stages - 1
    stats = StepStats()
    # Newton stops well below the local error tolerance (the stage error then does not pollute it).
    newton_tol = 1e-3
    state: dict = {}

    def f(Y):
        stats.rhs_evals += 1
        return problem.field(Y)

    def factors(h: float):
        key = ("lu", h)
        if key not in state:
            J = state["J"]
            eye = np.eye(J.shape[0])
            state[key] = {i: newton_solver(eye - h * li * J) for i, li in enumerate(lam) if i not in conjugate_of}
            stats.factorizations += len(state[key])
        return state[key]

    def radau_step(Y, h, guess):
        """One Radau IIA step from ``Y`` of size ``h``, Newton started at the stage values ``guess`` (or 0);
        returns ``(Y1, Z)`` with the converged stage values, or None."""
        lus = factors(h)
        hs = ar.scalar(h)
        Z = list(guess) if guess is not None else [np.zeros(shape, dtype=object) * ar.scalar(0)
                                                   for _ in range(stages)]
        scale64 = problem.scale(Y, Y, rtol, atol).ravel()
        previous = None
        for _ in range(newton_max):
            stats.newton_iterations += 1
            # F = Z - h (A (x) I) f(Y + Z), the stages as the rows of one (s, n) product.
            fz = np.stack([f(Y + Z[j]).ravel() for j in range(stages)])
            F = ar.to_float(np.stack([z.ravel() for z in Z]) - hs * (A_matrix @ ar.matrices(fz)))
            W = Tinv @ F
            solved = {i: lus[i](-W[i]) for i in lus}
            dV = np.stack([np.conj(solved[conjugate_of[i]]) if i in conjugate_of else solved[i]
                           for i in range(stages)])
            dZ = np.real(T @ dV)
            size = float(np.sqrt(np.mean((dZ / scale64) ** 2)))
            if not math.isfinite(size) or (previous is not None and size > 0.9 * previous and size > newton_tol):
                return None
            for i in range(stages):
                Z[i] = Z[i] + ar.array(dZ[i].reshape(shape))
            # The remaining error of a linearly converging iteration is about rate/(1-rate) times this increment.
            rate = size / previous if previous else None
            if size <= newton_tol or (rate is not None and rate < 1 and rate / (1 - rate) * size <= newton_tol):
                return problem.project(Y + Z[-1]), Z
            previous = size
        return None

    def collocation(Z, taus):
        """Stage-value guesses from the collocation polynomial ``P`` of a step (``P(0) = 0``, ``P(c_i) = Z_i``):
        ``P(tau_i) - P(tau_0)`` for ``taus = (tau_0, tau_1..tau_s)`` in units of that step."""
        nodes = [ar.scalar(0)] + list(c)

        def at(tau):
            total = None
            for j in range(1, stages + 1):
                weight = ar.scalar(1)
                for k, x in enumerate(nodes):
                    if k != j:
                        weight = weight * (tau - x) / (nodes[j] - x)
                total = Z[j - 1] * weight if total is None else total + Z[j - 1] * weight
            return total

        base = at(taus[0]) if taus[0] != 0 else None
        return [at(tau) if base is None else at(tau) - base for tau in taus[1:]]

    half_scalar = ar.scalar(Fraction(1, 2))

    def macro(Y, t, h):
        if "J" not in state:
            state.clear()
            state["J"] = problem.jacobian(Y)
            stats.jacobians += 1
        last = state.pop("last", None)  # (stage values, size) of the previous accepted step, for its guess
        guess = None
        if last is not None and h <= EXTRAPOLATION_REACH * last[1]:
            ratio = ar.scalar(h / last[1])
            guess = collocation(last[0], [ar.scalar(1)] + [ar.scalar(1) + ci * ratio for ci in c])
        big = radau_step(Y, h, guess)
        half = None if big is None else radau_step(Y, h / 2, collocation(big[1], [0] + [ci * half_scalar
                                                                                       for ci in c]))
        both = None if half is None else radau_step(half[0], h / 2, collocation(
            big[1], [half_scalar] + [half_scalar + ci * half_scalar for ci in c]))
        if both is None:
            state.clear()  # fresh Jacobian at the retry: Newton failed with the old one
            if h < time_tolerance(max(abs(t), t1 - t0)):  # the step no longer moves t
                raise NewtonFailure(f"simplified Newton failed at step {h:.3g} (float64 Jacobian too coarse "
                                    "for this stiffness, see module docstring)")
            return None, h / 4
        both, stages_both = both
        err = _rms(problem, (both - big[0]) * ar.scalar(Fraction(1, 2**order - 1)),
                   problem.scale(Y, both, rtol, atol))
        factor = CONTROL.factor(err, 1.0 / (order + 1))
        if err > 1.0:
            return None, h * factor
        # The Jacobian is kept across accepted steps (simplified Newton) and refreshed at every 5th.
        state["age"] = state.get("age", 0) + 1
        if state["age"] >= 5:
            state.clear()
        else:
            for key in [key for key in state if isinstance(key, tuple)]:
                del state[key]
        state["last"] = (stages_both, h / 2)
        return both, h * factor

    if step is None:
        step = (carry or StepCarry()).first(lambda: _first_step(problem, Y0, f(Y0), t1 - t0, rtol, atol), t1 - t0)
    # The float64 LAPACK work (one complex LU per eigenvalue of A per step size, ``stages`` triangular solves per
    # Newton iteration) sits between full-precision field evaluations: its threads would only spin against other
    # processes. The limit is sized to one Newton iteration's solves.
    n = int(np.asarray(Y0).size)
    with limit_threads(stages * n * n):
        Y = _drive(problem, Y0, t0, t1, save_times, on_save, macro, step, stats, progress, max_steps, carry)
    return Y, stats

"""Implicit (stiff) integration on the CPU: scipy's BDF or Radau with the Gram-structured analytic Jacobian.

Spread spectra are stiff: a fitted component relaxes at rate ~4 a_i while a component of size a_j
is found on the time scale ~1/a_j (SPEC numerics). Each run of the batch is integrated on its own
(scipy is sequential); the vector field is :func:`solver.kernels.flow` on numpy arrays.

Newton's linear systems ``(I - c J) dy = b`` are solved one of three ways (``linear_solver``):

- ``dense``: the exact analytic Jacobian, LAPACK LU (``auto`` up to 400 unknowns).
- ``sparse``: couplings of negligible components dropped, SuperLU (:func:`flow_jacobian_sparse`).
- ``krylov``: Jacobian-free in the sense that no matrix is formed: :class:`JacobianOperator` applies the
  exact Jacobian in ``O(m^2 d)`` and GMRES solves the system (BDF only), preconditioned by the inverted
  per-component ``(d+1) x (d+1)`` blocks plus, by Woodbury, the rank-``(d+1)`` coupling of each cluster of
  nearly parallel components (:meth:`JacobianOperator.cluster_coupling`). A dense ``n x n`` LU costs
  ``O(n^3)``; at ``m = 200``, ``d = 10`` that is 1e10 flops per factorization against ~1e6 per GMRES
  iteration. ``auto`` for BDF above 400 unknowns (the crossover measured in BENCHMARKS.md).

With ``dense`` and ``sparse`` the integrator is scipy's own ``BDF`` or ``Radau`` through its public interface,
stepped by :func:`drive` (save times from the dense output, Jacobians at the last accepted state, a
:class:`solver.integrators._control.StallGuard` against collapsed steps). ``krylov`` needs two things scipy's
public interface does not offer, a matrix-free Newton solve and :func:`newton_with_noise_floor` (without it
the late epochs of Algorithm 1 at d = 30 crawl on the float64 noise floor), and so still runs scipy's BDF
internals (:class:`NoiseFloorBDF`); the dense path does not use the noise-floor rules, which once turned an
escape time of ~3e12 into a discovery at 2.4e10 (m = r = 5 on the spread spectrum, seed 3).
"""

from __future__ import annotations

import dataclasses
import types
from typing import Callable

import numpy as np
import torch
import scipy.sparse as sp
from scipy.integrate import BDF, Radau
from scipy.integrate._ivp import bdf as _scipy_bdf
from scipy.linalg import lu_factor, lu_solve
from scipy.sparse.linalg import splu

from .. import kernels
from ..config import LINEAR_SOLVERS
from ..threads import field_flops, limit_threads
from ..jacobian import (BlockClusterPreconditioner, JacobianOperator, flow_jacobian, flow_jacobian_sparse, pack_state,
                        state_direction_norms, unpack_state)
from ._control import IntegrationStalled, StallGuard, time_tolerance
from ._explicit import OnSave, StepStats

IMPLICIT_METHODS = ("BDF", "Radau")
DENSE_MAX_UNKNOWNS = 400
FLOAT64_ROUNDOFF = float(np.finfo(np.float64).eps)
# Newton increments accepted up to this many noise floors (newton_with_noise_floor, rule 2). The floor is a level,
# not a bound: float64 errors reach 1-2x flow_rounding's estimate, and an increment after the first is the difference
# of two draws (sqrt(2) more), so noise increments reach ~3x the floor. Measured at d = 60, m = 300 (t = 2.0e11):
# increments of iterations that settled on the noise 0.5-5x the floor, those of iterations that diverged 7-15x.
NOISE_INCREMENTS = 4.0


def gmres(apply: Callable[[np.ndarray], np.ndarray], precondition: Callable[[np.ndarray], np.ndarray],
          b: np.ndarray, rtol: float, max_iter: int) -> tuple[np.ndarray, int, float]:
    """Right-preconditioned GMRES for ``A x = b``: minimize ``||b - A M^{-1} u||`` over a Krylov space, ``x = M^{-1} u``.

    Arnoldi with classical Gram-Schmidt applied twice (as accurate as modified Gram-Schmidt, in two
    matrix products) and Givens rotations for the running residual; the preconditioned basis vectors are
    kept, so the solution costs no further application of ``M^{-1}`` (most solves here take one or two
    iterations). scipy's gmres does the same work with more Python per iteration, which dominated the solves
    here. Returns ``(x, iterations,
    relative residual)``; stops when the residual is below ``rtol ||b||`` or after ``max_iter`` steps.
    """
    beta = float(np.linalg.norm(b))
    if beta == 0.0:
        return np.zeros_like(b), 0, 0.0
    basis = np.empty((max_iter + 1, b.size))
    preconditioned = np.empty((max_iter, b.size))  # M^{-1} basis[j]: the solution is their combination
    hess = np.zeros((max_iter + 1, max_iter))
    cos, sin = np.zeros(max_iter), np.zeros(max_iter)
    g = np.zeros(max_iter + 1)
    g[0] = beta
    basis[0] = b / beta
    steps = 0
    for j in range(max_iter):
        steps = j + 1
        preconditioned[j] = precondition(basis[j])
        w = apply(preconditioned[j])
        h = basis[: j + 1] @ w
        w = w - basis[: j + 1].T @ h
        h2 = basis[: j + 1] @ w
        w = w - basis[: j + 1].T @ h2
        h = h + h2
        h_next = float(np.linalg.norm(w))
        col = np.concatenate([h, [h_next]])
        for i in range(j):
            col[i], col[i + 1] = cos[i] * col[i] + sin[i] * col[i + 1], -sin[i] * col[i] + cos[i] * col[i + 1]
        radius = float(np.hypot(col[j], col[j + 1]))
        cos[j], sin[j] = (1.0, 0.0) if radius == 0.0 else (col[j] / radius, col[j + 1] / radius)
        col[j], col[j + 1] = radius, 0.0
        hess[: j + 2, j] = col
        g[j], g[j + 1] = cos[j] * g[j], -sin[j] * g[j]
        if abs(g[j + 1]) <= rtol * beta or h_next == 0.0:
            break
        basis[j + 1] = w / h_next
    y = np.linalg.solve(np.triu(hess[:steps, :steps]), g[:steps]) if steps else np.zeros(0)
    return preconditioned[:steps].T @ y, steps, abs(g[steps]) / beta


def newton_with_noise_floor(fun, t_new, y_predict, c, psi, LU, solve_lu, scale, tol):
    """scipy's BDF Newton iteration (``scipy.integrate._ivp.bdf.solve_bdf_system``) plus two acceptance rules for
    increments that do not shrink because they are the field's rounding noise, not a diverging iteration.

    scipy accepts an iterate only when the increments shrink (``rate = |dy_k| / |dy_{k-1}| < 1``). Once a run
    has settled (late epochs of Algorithm 1: every direction fitted, ``T - T*`` at ``lambda/2``) the field is
    float64 rounding noise, ~1e-16 per O(1) term (:func:`solver.kernels.flow_rounding`), fresh at every
    evaluation: Newton's increments are that noise, passed through the linear solve of ``I - c J``, and do not
    shrink, so ``rate ~ 1``; scipy declares failure, halves ``h`` and refreshes the Jacobian, over and over.

    1. An increment whose scaled norm is already below ``tol`` is converged, whatever its rate. (Measured at
       d = 30, m = 150, t = 4.0e9: increments 6e-11 of the tolerance scale and the step stuck near h = 1 where
       the epoch is 2e9 long.)
    2. When the iteration would fail, an increment no larger than ``NOISE_INCREMENTS`` (4) times the *noise
       floor* is converged: the scaled norm of ``(I - c J)^{-1} c nu``, ``nu`` the field's rounding level with
       fixed pseudo-random signs (``fun.noise``, a :class:`FieldNoise` set by :class:`NoiseFloorBDF`), provided
       that floor is below ``fun.noise.limit``. Four times, because the floor is a typical level (measured
       rounding reaches twice it) and every increment after the first is the difference of two independent noise
       draws (sqrt(2) times one); twice (the first choice) refused half the noise-limited iterations at d = 60.
       At t = 1.7e10 of the d = 30 run the increments plateaued at 0.3-0.5x this estimate over five decades of
       ``c`` (0.8 to 8e7), and scipy's ``tol = 1e-3`` capped the step where the floor reached it (``c ~ 3e6``),
       for an epoch of 1.7e10.

    Accepting them costs nothing in accuracy: the iterate is then as close to the solution as the rounding of
    the field itself allows, which every integrator of this field carries, and the step's error test still
    judges the result.
    """
    d = 0
    y = y_predict.copy()
    dy_norm_old = None
    converged = False
    k = 0
    for k in range(_scipy_bdf.NEWTON_MAXITER):
        f = fun(t_new, y)
        if not np.all(np.isfinite(f)):
            break
        dy = solve_lu(LU, c * f - psi - d)
        dy_norm = _scipy_bdf.norm(dy / scale)
        rate = None if dy_norm_old is None else dy_norm / dy_norm_old
        fails = rate is not None and (rate >= 1 or rate ** (_scipy_bdf.NEWTON_MAXITER - k) / (1 - rate) * dy_norm > tol)
        if dy_norm < tol or (fails and dy_norm <= NOISE_INCREMENTS * _noise_floor(fun, y, c, LU, scale)):
            y += dy
            d += dy
            converged = True
            break
        if fails:
            break
        y += dy
        d += dy
        if rate is not None and rate / (1 - rate) * dy_norm < tol:
            converged = True
            break
        dy_norm_old = dy_norm
    return converged, k + 1, y, d


class FieldNoise:
    """What :func:`newton_with_noise_floor` needs to know of the field's rounding (rule 2).

    ``level(y)``: the field's rounding level at ``y`` in state layout (:func:`solver.kernels.flow_rounding`).
    ``solve(LU, b)``: a solve with Newton's matrix, as accurate as a floor estimate needs (a factor of two
    decides; :class:`KrylovBDF` uses a loose GMRES tolerance here). ``limit``: floors at or above it are
    not accepted; :class:`NoiseFloorBDF` sets it before every step to ``1 / error_const[order]``, where the
    noise alone would fail the step's error test (``error = error_const[order] * (y_new - y_predict)``,
    judged against 1 in the same scaled norm), so Newton accepts exactly the noise the error test accepts.
    """

    def __init__(self, level: Callable[[np.ndarray], np.ndarray], solve: Callable, limit: float = 1.0):
        self.level, self.solve, self.limit = level, solve, limit


def _noise_floor(fun, y, c, LU, scale) -> float:
    """Scaled norm of Newton's increment for a field that is pure rounding noise (rule 2 of
    :func:`newton_with_noise_floor`); 0 when the field's noise is unknown or the floor is not below its limit."""
    noise = getattr(fun, "noise", None)
    if noise is None:
        return 0.0
    signs = np.random.default_rng(0).choice([-1.0, 1.0], size=y.size)  # fixed: the same y gives the same floor
    floor = float(_scipy_bdf.norm(noise.solve(LU, c * noise.level(y) * signs) / scale))
    return floor if floor < noise.limit else 0.0


class NoiseFloorBDF(BDF):
    """scipy's BDF (same formulas, order and step control) whose Newton iteration is
    :func:`newton_with_noise_floor`: the base of :class:`KrylovBDF` only.

    scipy's ``_step_impl`` calls the module-level ``solve_bdf_system``; this class runs scipy's own
    ``_step_impl`` code with that one name bound to :func:`newton_with_noise_floor` (rather than copying the
    100-line method, which would then drift from scipy's). ``field_noise(y)`` (optional) is the field's
    rounding level at ``y`` (:func:`solver.kernels.flow_rounding` in state layout); it travels to the Newton
    iteration as a :class:`FieldNoise` attribute ``noise`` of the field function scipy hands it.
    """

    _scipy_step_impl = types.FunctionType(BDF._step_impl.__code__,
                                          {**vars(_scipy_bdf), "solve_bdf_system": newton_with_noise_floor},
                                          "_step_impl", BDF._step_impl.__defaults__, BDF._step_impl.__closure__)

    def __init__(self, fun, t0, y0, t_bound, *, field_noise: Callable[[np.ndarray], np.ndarray] | None = None,
                 **options):
        super().__init__(fun, t0, y0, t_bound, **options)
        self.fun.noise = None if field_noise is None else FieldNoise(field_noise, self._noise_solve)
        self.jac = self._at_accepted_state(self.jac)

    def _noise_solve(self, LU, b: np.ndarray) -> np.ndarray:
        return self.solve_lu(LU, b)

    def _step_impl(self):
        if self.fun.noise is not None:
            # The noise part of the error estimate is error_const[order] times the floor (FieldNoise).
            self.fun.noise.limit = 1.0 / self.error_const[self.order]
        return self._scipy_step_impl()

    def _at_accepted_state(self, jac):
        """``jac`` evaluated at the last accepted state, whatever point scipy asks for (why: :class:`AcceptedState`)."""
        if jac is None:
            return None
        return lambda _t, _y: jac(self.t, self.y)


class _NewtonMatrix:
    """``I - c J`` kept as the scaled operator ``c J``."""

    def __init__(self, scaled_jacobian: JacobianOperator):
        self.scaled_jacobian = scaled_jacobian


class _Identity:
    __array_ufunc__ = None

    def __sub__(self, scaled_jacobian: JacobianOperator) -> _NewtonMatrix:
        return _NewtonMatrix(scaled_jacobian)


class KrylovBDF(NoiseFloorBDF):
    """scipy's BDF with Newton's systems solved by GMRES on :class:`JacobianOperator` (preconditioner: :meth:`_factor`).

    scipy's BDF factors ``I - c J`` through ``self.lu`` and solves through ``self.solve_lu``; this subclass
    supplies both (and ``self.I``, ``self.jac``) and leaves the BDF formulas, the order and step control untouched.
    A system GMRES does not solve within ``max_krylov`` iterations falls back to a direct LU of that Newton matrix
    (sparse, without the couplings of components below ``coupling_floor``, when one is given; else dense).
    """

    # Late epochs of Algorithm 1 at d = 30, m = 150 (h ~ 1e7-1e8) need 100-200 iterations with this preconditioner:
    # at 60 every such system fell back to a direct LU (seconds each at n = 4650); at 200 none did and the epoch
    # took 107 steps in 249 s on a loaded machine, against a quarter of it in 400 s (BENCHMARKS.md).
    max_krylov = 200

    # GMRES's relative residual for the noise floor (FieldNoise.solve): the floor only decides within a factor of 2.
    noise_gmres_rtol = 1e-2

    def __init__(self, fun, t0, y0, t_bound, *, d: int, m: int, operator, gmres_rtol: float | None = None,
                 coupling_floor: float | None = None, **options):
        """``gmres_rtol``: GMRES's relative residual for Newton's systems; default ``newton_tol / 10``.

        Newton stops when an increment's scaled norm falls below ``newton_tol`` (scipy: 1e-3 at ``rtol = 1e-6``),
        and an inexact increment is another Newton iterate (inexact Newton), so the solves need not be more
        accurate than a tenth of that. At d = 30, m = 150 a late epoch took 6,127 GMRES iterations at 1e-9 and
        2,429 at 1e-4, for the same number of steps (BENCHMARKS.md).
        """
        n = np.asarray(y0).size
        super().__init__(fun, t0, y0, t_bound, jac=lambda _t, _y: sp.identity(n, format="csc"), **options)
        if gmres_rtol is None:
            gmres_rtol = 0.1 * self.newton_tol
        self._d, self._m, self._gmres_rtol, self._coupling_floor = d, m, gmres_rtol, coupling_floor
        self.gmres_iterations = 0
        self.direct_fallbacks = 0

        def jac(t, y):
            self.njev += 1
            return operator(t, y)

        self.jac = self._at_accepted_state(jac)
        self.J = operator(t0, self.y)
        self.I = _Identity()
        self.lu = self._factor
        self.solve_lu = self._solve

    def _factor(self, newton: _NewtonMatrix) -> list:
        """Preconditioner of ``I - cJ``: exact per-component blocks plus each cluster's coupling (Woodbury),
        :class:`solver.jacobian.BlockClusterPreconditioner`."""
        self.nlu += 1
        scaled = newton.scaled_jacobian
        return [scaled, BlockClusterPreconditioner(scaled), None]

    def _noise_solve(self, factor: list, b: np.ndarray) -> np.ndarray:
        return self._solve(factor, b, self.noise_gmres_rtol)

    def _solve(self, factor: list, b: np.ndarray, rtol: float | None = None) -> np.ndarray:
        """Newton's system ``(I - cJ) x = b`` by GMRES to ``rtol`` (default ``gmres_rtol``); a direct LU when GMRES
        stalls."""
        rtol = self._gmres_rtol if rtol is None else rtol
        scaled_jacobian, precondition, direct = factor
        if direct is not None:
            return direct(b)

        def apply(v: np.ndarray) -> np.ndarray:
            return v - scaled_jacobian.matvec(v)

        x, steps, residual = gmres(apply, precondition, b, rtol, min(b.size, self.max_krylov))
        self.gmres_iterations += steps
        if residual <= rtol:
            return x
        # A coupling neither the blocks nor the cluster model capture: an unconverged solve would stall Newton,
        # so this Newton matrix is factored directly. With a coupling floor, sparsely: the couplings *from*
        # negligible components (every one carries their c_i) are dropped and SuperLU factors the rest. A dense
        # n^3 LU at d = 30, m = 150 (n = 4650) cost seconds per fallback and dominated late epochs.
        self.direct_fallbacks += 1
        rho = scaled_jacobian._inputs[1]
        coupled = 0 if self._coupling_floor is None else int((np.exp(2 * rho) >= self._coupling_floor).sum())
        # Sparse only while few components couple (the LU's fill-in grows with their number; a nearly dense
        # matrix is factored faster by LAPACK than by SuperLU).
        if self._coupling_floor is None or coupled > max(1, self._m // 4):
            dense = lu_factor(np.eye(b.size) - scaled_jacobian.dense())
            factor[2] = lambda rhs: lu_solve(dense, rhs)
        else:
            factor[2] = splu((sp.identity(b.size, format="csc") - scaled_jacobian.sparse(self._coupling_floor)).tocsc()).solve
        return factor[2](b)


class AcceptedState:
    """The last accepted ``(t, y)`` of a run, kept by :func:`drive`; :meth:`jacobian` evaluates a Jacobian there
    whatever point the integrator asks for.

    scipy's BDF refreshes a failing Newton iteration's Jacobian at the step's *prediction* and keeps it for every
    retry with a smaller step. In log-norm coordinates a prediction can be absurd: a component being discovered
    grows its log-norm linearly, the predictor extrapolates that growth past the saturation (rho = 27.9 where
    the solution levels off below 0), and there ``d rho/d rho = -4 exp(2 rho) ~ -1e24``; Newton then
    "converged" in one iteration to a state with rho = 5.6 and the step size underflowed (``deflation run --d 6
    --r 3 --ratio 10.0 --basis random --algorithm modified --m 6 --eps 0.005``). An accepted state is always a
    point of the trajectory.
    """

    def __init__(self, t: float, y: np.ndarray):
        self.t, self.y = t, y

    def update(self, t: float, y: np.ndarray) -> None:
        self.t, self.y = t, y

    def jacobian(self, jac: Callable) -> Callable:
        return lambda _t, _y: jac(self.t, self.y)


@dataclasses.dataclass
class DriveResult:
    """What :func:`drive` returns: the states ``y`` (n, K) at the times ``t`` (K,) of ``t_eval`` reached, the
    solver's final status (0 reached the end, -1 failed) and message, and its work counters."""

    t: np.ndarray
    y: np.ndarray
    status: int
    message: str | None
    nfev: int
    njev: int
    nlu: int
    steps: int


def drive(solver, t_eval: np.ndarray, accepted: AcceptedState | None = None,
          guard: StallGuard | None = None) -> DriveResult:
    """Step a scipy ``OdeSolver`` (public interface: ``step``, ``status``, ``t``, ``y``, ``dense_output``) to its
    ``t_bound``, reporting the dense-output states at the increasing times ``t_eval`` (what ``solve_ivp`` does),
    updating ``accepted`` after every step, and raising :class:`IntegrationStalled` when ``guard`` (default
    :class:`StallGuard`) finds the steps collapsed."""
    guard = StallGuard() if guard is None else guard
    t_eval = np.asarray(t_eval, dtype=np.float64)
    ts, ys = [], []
    i = int(np.searchsorted(t_eval, solver.t, side="right"))
    for k in range(i):
        if t_eval[k] == solver.t:
            ts.append(t_eval[k])
            ys.append(solver.y.copy())
    steps = 0
    status, message = None, None
    while status is None:
        message = solver.step()
        steps += 1
        if solver.status == "failed":
            status = -1
            break
        if solver.status == "finished":
            status = 0
        if accepted is not None:
            accepted.update(solver.t, solver.y.copy())
        j = int(np.searchsorted(t_eval, solver.t, side="right"))
        if j > i:
            dense = solver.dense_output()
            ts.extend(t_eval[i:j])
            ys.extend(dense(t_eval[i:j]).T)
            i = j
        if status is None:
            guard.check(solver.t)
    y = np.stack(ys, axis=1) if ys else np.zeros((solver.y.size, 0))
    return DriveResult(t=np.asarray(ts), y=y, status=status, message=message, nfev=int(solver.nfev),
                       njev=int(solver.njev), nlu=int(solver.nlu), steps=steps)


def coupling_floor_for(span: float, order: int) -> float:
    """Squared norm below which a component's couplings are dropped from the Jacobian.

    Dropped entries are ``l c_i``-sized; in Newton's matrix ``I - gamma h J`` with ``h <= span`` they
    contribute at most ``l c_i span``, kept below 1e-4 so Newton's convergence is unaffected.
    """
    return 1e-4 / (order * max(span, 1.0))


def resolve_linear_solver(linear_solver: str, method: str, unknowns: int) -> str:
    """What ``linear_solver="auto"`` means for scipy's ``method`` at ``unknowns = m (d+1)``: a dense LU up to
    ``DENSE_MAX_UNKNOWNS`` (Krylov's Python overhead per iteration loses below ~400 unknowns), above it no
    ``n^3`` factorization: matrix-free Krylov for BDF, sparse LU otherwise (BENCHMARKS.md). Other choices stand."""
    if linear_solver != "auto":
        return linear_solver
    if unknowns <= DENSE_MAX_UNKNOWNS:
        return "dense"
    return "krylov" if method == "BDF" else "sparse"


def integrate_implicit(
    a: np.ndarray,
    U: np.ndarray,
    order: int,
    lam: float,
    y0: torch.Tensor,
    t0: float,
    t1: float,
    save_times: np.ndarray,
    on_save: OnSave,
    *,
    method: str = "BDF",
    linear_solver: str = "auto",
    rtol: float,
    atol: float,
    progress: Callable[[float], None] | None = None,
) -> tuple[torch.Tensor, StepStats]:
    """Integrate each run of the batch ``y0`` (B, d+1, m) (row 0: log-norms) with scipy's ``method``.

    ``a`` (B, r) and ``U`` (B, d, r) are each run's ground truth. Saved states are reported through
    ``on_save`` exactly as by :func:`solver.integrators._explicit.integrate_explicit`.
    Every BLAS/LAPACK call (field, Jacobian, LU, GMRES) runs under :func:`solver.threads.limit_threads` sized
    to one run's field evaluation (scipy integrates the runs one after the other).
    """
    _rows, m = y0.shape[1:]
    with limit_threads(field_flops(1, _rows - 1, m)):
        return _integrate_implicit(a, U, order, lam, y0, t0, t1, save_times, on_save, method=method,
                                   linear_solver=linear_solver, rtol=rtol, atol=atol, progress=progress)


def _integrate_implicit(a, U, order, lam, y0, t0, t1, save_times, on_save, *, method, linear_solver, rtol, atol,
                        progress):
    if method not in IMPLICIT_METHODS:
        raise ValueError(f"method: must be one of {IMPLICIT_METHODS} (got {method!r})")
    if linear_solver not in LINEAR_SOLVERS:
        raise ValueError(f"linear_solver: must be one of {LINEAR_SOLVERS} (got {linear_solver!r})")
    stats = StepStats()
    batch, rows, m = y0.shape
    d = rows - 1
    save_times = np.asarray(save_times, dtype=np.float64)
    in_span = np.nonzero((save_times >= t0) & (save_times <= t1))[0]
    t_eval = np.unique(np.concatenate([save_times[in_span], [t1]]))
    floor = coupling_floor_for(t1 - t0, order)
    linear_solver = resolve_linear_solver(linear_solver, method, m * (d + 1))
    if linear_solver == "krylov" and method != "BDF":
        raise ValueError("linear_solver: krylov works with BDF only")
    y0_np = y0.detach().to("cpu", torch.float64).numpy()
    finals = []
    for b in range(batch):
        a_b, U_b = a[b], U[b]

        def fun(_t: float, y: np.ndarray) -> np.ndarray:
            rho, X = unpack_state(y, d, m)
            d_rho, d_X = kernels.flow(X, np.exp(2 * rho), a_b, U_b, order, lam)
            return pack_state(d_rho, d_X)

        def field_noise(y: np.ndarray) -> np.ndarray:
            rho, X = unpack_state(y, d, m)
            return pack_state(*kernels.flow_rounding(X, np.exp(2 * rho), a_b, U_b, order, FLOAT64_ROUNDOFF))

        def jac(_t: float, y: np.ndarray):
            rho, X = unpack_state(y, d, m)
            norms = state_direction_norms(y, d, m)  # not 1 after BDF's steps: the Jacobian must know them
            if linear_solver == "dense":
                return flow_jacobian(X, rho, a_b, U_b, order, direction_norms=norms)
            if linear_solver == "krylov":
                return JacobianOperator(X, rho, a_b, U_b, order, coupling_floor=floor, direction_norms=norms)
            return flow_jacobian_sparse(X, rho, a_b, U_b, order, floor, direction_norms=norms)

        y_start = pack_state(y0_np[b, 0], y0_np[b, 1:])
        atol_vec = np.full(y_start.size, atol)
        atol_vec[:m] = rtol  # log-norms: an absolute error rtol is a relative error rtol of ||w||
        accepted = AcceptedState(t0, y_start)
        if linear_solver == "krylov":
            solver = KrylovBDF(fun, t0, y_start, t1, rtol=rtol, atol=atol_vec, d=d, m=m,
                               operator=jac, coupling_floor=floor, field_noise=field_noise)
        else:
            solver = (BDF if method == "BDF" else Radau)(fun, t0, y_start, t1, rtol=rtol, atol=atol_vec,
                                                         jac=accepted.jacobian(jac))
        try:
            sol = drive(solver, t_eval, accepted)
        except IntegrationStalled as err:
            raise IntegrationStalled(f"{method} ({linear_solver} linear solver), run {b}: {err}") from None
        if sol.status != 0:
            raise RuntimeError(f"{method} failed for run {b} at t={solver.t:.6g}: {sol.message}")
        stats.rhs_evals += int(sol.nfev)
        stats.accepted += sol.steps
        stats.jacobians += sol.njev
        states = []
        for col in range(sol.y.shape[1]):
            rho, X = unpack_state(sol.y[:, col], d, m)
            states.append(np.concatenate([rho[None], X], axis=0))
        states_t = torch.as_tensor(np.stack(states), dtype=y0.dtype, device=y0.device)
        run = torch.tensor([b], device=y0.device)
        for col, t in enumerate(sol.t):
            hits = np.nonzero(np.abs(save_times - t) <= time_tolerance(t))[0]
            for k in hits:
                on_save(int(k), states_t[col:col + 1], run)
        finals.append(states_t[-1])
        if progress is not None:
            progress(t0 + (t1 - t0) * (b + 1) / batch)
    return torch.stack(finals), stats

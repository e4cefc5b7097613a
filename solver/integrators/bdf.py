"""Implicit (stiff) integration on the CPU: scipy's BDF or Radau, through scipy's public interface only, with the
Gram-structured analytic Jacobian.

Spread spectra are stiff: a fitted component relaxes at rate ~4 a_i while a component of size a_j
is found on the time scale ~1/a_j (SPEC numerics). Each run of the batch is integrated on its own
(scipy is sequential); the vector field is :func:`solver.kernels.flow` on numpy arrays.

Newton's linear systems ``(I - c J) dy = b`` are solved one of two ways (``linear_solver``):

- ``dense``: the exact analytic Jacobian, LAPACK LU (``auto`` up to 400 unknowns).
- ``sparse``: couplings of negligible components dropped, SuperLU (:func:`flow_jacobian_sparse`; ``auto`` above).

The matrix-free path (GMRES on the exact ``J v`` with the block + cluster preconditioner) is SUNDIALS CVODE's
(:mod:`.cvode`): scipy's public interface has no matrix-free Newton solve, so ``krylov`` is refused here.
The solver is stepped by :func:`drive` (save times from the dense output, Jacobians at the last accepted state,
a :class:`solver.integrators._control.StallGuard` against collapsed steps).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import torch
from scipy.integrate import BDF, Radau

from ..errors import ValidationError
from ..problem import NumpyFlowProblem
from ._control import IntegrationStalled, StallGuard, StepStats, coupling_floor_for
from ._cpu import integrate_runs
from ._explicit import OnSave

IMPLICIT_METHODS = ("BDF", "Radau")
DENSE_MAX_UNKNOWNS = 400
SCIPY_LINEAR_SOLVERS = ("auto", "dense", "sparse")


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
    ``t_bound``, reporting the dense-output states at the increasing times ``t_eval`` (as scipy's own driver does),
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


def resolve_linear_solver(linear_solver: str, method: str, unknowns: int) -> str:
    """What ``linear_solver="auto"`` means for scipy's ``method`` at ``unknowns = m (d+1)``: a dense LU up to
    ``DENSE_MAX_UNKNOWNS``, above it no ``n^3`` factorization: the sparse LU (BENCHMARKS.md). Other choices
    stand; ``krylov`` is refused (:class:`solver.errors.ValidationError`): the matrix-free path is CVODE's."""
    if linear_solver not in SCIPY_LINEAR_SOLVERS:
        raise ValidationError("linear_solver", f"dense, sparse or auto with {method.lower()} (the matrix-free "
                              "krylov runs on cvode or rosenbrock)", linear_solver)
    if linear_solver != "auto":
        return linear_solver
    return "dense" if unknowns <= DENSE_MAX_UNKNOWNS else "sparse"


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
    ``on_save`` exactly as by :func:`solver.integrators._explicit.integrate_explicit`. The counters: scipy's
    ``nfev``, ``njev`` and ``nlu`` (``rhs_evals``, ``jacobians``, ``factorizations``) and the accepted steps
    (scipy's public interface does not report rejections). Every BLAS/LAPACK call (field, Jacobian, LU) runs
    under :func:`solver.threads.limit_threads` sized to one run's field evaluation (scipy integrates the runs
    one after the other).
    """
    if method not in IMPLICIT_METHODS:
        raise ValidationError("method", f"one of {IMPLICIT_METHODS}", method)
    linear_solver = resolve_linear_solver(linear_solver, method, y0.shape[1] * y0.shape[2])
    floor = None if linear_solver == "dense" else coupling_floor_for(t1 - t0, order)

    def integrate_run(b: int, run: NumpyFlowProblem, y_start: np.ndarray, targets: np.ndarray):
        accepted = AcceptedState(t0, y_start)
        jacobian = run.jacobian if floor is None else (lambda y: run.sparse_jacobian(y, floor))
        solver = (BDF if method == "BDF" else Radau)(lambda _t, y: run.field(y), t0, y_start, t1, rtol=rtol,
                                                     atol=run.atol(rtol, atol),
                                                     jac=accepted.jacobian(lambda _t, y: jacobian(y)))
        try:
            sol = drive(solver, targets, accepted)
        except IntegrationStalled as err:
            raise IntegrationStalled(f"{method} ({linear_solver} linear solver), run {b}: {err}") from None
        if sol.status != 0:
            raise RuntimeError(f"{method} failed for run {b} at t={solver.t:.6g}: {sol.message}")
        return sol.y.T, StepStats(accepted=sol.steps, rhs_evals=sol.nfev, jacobians=sol.njev, factorizations=sol.nlu)

    return integrate_runs(a, U, order, lam, y0, t0, t1, save_times, on_save, progress, integrate_run)

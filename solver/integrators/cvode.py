"""The CPU stiff engine on SUNDIALS CVODE (BDF, variable order 1-5), through scikit-sundae's public API.

CVODE owns the step-size and order control and the Newton iteration; this module supplies the callbacks
(SUNDIALS' division of labour):

- the field ``f(y)`` (:meth:`solver.problem.NumpyFlowProblem.field`, packed layout);
- a *linearization* ``J(y*)`` taken when CVODE asks for a new preconditioner (``psetup`` with ``jok = 0``):
  the Jacobian-vector product ``v -> J(y*) v`` (:class:`solver.jacobian.JacobianOperator`, ``O(m^2 d)``) and
  the preconditioner ``M ~ I - gamma J(y*)`` (:class:`BlockClusterPreconditioner`). CVODE's GMRES (SPGMR)
  then solves Newton's systems ``(I - gamma J(y*)) dy = r``. ``J`` stays at ``y*`` until CVODE refreshes
  it (every 51 steps, after a convergence failure with a stale Jacobian, or at the first step): a modified
  Newton iteration, like scipy's BDF, whose Jacobian and preconditioner agree.

Why the analytic ``J v``: CVODE's default difference quotient ``(f(y + sigma v) - f(y)) / sigma`` differences
two fields that, on a fitted run's plateau, are float64 rounding noise (~1e-16 per O(1) term); the quotient
is then noise amplified by ``1/sigma`` and GMRES stalls (a whole d = 30 run: 255 s against 15 s with the
analytic product, BENCHMARKS.md). CVODE's Newton test declares divergence only when an increment grows by
more than 2x (``crdown``/``rdiv``), so no noise-floor rule of our own is needed.

Save times are CVODE's output times: the integrator steps one internal step at a time (``onestep``, with
``tstop = t1`` so the span's end is landed exactly) and every save time passed is read from CVODE's own
interpolating polynomial at exactly that time (``normal`` mode behind the current time), as
``CVode(..., CV_NORMAL)`` does for an output time.

:func:`integrate_cvode` is the generic entry point (any ``f``, optional ``J v`` + preconditioner, or a dense
Jacobian); :func:`integrate_flow_cvode` runs it on each run of a batch of the flow.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np
import torch

from ..jacobian import BlockClusterPreconditioner, JacobianOperator
from ..problem import NumpyFlowProblem
from ._control import StepStats, coupling_floor_for
from ._cpu import integrate_runs

__all__ = ["CvodeCounts", "CvodeFailure", "Linearization", "FlowLinearization",
           "integrate_cvode", "integrate_flow_cvode", "KRYLOV_DIM", "MAX_STEPS"]

# GMRES's Krylov dimension (no restarts). Late Algorithm 1 epochs at d = 30 need up to 100-200 iterations per
# system with this preconditioner (BENCHMARKS.md); a system not solved within it is a recoverable linear failure
# for CVODE (it retries with a fresh Jacobian or a smaller step).
KRYLOV_DIM = 200
# Internal steps per span before the integration is stopped as stalled (a guard, not a budget: an epoch of 1e10
# takes a few thousand steps). Counted by the one-step loop; CVODE's own limit (per output call) never binds there.
MAX_STEPS = 10_000_000
# Consecutive steps that leave t unchanged (h below the spacing of floats at t) before the integration is stopped:
# CVODE warns and goes on ("t + h = t on the next step"), which in a one-step loop would never end. 10 is CVODE's
# own count of such warnings (mxhnil).
MAX_NULL_STEPS = 10


class CvodeFailure(RuntimeError):
    """CVODE stopped before the span's end (its status and message are in the text)."""


# CVODE's counters are the common ones: ``accepted`` (steps of the one-step loop), ``rhs_evals`` (CVODE's count),
# ``jacobians`` (linearizations J(y*) formed: psetup with jok = 0, or dense Jacobians), ``factorizations`` (every
# psetup: a new gamma reuses J), ``linear_iterations`` (GMRES iterations, one J v product each).
CvodeCounts = StepStats


class Linearization(Protocol):
    """What :func:`integrate_cvode` needs for its GMRES path: ``setup(t, y, gamma, reuse)`` forms (``reuse``
    False) or keeps ``J`` and builds ``M ~ I - gamma J``, returning whether ``J`` was formed; ``jtimes(v)``
    is ``J v`` at the last formed linearization; ``psolve(r)`` is ``M^{-1} r``."""

    def setup(self, t: float, y: np.ndarray, gamma: float, reuse: bool) -> bool: ...

    def jtimes(self, v: np.ndarray) -> np.ndarray: ...

    def psolve(self, r: np.ndarray) -> np.ndarray: ...


def integrate_cvode(fun: Callable[[float, np.ndarray], np.ndarray], y0: np.ndarray, t0: float, t1: float,
                    save_times: np.ndarray, *, rtol: float, atol: float | np.ndarray,
                    linearization: Linearization | None = None,
                    jacobian: Callable[[float, np.ndarray], np.ndarray] | None = None,
                    krylov_dim: int = KRYLOV_DIM, max_steps: int = MAX_STEPS,
                    first_step: float = 0.0) -> tuple[np.ndarray, np.ndarray, StepStats]:
    """Integrate ``y' = fun(t, y)`` from ``t0`` to ``t1`` with CVODE's BDF and return ``(times, states, counts)``:
    the states (K, n) at the save times ``times = save_times`` that lie in ``[t0, t1]`` (exactly those times).

    Linear solver: GMRES with ``linearization`` (analytic ``J v`` and a right preconditioner, modified Newton);
    else a dense LU of ``jacobian(t, y)`` (``J_ij = d f_i / d y_j``; small, badly conditioned systems such as
    Van der Pol at mu = 1e6, where GMRES is unsuitable); else a dense LU of CVODE's difference-quotient Jacobian.
    The error test is CVODE's weighted RMS norm with weights ``1 / (rtol |y_i| + atol_i)``.
    Raises :class:`CvodeFailure` when CVODE stops early.
    """
    from sksundae.cvode import CVODE, CVODEJacTimes, CVODEPrecond

    counts = StepStats()
    y0 = np.ascontiguousarray(y0, dtype=np.float64)
    save_times = np.asarray(save_times, dtype=np.float64)
    times = save_times[(save_times >= t0) & (save_times <= t1)]

    def rhs(t, y, yp):
        yp[:] = fun(t, y)

    options: dict = dict(method="BDF", rtol=rtol, atol=atol, first_step=first_step)
    if linearization is not None:
        def psetup(t, y, _yp, jok, jnew, gamma):
            counts.factorizations += 1
            formed = linearization.setup(t, y, gamma, reuse=bool(jok))
            counts.jacobians += int(formed)
            jnew[0] = int(formed)

        def psolve(_t, _y, _yp, r, z, _gamma, _delta, _lr):
            z[:] = linearization.psolve(r)

        def jtimes(_t, _y, _yp, v, jv):
            counts.linear_iterations += 1
            jv[:] = linearization.jtimes(v)

        options.update(linsolver="gmres", krylov_dim=min(krylov_dim, y0.size),
                       precond=CVODEPrecond(psetup, psolve, side="right"), jactimes=CVODEJacTimes(None, jtimes))
    elif jacobian is not None:
        def jacfn(t, y, _yp, JJ):
            counts.jacobians += 1
            JJ[:, :] = jacobian(t, y)

        options.update(linsolver="dense", jacfn=jacfn)
    else:
        options.update(linsolver="dense")

    solver = CVODE(rhs, **options)
    solver.init_step(t0, y0)
    states = np.empty((times.size, y0.size))
    k, t, y = 0, float(t0), y0
    null_steps = 0
    while k < times.size and times[k] <= t:  # save times at t0
        states[k] = y0
        k += 1
    while t < t1:
        result = solver.step(t1, method="onestep", tstop=t1)
        if not result.success:
            raise CvodeFailure(f"CVODE stopped at t={float(result.t):.6g} (status {result.status}): "
                               f"{result.message}")
        counts.accepted += 1
        null_steps = null_steps + 1 if float(result.t) == t else 0
        t, y = float(result.t), result.y
        if null_steps >= MAX_NULL_STEPS:
            raise CvodeFailure(f"CVODE stopped at t={t:.6g}: the step size fell below the spacing of floats there")
        if counts.accepted >= max_steps and t < t1:
            raise CvodeFailure(f"CVODE stopped at t={t:.6g}: {max_steps} steps without reaching t1={t1:.6g}")
        while k < times.size and times[k] <= t:
            if times[k] == t:
                states[k] = y
            else:  # behind the current time: CVODE interpolates, no step is taken
                out = solver.step(float(times[k]), method="normal")
                if not out.success or float(out.t) != times[k]:
                    raise CvodeFailure(f"CVODE could not output t={times[k]:.6g}: {out.message}")
                states[k] = out.y
            k += 1
    counts.rhs_evals = int(result.nfev) if t0 < t1 else 0
    return times, states, counts


class FlowLinearization:
    """:class:`Linearization` of the flow of one run (``problem``): ``J(y*)`` as a :class:`JacobianOperator`
    (couplings of components with ``c_i < coupling_floor`` dropped, as on the scipy path) and
    :class:`BlockClusterPreconditioner` of ``gamma J(y*)``. ``y*`` is the state CVODE hands ``psetup`` when it asks
    for a fresh Jacobian; CVODE does not renormalize the directions, which the problem's operator takes into
    account."""

    def __init__(self, problem: NumpyFlowProblem, coupling_floor: float | None):
        self.problem, self.coupling_floor = problem, coupling_floor
        self.operator: JacobianOperator | None = None
        self.preconditioner: BlockClusterPreconditioner | None = None

    def setup(self, t: float, y: np.ndarray, gamma: float, reuse: bool) -> bool:
        formed = not reuse or self.operator is None
        if formed:
            self.operator = self.problem.operator(np.array(y), self.coupling_floor)
        self.preconditioner = BlockClusterPreconditioner(self.operator, gamma)
        return formed

    def jtimes(self, v: np.ndarray) -> np.ndarray:
        return self.operator.matvec(v)

    def psolve(self, r: np.ndarray) -> np.ndarray:
        return self.preconditioner(r)


def integrate_flow_cvode(a: np.ndarray, U: np.ndarray, order: int, lam: float, y0: torch.Tensor, t0: float,
                         t1: float, save_times: np.ndarray, on_save, *, rtol: float, atol: float,
                         linear_solver: str = "krylov", progress: Callable[[float], None] | None = None,
                         counts: StepStats | None = None) -> tuple[torch.Tensor, StepStats]:
    """Integrate each run of the batch ``y0`` (B, d+1, m) (row 0: log-norms) with :func:`integrate_cvode`.

    ``a`` (B, r), ``U`` (B, d, r): each run's ground truth. Saved states go to ``on_save(k, Y, runs)`` as on
    every other path (:func:`solver.integrators._cpu.integrate_runs`). ``linear_solver``: ``krylov`` (GMRES with
    :class:`FlowLinearization`) or ``dense`` (CVODE's dense LU of the exact Jacobian). The absolute tolerance of
    the log-norm rows is ``rtol`` (a relative error of ``||w||``), ``atol`` elsewhere (unit-vector coordinates).
    ``counts`` (optional) accumulates the returned counters too.
    """
    if linear_solver not in ("krylov", "dense"):
        raise ValueError(f"linear_solver: krylov or dense with cvode (got {linear_solver!r})")
    floor = coupling_floor_for(t1 - t0, order)

    def integrate_run(b: int, run: NumpyFlowProblem, y_start: np.ndarray, targets: np.ndarray):
        dense = linear_solver == "dense"
        _times, states, run_counts = integrate_cvode(
            lambda _t, y: run.field(y), y_start, t0, t1, targets, rtol=rtol, atol=run.atol(rtol, atol),
            linearization=None if dense else FlowLinearization(run, floor),
            jacobian=(lambda _t, y: run.jacobian(y)) if dense else None)
        return states, run_counts

    finals, stats = integrate_runs(a, U, order, lam, y0, t0, t1, save_times, on_save, progress, integrate_run)
    if counts is not None:
        counts.add(stats)
    return finals, stats

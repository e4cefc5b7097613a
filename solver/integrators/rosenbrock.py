"""A batched stiff integrator in torch: the linearly implicit Rosenbrock method Rodas3, one step size per run.

Why a Rosenbrock method (and why Rodas3):

- No Newton iteration. Each step solves four linear systems with one matrix ``I/(h gamma) - J``. Newton's
  convergence test can mistake the field's float64 rounding noise for divergence (late epochs of Algorithm 1
  sit on that noise); a linearly implicit method has no such test, and its cost per step is fixed: one Jacobian,
  one LU, three field evaluations, four triangular solves. That regularity is what batches well on a GPU
  (every run of the batch does the same work per step, with its own ``h``).
- Rodas3 (Sandu, Verwer, Blom, Spee, Carmichael, Potra 1997, "Benchmarking stiff ODE solvers for atmospheric
  chemistry problems II: Rosenbrock solvers", Atmos. Environ. 31, the coefficients as in the KPP Rosenbrock
  family) is order 3 with an embedded order-2 solution, L-stable and stiffly accurate: a fitted component
  (eigenvalue ``-4 a_i``) is damped, not oscillated, however large ``h a_i`` gets. The price: the order
  conditions assume the exact Jacobian at every step (a W-method would not), so ``jacobian`` must be exact.
- Against scipy's BDF (variable order 1-5, LU reused over many steps): BDF takes fewer factorizations per unit
  of time on one run on the CPU; this method wins where many runs share a device (BENCHMARKS.md).

Interface (any batched autonomous system ``dy/dt = f(y)``, not only the flow of this project)::

    field(y: (b, n), runs: (b,) long) -> (b, n)        the vector field of the runs ``runs`` (batch indices)
    jacobian(y: (b, n), runs: (b,) long) -> (b, n, n)  its exact Jacobian d f / d y

or, instead of ``jacobian``, a ``linearize`` callable for systems too large for a dense ``n x n`` matrix::

    linearize(y: (b, n), runs: (b,) long, shift: (b,)) -> solve        solve(rhs: (b, n)) -> (b, n)

where ``solve`` returns ``(shift I - J(y))^{-1} rhs`` to a relative accuracy well below the step tolerance
(:func:`solver.integrators.krylov.krylov_solver` builds one from a Jacobian-vector product and a preconditioner:
batched GMRES).

(``runs`` lets a problem whose runs differ, e.g. one ground truth per run, pick each row's parameters: the
integrator evaluates only the runs still stepping.)

Each run has its own time and step size and steps land exactly on the save times. With ``jacobian`` the
linear systems are solved by a dense batched LU (``torch.linalg.lu_factor``), for ``n`` up to a few thousand
(Figure-1-size flows); the flow's matrix-free ``linearize`` (:func:`solver.jacobian.flow_krylov_linearization`)
applies the exact Jacobian in ``O(m^2 d)`` per product, preconditioned by its per-component blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ._control import ROSENBROCK_CONTROL, IntegrationStalled, StallGuard, StepStats, initial_step
from ._explicit import OnSave
from .krylov import BatchedJacobian, BatchedLinearization, dense_linearization
from .save_times import SaveTimes, reached

__all__ = ["integrate_rosenbrock", "RosenbrockTableau", "RODAS3"]

BatchedField = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class RosenbrockTableau:
    """A Rosenbrock method in the form ``(I/(h gamma) - J) K_i = f(y + sum_j a_ij K_j) + sum_j (c_ij / h) K_j``,
    ``y_new = y + sum_i m_i K_i``, error estimate ``sum_i e_i K_i`` (strictly lower triangular ``a``, ``c``).

    Attributes:
        name: the method's name in the literature.
        gamma: the diagonal.
        a, c: (s, s) stage coefficients; ``m``, ``e``: (s,) solution and error weights.
        order: order of ``y_new`` (the controller uses ``err^(-1/order)``: the embedded solution has order - 1).
    """

    name: str
    gamma: float
    a: tuple[tuple[float, ...], ...]
    c: tuple[tuple[float, ...], ...]
    m: tuple[float, ...]
    e: tuple[float, ...]
    order: int


# Rodas3 (Sandu et al. 1997, the coefficients as in the KPP Rosenbrock family): y + 2 K_1 + K_3 is the embedded
# order-2 solution, so the error estimate is K_4.
RODAS3 = RosenbrockTableau(
    name="Rodas3", gamma=0.5,
    a=((0, 0, 0, 0), (0, 0, 0, 0), (2, 0, 0, 0), (2, 0, 1, 0)),
    c=((0, 0, 0, 0), (4, 0, 0, 0), (1, -1, 0, 0), (1, -1, -8 / 3, 0)),
    m=(2, 0, 1, 1), e=(0, 0, 0, 1), order=3)
CONTROL = ROSENBROCK_CONTROL
# A run whose steps are rejected this many times in a row (its step shrunk 0.2^50 ~ 1e-35-fold) has stalled.
MAX_CONSECUTIVE_REJECTIONS = 50
# Matrix-free runs that stall fall back to a dense LU of ``jacobian`` up to this many unknowns (n^2 per run).
DENSE_FALLBACK_MAX_UNKNOWNS = 2000
# Steps per StallGuard window: 5,000 accepted steps advancing t by under 1e-4 |t| is a collapse (Van der Pol at
# mu = 1e6 needs 1,069 consecutive steps below 1e-12 t through its relaxation jump, 3,771 in all, with a dense LU).
STALL_WINDOW = 5_000


def _stage_field_count(tableau: RosenbrockTableau) -> int:
    """Field evaluations per step besides ``f(y)``: one per distinct nonzero row of ``a``."""
    return len({row for row in tableau.a if any(row)})


def _combine(base: torch.Tensor, weights, K: list[torch.Tensor]) -> torch.Tensor:
    """``base + sum_j weights_j K_j`` over the nonzero weights, added left to right."""
    for w, k in zip(weights, K):
        if w:
            base = base + w * k
    return base


def rosenbrock_step(tableau: RosenbrockTableau, field: BatchedField, solve, y: torch.Tensor, runs: torch.Tensor,
                    h: torch.Tensor, f0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of ``tableau`` of size ``h`` (B,) from ``y`` (B, n) with ``f0 = field(y)`` and ``solve`` the
    solver of ``(I/(h gamma) - J(y))``: ``(y_new, error estimate)``."""
    inv_h = (1.0 / h)[:, None]
    K: list[torch.Tensor] = []
    fields = {(0,) * len(tableau.m): f0}
    for a_row, c_row in zip(tableau.a, tableau.c):
        if a_row not in fields:  # a row already seen has the same field value
            fields[a_row] = field(_combine(y, a_row, K), runs)
        rhs = fields[a_row]
        if any(c_row):
            rhs = rhs + inv_h * _combine(0.0, c_row, K)
        K.append(solve(rhs))
    return _combine(y, tableau.m, K), _combine(0.0, tableau.e, K)


def integrate_rosenbrock(
    field: BatchedField,
    jacobian: BatchedJacobian | None,
    y0: torch.Tensor,
    t0: float,
    t1: float,
    save_times: np.ndarray,
    on_save: OnSave,
    *,
    rtol: float,
    atol: float | torch.Tensor,
    step: float | None = None,
    project: Callable[[torch.Tensor], torch.Tensor] | None = None,
    max_steps: int = 10_000_000,
    progress: Callable[[float], None] | None = None,
    linearize: BatchedLinearization | None = None,
    tableau: RosenbrockTableau = RODAS3,
) -> tuple[torch.Tensor, StepStats]:
    """Integrate ``dy/dt = field(y)`` for a batch ``y0`` (B, n) from ``t0`` to ``t1`` with Rodas3.

    The stages' linear systems: ``linearize`` when given, else a dense LU of ``jacobian``
    (:func:`dense_linearization`); see the module docstring for both signatures.

    Error per step: the embedded estimate (``K_4`` for Rodas3) in the RMS norm with scale
    ``atol + rtol max(|y|, |y_new|)`` (``atol`` a number or an (n,) tensor), accepted at norm <= 1; the next
    step from ``ROSENBROCK_CONTROL`` (``h * clamp(0.9 err^{-1/3}, 0.2, 6)``). Every run has its own time and
    step size; a run's step never
    depends on the other runs of the batch (only on its own state), so a run's trajectory is the same in any
    batch. Steps are shortened to land on each ``save_times[k]`` in ``[t0, t1]``, where
    ``on_save(k, y_k, runs)`` receives the states of the runs ``runs``. ``project`` (optional) maps an
    accepted state back onto the constraint manifold. ``step`` is the initial step (None:
    :func:`solver.integrators._control.initial_step` in the error norm). Returns the final states and the work
    counters (``rhs_evals`` counts batched evaluations; ``accepted``/``rejected`` count steps summed over runs;
    ``jacobians`` and ``factorizations`` one per batched step; ``linear_iterations`` GMRES iterations of a
    matrix-free ``solve`` that counts them, as :class:`solver.integrators.krylov.KrylovSolve` does).

    A run whose steps collapse (:class:`solver.integrators._control.StallGuard`, ``STALL_WINDOW`` steps) or are
    rejected ``MAX_CONSECUTIVE_REJECTIONS`` times in a row switches a matrix-free ``linearize`` to the dense LU of
    ``jacobian`` when one is given (up to ``DENSE_FALLBACK_MAX_UNKNOWNS`` unknowns); otherwise the integration
    stops with :class:`solver.integrators._control.IntegrationStalled`.
    """
    if y0.dim() != 2:
        raise ValueError(f"y0: must have shape (B, n) (got {tuple(y0.shape)})")
    if linearize is None:
        if jacobian is None:
            raise ValueError("jacobian: required when no linearize is given")
        linearize = dense_linearization(jacobian)
        can_fall_back = False
    else:
        can_fall_back = jacobian is not None and y0.shape[1] <= DENSE_FALLBACK_MAX_UNKNOWNS
    stats = StepStats()
    batch, n = y0.shape
    device, dtype = y0.device, y0.dtype
    atol_t = torch.as_tensor(atol, dtype=dtype, device=device)
    saves = SaveTimes(save_times, t0, t1)
    all_runs = torch.arange(batch, device=device)
    y = y0.clone()
    saves.report_start(on_save, y, all_runs)
    goals = saves.targets

    t = np.full(batch, float(t0))
    next_target = np.zeros(batch, dtype=np.int64)  # index into saves.targets
    f = field(y, all_runs)
    stats.rhs_evals += 1
    if step is not None:
        h = np.full(batch, min(float(step), t1 - t0))
    else:
        scale = atol_t + rtol * y.abs()
        d0 = torch.sqrt(((y / scale) ** 2).mean(1)).cpu().numpy()
        d1 = torch.sqrt(((f / scale) ** 2).mean(1)).cpu().numpy()
        h = np.array([initial_step(float(a), float(b), t1 - t0) for a, b in zip(d0, d1)])
    stage_fields = _stage_field_count(tableau)
    guards = [StallGuard(window=STALL_WINDOW) for _ in range(batch)]
    rejections = np.zeros(batch, dtype=np.int64)  # consecutive, per run
    steps = 0
    while True:
        active = np.nonzero(next_target < goals.size)[0]
        if active.size == 0:
            break
        goal = goals[next_target[active]]
        h_try = np.minimum(h[active], goal - t[active])
        lands = reached(goal, t[active] + h_try)
        stalled = _stalled_run(guards, rejections, t, h, active[(t[active] + h_try == t[active]) & ~lands])
        if stalled is not None:
            if not can_fall_back:
                raise IntegrationStalled(f"rosenbrock: run {stalled[0]}: {stalled[1]}")
            # A matrix-free solve can meet its residual tolerance and still be inaccurate on an ill-conditioned
            # system, or never meet it (NaN stages); a dense LU of the Jacobian is backward stable.
            linearize, can_fall_back = dense_linearization(jacobian), False
            guards = [StallGuard(window=STALL_WINDOW) for _ in range(batch)]
            rejections[:] = 0
            continue
        steps += 1
        if steps > max_steps:
            raise RuntimeError(f"rosenbrock: more than max_steps = {max_steps} steps before t = {t1:g}")
        idx = torch.as_tensor(active, device=device)
        ya, fa = y[idx], f[idx]
        h_t = torch.as_tensor(h_try, dtype=dtype, device=device)
        solve = linearize(ya, idx, 1.0 / (h_t * tableau.gamma))
        y_new, err = rosenbrock_step(tableau, field, solve, ya, idx, h_t, fa)
        stats.rhs_evals += stage_fields
        stats.jacobians += 1
        stats.factorizations += 1
        stats.linear_iterations += getattr(solve, "iterations", 0)
        scale = atol_t + rtol * torch.maximum(ya.abs(), y_new.abs())
        err_norm = torch.sqrt(((err / scale) ** 2).mean(1)).double().cpu().numpy()
        ok = np.isfinite(err_norm) & (err_norm <= 1.0)
        factor = CONTROL.factors(err_norm, 1.0 / tableau.order, ok)
        # A shortened (landing) step that succeeds does not shrink the proposal for the next step.
        h[active] = np.where(ok & lands, np.maximum(h[active], h_try * factor), h_try * factor)
        stats.accepted += int(ok.sum())
        stats.rejected += int((~ok).sum())
        rejections[active] = np.where(ok, 0, rejections[active] + 1)
        if not ok.any():
            continue
        acc = active[ok]
        acc_idx = torch.as_tensor(acc, device=device)
        y_acc = y_new[torch.as_tensor(np.nonzero(ok)[0], device=device)]
        if project is not None:
            y_acc = project(y_acc)
        y[acc_idx] = y_acc
        f[acc_idx] = field(y_acc, acc_idx)
        stats.rhs_evals += 1
        t[acc] = t[acc] + h_try[ok]
        landed = acc[lands[ok]]
        t[landed] = goals[next_target[landed]]
        next_target[landed] += 1
        for b in acc:
            guards[b].observe(float(t[b]))
        # Report the saves run by run (the runs landing now may wait at different save indices).
        for k_target in np.unique(next_target[landed] - 1):
            k = int(saves.indices[k_target])
            runs = landed[next_target[landed] - 1 == k_target]
            if k >= 0:
                run_idx = torch.as_tensor(runs, device=device)
                on_save(k, y[run_idx], run_idx)
        if progress is not None:
            progress(float(t.min()))
    return y, stats


def _stalled_run(guards: list[StallGuard], rejections: np.ndarray, t: np.ndarray, h: np.ndarray,
                 frozen: np.ndarray) -> tuple[int, str] | None:
    """The first run whose steps collapsed (its :class:`StallGuard`), were rejected ``MAX_CONSECUTIVE_REJECTIONS``
    times in a row, or no longer move its time (``frozen``: ``t + h == t``), with the reason; None when every run
    progresses."""
    if frozen.size:
        b = int(frozen[0])
        return b, (f"step size {h[b]:.3g} fell below the spacing of floats at t = {t[b]:.6g}: the solution or its "
                   "field is not finite there, or it blows up")
    for b, guard in enumerate(guards):
        if guard.stalled is not None:
            return b, guard.stalled
        if rejections[b] >= MAX_CONSECUTIVE_REJECTIONS:
            return b, (f"{rejections[b]} consecutive steps rejected at t = {t[b]:.6g} (step now {h[b]:.3g}): the state, "
                       "its field or the stage solutions are not finite, or the error estimate cannot be met")
    return None

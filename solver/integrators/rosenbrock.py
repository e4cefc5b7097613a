"""A batched stiff integrator in torch: the linearly implicit Rosenbrock method Rodas3, one step size per run.

Why a Rosenbrock method (and why Rodas3):

- No Newton iteration. Each step solves four linear systems with one matrix ``I/(h gamma) - J``. Newton's
  convergence test can mistake the field's float64 rounding noise for divergence (the scipy BDF path's
  late-epoch stall); a linearly implicit method has no such test, and its cost per step is fixed: one Jacobian,
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
(:func:`krylov_solver` builds one from a Jacobian-vector product and a preconditioner: batched GMRES).

(``runs`` lets a problem whose runs differ, e.g. one ground truth per run, pick each row's parameters: the
integrator evaluates only the runs still stepping.)

Each run has its own time and step size and steps land exactly on the save times. With ``jacobian`` the
linear systems are solved by a dense batched LU (``torch.linalg.lu_factor``), for ``n`` up to a few thousand
(Figure-1-size flows); the flow's matrix-free ``linearize`` (:func:`solver.jacobian.flow_krylov_linearization`)
applies the exact Jacobian in ``O(m^2 d)`` per product, preconditioned by its per-component blocks.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ._control import IntegrationStalled, StallGuard, time_tolerance
from ._explicit import OnSave, StepStats

__all__ = ["integrate_rosenbrock", "batched_gmres", "krylov_solver", "dense_linearization", "RODAS3_GAMMA",
           "RODAS3_ORDER"]

BatchedField = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
BatchedJacobian = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LinearSolve = Callable[[torch.Tensor], torch.Tensor]
BatchedLinearization = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], LinearSolve]

# Rodas3 in the form  (I/(h gamma) - J) K_i = f(y + sum_j a_ij K_j) + sum_j (c_ij / h) K_j,
# y_new = y + sum_i m_i K_i, error estimate sum_i e_i K_i (= K_4).
RODAS3_GAMMA = 0.5
RODAS3_ORDER = 3  # of y_new; the embedded solution y + 2 K_1 + K_3 has order 2
_A = {(2, 1): 0.0, (3, 1): 2.0, (3, 2): 0.0, (4, 1): 2.0, (4, 2): 0.0, (4, 3): 1.0}
_C = {(2, 1): 4.0, (3, 1): 1.0, (3, 2): -1.0, (4, 1): 1.0, (4, 2): -1.0, (4, 3): -8.0 / 3.0}
_M = (2.0, 0.0, 1.0, 1.0)
_SAFETY, _MIN_FACTOR, _MAX_FACTOR = 0.9, 0.2, 6.0
# A run whose steps are rejected this many times in a row (its step shrunk 0.2^50 ~ 1e-35-fold) has stalled.
MAX_CONSECUTIVE_REJECTIONS = 50
# Matrix-free runs that stall fall back to a dense LU of ``jacobian`` up to this many unknowns (n^2 per run).
DENSE_FALLBACK_MAX_UNKNOWNS = 2000
# Steps per StallGuard window: 5,000 accepted steps advancing t by under 1e-4 |t| is a collapse (Van der Pol at
# mu = 1e6 needs 1,069 consecutive steps below 1e-12 t through its relaxation jump, 3,771 in all, with a dense LU).
STALL_WINDOW = 5_000


def dense_linearization(jacobian: BatchedJacobian) -> BatchedLinearization:
    """``linearize`` from a dense Jacobian: one batched LU of ``shift I - J`` per step."""

    def linearize(y: torch.Tensor, runs: torch.Tensor, shift: torch.Tensor) -> LinearSolve:
        J = jacobian(y, runs)
        eye = torch.eye(y.shape[1], dtype=y.dtype, device=y.device)
        lu, pivots, info = torch.linalg.lu_factor_ex(shift[:, None, None] * eye - J)
        # A singular system (a run blowing up, or a step so long that shift I - J loses rank) gets NaN: its step
        # is rejected and retried shorter, instead of the whole integration ending in lu_factor's error.
        singular = (info != 0)[:, None]

        def solve(rhs: torch.Tensor) -> torch.Tensor:
            x = torch.linalg.lu_solve(lu, pivots, rhs[..., None])[..., 0]
            return torch.where(singular, torch.full_like(x, float("nan")), x)

        return solve

    return linearize


def batched_gmres(apply: Callable[[torch.Tensor], torch.Tensor], precondition: Callable[[torch.Tensor], torch.Tensor],
                  rhs: torch.Tensor, rtol: float | torch.Tensor, max_iter: int) -> tuple[torch.Tensor, int, torch.Tensor]:
    """Right-preconditioned GMRES for a batch of systems ``A_b x_b = rhs_b`` (``rhs`` (B, n)), all on the device.

    The batched counterpart of :func:`solver.integrators.bdf.gmres` (same method: Arnoldi with classical
    Gram-Schmidt applied twice, Givens rotations, the preconditioned basis kept). The batch iterates until every
    residual is below ``rtol ||rhs_b||`` (``rtol`` a number or one per system, (B,)) or ``max_iter`` is reached
    (one flag crosses to the host per iteration); each system's solution is built from its own iterations up to
    its own convergence, so it does not depend on what else is in the batch. Returns
    ``(x, iterations of the batch, relative residuals (B,))``.
    """
    batch, n = rhs.shape
    dtype, device = rhs.dtype, rhs.device
    beta = torch.linalg.vector_norm(rhs, dim=1)
    safe_beta = torch.where(beta > 0, beta, torch.ones_like(beta))
    # Storage for _GMRES_FIRST_COLUMNS iterations, doubled when a solve needs more: most solves stop after a few
    # iterations, and zeroing max_iter columns per call had been 43% of a batched Rosenbrock run (B = 16, n = 550).
    capacity = min(max_iter, _GMRES_FIRST_COLUMNS)
    basis = torch.zeros((batch, capacity + 1, n), dtype=dtype, device=device)
    preconditioned = torch.zeros((batch, capacity, n), dtype=dtype, device=device)
    hess = torch.zeros((batch, capacity + 1, capacity), dtype=dtype, device=device)
    cos = torch.zeros((batch, capacity), dtype=dtype, device=device)
    sin = torch.zeros((batch, capacity), dtype=dtype, device=device)
    g = torch.zeros((batch, capacity + 1), dtype=dtype, device=device)
    g[:, 0] = beta
    basis[:, 0] = rhs / safe_beta[:, None]
    own_steps = torch.full((batch,), max_iter, dtype=torch.long, device=device)  # each system's iterations
    own_steps[beta == 0] = 0
    residual = torch.zeros_like(beta)  # |g| at each system's own last iteration
    steps = 0
    for j in range(max_iter):
        steps = j + 1
        if j == capacity:
            grown = min(max_iter, 2 * capacity)
            basis, preconditioned, g = (_pad(t, 1, grown - capacity) for t in (basis, preconditioned, g))
            hess = _pad(_pad(hess, 1, grown - capacity), 2, grown - capacity)
            cos, sin = (_pad(t, 1, grown - capacity) for t in (cos, sin))
            capacity = grown
        preconditioned[:, j] = precondition(basis[:, j])
        w = apply(preconditioned[:, j])
        V = basis[:, : j + 1]
        # Products as multiply-and-sum: torch's batched matrix-vector product rounds differently for a batch of
        # one (a gemv) than for several, which would make a run's solution depend on its batch.
        h = (V * w[:, None, :]).sum(-1)
        w = w - (V * h[:, :, None]).sum(1)
        h2 = (V * w[:, None, :]).sum(-1)
        w = w - (V * h2[:, :, None]).sum(1)
        h = h + h2
        h_next = torch.linalg.vector_norm(w, dim=1)
        col = torch.cat([h, h_next[:, None]], dim=1)
        for i in range(j):
            a, b = col[:, i].clone(), col[:, i + 1].clone()
            col[:, i], col[:, i + 1] = cos[:, i] * a + sin[:, i] * b, -sin[:, i] * a + cos[:, i] * b
        radius = torch.hypot(col[:, j], col[:, j + 1])
        safe_radius = torch.where(radius > 0, radius, torch.ones_like(radius))
        cos[:, j] = torch.where(radius > 0, col[:, j] / safe_radius, torch.ones_like(radius))
        sin[:, j] = torch.where(radius > 0, col[:, j + 1] / safe_radius, torch.zeros_like(radius))
        col[:, j], col[:, j + 1] = radius, 0.0
        hess[:, : j + 2, j] = col
        g[:, j], g[:, j + 1] = cos[:, j] * g[:, j], -sin[:, j] * g[:, j]
        converged = (g[:, j + 1].abs() <= rtol * beta) | (h_next == 0)
        newly = converged & (own_steps > j + 1)
        own_steps = torch.where(newly, torch.full_like(own_steps, j + 1), own_steps)
        residual = torch.where(newly | (own_steps > j + 1), g[:, j + 1].abs(), residual)
        if bool((own_steps <= j + 1).all()):
            break
        basis[:, j + 1] = w / torch.where(h_next > 0, h_next, torch.ones_like(h_next))[:, None]
    own_steps = own_steps.clamp(max=steps)
    # Each system's triangular system on its own first own_steps[b] columns, by column-oriented back substitution
    # from the last column: a system's columns past its own convergence give exact zeros, which subtract nothing,
    # so its arithmetic is the same as if it were alone (LAPACK's batched triangular solve rounds differently with
    # the batch's composition). x is likewise summed one basis vector at a time.
    remaining = g[:, :steps].clone()
    y = torch.zeros((batch, steps), dtype=dtype, device=device)
    for k in reversed(range(steps)):
        mine = k < own_steps
        pivot = torch.where(mine, hess[:, k, k], torch.ones_like(beta))
        y[:, k] = torch.where(mine, remaining[:, k] / pivot, torch.zeros_like(beta))
        remaining[:, :k] -= hess[:, :k, k] * y[:, k, None]
    x = torch.zeros_like(rhs)
    for i in range(steps):
        x = x + y[:, i, None] * preconditioned[:, i]
    return x, steps, residual / safe_beta


_GMRES_FIRST_COLUMNS = 8


def _pad(t: torch.Tensor, dim: int, extra: int) -> torch.Tensor:
    """``t`` with ``extra`` zero slices appended along ``dim``."""
    shape = list(t.shape)
    shape[dim] = extra
    return torch.cat([t, t.new_zeros(shape)], dim=dim)


def krylov_solver(apply: Callable[[torch.Tensor], torch.Tensor], precondition: Callable[[torch.Tensor], torch.Tensor],
                  rtol: float = 1e-10, max_iter: int = 100, restarts: int = 20) -> LinearSolve:
    """``solve(rhs)`` for ``linearize``: restarted :func:`batched_gmres` on ``apply`` (``v -> (shift I - J) v``),
    from the preconditioner's own solution ``precondition(rhs)`` (often already within ``rtol``).

    Rosenbrock's stages take the linear solutions as they are (no Newton iteration corrects them), so the
    default ``rtol`` is far below any step tolerance. A system still above ``rtol`` after ``restarts`` restarts
    gets NaN (an inaccurate stage could corrupt the step without the error estimate noticing): the step is
    rejected and retried shorter, where ``shift I - J`` is better conditioned (``shift = 1/(gamma h)``)."""

    def solve(rhs: torch.Tensor) -> torch.Tensor:
        norm = torch.linalg.vector_norm(rhs, dim=1)
        # The preconditioner alone first: where the couplings it leaves out are negligible (most of Algorithm 1's
        # early steps) that already meets rtol, at one product instead of a GMRES call and a check.
        x = precondition(rhs)
        residual = rhs - apply(x)
        achieved = torch.linalg.vector_norm(residual, dim=1) / torch.where(norm > 0, norm, 1.0)
        if bool((achieved <= rtol).all()):
            return x
        for _ in range(restarts + 1):
            # A system is restarted only while it is above rtol: a solved one keeps its solution whatever the
            # rest of the batch needs (batch independence), and asks GMRES for nothing (an infinite tolerance:
            # it stops after one iteration instead of holding the batch's iterations up).
            open_ = achieved > rtol
            target = torch.where(open_, torch.full_like(norm, 0.5 * rtol), torch.full_like(norm, torch.inf))
            correction, _steps, _ = batched_gmres(apply, precondition, residual, target, max_iter)
            candidate = x + correction
            candidate_residual = rhs - apply(candidate)
            x = torch.where(open_[:, None], candidate, x)
            residual = torch.where(open_[:, None], candidate_residual, residual)
            achieved = torch.linalg.vector_norm(residual, dim=1) / torch.where(norm > 0, norm, 1.0)
            if bool((achieved <= rtol).all()):
                return x
        return torch.where((achieved <= rtol)[:, None], x, torch.full_like(x, float("nan")))

    return solve


def _rodas3_step(field: BatchedField, linearize: BatchedLinearization, y: torch.Tensor, runs: torch.Tensor,
                 h: torch.Tensor, f0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One Rodas3 step of size ``h`` (B,) from ``y`` (B, n) with ``f0 = field(y)``: ``(y_new, error)``."""
    solve = linearize(y, runs, 1.0 / (h * RODAS3_GAMMA))

    inv_h = (1.0 / h)[:, None]
    K1 = solve(f0)
    K2 = solve(f0 + (_C[2, 1] * inv_h) * K1)  # a_21 = 0: the same field value
    f3 = field(y + _A[3, 1] * K1, runs)
    K3 = solve(f3 + inv_h * (_C[3, 1] * K1 + _C[3, 2] * K2))
    f4 = field(y + _A[4, 1] * K1 + _A[4, 3] * K3, runs)
    K4 = solve(f4 + inv_h * (_C[4, 1] * K1 + _C[4, 2] * K2 + _C[4, 3] * K3))
    y_new = y + _M[0] * K1 + _M[2] * K3 + _M[3] * K4
    return y_new, K4


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
) -> tuple[torch.Tensor, StepStats]:
    """Integrate ``dy/dt = field(y)`` for a batch ``y0`` (B, n) from ``t0`` to ``t1`` with Rodas3.

    The stages' linear systems: ``linearize`` when given, else a dense LU of ``jacobian``
    (:func:`dense_linearization`); see the module docstring for both signatures.

    Error per step: the embedded estimate ``K_4`` in the RMS norm with scale ``atol + rtol max(|y|, |y_new|)``
    (``atol`` a number or an (n,) tensor), accepted at norm <= 1; the next step is
    ``h * clamp(0.9 err^{-1/3}, 0.2, 6)``. Every run has its own time and step size; a run's step never
    depends on the other runs of the batch (only on its own state), so a run's trajectory is the same in any
    batch. Steps are shortened to land on each ``save_times[k]`` in ``[t0, t1]``, where
    ``on_save(k, y_k, runs)`` receives the states of the runs ``runs``. ``project`` (optional) maps an
    accepted state back onto the constraint manifold. ``step`` is the initial step (None: from the field,
    ``0.01 ||y|| / ||f(y)||`` in the error norm). Returns the final states and the work counters
    (``rhs_evals`` counts batched evaluations; ``accepted``/``rejected`` count steps summed over runs).

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
    save_times = np.asarray(save_times, dtype=np.float64)
    save_tol = time_tolerance(save_times)
    in_span = np.nonzero((save_times >= t0 - save_tol) & (save_times <= t1 + save_tol))[0]
    targets = [(int(k), float(save_times[k])) for k in in_span]
    if not targets or abs(targets[-1][1] - t1) > time_tolerance(t1):
        targets.append((-1, float(t1)))  # the span's end, not a save time
    all_runs = torch.arange(batch, device=device)
    y = y0.clone()
    at_start = [abs(tk - t0) <= time_tolerance(max(abs(tk), abs(t0))) for _k, tk in targets]
    for (k, _tk), start in zip(targets, at_start):
        if start and k >= 0:
            on_save(k, y, all_runs)
    targets = [(k, tk) for (k, tk), start in zip(targets, at_start) if not start and tk > t0]

    t = np.full(batch, float(t0))
    next_target = np.zeros(batch, dtype=np.int64)  # index into targets
    f = field(y, all_runs)
    stats.rhs_evals += 1
    if step is not None:
        h = np.full(batch, float(step))
    else:
        scale = atol_t + rtol * y.abs()
        d0 = torch.sqrt(((y / scale) ** 2).mean(1)).cpu().numpy()
        d1 = torch.sqrt(((f / scale) ** 2).mean(1)).cpu().numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where((d0 > 1e-5) & (d1 > 1e-5), 0.01 * d0 / d1, 1e-6)
    h = np.minimum(h, t1 - t0)
    guards = [StallGuard(window=STALL_WINDOW) for _ in range(batch)]
    rejections = np.zeros(batch, dtype=np.int64)  # consecutive, per run
    steps = 0
    while True:
        stalled = _stalled_run(guards, rejections, t, h)
        if stalled is not None:
            if not can_fall_back:
                raise IntegrationStalled(f"rosenbrock: run {stalled[0]}: {stalled[1]}")
            # A matrix-free solve can meet its residual tolerance and still be inaccurate on an ill-conditioned
            # system, or never meet it (NaN stages); a dense LU of the Jacobian is backward stable.
            linearize, can_fall_back = dense_linearization(jacobian), False
            guards = [StallGuard(window=STALL_WINDOW) for _ in range(batch)]
            rejections[:] = 0
        active = np.nonzero(next_target < len(targets))[0]
        if active.size == 0:
            break
        steps += 1
        if steps > max_steps:
            raise RuntimeError(f"rosenbrock: more than max_steps = {max_steps} steps before t = {t1:g}")
        goal = np.array([targets[next_target[b]][1] for b in active])
        h_try = np.minimum(h[active], goal - t[active])
        lands = h_try >= goal - t[active] - time_tolerance(goal)
        idx = torch.as_tensor(active, device=device)
        ya, fa = y[idx], f[idx]
        y_new, err = _rodas3_step(field, linearize, ya, idx, torch.as_tensor(h_try, dtype=dtype, device=device), fa)
        stats.rhs_evals += 2
        scale = atol_t + rtol * torch.maximum(ya.abs(), y_new.abs())
        err_norm = torch.sqrt(((err / scale) ** 2).mean(1)).double().cpu().numpy()
        ok = np.isfinite(err_norm) & (err_norm <= 1.0)
        with np.errstate(divide="ignore"):
            factor = np.clip(_SAFETY * np.maximum(err_norm, 1e-10) ** (-1.0 / RODAS3_ORDER), _MIN_FACTOR, _MAX_FACTOR)
        factor = np.where(np.isfinite(err_norm), factor, _MIN_FACTOR)
        # A shortened (landing) step that succeeds does not shrink the proposal for the next step.
        h[active] = np.where(ok & lands, np.maximum(h[active], h_try * factor), h_try * np.where(ok, factor, np.minimum(factor, 0.9)))
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
        for b in landed:
            k, tk = targets[next_target[b]]
            t[b] = tk
            next_target[b] += 1
        for b in acc:
            guards[b].observe(float(t[b]))
        # Report the saves run by run (the runs landing now may wait at different save indices).
        for k_target in sorted({int(next_target[b]) - 1 for b in landed}):
            k, _tk = targets[k_target]
            runs = landed[next_target[landed] - 1 == k_target]
            if k >= 0 and runs.size:
                run_idx = torch.as_tensor(runs, device=device)
                on_save(k, y[run_idx], run_idx)
        if progress is not None:
            progress(float(t.min()))
    return y, stats


def _stalled_run(guards: list[StallGuard], rejections: np.ndarray, t: np.ndarray, h: np.ndarray
                 ) -> tuple[int, str] | None:
    """The first run whose steps collapsed (its :class:`StallGuard`) or were rejected
    ``MAX_CONSECUTIVE_REJECTIONS`` times in a row, with the reason; None when every run progresses."""
    for b, guard in enumerate(guards):
        if guard.stalled is not None:
            return b, guard.stalled
        if rejections[b] >= MAX_CONSECUTIVE_REJECTIONS:
            return b, (f"{rejections[b]} consecutive steps rejected at t = {t[b]:.6g} (step now {h[b]:.3g}): the state, "
                       "its field or the stage solutions are not finite, or the error estimate cannot be met")
    return None

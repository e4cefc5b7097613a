"""A batched stiff integrator in torch: the linearly implicit Rosenbrock method Rodas3, one step size per run.

Why a Rosenbrock method (and why Rodas3):

- No Newton iteration. Each step solves four linear systems with one matrix ``I/(h gamma) - J``. The scipy
  BDF path's late-epoch stall (issue 13) came from Newton's convergence test meeting float64 rounding noise
  in the field; a linearly implicit method has no such test, and its cost per step is fixed: one Jacobian,
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

(``runs`` lets a problem whose runs differ, e.g. one ground truth per run, pick each row's parameters: the
integrator evaluates only the runs still stepping.)

Each run has its own time and step size and steps land exactly on the save times; the linear systems are
solved by a dense batched LU (``torch.linalg.lu_factor``): the method is meant for ``n`` up to about a
thousand (Figure-1-size flows; a matrix-free Krylov variant with the cluster-coupling preconditioner of
:mod:`solver.integrators.bdf` is not implemented here).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ._explicit import OnSave, StepStats

__all__ = ["integrate_rosenbrock", "RODAS3_GAMMA", "RODAS3_ORDER"]

BatchedField = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
BatchedJacobian = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# Rodas3 in the form  (I/(h gamma) - J) K_i = f(y + sum_j a_ij K_j) + sum_j (c_ij / h) K_j,
# y_new = y + sum_i m_i K_i, error estimate sum_i e_i K_i (= K_4).
RODAS3_GAMMA = 0.5
RODAS3_ORDER = 3  # of y_new; the embedded solution y + 2 K_1 + K_3 has order 2
_A = {(2, 1): 0.0, (3, 1): 2.0, (3, 2): 0.0, (4, 1): 2.0, (4, 2): 0.0, (4, 3): 1.0}
_C = {(2, 1): 4.0, (3, 1): 1.0, (3, 2): -1.0, (4, 1): 1.0, (4, 2): -1.0, (4, 3): -8.0 / 3.0}
_M = (2.0, 0.0, 1.0, 1.0)
_SAFETY, _MIN_FACTOR, _MAX_FACTOR = 0.9, 0.2, 6.0


def _rodas3_step(field: BatchedField, jacobian: BatchedJacobian, y: torch.Tensor, runs: torch.Tensor,
                 h: torch.Tensor, f0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One Rodas3 step of size ``h`` (B,) from ``y`` (B, n) with ``f0 = field(y)``: ``(y_new, error)``."""
    n = y.shape[1]
    J = jacobian(y, runs)
    eye = torch.eye(n, dtype=y.dtype, device=y.device)
    inv_hg = (1.0 / (h * RODAS3_GAMMA))[:, None, None]
    lu, pivots = torch.linalg.lu_factor(inv_hg * eye - J)

    def solve(rhs: torch.Tensor) -> torch.Tensor:
        return torch.linalg.lu_solve(lu, pivots, rhs[..., None])[..., 0]

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
    jacobian: BatchedJacobian,
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
) -> tuple[torch.Tensor, StepStats]:
    """Integrate ``dy/dt = field(y)`` for a batch ``y0`` (B, n) from ``t0`` to ``t1`` with Rodas3.

    Error per step: the embedded estimate ``K_4`` in the RMS norm with scale ``atol + rtol max(|y|, |y_new|)``
    (``atol`` a number or an (n,) tensor), accepted at norm <= 1; the next step is
    ``h * clamp(0.9 err^{-1/3}, 0.2, 6)``. Every run has its own time and step size; a run's step never
    depends on the other runs of the batch (only on its own state), so a run's trajectory is the same in any
    batch. Steps are shortened to land on each ``save_times[k]`` in ``[t0, t1]``, where
    ``on_save(k, y_k, runs)`` receives the states of the runs ``runs``. ``project`` (optional) maps an
    accepted state back onto the constraint manifold. ``step`` is the initial step (None: from the field,
    ``0.01 ||y|| / ||f(y)||`` in the error norm). Returns the final states and the work counters
    (``rhs_evals`` counts batched evaluations; ``accepted``/``rejected`` count steps summed over runs).
    """
    if y0.dim() != 2:
        raise ValueError(f"y0: must have shape (B, n) (got {tuple(y0.shape)})")
    stats = StepStats()
    batch, n = y0.shape
    device, dtype = y0.device, y0.dtype
    atol_t = torch.as_tensor(atol, dtype=dtype, device=device)
    save_times = np.asarray(save_times, dtype=np.float64)
    time_tol = 1e-12 * max(1.0, abs(t1))
    in_span = np.nonzero((save_times >= t0 - time_tol) & (save_times <= t1 + time_tol))[0]
    targets = [(int(k), float(save_times[k])) for k in in_span]
    if not targets or abs(targets[-1][1] - t1) > time_tol:
        targets.append((-1, float(t1)))  # the span's end, not a save time
    all_runs = torch.arange(batch, device=device)
    y = y0.clone()
    for k, tk in targets:
        if abs(tk - t0) <= time_tol and k >= 0:
            on_save(k, y, all_runs)
    targets = [(k, tk) for k, tk in targets if tk > t0 + time_tol]

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
    steps = 0
    while True:
        active = np.nonzero(next_target < len(targets))[0]
        if active.size == 0:
            break
        steps += 1
        if steps > max_steps:
            raise RuntimeError(f"rosenbrock: more than max_steps = {max_steps} steps before t = {t1:g}")
        goal = np.array([targets[next_target[b]][1] for b in active])
        h_try = np.minimum(h[active], goal - t[active])
        lands = h_try >= goal - t[active] - time_tol
        idx = torch.as_tensor(active, device=device)
        ya, fa = y[idx], f[idx]
        y_new, err = _rodas3_step(field, jacobian, ya, idx, torch.as_tensor(h_try, dtype=dtype, device=device), fa)
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

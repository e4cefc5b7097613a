"""One batched explicit Runge-Kutta engine (torch) for every tableau.

Each run in the batch has its own time and its own step size: runs of very different scales do
not slow each other down (a weakness of one-step-for-the-batch solvers). Adaptive tableaus use
the elementary error-per-step controller; fixed-step tableaus land exactly on every save time.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ._control import RUNGE_KUTTA_CONTROL, StepStats, initial_step
from ._tableau import ButcherTableau
from .save_times import SaveTimes, reached

Field = Callable[[torch.Tensor], torch.Tensor]
OnSave = Callable[[int, torch.Tensor, torch.Tensor], None]

CONTROL = RUNGE_KUTTA_CONTROL


def _bcast(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    v = v.reshape(v.shape + (1,) * (like.dim() - 1))
    return v if v.dtype == torch.bool else v.to(like.dtype)


def integrate_explicit(
    field: Field,
    y0: torch.Tensor,
    t0: float,
    t1: float,
    save_times: np.ndarray,
    on_save: OnSave,
    *,
    tableau: ButcherTableau,
    step: float | None,
    rtol: float,
    atol: float,
    norm_independent: torch.Tensor,
    project: Callable[[torch.Tensor], torch.Tensor],
    max_steps: int,
    progress: Callable[[float], None] | None = None,
) -> tuple[torch.Tensor, StepStats]:
    """Integrate ``dy/dt = field(y)`` for a batch ``y0`` (B, ...) from ``t0`` to ``t1``.

    ``on_save(k, y_k, runs)`` receives the states at ``save_times[k]`` (for ``t0 <= save_times[k] <= t1``)
    of the runs ``runs`` (a long tensor of batch indices). ``project`` maps a state back to the
    constraint manifold (unit directions) after each step and for every saved state.
    ``norm_independent`` (broadcastable to y) marks entries whose error is measured absolutely
    (log-norms): the error scale is ``atol + rtol * max(|y0|, |y1|)`` elsewhere and ``atol + rtol`` there.
    Adaptive tableaus use ``step`` as the initial step (None: :func:`solver.integrators._control.initial_step` in
    the error scale); fixed-step ones use it throughout. Work counters per batch: :class:`StepStats`.
    """
    stats = StepStats()
    batch = y0.shape[0]
    device = y0.device
    plan = SaveTimes(save_times, t0, t1)
    ahead = plan.indices[plan.indices >= 0]  # save indices after t0
    saves = torch.as_tensor(plan.targets[: ahead.size], device=device)
    n_saves = saves.numel()
    t = torch.full((batch,), float(t0), dtype=torch.float64, device=device)
    y = y0
    plan.report_start(on_save, y, torch.arange(batch, device=device))
    next_k = torch.zeros((batch,), dtype=torch.long, device=device)  # index into saves

    A = [[float(x) for x in row] for row in tableau.A]
    b = [float(x) for x in tableau.b]
    e = None if tableau.b_error is None else [float(x) for x in tableau.b_error]
    dense = None if tableau.dense is None else torch.as_tensor(tableau.dense, dtype=y0.dtype, device=device)

    k_first = field(y)
    stats.rhs_evals += 1
    if tableau.adaptive:
        if step is None:
            scale = atol + rtol * torch.where(norm_independent, torch.ones_like(y), y.abs())
            d0, d1 = ((v / scale).pow(2).flatten(1).mean(1).sqrt().double().cpu().numpy() for v in (y, k_first))
            h = torch.as_tensor([initial_step(float(y_size), float(f_size), t1 - t0)
                                 for y_size, f_size in zip(d0, d1)], dtype=torch.float64, device=device)
        else:
            h = torch.full((batch,), float(step), dtype=torch.float64, device=device)
    else:
        if step is None or not step > 0:
            raise ValueError(f"step: a fixed-step method ({tableau.name}) needs step > 0 (got {step})")
        h = torch.full((batch,), float(step), dtype=torch.float64, device=device)

    active = ~reached(t1, t)
    iterations = 0
    while bool(active.any()):
        iterations += 1
        if iterations > max_steps:
            raise RuntimeError(f"max_steps={max_steps} exceeded at t={float(t.min()):.6g} (target {t1:.6g}); "
                               "use a stiff integrator (bdf) or raise max_steps")
        if tableau.adaptive:
            h_try = torch.minimum(h, t1 - t)
        else:
            target = torch.full_like(t, t1)
            pending = next_k < n_saves
            if n_saves and bool(pending.any()):
                target = torch.where(pending, torch.minimum(target, saves[next_k.clamp_max(n_saves - 1)]), target)
            h_try = torch.minimum(h, target - t)
        h_try = torch.where(active, h_try, torch.zeros_like(h_try))
        hb = _bcast(h_try, y)

        ks = [k_first]
        for i in range(1, tableau.stages):
            incr = sum(A[i][j] * ks[j] for j in range(i) if A[i][j] != 0.0)
            ks.append(field(y + hb * incr))
        stats.rhs_evals += tableau.stages - 1 + (0 if tableau.fsal else 1)
        y_new = y + hb * sum(b[i] * ks[i] for i in range(tableau.stages) if b[i] != 0.0)

        if e is not None:
            scale = atol + rtol * torch.where(norm_independent, torch.ones_like(y), torch.maximum(y.abs(), y_new.abs()))
            err_vec = hb * sum(e[i] * ks[i] for i in range(tableau.stages) if e[i] != 0.0)
            err = (err_vec / scale).pow(2).flatten(1).mean(1).sqrt().to(torch.float64)
            accept = active & torch.isfinite(err) & (err <= 1.0)
            factor = CONTROL.factors(err, 1.0 / (tableau.error_order + 1), accept)
            h = torch.where(active, h_try * factor, h)
            stats.rejected += int((active & ~accept).sum())
        else:
            accept = active
        stats.accepted += int(accept.sum())

        t_new = t + h_try
        y_new_projected = project(y_new)
        while n_saves:
            due = accept & (next_k < n_saves)
            due = due & reached(saves[next_k.clamp_max(n_saves - 1)], t_new)
            if not bool(due.any()):
                break
            runs = torch.nonzero(due).flatten()
            if dense is None:  # fixed-step methods land exactly on the save time
                y_save = y_new_projected[runs]
            else:
                ks_sel = [kk[runs] for kk in ks]
                theta = ((saves[next_k[runs]] - t[runs]) / h_try[runs]).clamp(0.0, 1.0)
                powers = torch.stack([theta**p for p in range(1, dense.shape[1] + 1)], dim=1).to(y.dtype)
                weights = powers @ dense.T  # (n, stages)
                incr = sum(_bcast(weights[:, i], ks_sel[i]) * ks_sel[i] for i in range(tableau.stages))
                y_save = project(y[runs] + _bcast(h_try[runs], incr) * incr)
            for k in torch.unique(next_k[runs]).tolist():
                sel = next_k[runs] == k
                on_save(int(ahead[k]), y_save[sel], runs[sel])
            next_k = torch.where(due, next_k + 1, next_k)

        acc_b = _bcast(accept, y)
        y = torch.where(acc_b, y_new_projected, y)
        t = torch.where(accept, t_new, t)
        t = torch.where(accept & reached(t1, t), torch.full_like(t, t1), t)
        if tableau.fsal:
            k_first = torch.where(acc_b, ks[-1], k_first)
        else:
            k_first = field(y)
        active = ~reached(t1, t)
        if progress is not None and iterations % 50 == 0:
            progress(float(t.min()))
    if progress is not None:
        progress(float(t1))
    return y, stats

"""The CPU engines (scipy's BDF/Radau, SUNDIALS CVODE) integrate a batch of the flow run by run, in the flat state
layout (log-norms first, then each direction; :class:`solver.problem.NumpyFlowProblem`): one loop for both."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..problem import NumpyFlowProblem
from ..threads import field_flops, limit_threads
from ._control import StepStats
from .save_times import SaveTimes

# integrate_run(b, problem, y_start, targets) -> (states (K, n) at the targets, counters)
RunIntegrator = Callable[[int, NumpyFlowProblem, np.ndarray, np.ndarray], tuple[np.ndarray, StepStats]]


def integrate_runs(a: np.ndarray, U: np.ndarray, order: int, lam: float, y0: torch.Tensor, t0: float, t1: float,
                   save_times: np.ndarray, on_save, progress: Callable[[float], None] | None,
                   integrate_run: RunIntegrator) -> tuple[torch.Tensor, StepStats]:
    """Integrate each run ``b`` of the batch ``y0`` (B, d+1, m) by ``integrate_run(b, problem, y_start, targets)``
    (``problem`` the run's :class:`solver.problem.NumpyFlowProblem`),
    which returns the run's flat states at ``targets`` (:class:`SaveTimes`) and its counters; report the saves
    through ``on_save(k, Y, runs)`` as every engine does, and return the final states and the summed counters.
    Every BLAS/LAPACK call runs under :func:`solver.threads.limit_threads` sized to one run's field evaluation."""
    batch, rows, m = y0.shape
    d = rows - 1
    plan = SaveTimes(save_times, t0, t1)
    y0_np = y0.detach().to("cpu", torch.float64).numpy()
    stats, finals = StepStats(), []

    with limit_threads(field_flops(1, d, m)):
        for b in range(batch):
            run = torch.tensor([b], device=y0.device)
            problem = NumpyFlowProblem(a[b], U[b], order, lam, m)

            def as_state(y: np.ndarray) -> torch.Tensor:
                return torch.as_tensor(problem.unpack(y)[None], dtype=y0.dtype, device=y0.device)

            y_start = problem.pack(y0_np[b])
            plan.report_start(on_save, as_state(y_start), run)
            states, run_stats = integrate_run(b, problem, y_start, plan.targets)
            stats.add(run_stats)
            for k, y in zip(plan.indices, states):
                state = as_state(y)
                if k >= 0:
                    on_save(int(k), state, run)
            finals.append(state[0])
            if progress is not None:
                progress(t0 + (t1 - t0) * (b + 1) / batch)
    return torch.stack(finals), stats

"""The CPU engines (scipy's BDF/Radau, SUNDIALS CVODE) integrate a batch of the flow run by run, in the flat state
layout of :func:`solver.jacobian.pack_state` (log-norms first, then each direction): one loop for both."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .. import kernels
from ..jacobian import flow_jacobian, flow_jacobian_sparse, pack_state, state_direction_norms, unpack_state
from ..threads import field_flops, limit_threads
from ._control import StepStats
from .save_times import SaveTimes

# integrate_run(b, run, y_start, targets) -> (states (K, n) at the targets, counters)
RunIntegrator = Callable[[int, "FlowRun", np.ndarray, np.ndarray], tuple[np.ndarray, StepStats]]


class FlowRun:
    """One run of the flow (ground truth ``a`` (r,), ``U`` (d, r)) on flat numpy states ``y``."""

    def __init__(self, a: np.ndarray, U: np.ndarray, order: int, lam: float, d: int, m: int):
        self.a, self.U, self.order, self.lam, self.d, self.m = a, U, order, lam, d, m

    def field(self, _t: float, y: np.ndarray) -> np.ndarray:
        """``dy/dt`` (:func:`solver.kernels.flow`)."""
        rho, X = unpack_state(y, self.d, self.m)
        # A trial step may overshoot a log-norm past exp's range; the integrator rejects the non-finite field and
        # retries with a smaller step, so the overflow is part of step control, not a result to warn about.
        with np.errstate(over="ignore", invalid="ignore"):
            return pack_state(*kernels.flow(X, np.exp(2 * rho), self.a, self.U, self.order, self.lam))

    def jacobian(self, _t: float, y: np.ndarray, coupling_floor: float | None = None):
        """The exact Jacobian (dense), or with the couplings of components below ``coupling_floor`` dropped
        (sparse). The integrators do not renormalize the directions: the Jacobian must know their norms."""
        rho, X = unpack_state(y, self.d, self.m)
        norms = state_direction_norms(y, self.d, self.m)
        if coupling_floor is None:
            return flow_jacobian(X, rho, self.a, self.U, self.order, direction_norms=norms)
        return flow_jacobian_sparse(X, rho, self.a, self.U, self.order, coupling_floor, direction_norms=norms)

    def atol(self, rtol: float, atol: float) -> np.ndarray:
        """Absolute tolerances: ``rtol`` for the log-norms (a relative error of ``||w||``), ``atol`` elsewhere."""
        out = np.full(self.m * (self.d + 1), float(atol))
        out[: self.m] = rtol
        return out


def integrate_runs(a: np.ndarray, U: np.ndarray, order: int, lam: float, y0: torch.Tensor, t0: float, t1: float,
                   save_times: np.ndarray, on_save, progress: Callable[[float], None] | None,
                   integrate_run: RunIntegrator) -> tuple[torch.Tensor, StepStats]:
    """Integrate each run ``b`` of the batch ``y0`` (B, d+1, m) by ``integrate_run(b, run, y_start, targets)``,
    which returns the run's flat states at ``targets`` (:class:`SaveTimes`) and its counters; report the saves
    through ``on_save(k, Y, runs)`` as every engine does, and return the final states and the summed counters.
    Every BLAS/LAPACK call runs under :func:`solver.threads.limit_threads` sized to one run's field evaluation."""
    batch, rows, m = y0.shape
    d = rows - 1
    plan = SaveTimes(save_times, t0, t1)
    y0_np = y0.detach().to("cpu", torch.float64).numpy()
    stats, finals = StepStats(), []

    def as_state(y: np.ndarray) -> torch.Tensor:
        rho, X = unpack_state(y, d, m)
        return torch.as_tensor(np.concatenate([rho[None], X], axis=0)[None], dtype=y0.dtype, device=y0.device)

    with limit_threads(field_flops(1, d, m)):
        for b in range(batch):
            run = torch.tensor([b], device=y0.device)
            y_start = pack_state(y0_np[b, 0], y0_np[b, 1:])
            plan.report_start(on_save, as_state(y_start), run)
            states, run_stats = integrate_run(b, FlowRun(a[b], U[b], order, lam, d, m), y_start, plan.targets)
            stats.add(run_stats)
            for k, y in zip(plan.indices, states):
                state = as_state(y)
                if k >= 0:
                    on_save(int(k), state, run)
            finals.append(state[0])
            if progress is not None:
                progress(t0 + (t1 - t0) * (b + 1) / batch)
    return torch.stack(finals), stats

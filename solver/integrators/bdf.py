"""Implicit (stiff) integration on the CPU: scipy's BDF or Radau with the Gram-structured analytic Jacobian.

Spread spectra are stiff: a fitted component relaxes at rate ~4 a_i while a component of size a_j
is found on the time scale ~1/a_j (SPEC numerics). Each run of the batch is integrated on its own
(scipy is sequential); the vector field is :func:`solver.kernels.flow` on numpy arrays and the
Jacobian is :func:`solver.jacobian.flow_jacobian_sparse`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from scipy.integrate import solve_ivp

from .. import kernels
from ..jacobian import flow_jacobian_sparse, pack_state, unpack_state
from ._explicit import OnSave, StepStats

IMPLICIT_METHODS = ("BDF", "Radau")


def coupling_floor_for(span: float, order: int) -> float:
    """Squared norm below which a component's couplings are dropped from the Jacobian.

    Dropped entries are ``l c_i``-sized; in Newton's matrix ``I - gamma h J`` with ``h <= span`` they
    contribute at most ``l c_i span``, kept below 1e-4 so Newton's convergence is unaffected.
    """
    return 1e-4 / (order * max(span, 1.0))


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
    rtol: float,
    atol: float,
    progress: Callable[[float], None] | None = None,
) -> tuple[torch.Tensor, StepStats]:
    """Integrate each run of the batch ``y0`` (B, d+1, m) (row 0: log-norms) with scipy's ``method``.

    ``a`` (B, r) and ``U`` (B, d, r) are each run's ground truth. Saved states are reported through
    ``on_save`` exactly as by :func:`solver.integrators._explicit.integrate_explicit`.
    """
    if method not in IMPLICIT_METHODS:
        raise ValueError(f"method: must be one of {IMPLICIT_METHODS} (got {method!r})")
    stats = StepStats()
    batch, rows, m = y0.shape
    d = rows - 1
    save_times = np.asarray(save_times, dtype=np.float64)
    in_span = np.nonzero((save_times >= t0) & (save_times <= t1))[0]
    t_eval = np.unique(np.concatenate([save_times[in_span], [t1]]))
    floor = coupling_floor_for(t1 - t0, order)
    y0_np = y0.detach().to("cpu", torch.float64).numpy()
    finals = []
    for b in range(batch):
        a_b, U_b = a[b], U[b]

        def fun(_t: float, y: np.ndarray) -> np.ndarray:
            rho, X = unpack_state(y, d, m)
            d_rho, d_X = kernels.flow(X, np.exp(2 * rho), a_b, U_b, order, lam)
            return pack_state(d_rho, d_X)

        def jac(_t: float, y: np.ndarray):
            rho, X = unpack_state(y, d, m)
            return flow_jacobian_sparse(X, rho, a_b, U_b, order, floor)

        y_start = pack_state(y0_np[b, 0], y0_np[b, 1:])
        atol_vec = np.full(y_start.size, atol)
        atol_vec[:m] = rtol  # log-norms: an absolute error rtol is a relative error rtol of ||w||
        sol = solve_ivp(fun, (t0, t1), y_start, method=method, t_eval=t_eval, jac=jac, rtol=rtol, atol=atol_vec)
        if sol.status != 0:
            raise RuntimeError(f"{method} failed for run {b} at t={sol.t[-1] if sol.t.size else t0:.6g}: {sol.message}")
        stats.rhs_evals += int(sol.nfev)
        stats.accepted += int(sol.nfev)  # scipy reports no step counts; nfev stands in
        states = []
        for col in range(sol.y.shape[1]):
            rho, X = unpack_state(sol.y[:, col], d, m)
            states.append(np.concatenate([rho[None], X], axis=0))
        states_t = torch.as_tensor(np.stack(states), dtype=y0.dtype, device=y0.device)
        run = torch.tensor([b], device=y0.device)
        for col, t in enumerate(sol.t):
            hits = np.nonzero(np.abs(save_times - t) <= 1e-12 * max(1.0, abs(t)))[0]
            for k in hits:
                on_save(int(k), states_t[col:col + 1], run)
        finals.append(states_t[-1])
        if progress is not None:
            progress(t0 + (t1 - t0) * (b + 1) / batch)
    return torch.stack(finals), stats

"""Integrate the flow from a given initial state (the metamorphic properties act on W(0)).

``solver.flow.solve`` draws ``W(0)`` from the seed and has no hook for a given state, so this helper drives
the same pieces ``solve`` uses -- the Gram-form field :func:`solver.kernels.flow`, the batched Dormand-Prince
engine with the log-norm rows measured absolutely, and column renormalization (C8) -- from ``(rho0, X0)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from solver import kernels
from solver.integrators import DOPRI5, integrate_explicit


def integrate(a: np.ndarray, U: np.ndarray, X0: np.ndarray, rho0: np.ndarray, t_max: float, order: int = 4,
              lam: float = 0.0, n_save: int = 50, rtol: float = 1e-10, atol: float = 1e-12) -> dict:
    """States at ``n_save + 1`` equally spaced times: ``log_norms`` (K, m), ``directions`` (K, d, m),
    ``correlations`` (K, m, r), ``residuals`` (K, r)."""
    d, m = X0.shape
    Y = torch.empty((1, d + 1, m), dtype=torch.float64)
    Y[0, 0] = torch.as_tensor(rho0)
    Y[0, 1:] = torch.as_tensor(X0)
    a_t = torch.as_tensor(a, dtype=torch.float64)[None]
    U_t = torch.as_tensor(U, dtype=torch.float64)[None]
    times = np.linspace(0.0, t_max, n_save + 1)
    states = [None] * times.size

    def field(Yb):
        d_rho, d_X = kernels.flow(Yb[:, 1:, :], torch.exp(2 * Yb[:, 0, :]), a_t, U_t, order, lam)
        return torch.cat([d_rho[:, None, :], d_X], dim=1)

    def project(Yb):
        X = Yb[:, 1:, :]
        return torch.cat([Yb[:, :1, :], X / X.norm(dim=1, keepdim=True)], dim=1)

    def on_save(k, Yb, runs):
        states[k] = Yb[0].clone()

    log_rows = torch.zeros((1, d + 1, 1), dtype=torch.bool)
    log_rows[:, 0] = True
    integrate_explicit(field, Y, 0.0, t_max, times, on_save, tableau=DOPRI5, step=None, rtol=rtol, atol=atol,
                       norm_independent=log_rows, project=project, max_steps=10**6)
    S = torch.stack(states).numpy()
    rho, X = S[:, 0, :], S[:, 1:, :]
    c = np.exp(2 * rho)
    return {"times": times, "log_norms": rho, "directions": X, "correlations": np.swapaxes(X, 1, 2) @ U,
            "residuals": kernels.direction_residuals(X, c, np.broadcast_to(a, (times.size,) + a.shape),
                                                     np.broadcast_to(U, (times.size,) + U.shape), order)}


def initial_state(d: int, m: int, seed: int, delta0: float) -> tuple[np.ndarray, np.ndarray]:
    """``(X0, rho0)`` drawn as ``solve`` draws them: ``initial_directions(default_rng(seed), d, m)``."""
    from solver.flow import initial_directions

    return initial_directions(np.random.default_rng(seed), d, m), np.full(m, math.log(delta0))

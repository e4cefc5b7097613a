"""Shared helpers of the solver tests (random states, dtype conversion)."""

import numpy as np
import torch


def random_state(rng, d, m, r, order, orthogonal=True, norm_scale=0.7):
    """Random unit directions X (d, m), log-norms rho (m), ground truth (a, U) as float64 numpy arrays."""
    if orthogonal:
        U = np.linalg.qr(rng.standard_normal((d, r)))[0]
    else:
        U = rng.standard_normal((d, r))
        U /= np.linalg.norm(U, axis=0)
    a = rng.uniform(0.3, 1.5, r)
    X = rng.standard_normal((d, m))
    X /= np.linalg.norm(X, axis=0)
    rho = rng.normal(0.0, norm_scale, m)
    return X, rho, a, U


def t64(x):
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)

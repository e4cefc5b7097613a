"""Standard stiff test problems (Hairer & Wanner, *Solving ODEs II*, and their test set) in numpy and batched torch,
and tight references from scipy's Radau through its public interface."""

import numpy as np
import torch
from scipy.integrate import Radau

from solver.integrators.bdf import drive


def reference(f, jac, t1: float, y0, times, rtol: float = 1e-12, atol: float = 1e-14) -> np.ndarray:
    """The states (K, n) at ``times`` (increasing, in (0, t1]) of scipy's Radau at a tight tolerance."""
    result = drive(Radau(f, 0.0, np.asarray(y0, dtype=np.float64), t1, rtol=rtol, atol=atol, jac=jac),
                   np.asarray(times, dtype=np.float64))
    assert result.status == 0
    return result.y.T


# HIRES: 8 reactions of plant physiology (Schaefer 1975; Hairer & Wanner II, IV.10), eigenvalues down to ~ -1e4.
HIRES_T1 = 321.8122
HIRES_Y0 = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0057]
_HIRES_LINEAR = np.array([[-1.71, 0.43, 8.32, 0, 0, 0, 0, 0],
                          [1.71, -8.75, 0, 0, 0, 0, 0, 0],
                          [0, 0, -10.03, 0.43, 0.035, 0, 0, 0],
                          [0, 8.32, 1.71, -1.12, 0, 0, 0, 0],
                          [0, 0, 0, 0, -1.745, 0.43, 0.43, 0],
                          [0, 0, 0, 0.69, 1.71, -0.43, 0.69, 0],
                          [0, 0, 0, 0, 0, 0, -1.81, 0],
                          [0, 0, 0, 0, 0, 0, 1.81, 0]])
_HIRES_SOURCE = np.array([0.0007, 0, 0, 0, 0, 0, 0, 0])
_HIRES_REACTION = np.array([0, 0, 0, 0, 0, -280.0, 280.0, -280.0])  # times y6 y8


def hires(_t, y):
    return _HIRES_LINEAR @ y + _HIRES_SOURCE + _HIRES_REACTION * y[5] * y[7]


def hires_jacobian(_t, y):
    J = _HIRES_LINEAR.copy()
    J[:, 5] += _HIRES_REACTION * y[7]
    J[:, 7] += _HIRES_REACTION * y[5]
    return J


def hires_torch(y: torch.Tensor, runs) -> torch.Tensor:
    L, s, r = (torch.as_tensor(v, dtype=y.dtype) for v in (_HIRES_LINEAR, _HIRES_SOURCE, _HIRES_REACTION))
    return y @ L.T + s + r * (y[:, 5] * y[:, 7])[:, None]


def hires_jacobian_torch(y: torch.Tensor, runs) -> torch.Tensor:
    return torch.stack([torch.as_tensor(hires_jacobian(None, row.numpy()), dtype=y.dtype) for row in y])

"""The tensor power iteration ``theta <- R(theta^{(x)(l-1)}, I) / ||.||`` in contraction (Gram) form, for the
residual ``R = T* - sum_i c_i v_i^{(x)l}`` of a ground truth and found components (no ``d^l`` tensor formed).

One definition for the two users: Algorithm 1's ``beta_0`` estimate (:func:`largest_value`, ``R = T*``) and the
robust tensor power method with deflation (:mod:`verify.baselines.tpm`).
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .ground_truth import GroundTruth

__all__ = ["power_iterations", "largest_value"]


def power_iterations(truth: GroundTruth, theta: np.ndarray, steps: int, found_X: np.ndarray | None = None,
                     found_c: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` updates ``theta <- R(theta^{(x)(l-1)}, I)/||.||`` of every column of ``theta`` (unit, shape (d, L))
    against ``R = T* - sum_i c_i v_i^{(x)l}`` (``v_i`` the columns of ``found_X``, none by default); returns
    ``(theta, R(theta^{(x)l}))``.

    Every contraction is one call of :func:`solver.kernels.residual_contractions` on the found components
    followed by the starts with weight ``c = 0`` (queried, not subtracted): ``O((s + L)^2 d + (s + L) r d)``.
    """
    if found_X is None:
        found_X, found_c = np.zeros((truth.d, 0)), np.zeros(0)
    s = found_c.size
    c = np.concatenate([found_c, np.zeros(theta.shape[1])])
    values = None
    for step in range(steps + 1):
        V, values = kernels.residual_contractions(np.concatenate([found_X, theta], axis=1), c, truth.a, truth.U,
                                                  truth.order)
        if step == steps:
            break
        V = V[:, s:]
        theta = V / np.linalg.norm(V, axis=0)
    return theta, values[s:]


def largest_value(truth: GroundTruth, rng: np.random.Generator, starts: int, iterations: int) -> float:
    """``max T*(theta^{(x)l})`` over ``starts`` uniform unit starts after ``iterations`` power iterations; for an
    orthogonal ``T*`` this finds ``max_j a_j`` (Anandkumar et al. 2014)."""
    g = rng.standard_normal((truth.d, starts))
    _, values = power_iterations(truth, g / np.linalg.norm(g, axis=0), iterations)
    return float(values.max())

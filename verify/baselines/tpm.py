"""The robust tensor power method with explicit deflation (Anandkumar et al. 2014, Algorithm 1), in
contraction (Gram) form: no ``d^l`` tensor is ever formed.

The algorithm, for ``k`` rounds (``k = r`` here):

    for tau = 1..L:  theta_0 uniform on the sphere;  N times  theta <- R(theta^{(x)(l-1)}, I) / ||.||
    tau* = argmax_tau R(theta_tau^{(x)l});  N more updates from theta_{tau*};  lambda = R(theta^{(x)l})
    deflate: R <- R - lambda theta^{(x)l}

with ``R = T*`` at the start. After ``s`` rounds the deflated tensor is ``T* - sum_{i<=s} lambda_i
v_i^{(x)l}``: exactly the model's residual ``T* - T`` with components ``(c_i, wbar_i) = (lambda_i, v_i)``.
So every iteration is :func:`solver.power_method.power_iterations` (the model's contractions in their one
place), ``O((s + L)^2 d + (s + L) r d)`` per iteration.

``L`` and ``N`` are ours (the paper's analysis asks ``L = poly(k) log(1/eta)``, ``N = O(log k + log log
(lambda_max / eps))``); the defaults find every component of the suite's orthogonal instances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.errors import require
from solver.ground_truth import GroundTruth
from solver.power_method import power_iterations

from .recovery import Decomposition

__all__ = ["TPMConfig", "tensor_power_method"]


@dataclass(frozen=True)
class TPMConfig:
    """Parameters of the robust tensor power method.

    Attributes:
        starts: ``L``, random starts per deflation round.
        iterations: ``N``, power iterations per start, and again to refine the best start.
        rank: number of deflation rounds ``k``; None: the ground truth's ``r``.
    """

    starts: int = 30
    iterations: int = 30
    rank: int | None = None

    def validate(self) -> None:
        require(isinstance(self.starts, int) and self.starts >= 1, "starts", "an integer >= 1", self.starts)
        require(isinstance(self.iterations, int) and self.iterations >= 1, "iterations", "an integer >= 1",
                self.iterations)
        if self.rank is not None:
            require(isinstance(self.rank, int) and self.rank >= 1, "rank", "an integer >= 1", self.rank)


def tensor_power_method(truth: GroundTruth, seed: int, config: TPMConfig = TPMConfig()) -> Decomposition:
    """Run the robust tensor power method on ``T*`` (given in factored form) from ``default_rng(seed)``.

    Returns the ``k`` found pairs ``(lambda_i, v_i)`` as a symmetric :class:`Decomposition` whose
    ``found`` order is the deflation order.
    """
    config.validate()
    rank = config.rank if config.rank is not None else truth.r
    rng = np.random.default_rng(seed)
    d = truth.d
    found_X = np.zeros((d, 0))
    found_c = np.zeros(0)
    for _ in range(rank):
        starts = rng.standard_normal((d, config.starts))
        starts /= np.linalg.norm(starts, axis=0)
        theta, values = power_iterations(truth, starts, config.iterations, found_X, found_c)
        best = theta[:, [int(np.argmax(values))]]
        best, value = power_iterations(truth, best, config.iterations, found_X, found_c)
        found_X = np.concatenate([found_X, best], axis=1)
        found_c = np.concatenate([found_c, value])
    return Decomposition.symmetric(found_c, found_X, truth.order, found=range(rank))

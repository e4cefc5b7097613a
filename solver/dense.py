"""Dense ``d^l`` reference tensors, for tests and audits at small ``d`` only.

These are the definitions the Gram-form kernels of :mod:`solver.kernels` must agree with;
nothing in the solver's hot path uses them.
"""

from __future__ import annotations

import torch

__all__ = ["symmetric_power_sum", "dense_loss", "dense_contraction"]

MAX_DENSE_ENTRIES = 50_000_000


def symmetric_power_sum(weights: torch.Tensor, vectors: torch.Tensor, order: int) -> torch.Tensor:
    """``sum_k weights_k v_k^{(x)l}`` as a dense tensor of shape ``(d,) * l``; ``vectors`` is (d, m)."""
    d = vectors.shape[0]
    if d**order > MAX_DENSE_ENTRIES:
        raise ValueError(f"d: a dense order-{order} tensor needs d^{order} <= {MAX_DENSE_ENTRIES} entries (got d = {d})")
    tensor = weights.to(vectors.dtype)
    letters = "abcdefghij"[:order]
    operands = [vectors] * order
    spec = ",".join(f"{c}k" for c in letters)
    return torch.einsum(f"k,{spec}->{letters}", tensor, *operands)


def dense_loss(W: torch.Tensor, a: torch.Tensor, U: torch.Tensor, order: int, lam: float = 0.0) -> torch.Tensor:
    """``L(W) = 1/2 ||T - T*||_F^2 + lambda/2 ||W||_F^2`` with ``T = sum_k w_k^{(x)l} / ||w_k||^{l-2}``.

    Differentiable in ``W`` (autograd gives ``grad L`` for the vector-field tests).
    """
    norms = W.norm(dim=0)
    model = symmetric_power_sum(norms**2, W / norms, order)
    target = symmetric_power_sum(a, U, order)
    return 0.5 * ((model - target) ** 2).sum() + 0.5 * lam * (W**2).sum()


def dense_contraction(tensor: torch.Tensor, x: torch.Tensor, slots: int) -> torch.Tensor:
    """Contract the first ``slots`` indices of a dense tensor with ``x``: ``T(x^{(x)slots}, I, ...)``."""
    out = tensor
    for _ in range(slots):
        out = torch.tensordot(x, out, dims=([0], [0]))
    return out

"""TensorLy's decompositions of ``T*``, used as documented.

TensorLy works on a dense tensor, so these methods form ``T* = sum_j a_j u_j^{(x)l}`` densely (TensorLy's
own ``cp_to_tensor``): ``d^l`` entries, refused above :data:`MAX_DENSE_ENTRIES` (1e7, 80 MB in float64;
the suite's ``large`` instance, d = 50 and l = 4, has 6.25e6). Every other method of the suite works in
Gram form.

- ``tensorly_power``: :func:`tensorly.decomposition.symmetric_parafac_power_iteration` (robust symmetric
  tensor power iteration with deflation; TensorLy draws its starts from numpy's *global* generator, uniform in
  ``[0, 1)^d``, so the seed is set there for the call and the previous global state restored after).
- ``als_svd`` / ``als_random``: :func:`tensorly.decomposition.parafac` (CP-ALS, not symmetric: one factor
  matrix per slot) with ``init="svd"`` (deterministic: the seed has no effect) or ``init="random"``
  (``random_state=seed``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from solver.errors import require
from solver.ground_truth import GroundTruth

from .recovery import Decomposition

__all__ = ["MAX_DENSE_ENTRIES", "dense_target", "tensorly_power", "cp_als", "ALSConfig", "PowerConfig"]

MAX_DENSE_ENTRIES = 10_000_000


def _tensorly():
    import tensorly as tl

    tl.set_backend("numpy")
    return tl


def dense_target(truth: GroundTruth) -> np.ndarray:
    """The dense ``T*`` (``d^l`` float64 entries; refused above :data:`MAX_DENSE_ENTRIES`)."""
    entries = truth.d ** truth.order
    require(entries <= MAX_DENSE_ENTRIES, "instance",
            f"at most {MAX_DENSE_ENTRIES:.0e} dense entries d^l for the TensorLy methods", f"{entries:.3g}")
    tl = _tensorly()
    return tl.cp_to_tensor((truth.a, [truth.U] * truth.order))


@dataclass(frozen=True)
class PowerConfig:
    """TensorLy's ``n_repeat`` (random starts per component) and ``n_iteration`` (power iterations; TensorLy
    applies ``order`` updates per iteration). Defaults are TensorLy's own."""

    n_repeat: int = 10
    n_iteration: int = 10


@dataclass(frozen=True)
class ALSConfig:
    """CP-ALS stopping rule: ``n_iter_max`` sweeps or a change of the reconstruction error below ``tol``
    (TensorLy's defaults are 100 and 1e-8; ours give ALS room to converge on the slow spectra)."""

    n_iter_max: int = 500
    tol: float = 1e-12


@contextlib.contextmanager
def _global_numpy_seed(seed: int):
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def tensorly_power(truth: GroundTruth, seed: int, config: PowerConfig = PowerConfig(),
                   tensor: np.ndarray | None = None) -> Decomposition:
    """``symmetric_parafac_power_iteration(T*, rank=r)``: ``r`` eigenpairs ``(lambda_i, v_i)`` found one after
    the other by deflation, returned as a symmetric decomposition in that order."""
    _tensorly()
    from tensorly.decomposition import symmetric_parafac_power_iteration

    tensor = dense_target(truth) if tensor is None else tensor
    with _global_numpy_seed(seed):
        weights, factor = symmetric_parafac_power_iteration(tensor, rank=truth.r, n_repeat=config.n_repeat,
                                                            n_iteration=config.n_iteration)
    return Decomposition.symmetric(np.asarray(weights), np.asarray(factor), truth.order, found=range(truth.r))


def cp_als(truth: GroundTruth, seed: int, init: str, config: ALSConfig = ALSConfig(),
           tensor: np.ndarray | None = None) -> Decomposition:
    """``parafac(T*, rank=r, init=init, normalize_factors=True)``: a rank-``r`` CP decomposition with unit
    factor columns and weights; no order of discovery (all components are fitted together)."""
    require(init in ("svd", "random"), "init", "svd or random", init)
    _tensorly()
    from tensorly.decomposition import parafac

    tensor = dense_target(truth) if tensor is None else tensor
    cp = parafac(tensor, rank=truth.r, init=init, random_state=seed, normalize_factors=True,
                 n_iter_max=config.n_iter_max, tol=config.tol)
    weights, factors = cp
    return Decomposition(np.asarray(weights, dtype=np.float64), tuple(np.asarray(f) for f in factors), None)

"""Ground truth ``T* = sum_j a_j u_j^{(x)l}`` (SPEC section 1) and its constructors."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ValidationError, require

__all__ = ["GroundTruth", "identity_basis", "random_orthonormal", "random_nonorthogonal", "geometric_spectrum"]

_UNIT_TOL = 1e-10


@dataclass(frozen=True)
class GroundTruth:
    """A symmetric order-``l`` tensor ``T* = sum_{j<=r} a_j u_j^{(x)l}`` kept in factored form.

    Attributes:
        a: (r,) positive finite coefficients.
        U: (d, r) unit columns ``u_j``.
        order: tensor order ``l >= 3``.
        orthogonal: whether ``U^T U = I_r`` (checked, not assumed).
    """

    a: np.ndarray
    U: np.ndarray
    order: int = 4

    def __post_init__(self) -> None:
        a = np.asarray(self.a, dtype=np.float64)
        U = np.asarray(self.U, dtype=np.float64)
        require(isinstance(self.order, (int, np.integer)) and not isinstance(self.order, bool) and self.order >= 3,
                "order", "an integer >= 3", self.order)
        require(a.ndim == 1 and a.size >= 1, "a", "a non-empty 1-d list of coefficients", a.shape)
        require(bool(np.all(np.isfinite(a))), "a", "finite values (no NaN or inf)", a.tolist())
        require(bool(np.all(a > 0)), "a", "positive values a_j > 0", a.tolist())
        require(U.ndim == 2, "U", "a (d, r) matrix", U.shape)
        require(U.shape[1] == a.size, "U", f"a (d, r) matrix with r = len(a) = {a.size} columns", U.shape)
        require(bool(np.all(np.isfinite(U))), "U", "finite values (no NaN or inf)")
        norms = np.linalg.norm(U, axis=0)
        require(bool(np.all(np.abs(norms - 1) < _UNIT_TOL)), "U", f"unit columns (| ||u_j|| - 1 | < {_UNIT_TOL})",
                norms.tolist())
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "U", U)
        object.__setattr__(self, "order", int(self.order))

    @property
    def d(self) -> int:
        return self.U.shape[0]

    @property
    def r(self) -> int:
        return self.U.shape[1]

    @property
    def orthogonal(self) -> bool:
        return bool(np.allclose(self.U.T @ self.U, np.eye(self.r), atol=1e-10))

    def to_dict(self) -> dict:
        return {"a": self.a.tolist(), "U": self.U.tolist(), "order": self.order}

    @classmethod
    def from_dict(cls, data: dict) -> "GroundTruth":
        return cls(np.asarray(data["a"]), np.asarray(data["U"]), int(data["order"]))


def geometric_spectrum(r: int, ratio: float, a1: float = 1.0) -> np.ndarray:
    """``a_1 = a1``, ``a_i / a_{i+1} = ratio`` (Figure 1: ratio 1.2; spread spectrum: ratio 100)."""
    require(isinstance(r, (int, np.integer)) and r >= 1, "r", "an integer >= 1", r)
    require(math.isfinite(ratio) and ratio >= 1, "ratio", "a finite number >= 1", ratio)
    return a1 * ratio ** (-np.arange(r, dtype=np.float64))


def _check_dims(d: int, r: int, orthogonal: bool) -> None:
    require(isinstance(d, (int, np.integer)) and d >= 1, "d", "an integer >= 1", d)
    if orthogonal and r > d:
        raise ValidationError("r", f"at most d = {d} for an orthogonal basis", r)


def identity_basis(d: int, a: np.ndarray, order: int = 4) -> GroundTruth:
    """``u_j = e_j`` (the paper's Figure 1)."""
    a = np.asarray(a, dtype=np.float64)
    _check_dims(d, a.size, True)
    return GroundTruth(a, np.eye(d)[:, : a.size], order)


def random_orthonormal(d: int, a: np.ndarray, order: int = 4, seed: int = 0) -> GroundTruth:
    """Orthonormal ``U`` from the QR factor of a seeded Gaussian matrix (Haar after sign fix)."""
    a = np.asarray(a, dtype=np.float64)
    _check_dims(d, a.size, True)
    rng = np.random.default_rng(seed)
    q, rmat = np.linalg.qr(rng.standard_normal((d, a.size)))
    q = q * np.sign(np.diag(rmat))
    return GroundTruth(a, q, order)


def random_nonorthogonal(d: int, a: np.ndarray, order: int = 4, seed: int = 0) -> GroundTruth:
    """Independent uniform random unit vectors ``u_j`` (not orthogonal; ``r > d`` allowed)."""
    a = np.asarray(a, dtype=np.float64)
    _check_dims(d, a.size, False)
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((d, a.size))
    return GroundTruth(a, g / np.linalg.norm(g, axis=0), order)

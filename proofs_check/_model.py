"""Symbolic instances of the model of SPEC section 1, and their float64 counterparts for the code checks.

An :class:`Instance` holds symbols for the components ``w_k`` (with norm symbols ``n_k = ||w_k||``),
the coefficients ``a_j``, the ground-truth vectors ``u_j`` (general symbols, or the identity basis),
and ``lambda``. From it we build

- the *dense* loss ``L = 1/2 ||T - T*||_F^2 + lambda/2 ||W||_F^2`` with
  ``T = sum_k w_k^{(x)l} / ||w_k||^{l-2}``, summed over index multisets with their multinomial
  multiplicity (exact; no Gram identity used), the object every derivation starts from;
- the *claimed* Gram-form quantities of SPEC section 1 (``V``, ``s``), in terms of ``wbar_k = w_k/n_k``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import mpmath
import numpy as np
import sympy as sp

from ._core import MP_DIGITS, Norm, norm_of, vec


@dataclass
class Instance:
    """Symbols for one explicit instance ``(d, m, r, l)``."""

    d: int
    m: int
    r: int
    order: int
    W: list[sp.Matrix]
    norms: list[Norm]
    a: list[sp.Symbol]
    U: list[sp.Matrix]
    lam: sp.Symbol

    @property
    def xbar(self) -> list[sp.Matrix]:
        return [w / n.symbol for w, n in zip(self.W, self.norms)]

    @property
    def c(self) -> list[sp.Expr]:
        return [n.symbol**2 for n in self.norms]


def instance(d: int, m: int, r: int, order: int, identity_basis: bool = False) -> Instance:
    """A symbolic instance; ``identity_basis`` puts ``u_j = e_j`` (then ``r <= d``)."""
    W = [vec(f"w{k + 1}", d) for k in range(m)]
    norms = [norm_of(w, f"n{k + 1}") for k, w in enumerate(W)]
    a = [sp.Symbol(f"a{j + 1}", positive=True) for j in range(r)]
    if identity_basis:
        U = [sp.Matrix([1 if i == j else 0 for i in range(d)]) for j in range(r)]
    else:
        U = [vec(f"u{j + 1}", d) for j in range(r)]
    return Instance(d, m, r, order, W, norms, a, U, sp.Symbol("lambda", positive=True))


def _multisets(d: int, order: int) -> list[tuple[tuple[int, ...], int]]:
    """Sorted index tuples with the number of index tuples that sort to them (multinomial count)."""
    out = []
    for idx in itertools.combinations_with_replacement(range(d), order):
        count = math.factorial(order)
        for i in set(idx):
            count //= math.factorial(idx.count(i))
        out.append((idx, count))
    return out


def dense_entry(weights: Sequence[sp.Expr], vectors: Sequence[sp.Matrix], idx: tuple[int, ...]) -> sp.Expr:
    total = sp.Integer(0)
    for weight, v in zip(weights, vectors):
        term = weight
        for i in idx:
            term *= v[i]
        total += term
    return total


def model_weights(inst: Instance) -> list[sp.Expr]:
    """``T = sum_k w_k^{(x)l} / n_k^{l-2}``: the weight on ``w_k^{(x)l}``."""
    return [n.symbol ** (2 - inst.order) for n in inst.norms]


def dense_fit(inst: Instance) -> sp.Expr:
    """``1/2 ||T - T*||_F^2`` summed entry by entry over the dense tensors (multiset form)."""
    total = sp.Integer(0)
    for idx, count in _multisets(inst.d, inst.order):
        residual = dense_entry(inst.a, inst.U, idx) - dense_entry(model_weights(inst), inst.W, idx)
        total += count * residual**2
    return total / 2


def dense_loss(inst: Instance) -> sp.Expr:
    """``L(W) = 1/2 ||T - T*||_F^2 + lambda/2 ||W||_F^2`` (dense)."""
    return dense_fit(inst) + inst.lam / 2 * sum(n.symbol**2 for n in inst.norms)


def gram_V(inst: Instance, k: int) -> sp.Matrix:
    """Claimed ``R(wbar_k^{(x)(l-1)}, I) = sum_j a_j H_kj^{l-1} u_j - sum_i c_i G_ki^{l-1} wbar_i``."""
    x = inst.xbar
    l = inst.order
    V = sp.zeros(inst.d, 1)
    for aj, uj in zip(inst.a, inst.U):
        V += aj * (x[k].dot(uj)) ** (l - 1) * uj
    for ci, xi in zip(inst.c, x):
        V -= ci * (x[k].dot(xi)) ** (l - 1) * xi
    return V


def gram_s(inst: Instance, k: int) -> sp.Expr:
    """Claimed ``R(wbar_k^{(x)l}) = sum_j a_j H_kj^l - sum_i c_i G_ki^l``."""
    x = inst.xbar
    l = inst.order
    return sum(aj * x[k].dot(uj) ** l for aj, uj in zip(inst.a, inst.U)) - sum(
        ci * x[k].dot(xi) ** l for ci, xi in zip(inst.c, x)
    )


def spec_flow_w(inst: Instance, k: int, *, radial_const: int | None = None) -> sp.Matrix:
    """SPEC's ``dw/dt = l ||w|| R(wbar^{l-1}, I) - (l-2) ||w|| R(wbar^l) wbar - lambda w`` for component k."""
    l = inst.order
    n = inst.norms[k].symbol
    const = (l - 2) if radial_const is None else radial_const
    return l * n * gram_V(inst, k) - const * n * gram_s(inst, k) * inst.xbar[k] - inst.lam * inst.W[k]


# ----------------------------------------------------------------------------------------------
# float64 side of the code checks


def kernel_inputs(inst: Instance, values: dict) -> dict[str, np.ndarray]:
    """The float64 arrays ``solver.kernels`` takes, at the point ``values`` of the symbols of ``inst``."""
    W = np.array([[values[w[i]] for w in inst.W] for i in range(inst.d)], dtype=np.float64)
    norms = np.linalg.norm(W, axis=0)
    U = np.array(
        [[float(u[i]) if u[i].is_number else values[u[i]] for u in inst.U] for i in range(inst.d)], dtype=np.float64
    )
    a = np.array([values[aj] for aj in inst.a], dtype=np.float64)
    return {"W": W, "X": W / norms, "norms": norms, "c": norms**2, "a": a, "U": U, "lam": float(values.get(inst.lam, 0.0))}


def instance_symbols(inst: Instance) -> list[sp.Symbol]:
    """Every free symbol of an instance (components, coefficients, general ``u_j``, lambda)."""
    syms = [s for w in inst.W for s in w] + list(inst.a) + [inst.lam]
    return syms + [s for u in inst.U for s in u if isinstance(s, sp.Symbol)]


def unit_ground_truth(inst: Instance, values: dict) -> dict:
    """Normalize the sampled ``u_j`` (the kernels' contract); the identities hold for any ``u_j``."""
    values = dict(values)
    for u in inst.U:
        if all(isinstance(s, sp.Symbol) for s in u):
            nrm = float(np.linalg.norm([values[s] for s in u]))
            for s in u:
                values[s] = values[s] / nrm
    return values


def residual_values(entry, d: int, order: int, arrays: dict[str, np.ndarray]) -> dict:
    """Values (mpmath, 50 digits) of the general symmetric tensor symbols ``entry(idx)`` set to the
    dense residual ``R = T* - T`` of the float64 state ``arrays`` (from :func:`kernel_inputs`)."""
    point = {}
    with mpmath.workdps(MP_DIGITS):
        Wm = [[mpmath.mpf(v) for v in col] for col in arrays["W"].T]
        cm = [mpmath.fsum(v**2 for v in col) for col in Wm]
        Xm = [[v / mpmath.sqrt(ck) for v in col] for col, ck in zip(Wm, cm)]
        am = [mpmath.mpf(v) for v in arrays["a"]]
        Um = [[mpmath.mpf(v) for v in col] for col in arrays["U"].T]
        for idx in itertools.combinations_with_replacement(range(d), order):
            value = mpmath.fsum(aj * mpmath.fprod(u[i] for i in idx) for aj, u in zip(am, Um))
            value -= mpmath.fsum(ck * mpmath.fprod(x[i] for i in idx) for ck, x in zip(cm, Xm))
            point[entry(idx)] = value
    return point

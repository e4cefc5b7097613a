"""C1 (inner product of symmetric powers) and C13 (the Gram identities of SPEC section 1).

Both are polynomial identities: the derived side is the dense ``d^l`` tensor written entry by entry,
the claimed side the Gram form the solver evaluates; the code check runs :mod:`solver.kernels`.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import sympy as sp

from solver import kernels

from ._core import Claim, Derivation, Identity, close, reference_values, sample_values, tex, vec

DIMS = (2, 3)
ORDERS = (3, 4)


def _inner_dense(u: sp.Matrix, v: sp.Matrix, order: int) -> sp.Expr:
    """``<u^{(x)l}, v^{(x)l}> = sum_{i_1..i_l} prod_k u_{i_k} v_{i_k}`` over all ``d^l`` index tuples."""
    total = sp.Integer(0)
    for idx in itertools.product(range(len(u)), repeat=order):
        term = sp.Integer(1)
        for i in idx:
            term *= u[i] * v[i]
        total += term
    return sp.expand(total)


def _build_c1(mutant: str | None) -> Derivation:
    identities = []
    for d in DIMS:
        u, v = vec("u", d), vec("v", d)
        for order in ORDERS:
            identities.append(Identity(f"d={d}, l={order}", sp.Matrix([u.dot(v) ** order]), sp.Matrix([_inner_dense(u, v, order)])))
    u2, v2 = vec("u", 2), vec("v", 2)
    dense = _inner_dense(u2, v2, 3)
    steps = [
        r"\langle u^{\otimes l}, v^{\otimes l}\rangle = \sum_{i_1,\dots,i_l} \prod_{k=1}^{l} u_{i_k} v_{i_k}",
        r"d=2,\ l=3:\quad \sum_{i_1 i_2 i_3} \prod_k u_{i_k}v_{i_k} \text{ expands to " + str(len(sp.expand(dense).args)) + r" monomials: } " + tex(dense),
        r"\text{factor}:\quad " + tex(sp.factor(dense)) + r" = (u\cdot v)^{3}",
        r"\text{checked exactly for } d\in\{2,3\},\ l\in\{3,4\}",
    ]

    def code_check(rng: random.Random) -> bool:
        # loss_terms' cross term with m = r = 1 and unit weights is exactly <x^l, u^l> = (x.u)^l.
        ok = True
        for ident, (d, order) in zip(identities, itertools.product(DIMS, ORDERS)):
            u, v = vec("u", d), vec("v", d)
            raw = sample_values(list(u) + list(v), rng)
            x = np.array([raw[s] for s in u]); x /= np.linalg.norm(x)
            y = np.array([raw[s] for s in v]); y /= np.linalg.norm(y)
            values = {**dict(zip(u, x)), **dict(zip(v, y))}
            ref = reference_values(ident.derived, values)
            _, cross, target = kernels.loss_terms(x[:, None], np.ones(1), np.ones(1), y[:, None], order)
            ok &= close(np.array([[cross]]), ref)
            ok &= close(np.array(target), np.array(1.0))  # <u^l, u^l> = ||u||^{2l} = 1
        return ok

    return Derivation(identities, steps, {"d": list(DIMS), "l": list(ORDERS)}, code_check)


C1 = Claim(
    "C1",
    "Inner product of symmetric powers",
    r"\langle u^{\otimes l}, v^{\otimes l}\rangle_F = (u\cdot v)^{l}",
    _build_c1,
)


# ----------------------------------------------------------------------------------------------


def _c13_instance(d: int, order: int, m: int = 2, r: int = 2):
    X = [vec(f"x{k + 1}", d) for k in range(m)]
    c = [sp.Symbol(f"c{k + 1}", positive=True) for k in range(m)]
    a = [sp.Symbol(f"a{j + 1}", positive=True) for j in range(r)]
    U = [vec(f"u{j + 1}", d) for j in range(r)]
    return X, c, a, U


def _dense_residual(X, c, a, U):
    """Entries of ``R = T* - T = sum_j a_j u_j^{(x)l} - sum_k c_k x_k^{(x)l}``."""

    def entry(idx: tuple[int, ...]) -> sp.Expr:
        total = sp.Integer(0)
        for weight, vecs in ((1, zip(a, U)), (-1, zip(c, X))):
            for coeff, v in vecs:
                term = weight * coeff
                for i in idx:
                    term *= v[i]
                total += term
        return total

    return entry


def _dense_contract(entry, d: int, order: int, x: sp.Matrix, slots: int) -> sp.Matrix:
    rows = []
    for out in itertools.product(range(d), repeat=order - slots):
        total = sp.Integer(0)
        for idx in itertools.product(range(d), repeat=slots):
            term = entry(idx + out)
            for i in idx:
                term *= x[i]
            total += term
        rows.append(total)
    return sp.Matrix(rows)


def _c13_identities(d: int, order: int) -> list[Identity]:
    X, c, a, U = _c13_instance(d, order)
    R = _dense_residual(X, c, a, U)
    out = []
    for k, xk in enumerate(X):
        V = sum((aj * xk.dot(uj) ** (order - 1) * uj for aj, uj in zip(a, U)), sp.zeros(d, 1)) - sum(
            (ci * xk.dot(xi) ** (order - 1) * xi for ci, xi in zip(c, X)), sp.zeros(d, 1)
        )
        s = sum(aj * xk.dot(uj) ** order for aj, uj in zip(a, U)) - sum(ci * xk.dot(xi) ** order for ci, xi in zip(c, X))
        out.append(Identity(f"d={d}, l={order}: R(x_{k + 1}^(l-1), I)", V, _dense_contract(R, d, order, xk, order - 1)))
        out.append(Identity(f"d={d}, l={order}: R(x_{k + 1}^l)", sp.Matrix([s]), _dense_contract(R, d, order, xk, order)))
    fro = sum(R(idx) ** 2 for idx in itertools.product(range(d), repeat=order))
    G = sp.Matrix(len(X), len(X), lambda i, j: X[i].dot(X[j]) ** order)
    H = sp.Matrix(len(X), len(U), lambda i, j: X[i].dot(U[j]) ** order)
    K = sp.Matrix(len(U), len(U), lambda i, j: U[i].dot(U[j]) ** order)
    cv, av = sp.Matrix(c), sp.Matrix(a)
    gram = (cv.T * G * cv - 2 * cv.T * H * av + av.T * K * av)[0, 0]
    out.append(Identity(f"d={d}, l={order}: ||T - T*||_F^2", sp.Matrix([gram]), sp.Matrix([fro])))
    for j, uj in enumerate(U):
        claimed = sum(a[i] * U[i].dot(uj) ** order for i in range(len(U))) - sum(c[k] * X[k].dot(uj) ** order for k in range(len(X)))
        out.append(Identity(f"d={d}, l={order}: (T* - T)(u_{j + 1}^l)", sp.Matrix([claimed]), _dense_contract(R, d, order, uj, order)))
    return out


def _build_c13(mutant: str | None) -> Derivation:
    by_instance = {(d, order): _c13_identities(d, order) for d in DIMS for order in ORDERS}
    identities = [ident for group in by_instance.values() for ident in group]
    steps = [
        r"R = T^* - T = \sum_j a_j u_j^{\otimes l} - \sum_k c_k \bar w_k^{\otimes l}\ \text{(dense, } d^l \text{ entries)}",
        r"R(\bar w_k^{\otimes(l-1)}, I)_p = \sum_{i_1..i_{l-1}} R_{i_1..i_{l-1}p} \prod_t \bar w_{k,i_t}"
        r" = \sum_j a_j H_{kj}^{l-1} u_{j,p} - \sum_i c_i G_{ki}^{l-1} \bar w_{i,p}",
        r"R(\bar w_k^{\otimes l}) = \sum_j a_j H_{kj}^{l} - \sum_i c_i G_{ki}^{l}",
        r"\|T - T^*\|_F^2 = \sum_{i_1..i_l} R_{i_1..i_l}^2 = c^\top G^{\circ l} c - 2 c^\top H^{\circ l} a + a^\top K^{\circ l} a",
        r"(T^*-T)(u_j^{\otimes l}) = \sum_i a_i K_{ij}^l - \sum_k c_k H_{kj}^l",
        r"\text{checked exactly for } d\in\{2,3\},\ l\in\{3,4\},\ m=r=2,\ \text{general } u_j \text{ (unit length not used)}",
    ]

    def code_check(rng: random.Random) -> bool:
        ok = True
        for (d, order), group in by_instance.items():
            X, c, a, U = _c13_instance(d, order)
            raw = sample_values([s for v in X + U for s in v] + c + a, rng)
            Xn = np.array([[raw[x[i]] for x in X] for i in range(d)]); Xn /= np.linalg.norm(Xn, axis=0)
            Un = np.array([[raw[u[i]] for u in U] for i in range(d)]); Un /= np.linalg.norm(Un, axis=0)
            values = dict(raw)
            values.update({x[i]: Xn[i, k] for k, x in enumerate(X) for i in range(d)})
            values.update({u[i]: Un[i, j] for j, u in enumerate(U) for i in range(d)})
            cn = np.array([values[s] for s in c]); an = np.array([values[s] for s in a])
            V, s = kernels.residual_contractions(Xn, cn, an, Un, order)
            model, cross, target = kernels.loss_terms(Xn, cn, an, Un, order)
            loss, _ = kernels.loss_and_floor(Xn, cn, an, Un, order, 2.0**-52)
            resid = kernels.direction_residuals(Xn, cn, an, Un, order)
            refs = [reference_values(ident.derived, values) for ident in group]
            m = len(X)
            for k in range(m):
                ok &= close(V[:, k : k + 1], refs[2 * k])
                ok &= close(np.array([[s[k]]]), refs[2 * k + 1])
            fro = refs[2 * m]
            ok &= close(np.array([[model - 2 * cross + target]]), fro)
            ok &= close(np.array([[loss]]), fro / 2)
            for j in range(len(U)):
                ok &= close(np.array([[resid[j]]]), refs[2 * m + 1 + j])
        return ok

    return Derivation(identities, steps, {"d": list(DIMS), "l": list(ORDERS)}, code_check)


C13 = Claim(
    "C13",
    "Gram identities of the residual",
    r"R(\bar w_k^{\otimes(l-1)}, I) = \sum_j a_j H_{kj}^{l-1} u_j - \sum_i c_i G_{ki}^{l-1}\bar w_i,\quad "
    r"R(\bar w_k^{\otimes l}) = \sum_j a_j H_{kj}^{l} - \sum_i c_i G_{ki}^{l},\quad "
    r"\|T-T^*\|_F^2 = c^\top G^{\circ l} c - 2c^\top H^{\circ l} a + a^\top K^{\circ l} a,\quad "
    r"(T^*-T)(u_j^{\otimes l}) = \sum_i a_i K_{ij}^l - \sum_k c_k H_{kj}^l",
    _build_c13,
)

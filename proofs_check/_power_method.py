"""C6 (small-norm limit = Riemannian gradient flow of ``T*(x^l)``) and C7 (orthogonal coordinates).

C6 starts from the tangential law on the Gram form (C5, C13) with ``m = r = 2`` and scales *every*
component, ``w_k -> t w_k``; the limit ``t -> 0`` is the regime ``T ~ 0``. C7 carries the order ``l``
as a sympy symbol.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import sympy as sp

from solver import kernels

from ._core import (
    Claim,
    Derivation,
    Identity,
    close,
    contract,
    norm_names,
    reference_values,
    sample_values,
    symmetric_tensor,
    tex,
    vec,
)
from ._model import gram_s, gram_V, instance, instance_symbols, kernel_inputs, unit_ground_truth

DIMS = (2, 3)
ORDERS = (3, 4)

C6_MUTANTS = ("factor l", "dropped projection", "power l-1")


def _riemannian(f: sp.Expr, x: sp.Matrix, mutant: str | None) -> sp.Matrix:
    """``(I - x x^T) grad_x f`` (or a named wrong variant)."""
    g = sp.Matrix([sp.diff(f, xi) for xi in x])
    if mutant == "dropped projection":
        return g
    P = sp.eye(len(x)) - x * x.T
    return P * g


def _c6_limit(d: int, order: int):
    inst = instance(d, 2, 2, order)
    t = sp.Symbol("t", positive=True)
    x = inst.xbar[0]
    speed = order * (gram_V(inst, 0) - x * gram_s(inst, 0))  # C5 on the Gram form (C13)
    sub = {}
    for w, n in zip(inst.W, inst.norms):
        sub.update({wi: t * wi for wi in w})
        sub[n.symbol] = t * n.symbol
    limit = speed.xreplace(sub).applyfunc(lambda e: sp.expand(e).subs(t, 0))  # polynomial in t: c_k -> t^2 c_k
    return inst, speed, limit


def _build_c6(mutant: str | None) -> Derivation:
    identities = []
    shapes = list(itertools.product(DIMS, ORDERS))
    limits = {}
    for d, order in shapes:
        inst, _, limit = _c6_limit(d, order)
        limits[(d, order)] = (inst, limit)
        y = vec("y", d)
        power = order - 1 if mutant == "power l-1" else order
        f = sum(aj * uj.dot(y) ** power for aj, uj in zip(inst.a, inst.U))  # T*(y^l) (C1)
        claimed = _riemannian(f, y, mutant).xreplace(dict(zip(y, inst.xbar[0])))
        if mutant == "factor l":
            claimed = order * claimed
        identities.append(Identity(f"d={d}, l={order}, m=r=2: lim_(t->0) wbar_1'(tW)", claimed, limit, tuple(inst.norms)))
        # The same for a fully general symmetric T*: l P T*(x^{l-1}, I) = P grad T*(x^l) (Euler).
        R = symmetric_tensor("S", d, order)
        g_claim = _riemannian(contract(R, d, order, y, order)[0], y, mutant)
        if mutant == "factor l":
            g_claim = order * g_claim
        derived = order * (sp.eye(d) - y * y.T) * contract(R, d, order, y, order - 1)
        identities.append(Identity(f"d={d}, l={order}, general symmetric T*: tangential law at T = 0", g_claim, derived))
    inst, speed, limit = _c6_limit(2, 3)
    steps = [
        r"\dot{\bar w}_1 = l(I-\bar w_1\bar w_1^\top)\Big(\sum_j a_j H_{1j}^{l-1}u_j - \sum_i c_i G_{1i}^{l-1}\bar w_i\Big)\quad(\text{C5, C13})",
        r"W \to tW:\ \bar w_i \text{ fixed},\ c_i \to t^2 c_i;\ \ t\to 0:\ \dot{\bar w}_1 \to l(I-\bar w_1\bar w_1^\top)\sum_j a_j (u_j\cdot\bar w_1)^{l-1}u_j",
        r"d=2,\ l=3,\ w_{k,i} \text{ the coordinates of } w_k:\ \lim_{t\to0}(\dot{\bar w}_1)_1 = "
        + tex(sp.factor(limit[0]), norm_names(inst.norms)),
        r"f(x) = T^*(x^{\otimes l}) = \sum_j a_j (u_j\cdot x)^l,\ \ \nabla f = l\sum_j a_j (u_j\cdot x)^{l-1}u_j"
        r"\ \Rightarrow\ \dot{\bar w} = (I - xx^\top)\nabla f(x)|_{x=\bar w}\ \text{with factor exactly } 1",
        r"\text{general symmetric } T^*:\ \nabla_x T^*(x^{\otimes l}) = l\,T^*(x^{\otimes(l-1)},I)\ (d\in\{2,3\},\ l\in\{3,4\})",
    ]

    def code_check(rng: random.Random) -> bool:
        # kernels.flow with every c_k = 0 (exactly the limit T = 0) against the derived limit.
        ok = True
        for (d, order), (inst, limit) in limits.items():
            values = unit_ground_truth(inst, sample_values(instance_symbols(inst), rng))
            A = kernel_inputs(inst, values)
            _, d_X = kernels.flow(A["X"], np.zeros(2), A["a"], A["U"], order, A["lam"])
            ok &= close(d_X[:, :1], reference_values(limit, values, tuple(inst.norms)))
        return ok

    return Derivation(identities, steps, {"d": list(DIMS), "l": list(ORDERS)}, code_check)


C6 = Claim(
    "C6",
    "Small-norm limit: the Riemannian gradient flow of the target on the sphere",
    r"T \to 0:\quad \frac{d\bar w}{dt} = (I - xx^\top)\,\nabla_x T^*(x^{\otimes l})\big|_{x=\bar w}"
    r" = l\,(I - xx^\top)\,T^*(x^{\otimes(l-1)}, I)\big|_{x=\bar w}",
    _build_c6,
    C6_MUTANTS,
)


# ---------------------------------------------------------------------------------------------- C7

C7_MUTANTS = ("power l-1", "log-ratio constant l", "dropped projection")


def _build_c7(mutant: str | None) -> Derivation:
    l = sp.Symbol("l", integer=True, positive=True)
    identities = []
    per_dim = {}
    for d in DIMS:
        x = vec("x", d, positive=True)  # log-ratios need x_i != 0; signs do not matter for the algebra
        a = [sp.Symbol(f"a{i + 1}", positive=True) for i in range(d)]
        f = sum(ai * xi**l for ai, xi in zip(a, x))  # T*(x^l) for T* = sum a_i e_i^l
        grad_f = sp.Matrix([sp.diff(f, xi) for xi in x])
        derived = grad_f - x * (x.T * grad_f)[0, 0]  # (I - xx^T) grad f (C6)
        power = l - 1 if mutant == "power l-1" else l - 2
        claimed = sp.Matrix([l * xi * (ai * xi**power - f) for ai, xi in zip(a, x)])
        if mutant == "dropped projection":
            claimed = sp.Matrix([l * ai * xi ** (l - 1) for ai, xi in zip(a, x)])
        const = l if mutant == "log-ratio constant l" else 2 * l
        ratio_derived = 2 * derived[0] / x[0] - 2 * derived[1] / x[1]  # d/dt log(x_1^2 / x_2^2)
        ratio_claimed = const * (a[0] * x[0] ** (l - 2) - a[1] * x[1] ** (l - 2))
        per_dim[d] = (x, a, derived, ratio_derived)
        for order in (l, 3, 4):
            sub = {l: order}
            label = f"d={d}, l={order}"
            identities.append(Identity(f"{label}: x_i'", claimed.xreplace(sub), derived.xreplace(sub)))
            identities.append(Identity(f"{label}: d/dt log(x_1^2/x_2^2)", sp.Matrix([ratio_claimed.xreplace(sub)]), sp.Matrix([ratio_derived.xreplace(sub)])))
    steps = [
        r"T^* = \sum_i a_i e_i^{\otimes l},\ T = 0:\ \ \dot x = (I - xx^\top)\nabla f,\ \ f(x) = \sum_i a_i x_i^l\ (\text{C6})",
        r"\nabla f = \big(l a_i x_i^{l-1}\big)_i,\ \ x\cdot\nabla f = l f\ \Rightarrow\ \dot x_i = l\,x_i\Big(a_i x_i^{l-2} - \sum_j a_j x_j^l\Big)",
        r"\frac{d}{dt}\log\frac{x_i^2}{x_j^2} = 2\frac{\dot x_i}{x_i} - 2\frac{\dot x_j}{x_j} = 2l\big(a_i x_i^{l-2} - a_j x_j^{l-2}\big)",
        r"l = 4:\ \dot x_i = 4x_i(a_i x_i^2 - \textstyle\sum_j a_j x_j^4),\ \ \frac{d}{dt}\log\frac{x_i^2}{x_j^2} = 8(a_i x_i^2 - a_j x_j^2)",
        r"\text{checked with symbolic } l \text{ and with } l\in\{3,4\},\ d\in\{2,3\}",
    ]

    def code_check(rng: random.Random) -> bool:
        ok = True
        for d, order in itertools.product(DIMS, ORDERS):
            x, a, derived, ratio_derived = per_dim[d]
            values = sample_values(list(x) + list(a), rng)
            xs = np.array([values[s] for s in x])
            xs /= np.linalg.norm(xs)
            values.update(dict(zip(x, xs)))
            an = np.array([values[s] for s in a])
            _, d_X = kernels.flow(xs[:, None], np.zeros(1), an, np.eye(d), order, 0.0)
            ok &= close(d_X, reference_values(derived.xreplace({l: order}), values))
            ratio_code = 2 * d_X[0, 0] / xs[0] - 2 * d_X[1, 0] / xs[1]
            ok &= close(np.array([[ratio_code]]), reference_values(sp.Matrix([ratio_derived.xreplace({l: order})]), values))
        return ok

    return Derivation(identities, steps, {"d": list(DIMS), "l": [3, 4, "symbolic"]}, code_check)


C7 = Claim(
    "C7",
    "Orthogonal coordinates and the log-ratio law",
    r"T^* = \sum_i a_i e_i^{\otimes l},\ T=0:\quad \frac{dx_i}{dt} = l\,x_i\Big(a_i x_i^{l-2} - \sum_j a_j x_j^l\Big),\quad"
    r"\frac{d}{dt}\log\frac{x_i^2}{x_j^2} = 2l\big(a_i x_i^{l-2} - a_j x_j^{l-2}\big)",
    _build_c7,
    C7_MUTANTS,
)

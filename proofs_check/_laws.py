"""C4 (radial law), C5 (tangential law and the unnormalized contrast), C8 (the sphere is invariant).

Starting point: the flow of C3 for a *general* symmetric residual ``R`` (one symbol per index multiset),
``dw/dt = l||w|| R(wbar^{l-1}, I) - (l-2)||w|| R(wbar^l) wbar - lambda w``; the polar laws follow from
``d||w||/dt = w.w'/||w||`` and ``d wbar/dt = w'/||w|| - w (w.w')/||w||^3``. Whether the tangential
speed depends on the component's *own* norm through ``R = T* - T`` is checked on the Gram form with
``m = 2``: scale ``w_1 -> t w_1`` (changes ``||w_1||`` only) and compare.
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
    grad,
    is_zero,
    norm_of,
    reference_values,
    sample_values,
    symmetric_tensor,
    vec,
)
from ._model import gram_s, gram_V, instance, instance_symbols, kernel_inputs, residual_values, unit_ground_truth

DIMS = (2, 3)
ORDERS = (3, 4)


def _general(d: int, order: int):
    """``w``, its norm, a general symmetric ``R``, lambda, and the C3 flow ``w'`` for that ``R``."""
    w = vec("w", d)
    n = norm_of(w, "n")
    R = symmetric_tensor("R", d, order)
    lam = sp.Symbol("lambda", positive=True)
    x = w / n.symbol
    V = contract(R, d, order, x, order - 1)
    s = contract(R, d, order, x, order)[0]
    w_dot = order * n.symbol * V - (order - 2) * n.symbol * s * x - lam * w
    return w, n, R, lam, x, V, s, w_dot


def _code_polar(derive_one, rng: random.Random, pick) -> bool:
    """Compare ``pick(kernels.flow(...))[k]`` with the derived polar law at ``R`` = the dense residual."""
    ok = True
    for d, order in itertools.product(DIMS, ORDERS):
        w, n, Rsym, lam, derived = derive_one(d, order)
        inst = instance(d, 2, 2, order)
        values = unit_ground_truth(inst, sample_values(instance_symbols(inst), rng))
        A = kernel_inputs(inst, values)
        out = pick(kernels.flow(A["X"], A["c"], A["a"], A["U"], order, A["lam"]))
        point = residual_values(Rsym, d, order, A)
        point[lam] = A["lam"]
        for k in range(2):
            point_k = dict(point)
            point_k.update({wi: A["W"][i, k] for i, wi in enumerate(w)})
            ok &= close(np.reshape(out[..., k], derived.shape), reference_values(derived, point_k, (n,)))
    return ok


# ---------------------------------------------------------------------------------------------- C4

C4_MUTANTS = ("constant l", "lambda/2", "norm factor")


def _c4_derived(d: int, order: int):
    w, n, R, lam, x, V, s, w_dot = _general(d, order)
    n_dot = (w.T * w_dot)[0, 0] / n.symbol  # d||w||/dt = w.w'/||w||
    return w, n, R, lam, s, sp.Matrix([n_dot / n.symbol])  # d log||w|| / dt


def _build_c4(mutant: str | None) -> Derivation:
    identities = []
    for d in DIMS:
        for order in ORDERS:
            w, n, R, lam, s, derived = _c4_derived(d, order)
            const = order if mutant == "constant l" else 2
            lam_term = lam / 2 if mutant == "lambda/2" else lam
            claimed = const * s - lam_term
            if mutant == "norm factor":
                claimed = claimed * n.symbol
            identities.append(Identity(f"d={d}, l={order}, general symmetric R", sp.Matrix([claimed]), derived, (n,)))
    steps = [
        r"\frac{d\|w\|}{dt} = \frac{w\cdot \dot w}{\|w\|},\quad \dot w = l\|w\|R(\bar w^{\otimes(l-1)},I) - (l-2)\|w\|R(\bar w^{\otimes l})\bar w - \lambda w",
        r"\bar w\cdot R(\bar w^{\otimes(l-1)},I) = R(\bar w^{\otimes l}),\ \ \bar w\cdot\bar w = 1"
        r"\ \Rightarrow\ \frac{d\|w\|}{dt} = (l - (l-2))\|w\|R(\bar w^{\otimes l}) - \lambda\|w\|",
        r"\frac{d\rho}{dt} = \frac{d\log\|w\|}{dt} = 2R(\bar w^{\otimes l}) - \lambda\quad\text{exactly, general symmetric } R,\ d\in\{2,3\},\ l\in\{3,4\}",
    ]

    def code_check(rng: random.Random) -> bool:
        return _code_polar(lambda d, o: (lambda t: (t[0], t[1], t[2], t[3], t[5]))(_c4_derived(d, o)), rng, lambda f: f[0])

    return Derivation(identities, steps, {"d": list(DIMS), "l": list(ORDERS)}, code_check)


C4 = Claim(
    "C4",
    "Radial law",
    r"\frac{d\|w\|}{dt} = 2\|w\|\,R(\bar w^{\otimes l}) - \lambda\|w\|,\qquad \frac{d\rho}{dt} = 2R(\bar w^{\otimes l}) - \lambda,\ \ \rho = \log\|w\|",
    _build_c4,
    C4_MUTANTS,
)


# ---------------------------------------------------------------------------------------------- C5

C5_MUTANTS = ("dropped projection", "constant l-1", "contrast power l-1")


def _c5_derived(d: int, order: int):
    w, n, R, lam, x, V, s, w_dot = _general(d, order)
    x_dot = w_dot / n.symbol - w * (w.T * w_dot)[0, 0] / n.symbol**3
    return w, n, R, lam, x, V, x_dot


def _unnormalized(d: int, order: int):
    """Unnormalized model ``T = sum w^l``: ``w' = grad_w R(w^l)|_R frozen - lambda w`` and its direction speed."""
    w = vec("w", d)
    n = norm_of(w, "n")
    R = symmetric_tensor("R", d, order)
    lam = sp.Symbol("lambda", positive=True)
    w_dot = grad(contract(R, d, order, w, order)[0], w, [n]) - lam * w
    x_dot = w_dot / n.symbol - w * (w.T * w_dot)[0, 0] / n.symbol**3
    x = w / n.symbol
    return w, n, x, contract(R, d, order, x, order - 1), x_dot


def _own_norm_gram(d: int, order: int):
    """Tangential speed of component 1 on the Gram form (m = r = 2), and its scaled copies."""
    inst = instance(d, 2, 2, order)
    t = sp.Symbol("t", positive=True)
    x = inst.xbar[0]
    speed = order * (gram_V(inst, 0) - x * gram_s(inst, 0))

    def scaled(k: int) -> sp.Matrix:
        sub = {wi: t * wi for wi in inst.W[k]}
        sub[inst.norms[k].symbol] = t * inst.norms[k].symbol  # ||t w|| = t ||w|| for t > 0
        return speed.xreplace(sub)

    return inst, speed, scaled


def _build_c5(mutant: str | None) -> Derivation:
    identities = []
    extra = []
    for d in DIMS:
        for order in ORDERS:
            w, n, R, lam, x, V, derived = _c5_derived(d, order)
            P = sp.eye(d) - x * x.T
            const = order - 1 if mutant == "constant l-1" else order
            claimed = const * (V if mutant == "dropped projection" else P * V)
            identities.append(Identity(f"d={d}, l={order}, general symmetric R: wbar'", claimed, derived, (n,)))
            w, n, x, Vu, derived_u = _unnormalized(d, order)
            power = order - 1 if mutant == "contrast power l-1" else order - 2
            claimed_u = order * n.symbol**power * (sp.eye(d) - x * x.T) * Vu
            identities.append(Identity(f"d={d}, l={order}, unnormalized T = sum w^l: wbar'", claimed_u, derived_u, (n,)))
    for d in DIMS:
        order = 3 if d == 3 else 4
        inst, speed, scaled = _own_norm_gram(d, order)
        identities.append(
            Identity(f"d={d}, l={order}, m=r=2, R = T* - T: own norm, w_1 -> t w_1", scaled(0), speed, tuple(inst.norms))
        )
        extra.append(
            (f"d={d}, l={order}: wbar_1' depends on c_2", not all(is_zero(e, inst.norms) for e in scaled(1) - speed))
        )
    steps = [
        r"\dot{\bar w} = \frac{\dot w}{\|w\|} - \frac{w\,(w\cdot\dot w)}{\|w\|^3} = \frac{(I-\bar w\bar w^\top)\dot w}{\|w\|}",
        r"(I-\bar w\bar w^\top)\bar w = 0 \text{ removes the radial and } \lambda \text{ terms}:\ "
        r"\dot{\bar w} = l(I-\bar w\bar w^\top)R(\bar w^{\otimes(l-1)},I)\ \text{ (general symmetric } R,\ d\in\{2,3\},\ l\in\{3,4\})",
        r"R = T^*-T:\ \text{own term } -c_k G_{kk}^{l-1}\bar w_k = -c_k\bar w_k \text{ is projected out; } "
        r"\dot{\bar w}_1(t w_1) - \dot{\bar w}_1(w_1) = 0 \text{ (m=r=2), but } \dot{\bar w}_1(t w_2) \ne \dot{\bar w}_1(w_2)",
        r"\text{unnormalized } T=\sum w^{\otimes l}:\ \dot w = l R(w^{\otimes(l-1)},I) - \lambda w\ \Rightarrow\ "
        r"\dot{\bar w} = l\|w\|^{l-2}(I-\bar w\bar w^\top)R(\bar w^{\otimes(l-1)},I)",
    ]

    def code_check(rng: random.Random) -> bool:
        ok = _code_polar(lambda d, o: (lambda t: (t[0], t[1], t[2], t[3], t[6]))(_c5_derived(d, o)), rng, lambda f: f[1])
        # Own-norm independence in the kernels themselves: rescaling c_1 leaves column 1 of d_X unchanged.
        for d, order in itertools.product(DIMS, ORDERS):
            inst = instance(d, 2, 2, order)
            A = kernel_inputs(inst, unit_ground_truth(inst, sample_values(instance_symbols(inst), rng)))
            base = kernels.flow(A["X"], A["c"], A["a"], A["U"], order, A["lam"])[1]
            # Factor 2, not 1e3: the own term -c_1 wbar_1 cancels under the projection only up to
            # rounding, an absolute error ~ l eps c_1 in d_X (a float64 property of V - X s, not a law).
            c = A["c"].copy()
            c[0] *= 2.0
            scaled = kernels.flow(A["X"], c, A["a"], A["U"], order, A["lam"])[1]
            ok &= close(scaled[:, 0], base[:, 0])
        return ok

    return Derivation(identities, steps, {"d": list(DIMS), "l": list(ORDERS)}, code_check, extra)


C5 = Claim(
    "C5",
    "Tangential law and the unnormalized contrast",
    r"\frac{d\bar w}{dt} = l\,(I - \bar w\bar w^\top)\,R(\bar w^{\otimes(l-1)}, I)\ \text{(independent of } \|w\|\text{)};\quad"
    r"\text{for } T=\sum_k w_k^{\otimes l}:\ \frac{d\bar w}{dt} = l\,\|w\|^{l-2}(I - \bar w\bar w^\top)R(\bar w^{\otimes(l-1)}, I)",
    _build_c5,
    C5_MUTANTS,
)


# ---------------------------------------------------------------------------------------------- C8


def _build_c8(mutant: str | None) -> Derivation:
    identities = []
    h = sp.Symbol("h", positive=True)
    for d in DIMS:
        x = vec("x", d)
        V = vec("v", d)  # any vector field: the statement holds for every R and every order
        x_dot = 3 * (sp.eye(d) - x * x.T) * V  # the constant l is irrelevant; 3 keeps it concrete
        q = (x.T * x)[0, 0]
        identities.append(
            Identity(f"d={d}, any V: d|x|^2/dt = 2l (x.V)(1 - |x|^2)", sp.Matrix([2 * 3 * (x.T * V)[0, 0] * (1 - q)]), sp.Matrix([2 * (x.T * x_dot)[0, 0]]))
        )
        # One explicit Euler step from a point on the sphere: x = w/||w||.
        w = vec("w", d)
        n = norm_of(w, "n")
        xs = w / n.symbol
        step = xs + h * 3 * (sp.eye(d) - xs * xs.T) * V
        drift = (step.T * step)[0, 0] - 1
        speed2 = ((3 * (sp.eye(d) - xs * xs.T) * V).T * (3 * (sp.eye(d) - xs * xs.T) * V))[0, 0]
        identities.append(Identity(f"d={d}: Euler drift |x + h x'|^2 - 1 = h^2 |x'|^2", sp.Matrix([h**2 * speed2]), sp.Matrix([drift]), (n,)))
    steps = [
        r"\dot x = l(I - xx^\top)V \ \Rightarrow\ \frac{d}{dt}\|x\|^2 = 2x\cdot\dot x = 2l\,(x\cdot V)\,(1 - \|x\|^2)",
        r"\|x\|^2 = 1 \text{ is a solution of this scalar ODE, hence invariant (uniqueness)}",
        r"\text{Euler: } \|x + h\dot x\|^2 - 1 = 2h\,x\cdot\dot x + h^2\|\dot x\|^2 = h^2\|\dot x\|^2 \text{ on the sphere: second-order drift, renormalize}",
    ]

    def code_check(rng: random.Random) -> bool:
        ok = True
        for d, order in itertools.product(DIMS, ORDERS):
            inst = instance(d, 2, 2, order)
            A = kernel_inputs(inst, unit_ground_truth(inst, sample_values(instance_symbols(inst), rng)))
            _, d_X = kernels.flow(A["X"], A["c"], A["a"], A["U"], order, A["lam"])
            for k in range(2):
                x, xd = A["X"][:, k], d_X[:, k]
                ok &= abs(float(x @ xd)) <= 1e-12 * float(np.linalg.norm(xd))  # tangent to the sphere
                hstep = 0.5  # large enough that the O(h^2) drift is resolved in float64 to 1e-12
                drift = float((x + hstep * xd) @ (x + hstep * xd)) - float(x @ x)
                ok &= close(np.array(drift), np.array(hstep**2 * float(xd @ xd)))
        return ok

    return Derivation(identities, steps, {"d": list(DIMS), "l": [3, 4, "any"]}, code_check)


C8 = Claim(
    "C8",
    "The sphere is invariant",
    r"\frac{d}{dt}\|\bar w\|^2 = 2l\,\big(\bar w\cdot R(\bar w^{\otimes(l-1)},I)\big)(1 - \|\bar w\|^2) = 0 \text{ on } \|\bar w\| = 1;"
    r"\ \ \text{an Euler step drifts by } h^2\|\dot{\bar w}\|^2",
    _build_c8,
)

"""C2 (gradient of the normalized term), C3 (the full flow ``-grad L``) and C9 (energy dissipation).

Derivations start from the dense loss of :mod:`proofs_check._model` (no Gram identity is assumed) and
differentiate with the chain rule ``d||w||/dw = w/||w||``.
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
    grad,
    norm_of,
    reference_values,
    sample_values,
    symmetric_tensor,
    tex,
    vec,
)
from ._model import Instance, dense_loss, gram_s, gram_V, instance, instance_symbols, kernel_inputs, residual_values, spec_flow_w, unit_ground_truth

DIMS = (2, 3)
ORDERS = (3, 4)


# ---------------------------------------------------------------------------------------------- C2

C2_MUTANTS = ("radial constant l-1", "norm power 2", "dropped radial term")


def _c2_pieces(d: int, order: int, mutant: str | None):
    w = vec("w", d)
    n = norm_of(w, "n")
    R = symmetric_tensor("R", d, order)
    f = contract(R, d, order, w, order)[0] / n.symbol ** (order - 2)
    derived = grad(f, w, [n])
    x = w / n.symbol
    V = contract(R, d, order, x, order - 1)
    s = contract(R, d, order, x, order)[0]
    const = {"radial constant l-1": order - 1}.get(mutant, order - 2)
    power = 2 if mutant == "norm power 2" else 1
    radial = sp.zeros(d, 1) if mutant == "dropped radial term" else const * n.symbol**power * s * x
    claimed = order * n.symbol**power * V - radial
    return w, n, R, f, derived, claimed


def _build_c2(mutant: str | None) -> Derivation:
    identities = []
    for d in DIMS:
        for order in ORDERS:
            w, n, _, _, derived, claimed = _c2_pieces(d, order, mutant)
            identities.append(Identity(f"d={d}, l={order}, general symmetric R", claimed, derived, (n,)))
    w, n, R, f, derived, claimed = _c2_pieces(2, 3, mutant)
    steps = [
        r"f(w) = \frac{R(w^{\otimes l})}{\|w\|^{l-2}},\quad \frac{\partial \|w\|}{\partial w} = \frac{w}{\|w\|}",
        r"d=2,\ l=3,\ R \text{ general symmetric (entries } R_{ijk}\text{)}:\quad f = " + tex(f, norm_names([n])),
        r"\nabla_w f = \frac{l\,R(w^{\otimes(l-1)},I)}{\|w\|^{l-2}} - (l-2)\frac{R(w^{\otimes l})}{\|w\|^{l}}\,w",
        r"(\nabla_w f)_1 = " + tex(sp.simplify(derived[0]), norm_names([n])),
        r"\nabla_w f - \|w\|\big(l R(\bar w^{\otimes(l-1)},I) - (l-2) R(\bar w^{\otimes l})\bar w\big) = 0"
        r"\quad (d\in\{2,3\},\ l\in\{3,4\})",
    ]

    def code_check(rng: random.Random) -> bool:
        # With R frozen at the current residual T* - T, the C2 gradient is exactly what flow_w returns
        # (lambda = 0) for each component: the kernels' Gram contraction must reproduce the dense R.
        ok = True
        for d, order in itertools.product(DIMS, ORDERS):
            w, n, Rsym, _, derived_d, _ = _c2_pieces(d, order, None)
            inst = instance(d, 2, 2, order)
            values = unit_ground_truth(inst, sample_values(instance_symbols(inst), rng))
            arrays = kernel_inputs(inst, values)
            flow = kernels.flow_w(arrays["X"], arrays["norms"], arrays["a"], arrays["U"], order, 0.0)
            point = residual_values(Rsym, d, order, arrays)
            for k in range(2):
                point_k = dict(point)
                point_k.update({wi: arrays["W"][i, k] for i, wi in enumerate(w)})
                ok &= close(flow[:, k : k + 1], reference_values(derived_d, point_k, (n,)))
        return ok

    return Derivation(identities, steps, {"d": list(DIMS), "l": list(ORDERS)}, code_check)


C2 = Claim(
    "C2",
    "Gradient of the normalized term",
    r"\nabla_w \frac{R(w^{\otimes l})}{\|w\|^{l-2}} = l\,\|w\|\,R(\bar w^{\otimes(l-1)}, I) - (l-2)\,\|w\|\,R(\bar w^{\otimes l})\,\bar w"
    r"\quad\text{for every symmetric } R",
    _build_c2,
    C2_MUTANTS,
)


# ---------------------------------------------------------------------------------------------- C3

C3_MUTANTS = ("lambda/2", "radial constant l", "dropped norm factor")
C3_SHAPES = [(2, 3), (2, 4), (3, 3), (3, 4)]


def _c3_claimed(inst: Instance, k: int, mutant: str | None) -> sp.Matrix:
    l, n = inst.order, inst.norms[k].symbol
    if mutant == "lambda/2":
        return spec_flow_w(inst, k) + inst.lam / 2 * inst.W[k]
    if mutant == "radial constant l":
        return spec_flow_w(inst, k, radial_const=l)
    if mutant == "dropped norm factor":
        return l * gram_V(inst, k) - (l - 2) * n * gram_s(inst, k) * inst.xbar[k] - inst.lam * inst.W[k]
    return spec_flow_w(inst, k)


def _build_c3(mutant: str | None) -> Derivation:
    identities = []
    by_shape = {}
    for d, order in C3_SHAPES:
        inst = instance(d, 2, 2, order)
        L = dense_loss(inst)
        derived = [-grad(L, inst.W[k], inst.norms) for k in range(inst.m)]
        by_shape[(d, order)] = (inst, derived)
        for k in range(inst.m):
            identities.append(
                Identity(f"d={d}, l={order}, m=r=2: -grad_(w_{k + 1}) L", _c3_claimed(inst, k, mutant), derived[k], tuple(inst.norms))
            )
    steps = [
        r"L(W) = \tfrac12 \sum_{i_1..i_l}\Big(\sum_j a_j u_{j,i_1}\cdots u_{j,i_l} - \sum_k \frac{w_{k,i_1}\cdots w_{k,i_l}}{\|w_k\|^{l-2}}\Big)^2"
        r" + \tfrac{\lambda}{2}\sum_k \|w_k\|^2 \ \ \text{(dense, no Gram identity used)}",
        r"-\nabla_{w_k} L = \Big\langle R,\ \nabla_{w_k}\frac{w_k^{\otimes l}}{\|w_k\|^{l-2}}\Big\rangle - \lambda w_k"
        r" = \nabla_{w}\frac{R(w^{\otimes l})}{\|w\|^{l-2}}\Big|_{R\ \mathrm{frozen}} - \lambda w_k \ \ (\text{C2})",
        r"\frac{dw_k}{dt} = l\|w_k\| R(\bar w_k^{\otimes(l-1)},I) - (l-2)\|w_k\| R(\bar w_k^{\otimes l})\bar w_k - \lambda w_k"
        r"\ \text{ with } R \text{ in Gram form (C13)}",
        r"\text{claimed} + \nabla_{w_k} L = 0 \text{ exactly for } (d,l)\in\{(2,3),(2,4),(3,3),(3,4)\},\ m=r=2,\ \text{general } u_j",
    ]

    def code_check(rng: random.Random) -> bool:
        ok = True
        for (d, order), (inst, derived) in by_shape.items():
            values = unit_ground_truth(inst, sample_values(instance_symbols(inst), rng))
            arrays = kernel_inputs(inst, values)
            flow = kernels.flow_w(arrays["X"], arrays["norms"], arrays["a"], arrays["U"], order, arrays["lam"])
            for k in range(inst.m):
                ok &= close(flow[:, k : k + 1], reference_values(derived[k], values, tuple(inst.norms)))
        return ok

    return Derivation(identities, steps, {"d": [2, 3], "l": [3, 4]}, code_check)


C3 = Claim(
    "C3",
    "The full flow, minus the gradient of the loss",
    r"-\nabla_{w} L = l\,\|w\|\,R(\bar w^{\otimes(l-1)}, I) - (l-2)\,\|w\|\,R(\bar w^{\otimes l})\,\bar w - \lambda w,"
    r"\quad L = \tfrac12\|T-T^*\|_F^2 + \tfrac{\lambda}{2}\|W\|_F^2,\ T = \sum_k \frac{w_k^{\otimes l}}{\|w_k\|^{l-2}}",
    _build_c3,
    C3_MUTANTS,
)


# ---------------------------------------------------------------------------------------------- C9

C9_SHAPES = [(2, 3, 2), (2, 4, 2)]
C9_POLAR_SHAPES = [(2, 3), (2, 4), (3, 3), (3, 4)]


def _build_c9(mutant: str | None) -> Derivation:
    identities = []
    for d, order, r in C9_SHAPES:
        inst = instance(d, 2, r, order)
        L = dense_loss(inst)
        F = [spec_flow_w(inst, k) for k in range(inst.m)]  # the flow as the solver writes it (C3)
        dLdt = sum((grad(L, inst.W[k], inst.norms).T * F[k])[0, 0] for k in range(inst.m))
        energy = -sum((F[k].T * F[k])[0, 0] for k in range(inst.m))
        label = f"d={d}, l={order}, m=2, r={r}"
        identities.append(Identity(f"{label}: dL/dt = -||F||^2", sp.Matrix([energy]), sp.Matrix([dLdt]), tuple(inst.norms)))
    # The same dissipation in (log-norm, direction) coordinates. Checked as the vector identity
    # F_k = ||w_k|| (rho'_k wbar_k + wbar'_k) plus wbar_k . wbar'_k = 0; Pythagoras then gives
    # ||F_k||^2 = c_k (rho'^2 + ||wbar'||^2) (the expanded scalar form is far costlier for sympy).
    for d, order in C9_POLAR_SHAPES:
        inst = instance(d, 2, 2, order)
        for k in range(1):  # component 2 is the same identity with the labels swapped
            x = inst.xbar[k]
            rho_dot = 2 * gram_s(inst, k) - inst.lam
            x_dot = order * (gram_V(inst, k) - x * gram_s(inst, k))
            label = f"d={d}, l={order}, m=r=2, k={k + 1}"
            identities.append(
                Identity(f"{label}: F = ||w|| (rho' wbar + wbar')", inst.norms[k].symbol * (rho_dot * x + x_dot), spec_flow_w(inst, k), tuple(inst.norms))
            )
            identities.append(Identity(f"{label}: wbar . wbar' = 0", sp.Matrix([(x.T * x_dot)[0, 0]]), sp.Matrix([0]), tuple(inst.norms)))
    steps = [
        r"\frac{dL}{dt} = \sum_k \nabla_{w_k} L \cdot F_k,\quad F_k = l\|w_k\|R(\bar w_k^{\otimes(l-1)},I) - (l-2)\|w_k\|R(\bar w_k^{\otimes l})\bar w_k - \lambda w_k",
        r"\nabla_{w_k}L \text{ from the dense loss};\ \ \frac{dL}{dt} + \sum_k\|F_k\|^2 = 0 \text{ exactly}",
        r"F_k = \|w_k\|(\dot\rho_k \bar w_k + \dot{\bar w}_k),\ \bar w_k\perp\dot{\bar w}_k \Rightarrow "
        r"\frac{dL}{dt} = -\sum_k c_k\big(\dot\rho_k^2 + \|\dot{\bar w}_k\|^2\big)",
        r"\text{checked exactly: } dL/dt \text{ for } d=2,\ l\in\{3,4\},\ m=r=2;\ \text{polar form for } d\in\{2,3\},\ l\in\{3,4\}",
    ]
    # The whole claim (dL/dt and the polar form) was checked at d = 2 only: that is what it covers.

    def code_check(rng: random.Random) -> bool:
        # dL/dt by a complex-step derivative of the kernels' loss along the kernels' flow (exact to
        # rounding, no truncation error), against -||flow_w||^2 and the (rho, wbar) form from flow().
        ok = True
        for d, order in C9_POLAR_SHAPES:
            inst = instance(d, 2, 2, order)
            values = unit_ground_truth(inst, sample_values(instance_symbols(inst), rng))
            A = kernel_inputs(inst, values)
            lam = A["lam"]
            F = kernels.flow_w(A["X"], A["norms"], A["a"], A["U"], order, lam)
            d_rho, d_X = kernels.flow(A["X"], A["c"], A["a"], A["U"], order, lam)

            def loss(W: np.ndarray) -> complex:
                c = (W**2).sum(axis=0)  # analytic continuation of ||w||^2 (no conjugate)
                model, cross, target = kernels.loss_terms(W / np.sqrt(c), c, A["a"].astype(complex), A["U"].astype(complex), order)
                return 0.5 * (model - 2 * cross + target) + 0.5 * lam * c.sum()

            h = 1e-30
            dLdt = loss(A["W"] + 1j * h * F).imag / h
            dissipation = -(F**2).sum()
            polar = -(A["c"] * (d_rho**2 + (d_X**2).sum(axis=0))).sum()
            ok &= close(np.array(dLdt), np.array(dissipation))
            ok &= close(np.array(polar), np.array(dissipation))
        return ok

    return Derivation(identities, steps, {"pairs": [(d, order) for d, order, _ in C9_SHAPES]}, code_check)


C9 = Claim(
    "C9",
    "Energy dissipation along the flow",
    r"\frac{dL}{dt} = -\|\nabla L\|_F^2 = -\sum_k \|w_k\|^2\Big(\dot\rho_k^2 + \|\dot{\bar w}_k\|^2\Big)",
    _build_c9,
)

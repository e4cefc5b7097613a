"""C12: the time-rescaling symmetry, *found* from the homogeneity of the three parts of the flow.

Write ``F = F_target + F_model + F_reg`` (the terms carrying ``a``, ``c`` and ``lambda``). Try
``V(t) = s^alpha W(s^beta t)`` for the parameters ``(s a, s lambda)``: each part must scale like
``V' = s^(alpha + beta) W'``. The degrees of the parts in ``W`` give linear equations for
``alpha, beta``; sympy solves them and then checks the symmetry exactly.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import sympy as sp

from solver import kernels

from ._core import Claim, Derivation, Identity, close, is_zero, sample_values, tex
from ._model import gram_s, gram_V, instance, instance_symbols, kernel_inputs, spec_flow_w, unit_ground_truth

DIMS = (2, 3)
ORDERS = (3, 4)


def _parts(inst, k: int) -> dict[str, sp.Matrix]:
    """The flow of component ``k`` split into the terms carrying ``a``, ``c`` and ``lambda``."""
    l, n, x = inst.order, inst.norms[k].symbol, inst.xbar[k]
    full = l * n * gram_V(inst, k) - (l - 2) * n * gram_s(inst, k) * x
    target = l * n * sum((aj * x.dot(uj) ** (l - 1) * uj for aj, uj in zip(inst.a, inst.U)), sp.zeros(inst.d, 1)) - (l - 2) * n * sum(
        aj * x.dot(uj) ** l for aj, uj in zip(inst.a, inst.U)
    ) * x
    return {"target": target, "model": full - target, "reg": -inst.lam * inst.W[k]}


def _scale_state(expr: sp.Matrix, inst, t: sp.Expr) -> sp.Matrix:
    sub = {}
    for w, n in zip(inst.W, inst.norms):
        sub.update({wi: t * wi for wi in w})
        sub[n.symbol] = t * n.symbol  # ||t w|| = t ||w|| for t > 0
    return expr.xreplace(sub)


def _degree(part: sp.Matrix, inst, t: sp.Symbol) -> sp.Expr:
    """The ``k`` with ``part(tW) = t^k part(W)``, read off the ratio of a nonzero entry (then verified)."""
    ratio = sp.simplify(_scale_state(part, inst, t)[0] / part[0])
    k = sp.Poly(ratio, t).degree() if ratio.is_polynomial(t) else None
    if k is None or not all(is_zero(e, inst.norms) for e in _scale_state(part, inst, t) - t**k * part):
        raise ArithmeticError("flow part is not homogeneous in W")
    return sp.Integer(k)


def _build_c12(mutant: str | None) -> Derivation:
    alpha, beta = sp.symbols("alpha beta")
    s, t = sp.symbols("s t", positive=True)
    inst = instance(2, 2, 2, 3)
    parts = _parts(inst, 0)
    extra = [("parts add up to the flow", all(is_zero(e, inst.norms) for e in sum(parts.values(), sp.zeros(2, 1)) - spec_flow_w(inst, 0)))]
    degrees = {name: _degree(p, inst, t) for name, p in parts.items()}
    # Parameters scale as s^1 (a and lambda enter linearly); the state as s^alpha; time as s^beta.
    equations = [
        sp.Eq(1 + degrees["target"] * alpha, alpha + beta),
        sp.Eq(degrees["model"] * alpha, alpha + beta),
        sp.Eq(1 + degrees["reg"] * alpha, alpha + beta),
    ]
    solution = sp.solve(equations, [alpha, beta], dict=True)
    extra.append(("unique exponents alpha = 1/2, beta = 1", solution == [{alpha: sp.Rational(1, 2), beta: 1}]))
    found_alpha, found_beta = (solution[0][alpha], solution[0][beta]) if solution else (sp.Rational(1, 2), sp.Integer(1))
    identities = []
    for d, order in itertools.product(DIMS, ORDERS):
        inst = instance(d, 2, 2, order)
        for k in range(1):  # component 2: the same identity with the labels swapped
            F = spec_flow_w(inst, k)
            scaled = _scale_state(F, inst, s**found_alpha).xreplace({**{aj: s * aj for aj in inst.a}, inst.lam: s * inst.lam})
            identities.append(
                Identity(f"d={d}, l={order}, m=r=2: F(s^alpha W; s a, s lambda) = s^(alpha+beta) F(W; a, lambda)", s ** (found_alpha + found_beta) * F, scaled, tuple(inst.norms))
            )
    steps = [
        r"F = \underbrace{l\|w\|\textstyle\sum_j a_j H^{l-1}u_j - (l-2)\|w\|(\sum_j a_j H^l)\bar w}_{\text{degree } "
        + tex(degrees["target"]) + r"\text{ in } W,\ \propto a}"
        r" + \underbrace{\cdots c_i\cdots}_{\text{degree } " + tex(degrees["model"]) + r"} + \underbrace{-\lambda w}_{\text{degree } "
        + tex(degrees["reg"]) + r",\ \propto\lambda}",
        r"V(t) = s^{\alpha} W(s^{\beta} t),\ (a,\lambda)\to(sa, s\lambda):\ " + r",\quad ".join(tex(e) for e in equations),
        r"\Rightarrow " + r",\ ".join(f"{tex(k)} = {tex(v)}" for sol in solution for k, v in sol.items())
        + r":\quad V(t) = \sqrt{s}\,W(st) \text{ solves the flow for } (sa, s\lambda)",
        r"F(\sqrt{s}W; sa, s\lambda) = s^{3/2}F(W; a,\lambda) \text{ exactly for } d\in\{2,3\},\ l\in\{3,4\},\ m=r=2",
    ]

    def code_check(rng: random.Random) -> bool:
        ok = True
        for d, order in itertools.product(DIMS, ORDERS):
            inst = instance(d, 2, 2, order)
            A = kernel_inputs(inst, unit_ground_truth(inst, sample_values(instance_symbols(inst), rng)))
            sc = rng.uniform(0.1, 10.0)
            base = kernels.flow_w(A["X"], A["norms"], A["a"], A["U"], order, A["lam"])
            scaled = kernels.flow_w(A["X"], np.sqrt(sc) * A["norms"], sc * A["a"], A["U"], order, sc * A["lam"])
            ok &= close(scaled, sc**1.5 * base)
            d_rho, d_X = kernels.flow(A["X"], A["c"], A["a"], A["U"], order, A["lam"])
            d_rho_s, d_X_s = kernels.flow(A["X"], sc * A["c"], sc * A["a"], A["U"], order, sc * A["lam"])
            ok &= close(d_rho_s, sc * d_rho) and close(d_X_s, sc * d_X)  # (rho, xbar) speeds scale by s
        return ok

    return Derivation(identities, steps, {"d": list(DIMS), "l": list(ORDERS)}, code_check, extra)


C12 = Claim(
    "C12",
    "Time-rescaling symmetry",
    r"W(t) \text{ solves the flow for } (a,\lambda)\ \Longrightarrow\ \sqrt{s}\,W(st) \text{ solves it for } (s\,a,\ s\,\lambda),\ s>0",
    _build_c12,
)

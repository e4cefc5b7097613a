"""C10 (one fitted component) and C11 (a fitted cluster of two): equilibria and linearizations.

Everything is derived from the dense loss: ``F = -grad L`` (C3's starting point), its equilibria, and
the Jacobian ``dF/dW`` at them (the chain rule ``d||w||/dw = w/||w||`` again). Instances use
``u_1 = e_1`` (the flow is equivariant under rotations, so this loses no generality); the code checks
use a random unit ``u_1``. Eigenvalues are compared through characteristic polynomials, which is exact.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import sympy as sp

from solver import kernels

from ._core import Claim, Derivation, Identity, grad, is_zero, tex, vec
from ._model import dense_loss, instance

DIMS = (2, 3)
ORDERS = (3, 4)


def _jacobian(F: list[sp.Matrix], inst) -> sp.Matrix:
    """``dF/dW`` with rows ``[F_1; ..; F_m]`` and columns ``[w_1; ..; w_m]``."""
    blocks = []
    for Fk in F:
        row = []
        for wj in inst.W:
            cols = [grad(Fk[i], wj, inst.norms).T for i in range(inst.d)]
            row.append(sp.Matrix.vstack(*cols))
        blocks.append(row)
    return sp.Matrix(sp.BlockMatrix(blocks))


def _at(expr: sp.Matrix, inst, columns: list[sp.Expr], a_value: sp.Expr) -> sp.Matrix:
    """Evaluate at ``w_k = sqrt(c_k) e_1`` (so ``||w_k|| = sqrt(c_k)``) and ``a_1 = a_value``."""
    sub = {inst.a[0]: a_value}
    for w, n, ck in zip(inst.W, inst.norms, columns):
        sub.update({wi: (sp.sqrt(ck) if i == 0 else 0) for i, wi in enumerate(w)})
        sub[n.symbol] = sp.sqrt(ck)
    return expr.xreplace(sub).applyfunc(sp.simplify)


def _complex_step_jacobian(W: np.ndarray, a: np.ndarray, U: np.ndarray, order: int, lam: float) -> np.ndarray:
    """Jacobian of ``kernels.flow_w`` by complex steps (no truncation error; exact to rounding)."""
    d, m = W.shape
    h = 1e-30
    J = np.empty((d * m, d * m))
    for col in range(d * m):
        Wc = W.astype(complex)
        Wc[col % d, col // d] += 1j * h  # state [w_1; w_2; ...]: entry col is w_{col//d}[col % d]
        norms = np.sqrt((Wc**2).sum(axis=0))  # analytic continuation of ||w||
        F = kernels.flow_w(Wc / norms, norms, a.astype(complex), U.astype(complex), order, lam)
        J[:, col] = (F.imag / h).T.reshape(-1)
    return J


def _spectra_agree(numeric: np.ndarray, expected: list[float]) -> bool:
    """Sorted real spectra agree to 1e-12 relative to the spectral radius (zero modes included)."""
    numeric = np.sort(np.real_if_close(numeric).real)
    expected_arr = np.sort(np.array(expected, dtype=np.float64))
    scale = max(float(np.max(np.abs(expected_arr))), 1e-300)
    return numeric.shape == expected_arr.shape and bool(np.max(np.abs(numeric - expected_arr)) <= 1e-12 * scale)


def _flow_jacobian_agrees(W: np.ndarray, a: np.ndarray, U: np.ndarray, order: int, lam: float, expected: list[float]) -> bool:
    """``solver.jacobian.flow_jacobian`` in the (rho, xhat) layout: same spectrum plus one zero per
    component (the field depends on ``xhat = x/||x||``, so the normal direction of each ``x`` is neutral;
    at an equilibrium the Jacobians of the two coordinate systems are similar)."""
    from solver.jacobian import flow_jacobian

    norms = np.linalg.norm(W, axis=0)
    J = flow_jacobian(W / norms, np.log(norms), a, U, order, lam)
    return _spectra_agree(np.linalg.eigvals(J), expected + [0.0] * W.shape[1])


def _random_unit(d: int, rng: random.Random) -> np.ndarray:
    u = np.array([rng.uniform(-1, 1) for _ in range(d)])
    return u / np.linalg.norm(u)


# ---------------------------------------------------------------------------------------------- C10


def _build_c10(mutant: str | None) -> Derivation:
    identities = []
    extra = []
    steps = []
    lam = sp.Symbol("lambda", positive=True)
    c = sp.Symbol("c", positive=True)
    z = sp.Symbol("z")
    for d in DIMS:
        for order in ORDERS:
            inst = instance(d, 1, 1, order, identity_basis=True)
            lam = inst.lam
            a = inst.a[0]
            # Equilibria on the sphere from the polar laws (C4, C5): tangential l P(x) V(x) = 0, |x| = 1.
            x = vec("x", d)
            cc = sp.Symbol("c_eq")
            e1 = sp.Matrix([1] + [0] * (d - 1))
            V = a * x[0] ** (order - 1) * e1 - cc * x
            tangential = order * (sp.eye(d) - x * x.T) * V
            sols = sp.solve(list(tangential) + [(x.T * x)[0, 0] - 1], list(x), dict=True)
            fitted = []
            for sol in sols:
                c_eq = sp.simplify(a * sol.get(x[0], x[0]) ** order - lam / 2)  # radial law: 2(a x_1^l - c) = lambda
                if sol.get(x[0], x[0]) != 0 and all(sol.get(xi, xi).is_number for xi in x):
                    fitted.append((tuple(sol[xi] for xi in x), c_eq))
            positive = [(p, ce) for p, ce in fitted if sp.simplify(ce.xreplace({a: 1, lam: sp.Rational(1, 2)})) > 0]
            expected_dirs = {(1,) + (0,) * (d - 1)} | ({(-1,) + (0,) * (d - 1)} if order % 2 == 0 else set())
            extra.append((f"d={d}, l={order}: fitted equilibria are x = e_1 (and -e_1 for even l)", {p for p, _ in positive} == expected_dirs))
            extra.append((f"d={d}, l={order}: every fitted equilibrium has c = a - lambda/2", all(is_zero(ce - (a - lam / 2)) for _, ce in positive)))
            # Linearization of the dense -grad L at w* = sqrt(c) e_1 with a = c + lambda/2.
            F = [-grad(dense_loss(inst), inst.W[0], inst.norms)]
            a_eq = c + lam / 2
            identities.append(Identity(f"d={d}, l={order}: F(w*) = 0", sp.zeros(d, 1), _at(F[0], inst, [c], a_eq)))
            J = _at(_jacobian(F, inst), inst, [c], a_eq)
            claimed = sp.expand((z + 4 * (a_eq - lam / 2)) * (z + order * a_eq) ** (d - 1))
            identities.append(Identity(f"d={d}, l={order}: char. polynomial of dF/dw at w*", sp.Matrix([claimed]), sp.Matrix([sp.expand((z * sp.eye(d) - J).det())])))
            if d == 2 and order == 4:
                steps += [
                    r"\text{equilibria on the sphere } (d=2,\ l=4):\ l(I-xx^\top)(a x_1^{l-1}e_1 - c x) = 0,\ \|x\|=1 \Rightarrow x \in "
                    + r"\{" + r",\ ".join(tex(sp.Matrix([sol[xi] for xi in x]).T) for sol in sols if all(xi in sol for xi in x)) + r"\}",
                    r"\text{radial law } 2(a x_1^l - c) - \lambda = 0:\ x=\pm e_1 \Rightarrow c = a - \lambda/2 > 0;\ "
                    r"x_1 = 0 \Rightarrow c = -\lambda/2 \le 0\ (\text{no fitted equilibrium})",
                    r"w^* = \sqrt{a-\lambda/2}\,e_1,\quad \frac{\partial F}{\partial w}\Big|_{w^*} = " + tex(J.xreplace({c: a - lam / 2})),
                    r"\text{eigenvalues } " + r",\ ".join(
                        tex(sp.factor(k.xreplace({c: a - lam / 2}))) + rf"\ (\times {v})" for k, v in J.eigenvals().items()),
                ]
    steps += [
        r"\text{radial } -4(a-\lambda/2) \text{ (independent of } l),\ \text{tangential } -l\,a \text{ with multiplicity } d-1;"
        r"\ \text{checked for } d\in\{2,3\},\ l\in\{3,4\}",
    ]

    def code_check(rng: random.Random) -> bool:
        ok = True
        for d, order in itertools.product(DIMS, ORDERS):
            a_val, lam_val = rng.uniform(0.5, 2.0), rng.uniform(0.0, 0.5)
            u = _random_unit(d, rng)
            W = (np.sqrt(a_val - lam_val / 2) * u)[:, None]
            A, U = np.array([a_val]), u[:, None]
            d_rho, d_X = kernels.flow(W / np.linalg.norm(W), np.array([a_val - lam_val / 2]), A, U, order, lam_val)
            ok &= bool(np.max(np.abs(d_rho)) <= 1e-12 * a_val and np.max(np.abs(d_X)) <= 1e-12 * a_val)  # an equilibrium
            J = _complex_step_jacobian(W, A, U, order, lam_val)
            ok &= bool(np.max(np.abs(J - J.T)) <= 1e-12 * np.max(np.abs(J)))  # -Hessian: symmetric
            expected = [-4 * (a_val - lam_val / 2)] + [-order * a_val] * (d - 1)
            ok &= _spectra_agree(np.linalg.eigvalsh((J + J.T) / 2), expected)
            ok &= _flow_jacobian_agrees(W, A, U, order, lam_val, expected)
        return ok

    return Derivation(identities, steps, {"d": list(DIMS), "l": list(ORDERS)}, code_check, extra)


C10 = Claim(
    "C10",
    "One fitted component: equilibrium and linearization",
    r"m=r=1:\ \text{fitted equilibrium } w^* = \sqrt{a - \lambda/2}\,u\ (\|w\|^2 = a - \lambda/2);\quad"
    r"\operatorname{spec}\frac{\partial F}{\partial w}\Big|_{w^*} = \{-4(a - \lambda/2)\} \cup \{-l\,a\}^{d-1}",
    _build_c10,
)


# ---------------------------------------------------------------------------------------------- C11


C11_SHAPES = [(2, 3), (2, 4), (3, 3)]  # (3, 4) costs sympy minutes; the all-d proof covers it


def _build_c11(mutant: str | None) -> Derivation:
    identities = []
    extra = []
    steps = []
    c1, c2 = sp.symbols("c1 c2", positive=True)
    z = sp.Symbol("z")
    for d, order in C11_SHAPES:
        inst = instance(d, 2, 1, order, identity_basis=True)
        lam, a = inst.lam, inst.a[0]
        L = dense_loss(inst)
        F = [-grad(L, w, inst.norms) for w in inst.W]
        # Cluster on e_1: w_k = sqrt(c_k) e_1. Solve F = 0 for a: one relation, c_1 + c_2 = a - lambda/2.
        F_cluster = _at(sp.Matrix.vstack(*F), inst, [c1, c2], a)
        a_sol = sp.solve(F_cluster[0], a)
        extra.append((f"d={d}, l={order}: cluster equilibrium iff a = c1 + c2 + lambda/2", len(a_sol) == 1 and is_zero(a_sol[0] - (c1 + c2 + lam / 2))))
        a_eq = c1 + c2 + lam / 2
        identities.append(Identity(f"d={d}, l={order}: F = 0 on the whole family", sp.zeros(2 * d, 1), F_cluster.xreplace({a: a_eq}).applyfunc(sp.simplify)))
        J = _at(_jacobian(F, inst), inst, [c1, c2], a_eq)
        # Coordinate blocks: entries (i, d + i) of both components; everything across blocks vanishes.
        blocks = []
        for i in range(d):
            idx = [i, d + i]
            blocks.append(J.extract(idx, idx))
            others = [j for j in range(2 * d) if j not in idx]
            extra.append((f"d={d}, l={order}: coordinate {i + 1} decouples", all(J[p, q] == 0 for p in idx for q in others)))
        radial = blocks[0]
        identities.append(
            Identity(f"d={d}, l={order}: radial block, eigenvalues 0 and -4(a - lambda/2)", sp.Matrix([sp.expand(z * (z + 4 * (a_eq - lam / 2)))]), sp.Matrix([sp.expand((z * sp.eye(2) - radial).det())]))
        )
        D = sp.diag(sp.sqrt(c1), sp.sqrt(c2))  # w-perturbation = ||w_k|| * direction perturbation delta_k
        M = -order * sp.Matrix([[c1 + lam / 2, c2], [c1, c2 + lam / 2]])
        for i, B in enumerate(blocks[1:], start=2):
            delta = (D.inv() * B * D).applyfunc(sp.simplify)
            identities.append(Identity(f"d={d}, l={order}: tangential block {i} in delta coordinates", M, delta))
            identities.append(
                Identity(f"d={d}, l={order}: tangential block {i}, eigenvalues -l a and -l lambda/2", sp.Matrix([sp.expand((z + order * a_eq) * (z + order * lam / 2))]), sp.Matrix([sp.expand((z * sp.eye(2) - B).det())]))
            )
        merging, corot = sp.Matrix([c2, -c1]), sp.Matrix([1, 1])
        identities.append(Identity(f"d={d}, l={order}: merging mode c1 d1 + c2 d2 = 0 decays at -l lambda/2", -order * lam / 2 * merging, M * merging))
        identities.append(Identity(f"d={d}, l={order}: co-rotation decays at -l a", -order * a_eq * corot, M * corot))
        if d == 2 and order == 4:
            steps += [
                r"w_k = \sqrt{c_k}\,e_1:\ F = 0 \iff a = " + tex(a_sol[0]) + r"\ \text{(a one-parameter family: every split is stationary)}",
                r"\text{radial block } " + tex(radial) + r",\ \text{eigenvalues } "
                + r",\ ".join(tex(sp.factor(k)) + rf"\ (\times {v})" for k, v in radial.eigenvals().items()),
                r"\text{tangential block in } \delta_k \text{ (direction perturbations): } " + tex(M)
                + r" = -l\begin{pmatrix} c_1+\lambda/2 & c_2\\ c_1 & c_2+\lambda/2\end{pmatrix}",
                r"\text{co-rotation } \delta_1=\delta_2:\ -l\,a;\quad \text{merging } c_1\delta_1 + c_2\delta_2 = 0:\ -l\lambda/2\ "
                r"(\text{neutral at } \lambda = 0)",
            ]
    steps.append(r"\text{checked for } (d,l)\in\{(2,3),(2,4),(3,3)\},\ m=2,\ r=1")

    def code_check(rng: random.Random) -> bool:
        ok = True
        for d, order in itertools.product(DIMS, ORDERS):
            cs = np.array([rng.uniform(0.2, 1.0), rng.uniform(0.2, 1.0)])
            lam_val = rng.uniform(0.05, 0.5)
            a_val = cs.sum() + lam_val / 2
            u = _random_unit(d, rng)
            W = u[:, None] * np.sqrt(cs)[None, :]
            A, U = np.array([a_val]), u[:, None]
            J = _complex_step_jacobian(W, A, U, order, lam_val)
            ok &= bool(np.max(np.abs(J - J.T)) <= 1e-12 * np.max(np.abs(J)))
            expected = [0.0, -4 * cs.sum()] + [-order * a_val, -order * lam_val / 2] * (d - 1)
            ok &= _spectra_agree(np.linalg.eigvalsh((J + J.T) / 2), expected)
            ok &= _flow_jacobian_agrees(W, A, U, order, lam_val, expected)
        return ok

    return Derivation(identities, steps, {"pairs": C11_SHAPES}, code_check, extra)


C11 = Claim(
    "C11",
    "A fitted cluster of two components: linearized rates",
    r"w_k = \sqrt{c_k}\,u,\ c_1+c_2 = a-\lambda/2,\quad \frac{d}{dt}\begin{pmatrix}\delta_1\\ \delta_2\end{pmatrix} = "
    r"-l\begin{pmatrix} c_1+\lambda/2 & c_2\\ c_1 & c_2+\lambda/2\end{pmatrix}\begin{pmatrix}\delta_1\\ \delta_2\end{pmatrix},\quad"
    r"\text{co-rotation } -l\,a,\ \text{merging } (c_1\delta_1 + c_2\delta_2 = 0)\ -l\lambda/2,\quad \text{radial } \{0, -4(a-\lambda/2)\}",
    _build_c11,
)

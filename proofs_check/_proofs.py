"""Proofs for every dimension ``d`` (and the symbolic order ``l``) of C1–C14, in the Gram calculus.

Each ``prove_cN(mutant)`` returns a :class:`Proof`: the identities sympy decided (each must be exactly
zero in independent inner-product symbols, see :mod:`proofs_check._gram_calculus`), the reader's steps,
the scope, and the lemmas the reduction rests on (:data:`LEMMAS`). A named mutant changes the claimed side
exactly as it does in the instance checks, so a wrong law is not proven either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ._gram_calculus import L, Gram, Tensor, Vec, is_zero_vec, simplify_zero, term_count, vsum

LEMMAS: dict[str, str] = {
    "gram-chain-rule": (
        "For f a differentiable function of the inner products ⟨vᵢ, vⱼ⟩ of the named vectors "
        "(each one variable, symmetric in its two vectors), the gradient of f in wₖ is "
        "∑ⱼ (1 + δₖⱼ) ∂f/∂⟨wₖ, vⱼ⟩ vⱼ (the chain rule); with "
        "⟨wₖ, wₖ⟩ = ‖wₖ‖² the diagonal term is "
        "(∂f/∂‖wₖ‖) wₖ/‖wₖ‖. Equal coefficients in the spanning set "
        "{wᵢ, uⱼ} give equal vectors in every ℝ^d (substitution into an identity of independent "
        "symbols; the converse is not used)."
    ),
    "power-span": (
        "Every symmetric order-l tensor on ℝ^d is a finite linear combination of powers v^{⊗l} "
        "(polarization). A statement linear in a general symmetric R therefore holds for every R once it holds "
        "for R = v^{⊗l}."
    ),
    "pair-terms": (
        "L, T, R and the flow of component k are sums of terms that each involve wₖ, at most one other "
        "component wᵢ and at most one ground-truth direction uⱼ, with coefficients cᵢ, aⱼ; an "
        "instance with m = r = 2 and independent symbols contains every kind of term, so an identity linear in "
        "these terms holds for every m and r."
    ),
    "invariant-blocks": (
        "A linear map that maps span(u) to itself and acts on every unit z ⟂ u by the same 2×2 (or "
        "1×1) block has as spectrum the block on span(u) and the block on u^⟂, the latter with "
        "multiplicity d − 1."
    ),
    "scalar-linear-ode": (
        "A scalar linear ODE D′ = g(t) D with g continuous keeps the sign of D: D(t) = D(0) "
        "exp(∫₀^t g). (Also: q′ = g(t)(1 − q) keeps q = 1.)"
    ),
}


@dataclass
class Proof:
    """The outcome of one symbolic proof."""

    checks: list[tuple[str, bool]]
    steps: list[str]
    scope: dict
    lemmas: tuple[str, ...] = ()
    details: list[tuple[str, str]] = field(default_factory=list)  # (label, full form), both LaTeX
    note: str = ""
    rests_on: tuple[str, ...] = ()  # other claims the proof uses (a ledger inherits their weakest status)

    @property
    def proven(self) -> bool:
        return bool(self.checks) and all(ok for _, ok in self.checks)


ALL_L = {"d": "all", "l": "l>=3"}


# ---------------------------------------------------------------------------------------------- model


@dataclass
class Model:
    g: Gram
    w: list[Vec]
    names: list[str]
    n: list[sp.Symbol]
    a: list[sp.Symbol]
    u: list[Vec]
    lam: sp.Symbol

    @property
    def xbar(self) -> list[Vec]:
        return [w / n for w, n in zip(self.w, self.n)]

    def target(self) -> Tensor:
        return Tensor([(aj, uj) for aj, uj in zip(self.a, self.u)])

    def fitted(self, c: list[sp.Expr] | None = None) -> Tensor:
        """``T = sum_i c_i wbar_i^{(x)l}`` (``c_i = n_i^2`` unless given)."""
        c = [ni**2 for ni in self.n] if c is None else c
        return Tensor([(ci, x) for ci, x in zip(c, self.xbar)])

    def residual(self, c: list[sp.Expr] | None = None) -> Tensor:
        return self.target() - self.fitted(c)

    def loss(self) -> sp.Expr:
        """``1/2 ||T - T*||_F^2 + lambda/2 sum ||w_k||^2`` with ``T = sum_k w_k^{(x)l} / ||w_k||^{l-2}`` (C1)."""
        model = Tensor([(ni ** (2 - L), wi) for ni, wi in zip(self.n, self.w)])
        diff = model - self.target()
        return diff.inner(self.g, diff) / 2 + self.lam / 2 * sp.Add(*[ni**2 for ni in self.n])

    def flow(self, k: int, radial_const: sp.Expr = L - 2, lam_factor: sp.Expr = 1, norm_power: int = 1) -> Vec:
        """SPEC's ``l ||w|| R(wbar^{l-1}, I) - (l-2) ||w|| R(wbar^l) wbar - lambda w`` for component ``k``."""
        R, x, n = self.residual(), self.xbar[k], self.n[k]
        return (R.partial(self.g, x) * (L * n**norm_power) - x * (radial_const * n**norm_power * R.full(self.g, x))
                - self.w[k] * (lam_factor * self.lam))


def model(m: int, r: int, orthonormal: bool = False) -> Model:
    g = Gram()
    n = [sp.Symbol(rf"\|w_{{{k + 1}}}\|", positive=True) for k in range(m)]
    names = [f"w_{{{k + 1}}}" for k in range(m)]
    w = [g.vector(name, norm=nk) for name, nk in zip(names, n)]
    u = [g.vector(f"u_{{{j + 1}}}", unit=True) for j in range(r)]
    if orthonormal:
        for i in range(r):
            for j in range(i + 1, r):
                g.fix(f"u_{{{i + 1}}}", f"u_{{{j + 1}}}", 0)
    a = [sp.Symbol(f"a_{j + 1}", positive=True) for j in range(r)]
    return Model(g, w, names, n, a, u, sp.Symbol("lambda", positive=True))


def tex(expr) -> str:
    """LaTeX with matrices as ``pmatrix`` (stretched delimiters in MathML)."""
    return sp.latex(expr, mat_str="pmatrix", mat_delim="")


def _vec_tex(v: Vec) -> str:
    return " + ".join(rf"\left({tex(sp.factor(c))}\right) {p}" for p, c in v.items() if c != 0) or "0"


def _summary(label: str, expr_or_vec) -> tuple[str, str]:
    """A one-line summary ("expands to 0 (N terms)") and the full form for the collapsible details."""
    if isinstance(expr_or_vec, Vec):
        terms = sum(term_count(c) for c in expr_or_vec.values())
        return rf"{label}\ ({terms}\ \text{{terms}})", _vec_tex(expr_or_vec)
    return rf"{label}\ ({term_count(expr_or_vec)}\ \text{{terms}})", tex(expr_or_vec)


# ---------------------------------------------------------------------------------------------- C1


def prove_c1(mutant: str | None = None) -> Proof:
    d = sp.Symbol("d", integer=True, positive=True)
    i = sp.Symbol("i", integer=True, positive=True)
    u, v = sp.IndexedBase("u"), sp.IndexedBase("v")
    S = sp.Symbol("S_{l-1}")  # the (l-1)-fold sum: it does not depend on the last index
    p = sp.Sum(u[i] * v[i], (i, 1, d))
    step = sp.Sum(S * u[i] * v[i], (i, 1, d))  # sum over i_l of S_{l-1} u_{i_l} v_{i_l}
    checks = [
        ("induction step: sum_{i_l} S_{l-1} u_{i_l} v_{i_l} = S_{l-1} (u.v)", sp.simplify(step - S * p) == 0),
        ("partial contraction: sum_{i_l} S_{l-1} v_{i_l} x_{i_l} = S_{l-1} (v.x), free index p untouched",
         sp.simplify(sp.Sum(S * v[i] * sp.IndexedBase("x")[i], (i, 1, d)) - S * sp.Sum(v[i] * sp.IndexedBase("x")[i], (i, 1, d))) == 0),
    ]
    steps = [
        r"S_l := \sum_{i_1,\dots,i_l=1}^{d}\prod_{t=1}^{l} u_{i_t}v_{i_t}\ \text{(symbolic } d\text{)},\qquad S_1 = u\cdot v",
        r"S_l = \sum_{i_l=1}^{d} S_{l-1}\,u_{i_l}v_{i_l} = S_{l-1}\sum_{i=1}^{d}u_i v_i = S_{l-1}\,(u\cdot v)"
        r"\ \ (\text{sympy: the difference is } 0)\ \Rightarrow\ S_l = (u\cdot v)^l",
        r"\text{contraction: } v^{\otimes l}(x^{\otimes(l-1)}, I)_p = v_p \sum_{i_1..i_{l-1}}\prod_t v_{i_t}x_{i_t} = (v\cdot x)^{l-1} v_p"
        r"\ \text{(same step)}",
    ]
    return Proof(checks, steps, {"d": "all", "l": "all"}, ())


# ---------------------------------------------------------------------------------------------- C2


def prove_c2(mutant: str | None = None) -> Proof:
    g = Gram()
    n = sp.Symbol(r"\|w\|", positive=True)
    w = g.vector("w", norm=n)
    v = g.vector("v")
    R = Tensor([(sp.Integer(1), v)])  # R = v^{(x)l}; power-span extends to every symmetric R
    f = R.full(g, w) / n ** (L - 2)
    derived = g.grad(f, "w")
    x = w / n
    const = {"radial constant l-1": L - 1}.get(mutant, L - 2)
    power = 2 if mutant == "norm power 2" else 1
    radial = Vec() if mutant == "dropped radial term" else x * (const * n**power * R.full(g, x))
    claimed = R.partial(g, x) * (L * n**power) - radial
    diff = claimed - derived
    checks = [("coefficients of v and w agree (symbolic l)", is_zero_vec(diff))]
    steps = [
        r"R = v^{\otimes l}\ (\text{power-span}),\ f(w) = \frac{R(w^{\otimes l})}{\|w\|^{l-2}} = \frac{\langle v,w\rangle^{l}}{\|w\|^{l-2}}"
        r"\ (\text{C1}),\ \ \|w\|^2 = \langle w,w\rangle",
        r"\nabla_w f = \frac{\partial f}{\partial\langle v,w\rangle}\,v + \frac{1}{\|w\|}\frac{\partial f}{\partial\|w\|}\,w = "
        + _vec_tex(derived),
        r"\text{claimed } l\|w\|R(\bar w^{\otimes(l-1)},I) - (l-2)\|w\|R(\bar w^{\otimes l})\bar w \text{ has the same coefficients on } v, w"
        r"\ (\text{symbolic } l):\ \text{true in every } \mathbb{R}^d",
    ]
    return Proof(checks, steps, ALL_L, ("gram-chain-rule", "power-span"))


# ---------------------------------------------------------------------------------------------- C3 / C13


def prove_c3(mutant: str | None = None) -> Proof:
    M = model(2, 2)
    Lf = M.loss()
    checks, details = [], []
    for k in range(2):
        if mutant == "lambda/2":
            claimed = M.flow(k, lam_factor=sp.Rational(1, 2))
        elif mutant == "radial constant l":
            claimed = M.flow(k, radial_const=L)
        elif mutant == "dropped norm factor":
            claimed = M.flow(k, norm_power=0)
        else:
            claimed = M.flow(k)
        derived = -M.g.grad(Lf, M.names[k])
        checks.append((f"-grad_(w_{k + 1}) L = F_{k + 1} in the span of w_1, w_2, u_1, u_2", is_zero_vec(claimed - derived)))
        if k == 0:
            details.append(_summary(r"-\nabla_{w_1}L", derived))
    steps = [
        r"L = \tfrac12\Big\|\sum_k \frac{w_k^{\otimes l}}{\|w_k\|^{l-2}} - \sum_j a_j u_j^{\otimes l}\Big\|_F^2 + \tfrac\lambda2\sum_k\|w_k\|^2"
        r" = \tfrac12\sum_{k,i}\frac{\langle w_k,w_i\rangle^l}{\|w_k\|^{l-2}\|w_i\|^{l-2}} - \sum_{k,j}a_j\frac{\langle w_k,u_j\rangle^l}{\|w_k\|^{l-2}}"
        r" + \dots\ (\text{C1})",
        r"-\nabla_{w_k}L = -\sum_{q\ne k}\frac{\partial L}{\partial\langle w_k,v_q\rangle}v_q - \frac{1}{\|w_k\|}\frac{\partial L}{\partial\|w_k\|}w_k"
        r"\ \ (m = r = 2,\ \text{symbolic } l;\ \text{full form below})",
        r"\text{coefficients on } w_1, w_2, u_1, u_2 \text{ equal those of } l\|w_k\|R(\bar w_k^{\otimes(l-1)},I) - (l-2)\|w_k\|R(\bar w_k^{\otimes l})\bar w_k"
        r" - \lambda w_k\ (k = 1, 2)",
    ]
    return Proof(checks, steps, ALL_L, ("gram-chain-rule", "pair-terms"), details)


def prove_c13(mutant: str | None = None) -> Proof:
    M = model(2, 2)
    g, x = M.g, M.xbar
    c = [n**2 for n in M.n]
    R = M.residual()
    checks = []
    for k in range(2):
        V = vsum(M.u[j] * (M.a[j] * g.dot(x[k], M.u[j]) ** (L - 1)) for j in range(2)) - vsum(
            x[i] * (c[i] * g.dot(x[k], x[i]) ** (L - 1)) for i in range(2))
        s = sp.Add(*[M.a[j] * g.dot(x[k], M.u[j]) ** L for j in range(2)]) - sp.Add(*[c[i] * g.dot(x[k], x[i]) ** L for i in range(2)])
        checks.append((f"R(wbar_{k + 1}^(l-1), I) in Gram form", is_zero_vec(R.partial(g, x[k]) - V)))
        checks.append((f"R(wbar_{k + 1}^l) in Gram form", simplify_zero(R.full(g, x[k]) - s)))
    Gm = sp.Matrix(2, 2, lambda i, k: g.dot(x[i], x[k]) ** L)
    Hm = sp.Matrix(2, 2, lambda i, j: g.dot(x[i], M.u[j]) ** L)
    Km = sp.Matrix(2, 2, lambda i, j: g.dot(M.u[i], M.u[j]) ** L)
    cv, av = sp.Matrix(c), sp.Matrix(M.a)
    gram = (cv.T * Gm * cv - 2 * cv.T * Hm * av + av.T * Km * av)[0, 0]
    checks.append(("||T - T*||_F^2 = c'G^l c - 2c'H^l a + a'K^l a", simplify_zero(R.inner(g, R) - gram)))
    for j in range(2):
        claimed = sp.Add(*[M.a[i] * g.dot(M.u[i], M.u[j]) ** L for i in range(2)]) - sp.Add(*[c[k] * g.dot(x[k], M.u[j]) ** L for k in range(2)])
        checks.append((f"(T* - T)(u_{j + 1}^l)", simplify_zero(R.full(g, M.u[j]) - claimed)))
    steps = [
        r"R = \sum_j a_j u_j^{\otimes l} - \sum_i c_i\bar w_i^{\otimes l}:\ \text{contract term by term with C1 } "
        r"(v^{\otimes l}(x^{\otimes(l-1)},I) = (v\cdot x)^{l-1}v,\ \langle v^{\otimes l},y^{\otimes l}\rangle = (v\cdot y)^l)",
        r"\text{bilinearity: } \|R\|_F^2 = \sum_{s,t}\beta_s\beta_t(v_s\cdot v_t)^l = c^\top G^{\circ l}c - 2c^\top H^{\circ l}a + a^\top K^{\circ l}a",
        r"\text{coefficients agree in independent } \langle \bar w_i, u_j\rangle,\dots\ (m = r = 2,\ \text{symbolic } l,\ u_j \text{ not orthogonal})",
    ]
    return Proof(checks, steps, {"d": "all", "l": "all"}, ("pair-terms",))


# ---------------------------------------------------------------------------------------------- C4 / C5 / C8


def _general_flow():
    """One component ``w`` and ``R = v^{(x)l}`` (power-span): the C3 flow for that ``R``."""
    g = Gram()
    n = sp.Symbol(r"\|w\|", positive=True)
    w = g.vector("w", norm=n)
    v = g.vector("v")
    lam = sp.Symbol("lambda", positive=True)
    R = Tensor([(sp.Integer(1), v)])
    x = w / n
    w_dot = R.partial(g, x) * (L * n) - x * ((L - 2) * n * R.full(g, x)) - w * lam
    return g, n, w, v, lam, R, x, w_dot


def prove_c4(mutant: str | None = None) -> Proof:
    g, n, w, v, lam, R, x, w_dot = _general_flow()
    derived = g.dot(w, w_dot) / n**2  # d log||w|| / dt = w.w' / ||w||^2
    const = L if mutant == "constant l" else 2
    lam_term = lam / 2 if mutant == "lambda/2" else lam
    claimed = const * R.full(g, x) - lam_term
    if mutant == "norm factor":
        claimed = claimed * n
    checks = [("d log||w||/dt = 2 R(wbar^l) - lambda (symbolic l)", simplify_zero(claimed - derived))]
    steps = [
        r"\frac{d\log\|w\|}{dt} = \frac{\langle w,\dot w\rangle}{\|w\|^2},\ \ \dot w = l\|w\|R(\bar w^{\otimes(l-1)},I) - (l-2)\|w\|R(\bar w^{\otimes l})\bar w - \lambda w"
        r",\ R = v^{\otimes l}",
        r"\frac{\langle w,\dot w\rangle}{\|w\|^2} = " + tex(sp.simplify(derived)) + r" = 2R(\bar w^{\otimes l}) - \lambda"
        r"\quad(\text{symbolic } l,\ \text{every } d)",
    ]
    return Proof(checks, steps, ALL_L, ("gram-chain-rule", "power-span"))


def prove_c5(mutant: str | None = None) -> Proof:
    g, n, w, v, lam, R, x, w_dot = _general_flow()
    x_dot = w_dot / n - w * (g.dot(w, w_dot) / n**3)
    Vv = R.partial(g, x)
    const = L - 1 if mutant == "constant l-1" else L
    proj = Vv if mutant == "dropped projection" else Vv - x * g.dot(x, Vv)
    checks = [("wbar' = l (I - wbar wbar') R(wbar^(l-1), I)", is_zero_vec(proj * const - x_dot))]
    # Unnormalized T = sum w^l: w' = grad_w R(w^l) (R frozen) - lambda w.
    gu = Gram()
    nu = sp.Symbol(r"\|w\|", positive=True)
    wu = gu.vector("w", norm=nu)
    vu = gu.vector("v")
    Ru = Tensor([(sp.Integer(1), vu)])
    wu_dot = gu.grad(Ru.full(gu, wu), "w") - wu * lam
    xu = wu / nu
    xu_dot = wu_dot / nu - wu * (gu.dot(wu, wu_dot) / nu**3)
    power = L - 1 if mutant == "contrast power l-1" else L - 2
    Vu = Ru.partial(gu, xu)
    checks.append(("unnormalized: wbar' = l ||w||^(l-2) (I - wbar wbar') R(wbar^(l-1), I)",
                   is_zero_vec((Vu - xu * gu.dot(xu, Vu)) * (L * nu**power) - xu_dot)))
    # Own norm on the Gram form: m = r = 2, R = T* - T with c_1, c_2 free.
    M = model(2, 2)
    c1, c2 = sp.symbols("c_1 c_2", positive=True)
    x1 = M.xbar[0]
    Rg = M.residual([c1, c2])
    V1 = Rg.partial(M.g, x1)
    speed = (V1 - x1 * M.g.dot(x1, V1)) * L
    own = speed.map(lambda e: sp.diff(e, c1))
    other = speed.map(lambda e: sp.diff(e, c2))
    checks.append(("Gram form: d wbar_1'/d c_1 = 0 (own norm, symbolic l)", is_zero_vec(own)))
    checks.append(("Gram form: d wbar_1'/d c_2 != 0 (the others' norms matter)", not is_zero_vec(other)))
    steps = [
        r"\dot{\bar w} = \frac{\dot w}{\|w\|} - \frac{\langle w,\dot w\rangle}{\|w\|^3}w,\ R = v^{\otimes l}:\ \text{coefficients on } v, w "
        r"\text{ equal those of } l(I-\bar w\bar w^\top)R(\bar w^{\otimes(l-1)},I)\ (\text{symbolic } l)",
        r"R = T^* - T,\ m=r=2:\ \frac{\partial\dot{\bar w}_1}{\partial c_1} = l(I-\bar w_1\bar w_1^\top)(-\langle\bar w_1,\bar w_1\rangle^{l-1}\bar w_1) = 0,\ "
        r"\frac{\partial\dot{\bar w}_1}{\partial c_2} = -l\langle\bar w_1,\bar w_2\rangle^{l-1}(I-\bar w_1\bar w_1^\top)\bar w_2 \ne 0",
        r"T = \sum_k w_k^{\otimes l}:\ \dot w = \nabla_w R(w^{\otimes l}) - \lambda w\ \Rightarrow\ "
        r"\dot{\bar w} = l\|w\|^{l-2}(I-\bar w\bar w^\top)R(\bar w^{\otimes(l-1)},I)",
    ]
    return Proof(checks, steps, ALL_L, ("gram-chain-rule", "power-span", "pair-terms"))


def prove_c8(mutant: str | None = None) -> Proof:
    g = Gram()
    x = g.vector("x")
    V = g.vector("V")
    h = sp.Symbol("h", positive=True)
    q = g.G("x", "x")
    x_dot = (V - x * g.dot(x, V)) * L
    c1 = simplify_zero(2 * g.dot(x, x_dot) - 2 * L * g.dot(x, V) * (1 - q))
    step = x + x_dot * h
    drift = g.dot(step, step) - 1
    c2 = simplify_zero((drift - h**2 * g.dot(x_dot, x_dot)).subs(q, 1))
    steps = [
        r"\dot x = l(I-xx^\top)V\ (\text{any } V,\ \text{any } l):\ \frac{d}{dt}\|x\|^2 = 2\langle x,\dot x\rangle = 2l\langle x,V\rangle(1-\|x\|^2)",
        r"q = \|x\|^2 \text{ solves } \dot q = g(t)(1-q):\ q \equiv 1 \text{ is invariant (scalar-linear-ode)}",
        r"\text{Euler: } \|x+h\dot x\|^2 - 1 = h^2\|\dot x\|^2 \text{ on } \|x\| = 1",
    ]
    return Proof([("d|x|^2/dt = 2l (x.V)(1 - |x|^2)", c1), ("Euler drift = h^2 |x'|^2", c2)], steps,
                 {"d": "all", "l": "all"}, ("scalar-linear-ode",))


# ---------------------------------------------------------------------------------------------- C6


def prove_c6(mutant: str | None = None) -> Proof:
    M = model(2, 2)
    g = M.g
    t = sp.Symbol("t", positive=True)
    x1 = M.xbar[0]
    R = M.residual([t**2 * n**2 for n in M.n])  # W -> tW: directions fixed, c_i -> t^2 c_i
    V = R.partial(g, x1)
    speed = (V - x1 * g.dot(x1, V)) * L
    limit = speed.map(lambda e: sp.expand(e).subs(t, 0))
    # (I - xx^T) grad_x T*(x^l) at x = wbar_1: gradient by the chain rule through <x, u_j>.
    gx = Gram()
    nx = sp.Symbol(r"\|x\|", positive=True)
    xv = gx.vector("x", norm=nx)
    u = [gx.vector(f"u_{{{j + 1}}}", unit=True) for j in range(2)]
    power = L - 1 if mutant == "power l-1" else L
    f = sp.Add(*[aj * gx.dot(xv, uj) ** power for aj, uj in zip(M.a, u)])
    grad = gx.grad(f, "x")
    riem = grad if mutant == "dropped projection" else grad - xv * gx.dot(xv, grad)
    if mutant == "factor l":
        riem = riem * L
    # Map x -> wbar_1 (unit): <x, u_j> -> <wbar_1, u_j>, ||x|| -> 1.
    sub = {gx.G("x", f"u_{{{j + 1}}}"): g.dot(x1, M.u[j]) for j in range(2)}
    sub[nx] = 1
    claimed = riem.subs(sub).rebase({"x": x1})
    checks = [("lim_(t->0) wbar_1'(tW) = (I - xx') grad T*(x^l) at x = wbar_1 (symbolic l)", is_zero_vec(claimed - limit))]
    steps = [
        r"\dot{\bar w}_1 = l(I-\bar w_1\bar w_1^\top)\Big(\sum_j a_j\langle\bar w_1,u_j\rangle^{l-1}u_j - \sum_i c_i\langle\bar w_1,\bar w_i\rangle^{l-1}\bar w_i\Big)"
        r"\ (\text{C5, C13})",
        r"W\to tW:\ c_i \to t^2c_i \text{ (the speed is linear in } c\text{)};\ t\to0 \text{ leaves } "
        r"l(I-\bar w_1\bar w_1^\top)\sum_j a_j\langle\bar w_1,u_j\rangle^{l-1}u_j",
        r"\nabla_x\sum_j a_j\langle x,u_j\rangle^l = \sum_j l\,a_j\langle x,u_j\rangle^{l-1}u_j\ (\text{Gram chain rule});"
        r"\ \text{projected at } x=\bar w_1 \text{: the same coefficients, factor exactly } 1",
    ]
    return Proof(checks, steps, ALL_L, ("gram-chain-rule", "pair-terms", "power-span"))


# ---------------------------------------------------------------------------------------------- C7 / C14


def _orthonormal_coordinates():
    """Symbolic ``r``: ``x_j = <wbar, u_j>`` with ``<u_i, u_j> = delta_ij``, ``T = 0``, C6's law."""
    r = sp.Symbol("r", integer=True, positive=True)
    i, j, k = sp.symbols("i j k", integer=True, positive=True)
    a, x = sp.IndexedBase("a", positive=True), sp.IndexedBase("x")
    f = sp.Sum(a[i] * x[i] ** L, (i, 1, r))

    def u_dot_u(i_, j_):
        return sp.KroneckerDelta(i_, j_)

    # wbar' = l (V - wbar <wbar, V>), V = sum_i a_i x_i^{l-1} u_i; <V, u_j> = sum_i a_i x_i^{l-1} delta_ij.
    V_uj = sp.Sum(a[i] * x[i] ** (L - 1) * u_dot_u(i, j), (i, 1, r))
    wbar_V = sp.Sum(a[i] * x[i] ** (L - 1) * x[i], (i, 1, r))
    x_dot_j = L * (V_uj - x[j] * wbar_V)
    return r, i, j, k, a, x, f, x_dot_j


def _in_range(expr: sp.Expr) -> sp.Expr:
    """Evaluate sums of Kronecker deltas for an index inside ``1..r`` (the Piecewise's first branch)."""
    expr = expr.doit()
    return expr.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0][0])


def prove_c7(mutant: str | None = None) -> Proof:
    r, i, j, k, a, x, f, x_dot_j = _orthonormal_coordinates()
    derived = _in_range(x_dot_j)
    power = L - 1 if mutant == "power l-1" else L - 2
    claimed = L * x[j] * (a[j] * x[j] ** power - f)
    if mutant == "dropped projection":
        claimed = L * a[j] * x[j] ** (L - 1)
    c1 = simplify_zero((claimed - derived).doit())
    const = L if mutant == "log-ratio constant l" else 2 * L
    ratio = 2 * claimed / x[j] - 2 * claimed.xreplace({j: k}) / x[k]
    c2 = simplify_zero(sp.expand(ratio - const * (a[j] * x[j] ** (L - 2) - a[k] * x[k] ** (L - 2))).doit())
    steps = [
        r"u_1..u_r \text{ orthonormal } (\langle u_i,u_j\rangle = \delta_{ij}),\ x_j = \langle\bar w,u_j\rangle,\ T=0:\ "
        r"\dot{\bar w} = l\Big(V - \bar w\langle\bar w,V\rangle\Big),\ V = \sum_{i=1}^{r}a_i x_i^{l-1}u_i\ (\text{C6})",
        r"\dot x_j = \langle\dot{\bar w},u_j\rangle = l\Big(\sum_{i=1}^{r}a_i x_i^{l-1}\delta_{ij} - x_j\sum_{i=1}^{r}a_i x_i^{l}\Big)"
        r" = l\,x_j\Big(a_j x_j^{l-2} - \sum_{i=1}^{r} a_i x_i^l\Big)\ \ (\text{symbolic } r, l;\ \text{IndexedBase sums})",
        r"\frac{d}{dt}\log\frac{x_j^2}{x_k^2} = 2\frac{\dot x_j}{x_j} - 2\frac{\dot x_k}{x_k} = 2l\big(a_j x_j^{l-2} - a_k x_k^{l-2}\big)"
        r"\ (x_j, x_k \ne 0)",
    ]
    return Proof([("x_j' = l x_j (a_j x_j^(l-2) - f)", c1), ("d/dt log(x_j^2/x_k^2)", c2)], steps, ALL_L, ())


def prove_c14(mutant: str | None = None) -> Proof:
    r, i, j, k, a, x, f, x_dot_j = _orthonormal_coordinates()
    xdot = _in_range(x_dot_j)
    y = a[j] * x[j] ** (L - 2)
    y_dot = sp.diff(y, x[j]) * xdot  # y_j depends on x_j only
    const = L * (L - 1) if mutant == "constant l(l-1)" else L * (L - 2)
    claimed = const * y * (y - f)
    c1 = simplify_zero(sp.expand(claimed - y_dot).doit())
    yk = y.xreplace({j: k})
    fk = f
    D_dot = const * y * (y - f) - const * yk * (yk - fk)
    c2 = simplify_zero(sp.expand(D_dot - const * (y - yk) * (y + yk - f)))
    steps = [
        r"y_j = a_j x_j^{l-2}:\ \dot y_j = (l-2)a_j x_j^{l-3}\dot x_j = (l-2)a_j x_j^{l-3}\cdot l x_j\big(a_j x_j^{l-2} - f\big)\ (\text{C7})",
        r"\dot y_j = l(l-2)\,y_j\,(y_j - f),\ \ f = \sum_{i=1}^{r}a_i x_i^l\ (\text{one } f \text{ for every } j;\ \text{symbolic } r, l)",
        r"D = y_j - y_k:\ \dot D = l(l-2)\,(y_j + y_k - f)\,D\ \Rightarrow\ \operatorname{sign}D(t) = \operatorname{sign}D(0)"
        r"\ (\text{scalar-linear-ode}):\ \text{the order of the } y_j \text{ never changes}",
        r"j^* = \operatorname{argmax}_j a_j\langle\bar w(0),u_j\rangle^{l-2}:\ \frac{d}{dt}\log\frac{x_{j^*}^2}{x_k^2} = 2l(y_{j^*} - y_k) > 0"
        r"\ (\text{C7}):\ \text{every other coordinate shrinks relative to } x_{j^*}",
    ]
    return Proof([("y_j' = l (l-2) y_j (y_j - f)", c1), ("(y_j - y_k)' = l(l-2)(y_j + y_k - f)(y_j - y_k)", c2)], steps,
                 ALL_L, ("scalar-linear-ode",),
                 note="y_j' requires x_j != 0 only through x_j^(l-3) (l = 3: none); the order law holds for T = 0 exactly")


# ---------------------------------------------------------------------------------------------- C9


def prove_c9(mutant: str | None = None) -> Proof:
    M = model(2, 2)
    Lf = M.loss()
    F = {name: M.flow(k) for k, name in enumerate(M.names)}
    dLdt = M.g.deriv(Lf, F)  # the chain rule through every Gram entry that moves
    energy = sp.Add(*[M.g.dot(Fk, Fk) for Fk in F.values()])
    c1 = simplify_zero(dLdt + energy)
    checks = [("dL/dt + sum_k ||F_k||^2 = 0 (m = r = 2, symbolic l)", c1)]
    # Polar form: F_k = ||w_k|| (rho' wbar + wbar'), wbar . wbar' = 0.
    for k in range(1):
        x = M.xbar[k]
        R = M.residual()
        s = R.full(M.g, x)
        rho = 2 * s - M.lam
        V = R.partial(M.g, x)
        x_dot = (V - x * s) * L
        checks.append(("F_1 = ||w_1|| (rho_1' wbar_1 + wbar_1')", is_zero_vec((x * rho + x_dot) * M.n[k] - F[M.names[k]])))
        checks.append(("wbar_1 . wbar_1' = 0", simplify_zero(M.g.dot(x, x_dot))))
    steps = [
        r"\frac{dL}{dt} = \sum_{p\le q}\frac{\partial L}{\partial\langle v_p,v_q\rangle}\frac{d\langle v_p,v_q\rangle}{dt},\ "
        r"\frac{d\langle w_k,v_q\rangle}{dt} = \langle F_k,v_q\rangle + \langle w_k,\dot v_q\rangle\ (\text{Gram chain rule, } m=r=2)",
        r"\frac{dL}{dt} + \sum_k\|F_k\|^2 \text{ expands to } 0\ (\text{symbolic } l;\ \text{every } d)",
        r"F_k = \|w_k\|(\dot\rho_k\bar w_k + \dot{\bar w}_k),\ \bar w_k\perp\dot{\bar w}_k\ \Rightarrow\ \frac{dL}{dt} = -\sum_k\|w_k\|^2(\dot\rho_k^2 + \|\dot{\bar w}_k\|^2)",
        r"\text{every } m, r:\ \frac{dL}{dt} = \langle\nabla L,\dot W\rangle \text{ and } \dot W = -\nabla L \text{ (C3, every } m, r)",
    ]
    return Proof(checks, steps, ALL_L, ("gram-chain-rule", "pair-terms"), [_summary(r"\frac{dL}{dt}", dLdt)])


# ---------------------------------------------------------------------------------------------- C10 / C11


def _linearized(m: int, c: list[sp.Expr], a_eq: sp.Expr, tangential: bool):
    """``J z`` per component at the cluster ``w_k = sqrt(c_k) u`` for perturbations ``z_k = alpha_k z``.

    ``tangential``: ``z`` a unit vector orthogonal to ``u``; otherwise ``z = u`` (radial).
    Returns the block ``B`` with ``(J (alpha_k z))_k = (B alpha)_k z`` and the residual off-``z`` parts.
    """
    M = model(m, 1)
    g = M.g
    Lf = M.loss()
    F = [-g.grad(Lf, name) for name in M.names]
    z = g.vector("z", unit=True)
    alpha = sp.symbols(f"alpha_1:{m + 1}")
    vel = {name: z * al for name, al in zip(M.names, alpha)}
    u = "u_{1}"
    J = [g.deriv_vec(Fk, vel) for Fk in F]
    # Equilibrium: w_k = sqrt(c_k) u (so ||w_k|| = sqrt(c_k)), a = a_eq; z orthogonal to u or z = u.
    sub = {M.a[0]: a_eq}
    for name, nk, ck in zip(M.names, M.n, c):
        sub[nk] = sp.sqrt(ck)
        sub[g.G(name, u)] = sp.sqrt(ck)
        sub[g.G(name, "z")] = 0 if tangential else sp.sqrt(ck)
    for p in range(m):
        for q in range(p + 1, m):
            sub[g.G(M.names[p], M.names[q])] = sp.sqrt(c[p] * c[q])
    sub[g.G(u, "z")] = 0 if tangential else 1
    uvec = Vec({u: sp.Integer(1)})
    basis = {name: uvec * sp.sqrt(ck) for name, ck in zip(M.names, c)}
    if not tangential:
        basis["z"] = uvec
    Jz = [Jk.subs(sub).rebase(basis).map(sp.simplify) for Jk in J]
    Fz = [Fk.subs(sub).rebase(basis).map(sp.simplify) for Fk in F]
    key = "z" if tangential else u
    B = sp.Matrix(m, m, lambda p, q: sp.diff(Jz[p].get(key, 0), alpha[q]))
    off = [Vec({p: cf for p, cf in Jk.items() if p != key}) for Jk in Jz]
    return B.applyfunc(sp.simplify), off, Fz, M


def prove_c10(mutant: str | None = None) -> Proof:
    c = sp.Symbol("c", positive=True)
    lam = sp.Symbol("lambda", positive=True)
    a_eq = c + lam / 2
    checks = []
    Bt, off_t, Fz, _ = _linearized(1, [c], a_eq, tangential=True)
    Br, off_r, _, _ = _linearized(1, [c], a_eq, tangential=False)
    checks.append(("F(w*) = 0 at w* = sqrt(c) u, a = c + lambda/2", all(is_zero_vec(F) for F in Fz)))
    checks.append(("J z = -l a z for every unit z orthogonal to u (symbolic l)", simplify_zero(Bt[0, 0] + L * a_eq) and all(is_zero_vec(o) for o in off_t)))
    checks.append(("J u = -4 (a - lambda/2) u (independent of l)", simplify_zero(Br[0, 0] + 4 * (a_eq - lam / 2)) and all(is_zero_vec(o) for o in off_r)))
    # Equilibria on the sphere for m = r = 1: tangential speed l a h^{l-1} (u - h wbar), |.|^2 = l^2 a^2 h^{2l-2} (1 - h^2).
    g = Gram()
    xw = g.vector("x", unit=True)
    uu = g.vector("u", unit=True)
    a, cc = sp.Symbol("a", positive=True), sp.Symbol("c", positive=True)
    h = g.G("u", "x")
    R = Tensor([(a, uu), (-cc, xw)])
    V = R.partial(g, xw)
    speed = (V - xw * g.dot(xw, V)) * L
    norm2 = g.dot(speed, speed)
    checks.append(("|tangential speed|^2 = l^2 a^2 h^(2l-2) (1 - h^2)", simplify_zero(norm2 - L**2 * a**2 * h ** (2 * L - 2) * (1 - h**2))))
    radial_c = sp.solve(sp.Eq(2 * (a * h**L - cc), lam), cc)
    checks.append(("radial law at h = 1: c = a - lambda/2", len(radial_c) == 1 and simplify_zero(radial_c[0].subs(h, 1) - (a - lam / 2))))
    steps = [
        r"m=r=1:\ |\dot{\bar w}|^2 = l^2a^2h^{2l-2}(1-h^2),\ h = \langle\bar w,u\rangle:\ \text{equilibria } h\in\{0,\pm1\};"
        r"\ \text{radial law } 2(a h^l - c) = \lambda \Rightarrow c = a h^l - \lambda/2",
        r"\text{fitted } (c>0):\ \bar w = u \ (\text{or } -u,\ l \text{ even}),\ \|w\|^2 = c = a - \lambda/2;\ h = 0 \text{ gives } c = -\lambda/2 \le 0",
        r"J = \frac{\partial F}{\partial w}\Big|_{w^*}:\ Jz = \frac{d}{d\varepsilon}F(w^*+\varepsilon z) \text{ by the Gram chain rule; at } w^*=\sqrt{c}\,u:",
        r"J u = " + tex(sp.factor(Br[0, 0].subs(c, sp.Symbol("a") - lam / 2))) + r"\,u,\qquad J z = "
        + tex(sp.factor(Bt[0, 0].subs(c, sp.Symbol("a") - lam / 2))) + r"\,z\ \ (z\perp u,\ \|z\|=1)",
        r"\text{eigenvalues } -4(a-\lambda/2)\ (\times 1),\ -l\,a\ (\times (d-1))\ \ (\text{invariant-blocks})",
    ]
    return Proof(checks, steps, ALL_L, ("gram-chain-rule", "invariant-blocks"))


def prove_c11(mutant: str | None = None) -> Proof:
    c1, c2 = sp.symbols("c_1 c_2", positive=True)
    lam = sp.Symbol("lambda", positive=True)
    z = sp.Symbol("z")
    a_eq = c1 + c2 + lam / 2
    Bt, off_t, Fz, _ = _linearized(2, [c1, c2], a_eq, tangential=True)
    Br, off_r, _, _ = _linearized(2, [c1, c2], a_eq, tangential=False)
    checks = [("F = 0 on the family w_k = sqrt(c_k) u, c_1 + c_2 = a - lambda/2", all(is_zero_vec(F) for F in Fz))]
    checks.append(("z orthogonal to u: J maps (alpha_1 z, alpha_2 z) into span(z)", all(is_zero_vec(o) for o in off_t)))
    checks.append(("u: J maps (alpha_1 u, alpha_2 u) into span(u)", all(is_zero_vec(o) for o in off_r)))
    D = sp.diag(sp.sqrt(c1), sp.sqrt(c2))
    Mdelta = (D.inv() * Bt * D).applyfunc(sp.simplify)
    claimed = -L * sp.Matrix([[c1 + lam / 2, c2], [c1, c2 + lam / 2]])
    checks.append(("tangential block in delta coordinates = -l [[c1 + lam/2, c2], [c1, c2 + lam/2]]",
                   all(simplify_zero(e) for e in (Mdelta - claimed))))
    checks.append(("radial block: char. polynomial z (z + 4 (a - lambda/2))",
                   simplify_zero(sp.expand((z * sp.eye(2) - Br).det() - z * (z + 4 * (a_eq - lam / 2))))))
    merging, corot = sp.Matrix([c2, -c1]), sp.Matrix([1, 1])
    checks.append(("merging mode decays at -l lambda/2", all(simplify_zero(e) for e in claimed * merging + L * lam / 2 * merging)))
    checks.append(("co-rotation decays at -l a", all(simplify_zero(e) for e in claimed * corot + L * a_eq * corot)))
    steps = [
        r"w_k = \sqrt{c_k}\,u,\ a = c_1+c_2+\lambda/2:\ F = 0 \text{ for every split (Gram form, symbolic } l)",
        r"\text{perturbations } (\alpha_1 z, \alpha_2 z),\ z\perp u:\ J \text{ keeps span}(z);\ \text{block in } \delta_k = \alpha_k/\sqrt{c_k}:\ "
        + tex(Mdelta),
        r"\text{radial } (\alpha_1 u,\alpha_2 u):\ \text{block } " + tex(Br.applyfunc(sp.factor))
        + r",\ \text{eigenvalues } 0,\ -4(a-\lambda/2)",
        r"\text{co-rotation } \delta_1=\delta_2:\ -l\,a;\quad\text{merging } c_1\delta_1+c_2\delta_2=0:\ -l\lambda/2\ (\times(d-1)\text{ each, invariant-blocks})",
    ]
    return Proof(checks, steps, ALL_L, ("gram-chain-rule", "invariant-blocks"))


# ---------------------------------------------------------------------------------------------- C12


def prove_c12(mutant: str | None = None) -> Proof:
    M = model(2, 2)
    s = sp.Symbol("s", positive=True)
    rt = sp.sqrt(s)
    checks = []
    for k in range(1):
        F = M.flow(k)
        sub = {M.lam: s * M.lam, **{aj: s * aj for aj in M.a}}
        for p, nk in zip(M.names, M.n):
            sub[nk] = rt * nk
            for j in range(2):
                sub[M.g.G(p, f"u_{{{j + 1}}}")] = rt * M.g.G(p, f"u_{{{j + 1}}}")
        sub[M.g.G(M.names[0], M.names[1])] = s * M.g.G(M.names[0], M.names[1])
        scaled = F.subs(sub).map(lambda e: e)
        scaled = Vec({p: cf * (rt if p.startswith("w") else 1) for p, cf in scaled.items()})  # basis w_k -> sqrt(s) w_k
        checks.append(("F(sqrt(s) W; s a, s lambda) = s^(3/2) F(W; a, lambda) (symbolic l)", is_zero_vec(scaled - F * s ** sp.Rational(3, 2))))
    steps = [
        r"W\to\sqrt{s}W:\ \langle w_k,w_i\rangle\to s\langle w_k,w_i\rangle,\ \langle w_k,u_j\rangle\to\sqrt{s}\langle w_k,u_j\rangle,\ "
        r"\|w_k\|\to\sqrt{s}\|w_k\|,\ w_k\to\sqrt{s}w_k;\ (a,\lambda)\to(sa,s\lambda)",
        r"F(\sqrt{s}W; sa, s\lambda) = s^{3/2}F(W; a,\lambda) \text{ coefficient by coefficient (symbolic } l)",
        r"\Rightarrow\ \frac{d}{dt}\sqrt{s}W(st) = s^{3/2}F(W(st)) = F(\sqrt{s}W(st); sa, s\lambda)",
    ]
    return Proof(checks, steps, ALL_L, ("pair-terms",))


RESTS_ON = {
    "C2": ("C1",), "C3": ("C1",), "C4": ("C1", "C3"), "C5": ("C1", "C3", "C13"), "C6": ("C5", "C13"), "C7": ("C6",),
    "C9": ("C1", "C3"), "C10": ("C1", "C4", "C5"), "C11": ("C1",), "C12": ("C13",), "C13": ("C1",), "C14": ("C7",),
}


def _with_rests_on(claim_id: str, prove):
    def run(mutant: str | None = None) -> Proof:
        proof = prove(mutant)
        proof.rests_on = RESTS_ON.get(claim_id, ())
        return proof

    run.__doc__ = prove.__doc__
    return run


PROOFS = {
    "C1": prove_c1, "C2": prove_c2, "C3": prove_c3, "C4": prove_c4, "C5": prove_c5, "C6": prove_c6, "C7": prove_c7,
    "C8": prove_c8, "C9": prove_c9, "C10": prove_c10, "C11": prove_c11, "C12": prove_c12, "C13": prove_c13,
    "C14": prove_c14,
}
PROOFS = {cid: _with_rests_on(cid, fn) for cid, fn in PROOFS.items()}

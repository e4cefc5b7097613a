"""Gram calculus: vector identities for every dimension ``d``, decided by sympy on inner products.

A *formal vector* (:class:`Vec`) is a finite linear combination ``sum_p alpha_p v_p`` of named vectors
``v_p`` (components ``w_k``, ground-truth directions ``u_j``, perturbations ``z``) whose coefficients are
sympy expressions in the inner products ``G_pq = <v_p, v_q>``. :class:`Gram` keeps one independent symbol
per unordered pair, except where a pair is fixed on purpose (``||w_k||^2 = n_k^2``; ``<u_i, u_j> = delta_ij``
for an orthonormal ground truth; the equilibria of C10/C11).

Why this proves statements for every ``d``: realize the named vectors in any ``R^d``; every inner product
then takes a value, and an identity between rational functions of *independent* symbols stays true under
any substitution. So if two formal vectors have equal coefficients (as functions of the symbols), the
realized vectors are equal in every ``R^d`` (the converse fails when the realized vectors are linearly
dependent, and is never used). Scalars the same way.

Tensors (C1, C13): a symmetric tensor is a formal sum ``sum_t beta_t v_t^{(x)l}`` (:class:`Tensor`); C1
proves ``<v^l, x^l> = (v.x)^l`` and ``v^l(x^{l-1}, I) = (v.x)^{l-1} v`` for every ``d`` and ``l``, which is
all the calculus uses. The order ``l`` is the symbol :data:`L` (a positive integer) throughout.

Derivatives: for ``f`` a function of the Gram entries, ``grad_{w_k} f = sum_j (1 + delta_kj) df/dG_kj w_j``
(the chain rule through ``G_kj = <w_k, w_j>``, lemma ``gram-chain-rule``); with ``G_kk = n_k^2`` the
diagonal term reads ``(df/dn_k / n_k) w_k``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import sympy as sp

L = sp.Symbol("l", integer=True, positive=True)


def simplify_zero(expr: sp.Expr) -> bool:
    """Exact zero test for expressions with the symbolic integer exponent ``l`` (rational otherwise)."""
    expr = sp.sympify(expr)
    if expr == 0:
        return True
    # Powers with the integer exponent l split over products (exact for integer l), then recombine.
    e = sp.expand(sp.powsimp(sp.expand_power_base(sp.expand(expr), force=True), force=True))
    if e == 0:
        return True
    num, _ = sp.fraction(sp.together(e))
    num = sp.expand(sp.powsimp(sp.expand_power_base(sp.expand(num), force=True), force=True))
    if num == 0:
        return True
    return sp.simplify(num) == 0


class Vec(dict):
    """A formal vector: ``{name: coefficient}``."""

    def __add__(self, other: "Vec") -> "Vec":
        out = Vec(self)
        for p, c in other.items():
            out[p] = out.get(p, 0) + c
        return out

    def __neg__(self) -> "Vec":
        return Vec({p: -c for p, c in self.items()})

    def __sub__(self, other: "Vec") -> "Vec":
        return self + (-other)

    def __mul__(self, s: sp.Expr) -> "Vec":
        return Vec({p: s * c for p, c in self.items()})

    __rmul__ = __mul__

    def __truediv__(self, s: sp.Expr) -> "Vec":
        return Vec({p: c / s for p, c in self.items()})

    def map(self, fn) -> "Vec":
        return Vec({p: fn(c) for p, c in self.items()})

    def subs(self, sub: Mapping) -> "Vec":
        return Vec({p: sp.sympify(c).xreplace(sub) for p, c in self.items()})

    def rebase(self, basis: Mapping[str, "Vec"]) -> "Vec":
        """Replace named vectors by formal vectors (e.g. ``w_k -> sqrt(c_k) u`` at an equilibrium)."""
        out = Vec()
        for p, c in self.items():
            out = out + (basis[p] * c if p in basis else Vec({p: c}))
        return out


def vsum(vecs: Iterable[Vec]) -> Vec:
    out = Vec()
    for v in vecs:
        out = out + v
    return out


def is_zero_vec(v: Vec) -> bool:
    """Every coefficient is identically zero (sufficient for ``v = 0`` in every ``R^d``)."""
    return all(simplify_zero(c) for c in v.values())


def term_count(expr: sp.Expr) -> int:
    e = sp.expand(expr)
    return len(e.args) if isinstance(e, sp.Add) else 1


class Gram:
    """Named vectors and their inner products (independent symbols unless fixed)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.norms: dict[str, sp.Symbol] = {}
        self.fixed: dict[tuple[str, str], sp.Expr] = {}
        self._symbols: dict[tuple[str, str], sp.Symbol] = {}

    def vector(self, name: str, norm: sp.Symbol | None = None, unit: bool = False) -> Vec:
        """Register ``name``; ``norm`` fixes ``<v, v> = norm^2``, ``unit`` fixes ``<v, v> = 1``."""
        self.names.append(name)
        if norm is not None:
            self.norms[name] = norm
            self.fixed[(name, name)] = norm**2
        elif unit:
            self.fixed[(name, name)] = sp.Integer(1)
        return Vec({name: sp.Integer(1)})

    def fix(self, p: str, q: str, value: sp.Expr) -> None:
        self.fixed[tuple(sorted((p, q)))] = sp.sympify(value)

    def G(self, p: str, q: str) -> sp.Expr:
        key = tuple(sorted((p, q)))
        if key in self.fixed:
            return self.fixed[key]
        if key not in self._symbols:
            self._symbols[key] = sp.Symbol(rf"\langle {key[0]},{key[1]}\rangle", real=True)
        return self._symbols[key]

    def symbol(self, p: str, q: str) -> sp.Symbol:
        """The independent symbol of ``<p, q>`` (created if needed); error if the pair is fixed."""
        g = self.G(p, q)
        if not isinstance(g, sp.Symbol) or (p == q and p in self.norms):
            raise KeyError(f"<{p}, {q}> is fixed")
        return g

    def dot(self, a: Vec, b: Vec) -> sp.Expr:
        return sp.Add(*[ca * cb * self.G(p, q) for p, ca in a.items() for q, cb in b.items()])

    # ---- derivatives (lemma gram-chain-rule)

    def _partials(self, f: sp.Expr, k: str) -> list[tuple[str, sp.Expr]]:
        """``(q, df/dG_kq)`` for q != k, and ``(k, df/dn_k / n_k)``: grad_k f = sum partial * v_q."""
        out = []
        for q in self.names:
            if q == k:
                continue
            key = tuple(sorted((k, q)))
            if key in self.fixed:
                continue  # a fixed pair never involves a moving vector (enforced by the callers' setups)
            out.append((q, sp.diff(f, self.G(k, q))))
        n = self.norms[k]
        out.append((k, sp.diff(f, n) / n))
        return out

    def grad(self, f: sp.Expr, k: str) -> Vec:
        """``grad_{w_k} f`` as a formal vector."""
        return Vec({q: c for q, c in self._partials(f, k) if c != 0})

    def deriv(self, f: sp.Expr, velocities: Mapping[str, Vec]) -> sp.Expr:
        """``d f / dt`` when each moving vector ``v_k`` has ``v_k' = velocities[k]`` (chain rule)."""
        return sp.Add(*[self.dot(self.grad(f, k), vk) for k, vk in velocities.items()])

    def deriv_vec(self, F: Vec, velocities: Mapping[str, Vec]) -> Vec:
        """``d F / dt`` for a formal vector: coefficients differentiate, moving basis vectors move."""
        out = Vec({p: self.deriv(c, velocities) for p, c in F.items()})
        for p, c in F.items():
            if p in velocities:
                out = out + velocities[p] * c
        return out


@dataclass
class Tensor:
    """``sum_t beta_t v_t^{(x)l}`` (rank-one powers of formal vectors)."""

    terms: list[tuple[sp.Expr, Vec]]

    def __sub__(self, other: "Tensor") -> "Tensor":
        return Tensor(self.terms + [(-b, v) for b, v in other.terms])

    def full(self, g: Gram, x: Vec, order: sp.Expr = L) -> sp.Expr:
        """``T(x^{(x)l}) = sum_t beta_t (v_t . x)^l`` (C1)."""
        return sp.Add(*[b * g.dot(v, x) ** order for b, v in self.terms])

    def partial(self, g: Gram, x: Vec, order: sp.Expr = L) -> Vec:
        """``T(x^{(x)(l-1)}, I) = sum_t beta_t (v_t . x)^{l-1} v_t`` (C1)."""
        return vsum(v * (b * g.dot(v, x) ** (order - 1)) for b, v in self.terms)

    def inner(self, g: Gram, other: "Tensor", order: sp.Expr = L) -> sp.Expr:
        """``<T, S>_F = sum_{t,s} beta_t gamma_s (v_t . y_s)^l`` (C1, bilinearity)."""
        return sp.Add(*[b * c * g.dot(v, y) ** order for b, v in self.terms for c, y in other.terms])

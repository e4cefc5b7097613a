"""The machinery shared by every claim: identities, the instance checks, and the result record.

:func:`run_claim` first runs the claim's proof for every ``d`` (:mod:`proofs_check._proofs`), then the
instance checks below; the result's ``status`` is ``proven`` (proof and instances hold), ``verified``
(instances only) or ``fail``.

A claim (SPEC section 3, C1–C13) is data: an id, a title, a LaTeX statement, and a ``build`` function
that *derives* the claim's content with sympy and returns a :class:`Derivation` — a list of
:class:`Identity` objects (``claimed`` versus ``derived``, each an explicit small instance), the LaTeX
steps a reader wants to see, and an optional code cross-check against :mod:`solver.kernels`.

Three independent instance checks:

- symbolic: ``claimed - derived`` reduces to exactly zero (:func:`is_zero`);
- mpmath: the two sides agree to ``1e-40`` (relative, norm-wise) at random points at 50 digits, so that
  a simplification bug cannot pass silently;
- code: the float64 kernels agree with the derived expression to ``1e-12`` (relative, norm-wise) at
  the same kind of random points.

Norms. Claims about ``||w||`` keep a symbol ``n`` for ``||w|| = sqrt(w.w)`` and differentiate with the
chain rule ``d n / d w = w / n`` (:func:`grad`), so every expression stays rational in ``(w, n)``;
:func:`is_zero` reduces the numerator modulo ``n^2 - w.w``. A polynomial of degree <= 1 in each ``n_k``
with coefficients in ``Q[w, ...]`` vanishes identically only if every coefficient does (``sqrt(w.w)``
is not rational), so the test is exact in both directions.

Nothing is cached between runs: every call of :func:`run_claim` re-derives and re-evaluates the code.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import mpmath
import numpy as np
import sympy as sp

MP_DIGITS = 50
MP_TOL = mpmath.mpf("1e-40")
CODE_RTOL = 1e-12


@dataclass(frozen=True)
class Norm:
    """A norm symbol ``n = sqrt(sum w_i^2)`` standing for the Euclidean norm of the vector ``w``."""

    symbol: sp.Symbol
    vector: tuple[sp.Symbol, ...]

    @property
    def square(self) -> sp.Expr:
        return sp.Add(*[wi**2 for wi in self.vector])


@dataclass
class Identity:
    """``claimed == derived`` for one explicit instance (label says which d, l, m, r).

    ``claimed`` and ``derived`` are sympy matrices (scalars are 1x1). ``norms`` lists the norm symbols
    the expressions use (their values at a sample point are computed from their vectors); symbols declared
    positive (coefficients, squared norms, lambda) are sampled positive.
    """

    label: str
    claimed: sp.Matrix
    derived: sp.Matrix
    norms: tuple[Norm, ...] = ()

    def __post_init__(self) -> None:
        self.claimed = sp.Matrix(self.claimed) if not isinstance(self.claimed, sp.MatrixBase) else self.claimed
        self.derived = sp.Matrix(self.derived) if not isinstance(self.derived, sp.MatrixBase) else self.derived

    @property
    def free_symbols(self) -> list[sp.Symbol]:
        names = (self.claimed.free_symbols | self.derived.free_symbols) - {n.symbol for n in self.norms}
        for n in self.norms:
            names |= set(n.vector)
        return sorted(names, key=lambda s: s.name)


@dataclass
class Derivation:
    """What a claim's ``build`` returns: identities, LaTeX steps, coverage, optional code check."""

    identities: list[Identity]
    steps: list[str]
    covered: dict[str, list]
    code_check: Callable[[random.Random], bool] | None = None
    extra_checks: list[tuple[str, bool]] = field(default_factory=list)
    facts: dict = field(default_factory=dict)  # measured numbers a code check fills in (C14's trajectory)


@dataclass(frozen=True)
class Claim:
    """One ledger entry. ``build(mutant)`` derives it; ``mutants`` name deliberately wrong variants."""

    id: str
    title: str
    statement_tex: str
    build: Callable[[str | None], Derivation]
    mutants: tuple[str, ...] = ()
    title_tex: str = ""


STATUSES = ("proven", "verified", "fail")


def _lemma_text(name: str) -> str:
    from ._proofs import LEMMAS

    return LEMMAS[name]


@dataclass
class ClaimResult:
    """Outcome of one claim run; :meth:`to_dict` is the JSON entry of ``deflation derive``.

    ``status``: ``proven`` (the all-``d`` proof of :mod:`proofs_check._proofs` holds and every instance check
    passes; ``scope`` says for which ``d`` and ``l``), ``verified`` (instance checks only: ``scope`` lists the
    instances) or ``fail`` (an instance, 50-digit or code check failed). ``lemmas`` names the stated lemmas
    (:data:`proofs_check.LEMMAS`) the proof rests on. ``covered`` keeps the explicit instances.
    """

    id: str
    title: str
    status: str
    statement_tex: str
    steps: list[str]
    covered: dict[str, list]
    checks: dict[str, bool | None]
    seconds: float
    failures: list[str] = field(default_factory=list)
    mutant: str | None = None
    scope: dict = field(default_factory=dict)
    lemmas: tuple[str, ...] = ()
    title_tex: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)
    proof_checks: list[tuple[str, bool]] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    rests_on: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """Every check that ran holds (``proven`` or ``verified``)."""
        return self.status in ("proven", "verified")

    def to_dict(self) -> dict:
        covered = {"d": list(self.covered.get("d", [])), "l": list(self.covered.get("l", []))}
        covered["pairs"] = [list(p) for p in self.covered.get("pairs", [])]
        return {
            "id": self.id,
            "title": self.title,
            "title_tex": self.title_tex,
            "status": self.status,
            "passed": self.passed,
            "scope": dict(self.scope),
            "lemmas": list(self.lemmas),
            "lemma_statements": {name: _lemma_text(name) for name in self.lemmas},
            "rests_on": list(self.rests_on),
            "statement_tex": self.statement_tex,
            "steps": list(self.steps),
            "details": [{"label": label, "tex": tex_} for label, tex_ in self.details],
            "covered": covered,
            "checks": dict(self.checks),
            "proof_checks": [{"label": label, "ok": ok} for label, ok in self.proof_checks],
            "facts": dict(self.facts),
            "seconds": self.seconds,
        }


# ----------------------------------------------------------------------------------------------
# symbolic helpers


def vec(name: str, d: int, **assumptions: bool) -> sp.Matrix:
    """A column of ``d`` real symbols ``name_1 .. name_d``."""
    return sp.Matrix([sp.Symbol(f"{name}_{i + 1}", real=True, **assumptions) for i in range(d)])


def norm_of(w: sp.Matrix, name: str) -> Norm:
    """A positive symbol standing for ``||w||``."""
    return Norm(sp.Symbol(name, positive=True), tuple(w))


def grad(f: sp.Expr, w: sp.Matrix, norms: Sequence[Norm]) -> sp.Matrix:
    """Gradient of ``f(w, n_1, ..)`` in ``w`` with the chain rule ``d n_k/d w = w_k / n_k``.

    ``f`` is written with norm symbols instead of square roots; a norm whose vector is ``w`` contributes
    ``(df/dn) w / n``; norms of other vectors do not depend on ``w``.
    """
    out = []
    for i, wi in enumerate(w):
        term = sp.diff(f, wi)
        for n in norms:
            if wi in n.vector:
                term += sp.diff(f, n.symbol) * wi / n.symbol
        out.append(term)
    return sp.Matrix(out)


def _reduce_norms(poly: sp.Expr, norms: Sequence[Norm]) -> sp.Expr:
    """Replace ``n^2`` by ``w.w`` until every norm symbol appears at most to the first power."""
    expr = sp.expand(poly)
    for n in norms:
        if not expr.has(n.symbol):
            continue
        p = sp.Poly(expr, n.symbol)
        even = sp.Integer(0)
        odd = sp.Integer(0)
        for (k,), coeff in p.terms():
            if k % 2 == 0:
                even += coeff * n.square ** (k // 2)
            else:
                odd += coeff * n.square ** (k // 2)
        expr = sp.expand(even) + sp.expand(odd) * n.symbol
    return sp.expand(expr)


def is_zero(expr: sp.Expr, norms: Sequence[Norm] = ()) -> bool:
    """Exact zero test for an expression rational in the symbols and the norm symbols (module doc)."""
    expr = sp.sympify(expr)
    if expr == 0:
        return True
    numerator, _ = sp.fraction(sp.together(expr))
    return _reduce_norms(numerator, norms) == 0


def matrix_is_zero(m: sp.Matrix, norms: Sequence[Norm] = ()) -> bool:
    return all(is_zero(entry, norms) for entry in m)


def symmetric_tensor(name: str, d: int, order: int) -> Callable[[tuple[int, ...]], sp.Symbol]:
    """A fully general symmetric tensor: one symbol per multiset of indices, ``R[i1..il] = R_{sorted}``."""
    cache: dict[tuple[int, ...], sp.Symbol] = {}

    def entry(index: tuple[int, ...]) -> sp.Symbol:
        key = tuple(sorted(index))
        if key not in cache:
            cache[key] = sp.Symbol(f"{name}_{''.join(str(i + 1) for i in key)}", real=True)
        return cache[key]

    return entry


def contract(entry: Callable[[tuple[int, ...]], sp.Expr], d: int, order: int, x: sp.Matrix, slots: int) -> sp.Matrix:
    """``R(x^{(x)slots}, I, ...)`` for a symmetric order-``order`` tensor; ``slots`` is ``order`` or ``order-1``.

    Returns a 1x1 matrix for a full contraction and a ``d``-vector for ``order - 1`` slots.
    """
    import itertools

    free = order - slots
    outs = list(itertools.product(range(d), repeat=free))
    result = []
    for out in outs:
        total = sp.Integer(0)
        for idx in itertools.product(range(d), repeat=slots):
            coeff = sp.Integer(1)
            for i in idx:
                coeff *= x[i]
            total += coeff * entry(idx + out)
        result.append(sp.expand(total))
    return sp.Matrix(result)


def tex(expr: sp.Basic, names: dict | None = None) -> str:
    """LaTeX for the report: matrices as ``pmatrix``; ``names`` renames symbols (``n`` -> ``\\|w\\|``)."""
    return sp.latex(expr, mat_str="pmatrix", mat_delim="", symbol_names=names or {})


def norm_names(norms) -> dict:
    """``{n: \\|w\\|, n1: \\|w_1\\|, ...}``: the norm symbols as the norms they stand for."""
    out = {}
    for n in norms:
        name = n.symbol.name
        out[n.symbol] = r"\|w\|" if name == "n" else r"\|w_{" + name[1:] + r"}\|"
    return out


# ----------------------------------------------------------------------------------------------
# numeric helpers


def sample_values(symbols: Sequence[sp.Symbol], rng: random.Random) -> dict[sp.Symbol, float]:
    """Random float64 values (exactly representable, so the same point serves mpmath and numpy).

    Positive symbols (coefficients, squared norms, lambda) get values in [0.5, 2]; others in [-1, 1].
    """
    values = {}
    for s in symbols:
        values[s] = rng.uniform(0.5, 2.0) if s.is_positive else rng.uniform(-1.0, 1.0)
    return values


def mp_evaluate(m: sp.Matrix, values: dict[sp.Symbol, object], norms: Sequence[Norm] = ()) -> list:
    """Evaluate a sympy matrix at ``values`` with mpmath at the current precision; norms from their vectors."""
    point = {s: mpmath.mpf(v) for s, v in values.items()}
    for n in norms:
        point[n.symbol] = mpmath.sqrt(mpmath.fsum(point[wi] ** 2 for wi in n.vector))
    symbols = sorted(m.free_symbols, key=lambda s: s.name)
    fn = sp.lambdify(symbols, list(m), modules="mpmath")
    return list(fn(*[point[s] for s in symbols]))


def mp_agree(identity: Identity, rng: random.Random, points: int = 2) -> bool:
    """``claimed`` and ``derived`` agree to 1e-40 (relative, norm-wise) at random points, 50 digits."""
    with mpmath.workdps(MP_DIGITS):
        for _ in range(points):
            values = sample_values(identity.free_symbols, rng)
            left = mp_evaluate(identity.claimed, values, identity.norms)
            right = mp_evaluate(identity.derived, values, identity.norms)
            scale = max([mpmath.mpf(1)] + [abs(v) for v in right])
            if max(abs(x - y) for x, y in zip(left, right)) > MP_TOL * scale:
                return False
    return True


def close(code: np.ndarray, reference: np.ndarray, rtol: float = CODE_RTOL) -> bool:
    """Norm-wise relative agreement ``max|code - ref| <= rtol * max(max|ref|, tiny)``."""
    code = np.asarray(code, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if code.shape != reference.shape or not np.all(np.isfinite(code)):
        return False
    scale = max(float(np.max(np.abs(reference), initial=0.0)), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(code - reference), initial=0.0)) <= rtol * scale


def reference_values(m: sp.Matrix, values: dict[sp.Symbol, float], norms: Sequence[Norm] = ()) -> np.ndarray:
    """A sympy matrix evaluated at a float64 point at 50 digits and rounded to float64 (the code's reference)."""
    with mpmath.workdps(MP_DIGITS):
        out = mp_evaluate(m, values, norms)
    return np.array([float(v) for v in out], dtype=np.float64).reshape(m.shape)


# ----------------------------------------------------------------------------------------------
# running


def _seed(claim_id: str, mutant: str | None) -> int:
    # Deterministic per claim so failures reproduce; not a cache: every run re-evaluates everything.
    return sum(ord(ch) * 131**i for i, ch in enumerate(f"{claim_id}/{mutant}")) % (2**31)


def _pairs(covered: dict) -> list[tuple[int, int]]:
    if "pairs" in covered:
        return [tuple(p) for p in covered["pairs"]]
    ls = [v for v in covered.get("l", []) if isinstance(v, int)]
    return [(d, l) for d in covered.get("d", []) for l in ls]


def instances_tex(pairs: list[tuple[int, int]]) -> str:
    """``(d, l) in {(2,3), ...}`` as LaTeX."""
    return r"(d,l)\in\{" + ",".join(f"({d},{l})" for d, l in pairs) + r"\}"


def run_claim(claim: Claim, mutant: str | None = None, fail_fast: bool = False) -> ClaimResult:
    """Derive ``claim`` (or its named wrong ``mutant``): the all-``d`` proof, then the instance checks
    (symbolic, 50-digit mpmath, and the solver's code).

    ``fail_fast`` stops at the first failing identity (the mutation tests only need to see a failure).
    """
    from ._proofs import PROOFS

    if mutant is not None and mutant not in claim.mutants:
        raise KeyError(f"{claim.id} has no mutant {mutant!r} (has {claim.mutants})")
    start = time.perf_counter()
    rng = random.Random(_seed(claim.id, mutant))
    failures: list[str] = []
    proof = PROOFS[claim.id](mutant) if claim.id in PROOFS else None
    derivation = claim.build(mutant)
    symbolic = True
    numeric = True
    for identity in derivation.identities:
        if not matrix_is_zero(identity.claimed - identity.derived, identity.norms):
            symbolic = False
            failures.append(f"symbolic: {identity.label}")
        if not mp_agree(identity, rng):
            numeric = False
            failures.append(f"mpmath: {identity.label}")
        if fail_fast and failures:
            break
    for label, ok in derivation.extra_checks:
        if not ok:
            symbolic = False
            failures.append(f"symbolic: {label}")
    code: bool | None = None
    if derivation.code_check is not None and not (fail_fast and failures):
        code = bool(derivation.code_check(rng))
        if not code:
            failures.append("code cross-check")
    proven = proof is not None and proof.proven
    if proof is not None:
        failures += [f"proof: {label}" for label, ok in proof.checks if not ok]
    instance_ok = symbolic and numeric and code is not False
    status = "fail" if not instance_ok else ("proven" if proven else "verified")
    pairs = _pairs(derivation.covered)
    covered = {"d": sorted({d for d, _ in pairs}), "l": sorted({l for _, l in pairs}), "pairs": pairs}
    if proven:
        scope = dict(proof.scope)
    else:
        scope = {"d": covered["d"], "l": covered["l"]}
        if len(pairs) != len(covered["d"]) * len(covered["l"]):
            scope["pairs"] = [list(p) for p in pairs]
    steps = list(proof.steps) if proof is not None else []
    steps.append(r"\text{instances, exact and at 50 digits, tied to the solver's code: }" + instances_tex(pairs))
    details = list(proof.details) if proof is not None else []
    details += [(r"\text{instance step " + str(i + 1) + "}", s_) for i, s_ in enumerate(derivation.steps)]
    return ClaimResult(
        id=claim.id,
        title=claim.title,
        status=status,
        statement_tex=claim.statement_tex,
        steps=steps,
        covered=covered,
        checks={"symbolic": symbolic, "mpmath": numeric, "code": code, "proof": proven if proof is not None else None},
        seconds=round(time.perf_counter() - start, 3),
        failures=failures,
        mutant=mutant,
        scope=scope,
        lemmas=tuple(proof.lemmas) if proven else (),
        title_tex=claim.title_tex,
        details=details,
        proof_checks=list(proof.checks) if proof is not None else [],
        facts=dict(derivation.facts),
        rests_on=tuple(proof.rests_on) if proven else (),
    )

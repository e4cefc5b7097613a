"""A symbolic audit of every derivation behind the paper, tied to the solver's own code.

``CLAIMS`` is the ordered ledger C1–C14 (SPEC section 3); each :class:`Claim` is data (id, title,
LaTeX statement, a sympy derivation, named wrong ``mutants``). :func:`run_claims` runs, per claim,

- the proof for every dimension ``d`` (:mod:`proofs_check._proofs`, Gram calculus of
  :mod:`proofs_check._gram_calculus`, the order ``l`` a sympy symbol): status ``proven`` with its ``scope``;
- the instance checks (explicit coordinates at small ``d`` and ``l = 3, 4``): symbolic (claimed minus derived
  is exactly zero), mpmath (50 digits, 1e-40) and code (:mod:`solver.kernels` in float64, 1e-12 relative);
  without a proof the status is ``verified`` at those instances only.

Method (Gram calculus). Inner products among the named vectors ``{w_i, u_j}`` (and a perturbation ``z``)
are independent symbols; a vector identity is decided coefficient by coefficient in that spanning set.
Equal coefficients imply equal vectors in every ``R^d`` (substitute the realized inner products into an
identity of independent symbols); the converse is not needed and not used.

Lemmas the reductions rest on, which sympy does not carry (:data:`LEMMAS`; each result lists the ones it uses):

- ``gram-chain-rule`` — ``grad_{w_k} f = sum_j (1 + delta_kj) df/dG_kj w_j`` for ``f`` of the Gram entries
  (the chain rule); used by C2, C3, C4, C5, C6, C9, C10, C11.
- ``power-span`` — symmetric tensors are spanned by powers ``v^{(x)l}`` (polarization), so a statement linear
  in a general symmetric ``R`` needs only ``R = v^{(x)l}``; used by C2, C4, C5, C6.
- ``pair-terms`` — ``L``, ``R`` and the flow are sums of terms each involving ``w_k``, at most one other
  ``w_i`` and one ``u_j``: ``m = r = 2`` with independent symbols carries every kind, so the identities hold
  for every ``m, r``; used by C3, C5, C6, C9, C12, C13.
- ``invariant-blocks`` — a linear map acting on ``span(u)`` and, identically, on every unit ``z`` orthogonal
  to ``u`` has the union of the blocks' spectra, the second with multiplicity ``d - 1``; used by C10, C11.
- ``scalar-linear-ode`` — ``D' = g(t) D`` keeps the sign of ``D``; used by C8, C14.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from solver.errors import ValidationError

from ._core import Claim, ClaimResult, run_claim
from ._gradient import C2, C3, C9
from ._gram import C1, C13
from ._laws import C4, C5, C8
from ._order_law import C14
from ._power_method import C6, C7
from ._proofs import LEMMAS
from ._stability import C10, C11
from ._symmetry import C12

__all__ = ["CLAIMS", "LEMMAS", "Claim", "ClaimResult", "claim_by_id", "run_claim", "run_claims"]

# Titles as mathematics (the report shows these above each statement).
_TITLES_TEX = {
    "C1": r"\langle u^{\otimes l}, v^{\otimes l}\rangle = (u\cdot v)^l",
    "C2": r"\text{Gradient of } R(w^{\otimes l})/\|w\|^{l-2}",
    "C3": r"\text{The full flow } -\nabla L",
    "C4": r"\text{Radial law: } \tfrac{d}{dt}\|w\| = 2\|w\|\,R(\bar w^{\otimes l}) - \lambda\|w\|",
    "C5": r"\text{Tangential law (own norm drops out) and the unnormalized contrast}",
    "C6": r"\text{Small-norm limit} = \text{Riemannian gradient of } T^*(x^{\otimes l})",
    "C7": r"\text{Orthogonal coordinates: } \dot x_i = l\,x_i(a_i x_i^{l-2} - f)",
    "C8": r"\text{The sphere } \|\bar w\| = 1 \text{ is invariant}",
    "C9": r"\tfrac{dL}{dt} = -\|\nabla L\|_F^2",
    "C10": r"\text{One fitted component: } \|w\|^2 = a - \lambda/2 \text{ and its linearization}",
    "C11": r"\text{A fitted cluster of two: linearized rates}",
    "C12": r"\text{Time rescaling: } \sqrt{s}\,W(st) \text{ for } (sa, s\lambda)",
    "C13": r"\text{Gram identities of the residual}",
}

CLAIMS: tuple[Claim, ...] = tuple(
    dataclasses.replace(c, title_tex=_TITLES_TEX[c.id]) if c.id in _TITLES_TEX else c
    for c in (C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13, C14)
)
_BY_ID = {claim.id: claim for claim in CLAIMS}


def claim_by_id(claim_id: str) -> Claim:
    """The claim named ``claim_id`` (case-insensitive); :class:`ValidationError` for an unknown id."""
    claim = _BY_ID.get(claim_id.strip().upper())
    if claim is None:
        raise ValidationError("--claim", "one of C1..C14", claim_id)
    return claim


def run_claims(ids: Iterable[str] | None = None) -> list[ClaimResult]:
    """Run the named claims (all of ``CLAIMS`` when ``ids`` is None) in ledger order of the request."""
    claims = CLAIMS if ids is None else [claim_by_id(i) for i in ids]
    return [run_claim(claim) for claim in claims]

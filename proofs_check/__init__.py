"""A symbolic audit of every derivation behind the paper, tied to the solver's own code.

``CLAIMS`` is the ordered ledger C1–C13 (SPEC section 3); each :class:`Claim` is data (id, title,
LaTeX statement, a sympy derivation, named wrong ``mutants``). :func:`run_claims` runs the symbolic
check (claimed minus derived is exactly zero), the mpmath check (50 digits, 1e-40) and the code check
(:mod:`solver.kernels` in float64, 1e-12 relative) and returns one :class:`ClaimResult` per claim.
"""

from __future__ import annotations

from typing import Iterable

from solver.errors import ValidationError

from ._core import Claim, ClaimResult, run_claim
from ._gradient import C2, C3, C9
from ._gram import C1, C13
from ._laws import C4, C5, C8
from ._power_method import C6, C7
from ._stability import C10, C11
from ._symmetry import C12

__all__ = ["CLAIMS", "Claim", "ClaimResult", "claim_by_id", "run_claim", "run_claims"]

CLAIMS: tuple[Claim, ...] = (C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13)
_BY_ID = {claim.id: claim for claim in CLAIMS}


def claim_by_id(claim_id: str) -> Claim:
    """The claim named ``claim_id`` (case-insensitive); :class:`ValidationError` for an unknown id."""
    claim = _BY_ID.get(claim_id.strip().upper())
    if claim is None:
        raise ValidationError("--claim", "one of C1..C13", claim_id)
    return claim


def run_claims(ids: Iterable[str] | None = None) -> list[ClaimResult]:
    """Run the named claims (all of ``CLAIMS`` when ``ids`` is None) in ledger order of the request."""
    claims = CLAIMS if ids is None else [claim_by_id(i) for i in ids]
    return [run_claim(claim) for claim in claims]

"""Stage ``derivations``: the symbolic audit C1–C13 (:func:`proofs_check.run_claims`).

``results``: :class:`DerivationsResult`, the library's :class:`proofs_check.ClaimResult` records as they are
(``id, title, status ("pass"|"fail"), statement_tex, steps, covered, checks, seconds``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._types import Stage, StageContext, StageResult

if TYPE_CHECKING:
    from proofs_check import ClaimResult

NAME = "derivations"


@dataclass
class DerivationsResult:
    """The claims that ran, in ledger order."""

    claims: list["ClaimResult"] = field(default_factory=list)

    def by_id(self) -> dict[str, "ClaimResult"]:
        return {c.id: c for c in self.claims}

    def to_dict(self) -> dict:
        return {"claims": [c.to_dict() for c in self.claims]}


def run(ctx: StageContext, result: StageResult) -> None:
    import proofs_check

    ids = list(ctx.profile.claims) if ctx.profile.claims is not None else None
    ctx.progress.message(f"derivations: running {'all claims' if ids is None else ', '.join(ids)}")
    claims = []
    for claim in proofs_check.run_claims(ids=ids):
        claims.append(claim)
        ctx.progress.message(f"  {claim.id}: {claim.status} ({claim.seconds:.1f} s)")
    result.results = DerivationsResult(claims)
    if ids is not None:
        result.notes.append(f"profile {ctx.profile.name} runs only {', '.join(ids)}; the other claims stay open")


STAGE = Stage(NAME, "Derivation audit (C1–C13, sympy + mpmath + the solver's code)", run)

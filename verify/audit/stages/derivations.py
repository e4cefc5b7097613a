"""Stage ``derivations``: the symbolic audit C1–C13 (``proofs_check.run_claims``, issue 3).

``results``: ``{"claims": [ClaimResult.to_dict(), ...]}`` with the documented fields ``id, title, status
("pass"|"fail"), statement_tex, steps, covered, checks, seconds``.
"""

from __future__ import annotations

from .._types import Stage, StageContext, StageResult

NAME = "derivations"


def run(ctx: StageContext, result: StageResult) -> None:
    import proofs_check

    ids = list(ctx.profile.claims) if ctx.profile.claims is not None else None
    ctx.progress.message(f"derivations: running {'all claims' if ids is None else ', '.join(ids)}")
    claims = []
    for claim in proofs_check.run_claims(ids=ids):
        data = claim.to_dict() if hasattr(claim, "to_dict") else dict(claim)
        claims.append(data)
        ctx.progress.message(f"  {data.get('id')}: {data.get('status')} ({data.get('seconds', 0):.1f} s)")
    result.results = {"claims": claims}
    if ids is not None:
        result.notes.append(f"profile {ctx.profile.name} runs only {', '.join(ids)}; the other claims stay open")


STAGE = Stage(NAME, "Derivation audit (C1–C13, sympy + mpmath + the solver's code)", run)

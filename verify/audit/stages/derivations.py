"""Stage ``derivations``: the symbolic audit C1–C14 (:func:`proofs_check.run_claims`).

``results``: :class:`DerivationsResult`, the library's :class:`proofs_check.ClaimResult` records as they are
(``id, title, title_tex, status ("proven"|"verified"|"fail"), scope, lemmas, statement_tex, steps, details,
covered, checks, facts, seconds``), and the statements of the lemmas the proofs use.
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
    lemmas: dict[str, str] = field(default_factory=dict)

    def by_id(self) -> dict[str, "ClaimResult"]:
        return {c.id: c for c in self.claims}

    def to_dict(self) -> dict:
        return {"claims": [c.to_dict() for c in self.claims], "lemmas": dict(self.lemmas)}

    @staticmethod
    def scope_text(scope: dict) -> str:
        """``all d; l >= 3`` or ``d = 2, 3; l = 3, 4`` for a reader."""
        def part(name: str, v) -> str:
            if v == "all":
                return f"all {name}"
            if isinstance(v, str):
                return v.replace(">=", " \u2265 ")
            return f"{name} = " + ", ".join(map(str, v))

        return f"{part('d', scope.get('d', []))}; {part('l', scope.get('l', []))}"

    @staticmethod
    def checks_text(claim: "ClaimResult") -> str:
        names = {"proof": "proof", "symbolic": "exact", "mpmath": "50 digits", "code": "code"}
        ran = {k: v for k, v in claim.checks.items() if v is not None}
        if ran and all(ran.values()):
            return "all passed"
        failed = [names.get(k, k) for k, v in ran.items() if not v]
        return "failed: " + ", ".join(failed) if failed else "none ran"

    @staticmethod
    def facts_text(claim: "ClaimResult") -> str:
        f = claim.facts
        if "y_order_changes" not in f:
            return ", ".join(f"{k} = {v}" for k, v in f.items())
        return (f"{f['y_order_changes']} order changes of the y_j among {f['decided_pairs']} pair comparisons above the "
                f"noise floor (control: the x_j^2 change order {f['x2_order_changes']} times); largest norm "
                f"{f['max_norm']:.1e}; argmax_j y_j(0) is the final largest coordinate for "
                f"{100 * f['argmax_y0_is_argmax_x2_end']:.0f}% of components (argmax_j x_j(0)^2: "
                f"{100 * f['argmax_x2_0_is_argmax_x2_end']:.0f}%)")


def run(ctx: StageContext, result: StageResult) -> None:
    import proofs_check

    ids = list(ctx.profile.claims) if ctx.profile.claims is not None else None
    ctx.progress.message(f"derivations: running {'all claims' if ids is None else ', '.join(ids)}")
    claims = []
    for claim in proofs_check.run_claims(ids=ids):
        claims.append(claim)
        ctx.progress.message(f"  {claim.id}: {claim.status} ({claim.seconds:.1f} s)")
    used = sorted({name for c in claims for name in c.lemmas})
    result.results = DerivationsResult(claims, {name: proofs_check.LEMMAS[name] for name in used})
    if ids is not None:
        result.notes.append(f"profile {ctx.profile.name} runs only {', '.join(ids)}; the other claims stay open")


STAGE = Stage(NAME, "Derivation audit (C1–C14: proofs for every d, instances at 50 digits, the solver's code)", run)

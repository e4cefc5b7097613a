"""``deflation derive``: run the symbolic audit (claims C1–C14) and print a table, Markdown or JSON."""

from __future__ import annotations

import argparse
import json

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sympy loads with proofs_check: only when the command runs
    from proofs_check import ClaimResult

NAME = "derive"
HELP = ("Prove claims C1-C14 for every d with sympy (Gram calculus), and check them at instances: exactly, "
        "with mpmath and against the solver's kernels")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--claim", action="append", metavar="ID", help="claim id (C1..C14); repeat for several; default: all")
    parser.add_argument("--format", choices=("table", "md", "json"), default="table", help="output format (default: table)")


def scope_text(scope: dict) -> str:
    """``d all, l>=3`` or ``d 2,3, l 3,4`` (and the (d, l) pairs when they are not a product)."""
    def part(name: str, v) -> str:
        if v == "all":
            return f"all {name}"
        return v if isinstance(v, str) else f"{name}=" + ",".join(map(str, v))

    text = f"{part('d', scope.get('d', []))}, {part('l', scope.get('l', []))}"
    if scope.get("pairs"):
        text += " (" + " ".join(f"{d}/{l}" for d, l in scope["pairs"]) + ")"
    return text


def _instances(result: ClaimResult) -> str:
    return " ".join(f"{d}/{l}" for d, l in result.covered.get("pairs", []))


def _flag(value: bool | None) -> str:
    return "-" if value is None else ("ok" if value else "FAIL")


def format_table(results: list[ClaimResult]) -> str:
    """One line per claim: id, status, scope, lemmas, the instances (d/l), the four checks, seconds."""
    rows = [("claim", "status", "scope", "lemmas", "instances d/l", "proof", "symbolic", "mpmath", "code", "seconds")]
    for r in results:
        rows.append((r.id, r.status, scope_text(r.scope), ",".join(r.lemmas) or "-", _instances(r),
                     _flag(r.checks.get("proof")), _flag(r.checks["symbolic"]), _flag(r.checks["mpmath"]),
                     _flag(r.checks["code"]), f"{r.seconds:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    total = sum(r.seconds for r in results)
    proven = sum(r.status == "proven" for r in results)
    failed = [r for r in results if not r.passed]
    lines.append(f"{proven}/{len(results)} proven for every d, {len(results) - len(failed)}/{len(results)} pass, {total:.1f} s")
    for r in failed:
        lines.append(f"{r.id} failed: " + "; ".join(r.failures))
    return "\n".join(lines)


def format_md(results: list[ClaimResult]) -> str:
    """A section per claim: status, scope, lemmas, statement and derivation steps in $$...$$."""
    from proofs_check import LEMMAS

    out = ["# Symbolic audit (deflation derive)", ""]
    for r in results:
        checks = ", ".join(f"{k}: {_flag(v)}" for k, v in r.checks.items())
        lemmas = ", ".join(r.lemmas) or "none"
        rests = ", ".join(r.rests_on) or "none"
        out += [f"## {r.id}: {r.title}", "", f"**{r.status}** (scope {scope_text(r.scope)}; lemmas: {lemmas}; rests on: {rests}; {checks}; "
                f"instances d/l {_instances(r)}; {r.seconds:.2f} s)", ""]
        out += ["$$" + r.statement_tex + "$$", ""]
        for step in r.steps:
            out += ["$$" + step + "$$", ""]
        if r.failures:
            out += ["Failures: " + "; ".join(r.failures), ""]
    used = sorted({name for r in results for name in r.lemmas})
    if used:
        out += ["## Lemmas", ""] + [f"- **{name}**: {LEMMAS[name]}" for name in used] + [""]
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    from proofs_check import claim_by_id, run_claims

    ids = None
    if args.claim:
        ids = [claim_by_id(i).id for i in args.claim]  # unknown id: ValidationError -> one line, exit 2
    results = run_claims(ids)
    if args.format == "json":
        from proofs_check import LEMMAS

        used = sorted({name for r in results for name in r.lemmas})
        print(json.dumps({"claims": [r.to_dict() for r in results], "lemmas": {k: LEMMAS[k] for k in used}}, indent=2))
    elif args.format == "md":
        print(format_md(results))
    else:
        print(format_table(results))
    return 0 if all(r.passed for r in results) else 1

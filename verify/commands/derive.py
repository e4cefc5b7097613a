"""``deflation derive``: run the symbolic audit (claims C1–C13) and print a table, Markdown or JSON."""

from __future__ import annotations

import argparse
import json

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # sympy loads with proofs_check: only when the command runs
    from proofs_check import ClaimResult

NAME = "derive"
HELP = "Re-derive claims C1-C13 with sympy and check them symbolically, with mpmath and against the solver's kernels"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--claim", action="append", metavar="ID", help="claim id (C1..C13); repeat for several; default: all")
    parser.add_argument("--format", choices=("table", "md", "json"), default="table", help="output format (default: table)")


def _covered(result: ClaimResult) -> str:
    return "d=" + ",".join(map(str, result.covered.get("d", []))) + " l=" + ",".join(map(str, result.covered.get("l", [])))


def _flag(value: bool | None) -> str:
    return "-" if value is None else ("ok" if value else "FAIL")


def format_table(results: list[ClaimResult]) -> str:
    """One line per claim: id, status, covered dimensions/orders, the three checks, seconds."""
    rows = [("claim", "status", "covered", "symbolic", "mpmath", "code", "seconds")]
    for r in results:
        rows.append((r.id, r.status, _covered(r), _flag(r.checks["symbolic"]), _flag(r.checks["mpmath"]), _flag(r.checks["code"]), f"{r.seconds:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    total = sum(r.seconds for r in results)
    failed = [r for r in results if r.status != "pass"]
    lines.append(f"{len(results) - len(failed)}/{len(results)} pass, {total:.1f} s")
    for r in failed:
        lines.append(f"{r.id} failed: " + "; ".join(r.failures))
    return "\n".join(lines)


def format_md(results: list[ClaimResult]) -> str:
    """A section per claim: status, coverage, statement and derivation steps in $$...$$."""
    out = ["# Symbolic audit (deflation derive)", ""]
    for r in results:
        checks = ", ".join(f"{k}: {_flag(v)}" for k, v in r.checks.items())
        out += [f"## {r.id}: {r.title}", "", f"**{r.status}** ({checks}; {_covered(r)}; {r.seconds:.2f} s)", ""]
        out += ["$$" + r.statement_tex + "$$", ""]
        for step in r.steps:
            out += ["$$" + step + "$$", ""]
        if r.failures:
            out += ["Failures: " + "; ".join(r.failures), ""]
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    from proofs_check import claim_by_id, run_claims

    ids = None
    if args.claim:
        ids = [claim_by_id(i).id for i in args.claim]  # unknown id: ValidationError -> one line, exit 2
    results = run_claims(ids)
    if args.format == "json":
        print(json.dumps({"claims": [r.to_dict() for r in results]}, indent=2))
    elif args.format == "md":
        print(format_md(results))
    else:
        print(format_table(results))
    return 0 if all(r.status == "pass" for r in results) else 1

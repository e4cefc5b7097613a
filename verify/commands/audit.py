"""``deflation audit``: every claim of docs/spec.md section 3 checked and reported in one self-contained report."""

from __future__ import annotations

import argparse

from ..audit.profiles import PROFILES, get_profile
from ..outputs import add_overwrite_argument, check_out_dir

NAME = "audit"
HELP = ("Run the whole audit (derivations, Figure 1, invariants and property sweep, plain vs modified flow on the "
        "spread spectrum, float64 vs high precision, accuracy probe) and write DIR/index.html, report.json, "
        "report.md. Exit 0 when the report was written (a refuted claim is a result, not an error).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    public = [p for p in PROFILES.values() if p.name != "test"]
    parser.add_argument("--profile", default="quick", choices=tuple(PROFILES), metavar="{quick,full}",
                        help="; ".join(f"{p.name}: {p.description}" for p in public))
    parser.add_argument("--out", default="results/audit", help="output folder (default results/audit)")
    parser.add_argument("--device", default="cpu", help="device of the float64 solver runs (cpu, cuda, auto)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the spot-check: which rows of each evidence campaign are re-run (default 0; "
                             "another seed draws another random sample)")
    add_overwrite_argument(parser)
    # For the README smoke test: run only these stages (comma-separated names); the report then says the others
    # did not run. Not a user feature: a partial audit is not evidence.
    parser.add_argument("--stages", default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from solver.errors import ValidationError
    from solver.spec import Command

    from ..audit import run_audit

    from ..audit.stages import STAGES

    profile = get_profile(args.profile)
    if args.seed < 0:
        raise ValidationError("--seed", "an integer >= 0", args.seed)
    stages = STAGES
    if args.stages is not None:
        names = [n.strip() for n in args.stages.split(",") if n.strip()]
        known = [s.name for s in STAGES]
        bad = [n for n in names if n not in known]
        if not names or bad:
            raise ValidationError("--stages", f"comma-separated names among {', '.join(known)}", args.stages)
        stages = tuple(s for s in STAGES if s.name in names)
    out = check_out_dir(args.out, overwrite=args.overwrite)
    report = run_audit(profile, out, progress=not args.quiet, device=args.device, stages=stages,
                       command=Command(NAME, ["--profile", profile.name]
                                       + (["--seed", str(args.seed)] if args.seed else []), out=args.out),
                       seed=args.seed)
    width = max(len(e.id) for e in report.ledger)
    for e in report.ledger:
        print(f"{e.id:<{width}}  {e.status:<9}  {e.evidence.summary}")
    print(f"wrote {out / 'index.html'}, {out / 'report.json'}, {out / 'report.md'} ({report.wall_seconds:.0f} s)")
    return 0

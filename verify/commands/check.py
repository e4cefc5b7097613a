"""``deflation check``: every trajectory invariant (verify.invariants) on saved runs, or on a random sweep.

``deflation check DIR [--format table|json]``: DIR holds ``run.json`` + ``trajectory.npz`` or folders of
them (searched recursively). Exit 1 when an invariant is violated.
``deflation check --sweep N [--seed S]``: N random small instances in the paper's regime (orthogonal
``T*``, spectrum ratios in [1.3, 2], m >= 3d), pass rates and worst margins per claim, and the exact
``deflation run`` command of every violation.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any


from solver import Trajectory
from solver.errors import ValidationError, require
from solver.trajectory import json_safe

from ..invariants import Invariants, Status, Verdict

NAME = "check"
HELP = "Check the trajectory invariants (P1, P5, P6, P8, P9, P10, P12/P7, descent) on saved runs or a random sweep."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", nargs="?", default=None, help="a run folder (run.json + trajectory.npz) or a folder of them")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--sweep", type=int, default=None, metavar="N", help="run N random small instances instead")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sweep's instance generator (default 0)")
    parser.add_argument("--algorithm", choices=("plain", "modified"), default="plain",
                        help="flow of the sweep's instances (default plain)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change a checker's parameter (a field of the checkers in verify.invariants): NAME=VALUE "
                             "on every checker with that field, or CHECKER.NAME=VALUE on one, e.g. rho=1.2, "
                             "local_stability.settle=20")


def parse_overrides(items: list[str]) -> Invariants:
    """``["rho=1.2", "local_stability.settle=20"]`` -> the checkers with those fields replaced
    (:meth:`Invariants.with_settings`); values must be finite positive numbers."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        require(bool(sep), "--set", "NAME=VALUE", item)
        try:
            number = float(value)
        except ValueError:
            raise ValidationError("--set", f"a number for {name}", value) from None
        require(math.isfinite(number) and number > 0, "--set", f"a finite positive number for {name}", value)
        out[name] = number
    return Invariants().with_settings(out)


def find_runs(root: Path) -> list[Path]:
    """Folders under ``root`` (itself included) that hold both ``run.json`` and ``trajectory.npz``."""
    require(root.exists(), "DIR", "an existing folder", str(root))
    require(root.is_dir(), "DIR", "a folder (holding run.json + trajectory.npz, or folders of them)", str(root))
    runs = sorted({p.parent for p in root.rglob("run.json") if (p.parent / "trajectory.npz").exists()})
    require(bool(runs), "DIR", "a folder holding run.json + trajectory.npz (or folders of them)", str(root))
    return runs


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return "nan" if not math.isfinite(x) else f"{x:.3g}"
    if isinstance(x, dict):
        return ",".join(f"{k}={_fmt(v)}" for k, v in x.items())
    if isinstance(x, list):
        return "[" + ",".join(_fmt(v) for v in x[:6]) + (",..." if len(x) > 6 else "") + "]"
    return str(x)


def print_table(rows: list[tuple[str, Verdict]], stream=None) -> None:
    stream = stream or sys.stdout
    print(f"{'record':<28} {'run':>3}  {'claim':<8} {'invariant':<26} {'ok':<4} {'margin':>10}  worst", file=stream)
    for label, v in rows:
        ok = {Status.PASS: "yes", Status.FAIL: "NO", Status.NOT_APPLICABLE: "n/a", Status.INCONCLUSIVE: "?"}[v.status]
        run = "all" if v.run is None else str(v.run)
        print(f"{label[-28:]:<28} {run:>3}  {v.claim:<8} {v.name:<26} {ok:<4} {_fmt(float(v.margin)):>10}  "
              f"{_fmt(v.to_dict()['worst'])}", file=stream)


def check_dirs(root: Path, invariants: Invariants) -> list[tuple[Path, list[Verdict]]]:
    """Every invariant on every run record under ``root``."""
    return [(path, invariants.check(Trajectory.load(path))) for path in find_runs(root)]


def run(args: argparse.Namespace) -> int:
    invariants = parse_overrides(args.set)
    if args.sweep is not None:
        if args.dir is not None:
            raise ValidationError("DIR", "absent with --sweep", args.dir)
        from ..experiments import invariant_sweep

        result = invariant_sweep(args.sweep, args.seed, args.algorithm, invariants=invariants,
                       progress=None if args.format == "json" else
                       (lambda i, n: print(f"\r[check] instance {i}/{n}", end="", file=sys.stderr, flush=True)))
        if args.format == "json":
            print(json.dumps({"claims": json_safe(result["claims"]), "seconds": result["seconds"],
                              "instances": [{"command": x["command"], "verdicts": [v.to_dict() for v in x["verdicts"]]}
                                            for x in result["instances"]]}, indent=2))
        else:
            print(file=sys.stderr)
            print(f"{'claim':<36} {'pass rate':>12} {'worst margin':>13}")
            for key, e in sorted(result["claims"].items()):
                rate = f"{e['passed']}/{e['applicable']}"
                print(f"{key:<36} {rate:>12} {_fmt(e['worst_margin'] if e['applicable'] else None):>13}")
            for key, e in sorted(result["claims"].items()):
                for cmd in e["failed_commands"]:
                    print(f"violated {key}: {cmd}")
            print(f"{args.sweep} instances in {result['seconds']:.1f} s")
        failed = any(e["passed"] < e["applicable"] for e in result["claims"].values())
        return 1 if failed else 0
    require(args.dir is not None, "DIR", "a run folder, or --sweep N", None)
    results = check_dirs(Path(args.dir), invariants)
    if args.format == "json":
        print(json.dumps([{"path": str(p), "verdicts": [v.to_dict() for v in vs]} for p, vs in results], indent=2))
    else:
        print_table([(str(p), v) for p, vs in results for v in vs])
        print("ok: yes = holds, NO = violated, n/a = not applicable to that run, ? = inconclusive (not resolved)")
    return 1 if any(v.failed for _, vs in results for v in vs) else 0

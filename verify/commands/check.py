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
import time
from pathlib import Path
from typing import Any

import numpy as np

from solver import Trajectory, solve
from solver.errors import ValidationError, require
from solver.trajectory import json_safe

from ..invariants import DEFAULTS, Verdict, check_trajectory
from .run import add_run_arguments, config_from_args, reproduce_command, seeds_from_args, truth_from_args

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
                        help="override a numeric checker parameter (see verify.invariants.DEFAULTS), e.g. rho=1.2")


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["rho=1.2", ...]`` -> ``{"rho": 1.2}``; names must be checker parameters, values numbers."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        numeric = sorted(k for k, v in DEFAULTS.items() if isinstance(v, float))
        require(bool(sep) and name in numeric, "--set", f"NAME=VALUE with NAME one of {numeric}", item)
        try:
            number = float(value)
        except ValueError:
            raise ValidationError("--set", f"a number for {name}", value) from None
        require(math.isfinite(number) and number > 0, "--set", f"a finite positive number for {name}", value)
        out[name] = number
    return out


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
        applicable = v.details.get("applicable", True)
        ok = "n/a" if not applicable else ("yes" if v.passed else "NO")
        run = "all" if v.run is None else str(v.run)
        print(f"{label[-28:]:<28} {run:>3}  {v.claim:<8} {v.name:<26} {ok:<4} {_fmt(float(v.margin)):>10}  "
              f"{_fmt(v.to_dict()['worst'])}", file=stream)


def check_dirs(root: Path, params: dict[str, Any]) -> list[tuple[Path, list[Verdict]]]:
    return [(path, check_trajectory(Trajectory.load(path), **params)) for path in find_runs(root)]


# --------------------------------------------------------------------------------------------- sweep
def sweep_argv(rng: np.random.Generator, algorithm: str = "plain") -> list[str]:
    """A random small ``deflation run`` command line in the paper's regime.

    ``d in [4, 8]``, ``r in [2, min(4, d)]``, ``a_1 = 1`` and ratios ``a_j/a_{j+1}`` uniform in [1.3, 2],
    random orthonormal basis, ``m in [3d, 24]``, ``delta0 = 1e-10``; plain flow to ``t = 60 / a_r``
    (discovery needs ``~ln(1/delta0)/(2 a_r)``, then ``10/a_r`` to settle), modified flow with ``eps = 1e-3``.
    """
    d = int(rng.integers(4, 9))
    r = int(rng.integers(2, min(4, d) + 1))
    ratios = rng.uniform(1.3, 2.0, size=r - 1)
    a = np.concatenate([[1.0], 1.0 / np.cumprod(ratios)])
    m = int(rng.integers(min(3 * d, 24), 25))
    argv = ["--d", str(d), "--a", ",".join(f"{x:.6g}" for x in a), "--basis", "random",
            "--basis-seed", str(int(rng.integers(0, 10**6))), "--m", str(m), "--delta0", "1e-10",
            "--seeds", "1", "--first-seed", str(int(rng.integers(0, 10**6))), "--algorithm", algorithm]
    if algorithm == "plain":
        argv += ["--t-max", f"{60.0 / float(a[-1]):.6g}"]
    else:
        # eps far below a_r >= 1/8; dense Newton solves: ~2x faster than Krylov at this size (BENCHMARKS.md).
        argv += ["--eps", "1e-3", "--linear-solver", "dense"]
    return argv


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deflation run", add_help=False)
    add_run_arguments(parser)
    return parser


def sweep(n: int, seed: int = 0, algorithm: str = "plain", params: dict[str, Any] | None = None,
          progress=None) -> dict:
    """Run ``n`` random instances (:func:`sweep_argv`) and check every invariant on each.

    Returns ``{"instances": [{"command", "verdicts"}], "claims": {"P1 deflation_order": {"passed", "applicable",
    "worst_margin", "worst_command"}}, "seconds": ...}``.
    """
    require(isinstance(n, int) and n >= 1, "--sweep", "an integer >= 1", n)
    rng = np.random.default_rng(seed)
    parser = run_parser()
    instances, t0 = [], time.perf_counter()
    for i in range(n):
        args = parser.parse_args(sweep_argv(rng, algorithm) + ["--quiet"])
        args.command = "run"
        tr = solve(truth_from_args(args), config_from_args(args), seeds_from_args(args))
        command = reproduce_command(args)
        instances.append({"command": command, "verdicts": check_trajectory(tr, **(params or {}))})
        if progress is not None:
            progress(i + 1, n)
    claims: dict[str, dict] = {}
    for inst in instances:
        for v in inst["verdicts"]:
            key = f"{v.claim} {v.name}"
            entry = claims.setdefault(key, {"passed": 0, "applicable": 0, "worst_margin": math.inf,
                                            "worst_command": None, "failed_commands": []})
            if not v.details.get("applicable", True):
                continue
            entry["applicable"] += 1
            entry["passed"] += int(v.passed)
            if not v.passed:
                entry["failed_commands"].append(inst["command"])
            if v.margin < entry["worst_margin"]:
                entry["worst_margin"], entry["worst_command"] = float(v.margin), inst["command"]
    return {"instances": instances, "claims": claims, "seconds": time.perf_counter() - t0}


def run(args: argparse.Namespace) -> int:
    params = parse_overrides(args.set)
    if args.sweep is not None:
        if args.dir is not None:
            raise ValidationError("DIR", "absent with --sweep", args.dir)
        result = sweep(args.sweep, args.seed, args.algorithm, params,
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
    results = check_dirs(Path(args.dir), params)
    if args.format == "json":
        print(json.dumps([{"path": str(p), "verdicts": [v.to_dict() for v in vs]} for p, vs in results], indent=2))
    else:
        print_table([(str(p), v) for p, vs in results for v in vs])
    return 1 if any(not v.passed for _, vs in results for v in vs) else 0

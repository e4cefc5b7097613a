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
                             "on every checker with that field, or CHECKER.NAME=VALUE on one, CHECKER being the "
                             "class name or its snake_case field name, e.g. rho=1.2, DeflationOrder.rho=1.2, "
                             "local_stability.settle=20")


def checker_names() -> dict[str, str]:
    """Every accepted spelling of a checker -> its field name on :class:`Invariants`
    (``DeflationOrder`` and ``deflation_order`` -> ``deflation_order``; matching ignores case)."""
    import dataclasses

    out: dict[str, str] = {}
    defaults = Invariants()
    for f in dataclasses.fields(Invariants):
        out[f.name] = f.name
        out[type(getattr(defaults, f.name)).__name__] = f.name
    return out


def _settable_names() -> list[str]:
    table = Invariants.settable()
    names = checker_names()
    return sorted(table) + sorted(f"{c}.{n}" for n, owners in table.items() for c in names if names[c] in owners)


def _unknown(name: str) -> ValidationError:
    import difflib

    close = difflib.get_close_matches(name, _settable_names(), n=3, cutoff=0.6)
    if close:
        return ValidationError("--set", f"a checker parameter (did you mean {' or '.join(close)}?)", name)
    fields = ", ".join(sorted(Invariants.settable()))
    return ValidationError("--set", f"NAME=VALUE with NAME one of {fields}, or CHECKER.NAME like "
                                    "DeflationOrder.rho", name)


def resolve_override(name: str) -> tuple[str | None, str]:
    """``"DeflationOrder.rho"`` -> ``("deflation_order", "rho")``; ``"rho"`` -> ``(None, "rho")``.
    A name no checker has is a :class:`ValidationError` suggesting the closest accepted names."""
    checker, _, field_name = name.rpartition(".")
    table = Invariants.settable()
    if field_name not in table:
        raise _unknown(name)
    if not checker:
        return None, field_name
    lowered = {k.lower(): v for k, v in checker_names().items()}
    owner = lowered.get(checker.lower())
    if owner is None or owner not in table[field_name]:
        raise _unknown(name)
    return owner, field_name


def parse_overrides(items: list[str]) -> tuple[Invariants, list[str]]:
    """``["rho=1.2", "DeflationOrder.rho=1.2", "local_stability.settle=20"]`` -> the checkers with those fields
    replaced (:meth:`Invariants.with_settings`) and one line per change (``DeflationOrder.rho = 1.2 (default
    1.1)``); values must be finite positive numbers."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        require(bool(sep), "--set", "NAME=VALUE", item)
        owner, field_name = resolve_override(name.strip())
        try:
            number = float(value)
        except ValueError:
            raise ValidationError("--set", f"a number for {name}", value) from None
        require(math.isfinite(number) and number > 0, "--set", f"a finite positive number for {name}", value)
        out[field_name if owner is None else f"{owner}.{field_name}"] = number
    invariants = Invariants().with_settings(out)
    defaults = Invariants()
    lines = []
    for key in out:
        owner, _, field_name = key.rpartition(".")
        for o in ([owner] if owner else Invariants.settable()[field_name]):
            old, new = getattr(getattr(defaults, o), field_name), getattr(getattr(invariants, o), field_name)
            lines.append(f"{type(getattr(defaults, o)).__name__}.{field_name} = {new:g} (default {old:g})")
    return invariants, lines


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


# Verdict entries that hold direction indices (0-based in verify.invariants, as numpy indexes a_j); every
# output of this command shows them 1-based, as ``deflation run`` prints t_disc[1..r] and the paper writes a_1.
_DIRECTION_LISTS = ("missing_discoveries", "violations", "unrecovered", "resolved_discoveries",
                    "unresolved_discoveries")


def _plus_one(value: Any) -> Any:
    if isinstance(value, list):
        return [_plus_one(v) for v in value]
    return value + 1 if isinstance(value, int) and not isinstance(value, bool) else value


def one_based(verdict: dict) -> dict:
    """A verdict's dict (:meth:`Verdict.to_dict`) with its direction indices counted from 1."""
    out = dict(verdict)
    if out["name"] == "deflation_order" and isinstance(out.get("worst"), list):
        out["worst"] = _plus_one(out["worst"])
    for part in ("worst", "details"):
        if isinstance(out.get(part), dict):
            out[part] = {k: (_plus_one(v) if k in _DIRECTION_LISTS else v) for k, v in out[part].items()}
    return out


def _worst_text(verdict: dict) -> str:
    worst = verdict["worst"]
    if verdict["name"] == "deflation_order" and isinstance(worst, list) and len(worst) == 2:
        return f"a_{worst[0]} vs a_{worst[1]}"
    if isinstance(worst, dict) and "missing_discoveries" in worst:
        missing = ", ".join(f"a_{j}" for j in worst["missing_discoveries"]) or "none"
        return f"{worst.get('unexplained_drops', 0)} unexplained drop(s), missed discoveries: {missing}"
    return _fmt(worst)


def print_table(rows: list[tuple[str, Verdict]], stream=None, seeds: dict[str, list[int]] | None = None) -> None:
    """One line per verdict; ``seeds[label]`` names each record's runs by seed (else by position from 1)."""
    stream = stream or sys.stdout
    print(f"{'record':<28} {'seed':>4}  {'claim':<8} {'invariant':<26} {'ok':<4} {'margin':>10}  worst", file=stream)
    for label, v in rows:
        ok = {Status.PASS: "yes", Status.FAIL: "NO", Status.NOT_APPLICABLE: "n/a", Status.INCONCLUSIVE: "?"}[v.status]
        known = (seeds or {}).get(label)
        run = "all" if v.run is None else str(known[v.run] if known and v.run < len(known) else f"#{v.run + 1}")
        margin = _fmt(float(v.margin) if math.isfinite(v.margin) else None)  # undecided: "-", not nan
        print(f"{label[-28:]:<28} {run:>4}  {v.claim:<8} {v.name:<26} {ok:<4} {margin:>10}  "
              f"{_worst_text(one_based(v.to_dict()))}", file=stream)


def check_dirs(root: Path, invariants: Invariants) -> list[tuple[Path, list[Verdict]]]:
    """Every invariant on every run record under ``root``."""
    return [(path, invariants.check(Trajectory.load(path))) for path in find_runs(root)]


def _record_seeds(path: Path) -> list[int]:
    try:
        return [int(s) for s in json.loads((path / "run.json").read_text()).get("seeds", [])]
    except (OSError, ValueError, TypeError):
        return []


def run(args: argparse.Namespace) -> int:
    invariants, changed = parse_overrides(args.set)
    if changed and args.format == "table":
        print("overridden: " + "; ".join(changed))
    if args.sweep is not None:
        if args.dir is not None:
            raise ValidationError("DIR", "absent with --sweep", args.dir)
        from ..experiments import invariant_sweep

        from ..progress import ProgressBar

        require(args.sweep >= 1, "--sweep", "an integer >= 1", args.sweep)  # before any progress line
        bar = ProgressBar("check", enabled=args.format != "json", eta=True)
        bar.begin(f"{args.sweep} random instance(s): starting")
        result = invariant_sweep(args.sweep, args.seed, args.algorithm, invariants=invariants,
                                 progress=lambda i, n: bar(i, n, "random instances"))
        bar.close()
        if args.format == "json":
            print(json.dumps({"claims": json_safe({k: t.to_dict() for k, t in result.claims.items()}),
                              "seconds": result.seconds, "overridden": changed, "direction_indices": "1-based",
                              "instances": [{"command": x.command,
                                             "verdicts": [one_based(v.to_dict()) for v in x.verdicts]}
                                            for x in result.instances]}, indent=2))
        else:
            print(f"{'claim':<36} {'pass rate':>12} {'worst margin':>13}")
            for key, tally in sorted(result.claims.items()):
                rate = f"{tally.passed}/{tally.applicable}"
                print(f"{key:<36} {rate:>12} {_fmt(tally.worst_margin if tally.applicable else None):>13}")
            for key, tally in sorted(result.claims.items()):
                for cmd in tally.failed_commands:
                    print(f"violated {key}: {cmd}")
            print(f"{args.sweep} instances in {result.seconds:.1f} s")
        return 1 if result.failed else 0
    require(args.dir is not None, "DIR", "a run folder, or --sweep N", None)
    results = check_dirs(Path(args.dir), invariants)
    if args.format == "json":
        if changed:
            print("overridden: " + "; ".join(changed), file=sys.stderr)
        print(json.dumps([{"path": str(p), "seeds": _record_seeds(p), "direction_indices": "1-based",
                           "verdicts": [one_based(v.to_dict()) for v in vs]} for p, vs in results], indent=2))
    else:
        print_table([(str(p), v) for p, vs in results for v in vs],
                    seeds={str(p): _record_seeds(p) for p, _ in results})
        print("ok: yes = holds, NO = violated, n/a = not applicable to that run, ? = inconclusive (not resolved); "
              "directions a_1..a_r counted from 1")
    return 1 if any(v.failed for _, vs in results for v in vs) else 0

"""``deflation precision``: the flags of ``deflation run`` plus ``--dps``; runs at high precision, same record."""

from __future__ import annotations

import argparse

from solver.config import FlowConfig
from solver.errors import ValidationError
from solver.precision.arithmetic import BACKENDS, DEFAULT_DPS
from solver.spec import RunSpec

from ..outputs import check_out_dir
from ._args import add_spec_arguments
from .run import add_output_arguments, describe

NAME = "precision"
HELP = "Run the plain or modified flow at high precision (mpmath, or python-flint when installed)."
FLOAT64_MIN_DELTA0 = 1e-300


def _delta0_text(text: str) -> str:
    # Kept as text: a float cannot hold 1e-1000; the backend parses it at working precision.
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number (got {text!r})") from None
    if not (value >= 0 and value < 1e3) or text.strip().lower() in ("nan", "inf", "0", "0.0"):
        raise argparse.ArgumentTypeError(f"must be a positive number below 1e3 (got {text!r})")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_arguments(parser, overrides={"delta0": _delta0_text})  # --delta0 keeps its text (norms like 1e-1000)
    add_output_arguments(parser, "results/precision")
    g = parser.add_argument_group("high precision")
    g.add_argument("--dps", type=int, default=DEFAULT_DPS, help=f"decimal digits (default {DEFAULT_DPS})")
    g.add_argument("--backend", choices=BACKENDS, default="auto", help="auto: flint when installed, else mpmath")
    g.add_argument("--hp-integrator", choices=("auto", "gbs", "radau"), default="auto",
                   help="gbs (explicit extrapolation) or radau (implicit); auto follows --integrator's family")


def spec_and_delta0(args: argparse.Namespace) -> tuple[RunSpec, str | None]:
    """The run's spec (``delta0`` clamped to float64's 1e-300 floor) and the exact ``--delta0`` text when it is
    below that floor (the backend parses it at working precision)."""
    text = str(args.delta0)
    value = float(text)
    exact = text if value < FLOAT64_MIN_DELTA0 else None
    spec = RunSpec.from_args(argparse.Namespace(**{**vars(args), "delta0": max(value, FLOAT64_MIN_DELTA0)}))
    return spec, exact


def run(args: argparse.Namespace) -> int:
    from ..experiments import format_summary
    from solver.precision.arithmetic import validate_dps
    from solver.precision.backend import solve_high_precision
    from ..progress import ProgressBar

    dps = validate_dps(args.dps)
    spec, exact = spec_and_delta0(args)
    if spec.n_seeds != 1:
        raise ValidationError("--seeds", "1 for a high-precision run (one seed per run)", spec.n_seeds)
    out = check_out_dir(args.out, overwrite=args.overwrite)
    bar = ProgressBar("precision", enabled=not args.quiet)
    bar.begin(f"{dps} digits, " + describe(spec))
    trajectory = solve_high_precision(spec.instance.truth(), spec.config, spec.first_seed, dps=dps,
                                      backend=args.backend, integrator=args.hp_integrator, delta0=exact, progress=bar)
    bar.close()
    extra = ["--dps", str(dps)] + (["--backend", args.backend] if args.backend != "auto" else []) + (
        ["--hp-integrator", args.hp_integrator] if args.hp_integrator != "auto" else [])
    shown = spec if exact is None else spec.replace(delta0=FlowConfig().delta0)  # the exact text is appended
    trajectory.meta["spec"] = spec.to_dict()
    trajectory.meta["command"] = shown.command("precision", extra + (["--delta0", exact] if exact else []), out=None)
    trajectory.save(out)
    print(format_summary(trajectory))
    hp = trajectory.meta["high_precision"]
    print(f"{hp['backend']} at {hp['dps']} digits, {hp['integrator']}: final loss {hp['loss'][0][-1]}")
    print(f"wrote {out / 'run.json'} and {out / 'trajectory.npz'}")
    return 0

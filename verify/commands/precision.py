"""``deflation precision``: the flags of ``deflation run`` plus ``--dps``; runs at high precision, same record."""

from __future__ import annotations

import argparse
from pathlib import Path

from solver.errors import ValidationError

from ..precision.arithmetic import BACKENDS, validate_dps
from ..precision.backend import DEFAULT_DPS, solve_high_precision
from ..progress import ProgressBar
from .run import add_run_arguments, config_from_args, print_summary, reproduce_command, seeds_from_args, truth_from_args

NAME = "precision"
HELP = "Run the plain or modified flow at high precision (mpmath, or python-flint when installed)."


def _delta0_text(text: str) -> str:
    # Kept as text: a float cannot hold 1e-1000; the backend parses it at working precision.
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--delta0: must be a number (got {text!r})") from None
    if not (value >= 0 and value < 1e3) or text.strip().lower() in ("nan", "inf", "0", "0.0"):
        raise argparse.ArgumentTypeError(f"--delta0: must be a positive number below 1e3 (got {text!r})")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, delta0_type=_delta0_text)  # --delta0 keeps its text (norms like 1e-1000)
    g = parser.add_argument_group("high precision")
    g.add_argument("--dps", type=int, default=DEFAULT_DPS, help=f"decimal digits (default {DEFAULT_DPS})")
    g.add_argument("--backend", choices=BACKENDS, default="auto", help="auto: flint when installed, else mpmath")
    g.add_argument("--hp-integrator", choices=("auto", "gbs", "radau"), default="auto",
                   help="gbs (explicit extrapolation) or radau (implicit); auto follows --integrator's family")


def run(args: argparse.Namespace) -> int:
    dps = validate_dps(args.dps)
    text = args.delta0
    value = float(text)
    exact = None
    if value < 1e-300:  # below float64's range for FlowConfig: exact value passed separately
        exact, args.delta0 = text, 1e-300
    else:
        args.delta0 = value
    config = config_from_args(args)
    args.delta0 = text
    truth = truth_from_args(args)
    seeds = seeds_from_args(args)
    if len(seeds) != 1:
        raise ValidationError("--seeds", "1 for a high-precision run (one seed per run)", len(seeds))
    bar = ProgressBar("precision", enabled=not args.quiet)
    trajectory = solve_high_precision(truth, config, seeds[0], dps=dps, backend=args.backend,
                                      integrator=args.hp_integrator, delta0=exact, progress=bar)
    bar.close()
    trajectory.meta["command"] = reproduce_command(args, "precision")
    out = trajectory.save(Path(args.out))
    print_summary(trajectory)
    hp = trajectory.meta["high_precision"]
    print(f"{hp['backend']} at {hp['dps']} digits, {hp['integrator']}: final loss {hp['loss'][0][-1]}")
    print(f"wrote {out / 'run.json'} and {out / 'trajectory.npz'}")
    return 0

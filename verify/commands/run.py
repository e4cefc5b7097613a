"""``deflation run``: one :class:`solver.spec.RunSpec` (flags generated from its fields), batched over seeds;
writes run.json + trajectory.npz."""

from __future__ import annotations

import argparse

from solver.spec import RunSpec

from ..outputs import add_overwrite_argument, check_out_dir
from ._args import add_spec_arguments

NAME = "run"
HELP = "Run the plain or modified gradient flow on one instance (batched over seeds)."


def add_output_arguments(parser: argparse.ArgumentParser, default_out: str) -> None:
    g = parser.add_argument_group("output")
    g.add_argument("--out", default=default_out, help=f"output folder (default {default_out})")
    g.add_argument("--quiet", action="store_true", help="no progress line")
    add_overwrite_argument(g)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_arguments(parser)
    add_output_arguments(parser, "results/run")


def describe(spec: RunSpec) -> str:
    """What a run is about to do, for the progress line: ``plain flow, d=10, m=50, 5 seed(s), t <= 100``."""
    c = spec.config
    what = "Algorithm 1" if c.algorithm == "modified" else "plain flow"
    until = f"eps = {c.eps:g}" if c.algorithm == "modified" or c.end_time is None else f"t <= {c.end_time:g}"
    return f"{what}, d={spec.instance.d}, m={c.m}, {spec.n_seeds} seed(s), {until}: starting"


def run(args: argparse.Namespace) -> int:
    from ..experiments import format_summary
    from ..progress import ProgressBar

    spec = RunSpec.from_args(args)
    out = check_out_dir(args.out, overwrite=args.overwrite)
    from solver.flow import resolve_device

    resolve_device(spec.config.device)  # a device this machine lacks: one error line, before any progress
    bar = ProgressBar("run", enabled=not args.quiet)
    bar.begin(describe(spec))
    trajectory = spec.solve(progress=bar)
    bar.close()
    trajectory.save(out)
    print(format_summary(trajectory))
    print(f"wrote {out / 'run.json'} and {out / 'trajectory.npz'}")
    return 0

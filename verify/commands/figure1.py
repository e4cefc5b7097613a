"""``deflation figure1``: the paper's Figure 1 (plain gradient flow, 5 seeds)."""

from __future__ import annotations

import argparse

from ..outputs import add_overwrite_argument, check_out_dir
from ._args import int_flag

NAME = "figure1"
HELP = ("Reproduce Figure 1: T* = sum_{i<=5} a_i e_i^4 in R^10, a_i/a_{i+1} = 1.2, m = 50, norm 1e-15, "
        "5 seeds, plain flow to t = 100.")

# ``--smoke`` (hidden, for the README's smoke test): the same command at sizes a test can afford, not the figure.
SMOKE_SIZES = {"d": 6, "m": 12, "t_max": 60.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="results/figure1", help="output folder (default results/figure1)")
    parser.add_argument("--seeds", type=int_flag(), default=5, help="number of initializations (default 5)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    add_overwrite_argument(parser)
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from .. import experiments
    from ..progress import ProgressBar

    out = check_out_dir(args.out, overwrite=args.overwrite)
    sizes = SMOKE_SIZES if args.smoke else {}
    spec = experiments.figure1_spec(seeds=args.seeds, device=args.device, **sizes)
    spec.validate()
    bar = ProgressBar("figure1", enabled=not args.quiet)
    bar.begin(f"{args.seeds} seed(s): starting")
    result = experiments.run_figure1(spec, out, progress=bar)
    bar.close()
    print(experiments.format_summary(result.trajectory))
    print(f"wrote {out / 'figure1.png'}, figure1.svg, summary.json, run.json, trajectory.npz")
    return 0

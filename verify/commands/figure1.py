"""``deflation figure1``: the paper's Figure 1 (plain gradient flow, 5 seeds)."""

from __future__ import annotations

import argparse
from pathlib import Path

from solver import FlowConfig, Trajectory, solve
from solver.ground_truth import geometric_spectrum, identity_basis
from solver.trajectory import atomic_write_json

from ..plots import plot_loss_and_residuals
from ..progress import ProgressBar
from .run import _int, print_summary

NAME = "figure1"
HELP = ("Reproduce Figure 1: T* = sum_{i<=5} a_i e_i^4 in R^10, a_i/a_{i+1} = 1.2, m = 50, norm 1e-15, "
        "5 seeds, plain flow to t = 100.")


def figure1_trajectory(seeds: int = 5, d: int = 10, m: int = 50, t_max: float = 100.0, device: str = "auto",
                       progress=None) -> Trajectory:
    """The Figure 1 runs (reduced sizes allowed for tests)."""
    truth = identity_basis(d, geometric_spectrum(5, 1.2), 4)
    config = FlowConfig(algorithm="plain", m=m, delta0=1e-15, t_max=t_max, device=device, n_save=500)
    return solve(truth, config, list(range(seeds)), progress=progress)


def write_figure1(trajectory: Trajectory, out: Path) -> dict:
    """``figure1.png``, ``figure1.svg``, ``summary.json`` and the record itself into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    trajectory.save(out)
    plot_loss_and_residuals(trajectory, out / "figure1",
                            title=r"Figure 1: $T^*=\sum_{i\leq 5} a_i e_i^{\otimes 4}$, $a_i/a_{i+1}=1.2$, "
                                  f"m={trajectory.config['m']}, norm 1e-15")
    summary = trajectory.summary()
    payload = {"runs": summary["runs"], "precision": {
        "dtype": trajectory.meta["dtype"], "loss_floor": float(trajectory.loss_floor[:, -1].max()),
        "discovery_time_resolution": "linear interpolation within one save interval (see discovery_resolution)"}}
    atomic_write_json(out / "summary.json", payload)
    return payload


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="results/figure1", help="output folder (default results/figure1)")
    parser.add_argument("--seeds", type=_int("--seeds"), default=5, help="number of initializations (default 5)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    bar = ProgressBar("figure1", enabled=not args.quiet)
    trajectory = figure1_trajectory(seeds=args.seeds, device=args.device, progress=bar)
    bar.close()
    trajectory.meta["command"] = f"deflation figure1 --seeds {args.seeds} --out {args.out}"
    write_figure1(trajectory, Path(args.out))
    print_summary(trajectory)
    print(f"wrote {Path(args.out) / 'figure1.png'}, figure1.svg, summary.json, run.json, trajectory.npz")
    return 0

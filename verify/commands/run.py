"""``deflation run``: one configured instance, batched over seeds; writes run.json + trajectory.npz."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from solver import FlowConfig, GroundTruth, solve
from solver.errors import ValidationError, require
from solver.ground_truth import geometric_spectrum, identity_basis, random_nonorthogonal, random_orthonormal
from solver.integrators import NAMES

from ..progress import ProgressBar

NAME = "run"
HELP = "Run the plain or modified gradient flow on one instance (batched over seeds)."
BASES = ("identity", "random", "nonorthogonal")


def _float(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: must be a number (got {text!r})") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{name}: must be finite (got {text!r})")
        return value
    return parse


def _int(name: str, low: int = 1):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: must be an integer >= {low} (got {text!r})") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{name}: must be an integer >= {low} (got {value})")
        return value
    return parse


def _float_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--a: must be comma-separated numbers (got {text!r})") from None
    if not values:
        raise argparse.ArgumentTypeError("--a: must list at least one coefficient")
    return values


def add_instance_arguments(parser: argparse.ArgumentParser, *, t_max_default: float | None = 100.0,
                           delta0_type=None) -> None:
    """The instance and algorithm flags shared by ``run``, ``precision`` and ``probe``.

    ``delta0_type`` replaces the float parser of ``--delta0`` (the high-precision command keeps its text).
    """
    g = parser.add_argument_group("instance")
    g.add_argument("--d", type=_int("--d"), default=10, help="dimension (default 10)")
    g.add_argument("--r", type=_int("--r"), default=None, help="rank (default: len(--a), else 5)")
    g.add_argument("--a", type=_float_list, default=None, help="coefficients a_1,a_2,... (overrides --ratio)")
    g.add_argument("--ratio", type=_float("--ratio"), default=1.2, help="a_1 = 1, a_i/a_{i+1} = ratio (default 1.2)")
    g.add_argument("--order", type=_int("--order", 3), default=4, help="tensor order l >= 3 (default 4)")
    g.add_argument("--basis", choices=BASES, default="identity", help="ground-truth directions (default identity)")
    g.add_argument("--basis-seed", type=_int("--basis-seed", 0), default=0, help="seed of random bases")
    g = parser.add_argument_group("model and algorithm")
    g.add_argument("--m", type=_int("--m"), default=50, help="number of components (default 50)")
    g.add_argument("--delta0", type=delta0_type or _float("--delta0"), default="1e-15" if delta0_type else 1e-15,
                   help="initial norm (default 1e-15)")
    g.add_argument("--seeds", type=_int("--seeds"), default=1, help="number of runs, seeds first-seed.. (default 1)")
    g.add_argument("--first-seed", type=_int("--first-seed", 0), default=0, help="seed of the first run (default 0)")
    g.add_argument("--t-max", type=_float("--t-max"), default=None,
                   help=f"end time (plain default {t_max_default}; modified: optional cap)")
    g.add_argument("--algorithm", choices=("plain", "modified"), default="plain")
    g.add_argument("--lam", type=_float("--lam"), default=None, help="regularizer (default 0 plain, eps/10 modified)")
    g.add_argument("--delta1", type=_float("--delta1"), default=1e-5, help="re-initialization threshold (1e-5)")
    g.add_argument("--gamma", type=_float("--gamma"), default=1.0, help="epoch growth beta/(1+gamma) (1.0)")
    g.add_argument("--eps", type=_float("--eps"), default=1e-9, help="target accuracy (1e-9)")
    g.add_argument("--epoch-factor", type=_float("--epoch-factor"), default=8.0,
                   help="t_s = factor (d + ln 1/delta0) / beta_s (8)")
    g.add_argument("--beta0", type=_float("--beta0"), default=None, help="upper bound on max a_j (default: power method)")
    g.add_argument("--reinit-rule", choices=("norm", "cluster"), default="norm")
    parser.set_defaults(_t_max_default=t_max_default)


def add_run_arguments(parser: argparse.ArgumentParser, delta0_type=None) -> None:
    """Every flag of ``deflation run``."""
    add_instance_arguments(parser, delta0_type=delta0_type)
    g = parser.add_argument_group("integration and output")
    g.add_argument("--integrator", choices=("auto",) + NAMES, default="auto")
    g.add_argument("--linear-solver", choices=("auto", "dense", "sparse", "krylov"), default="auto",
                   help="Newton systems of bdf/radau (auto: krylov for bdf)")
    g.add_argument("--rtol", type=_float("--rtol"), default=None, help="relative tolerance (1e-8 explicit, 1e-6 implicit)")
    g.add_argument("--atol", type=_float("--atol"), default=None,
                   help="absolute tolerance (default 1e-10 explicit, rtol implicit)")
    g.add_argument("--step", type=_float("--step"), default=None, help="step of euler/rk4 (initial step of adaptive)")
    g.add_argument("--n-save", type=_int("--n-save", 2), default=400, help="save times (per epoch when modified)")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    g.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    g.add_argument("--out", default="results/run", help="output folder (default results/run)")
    g.add_argument("--quiet", action="store_true", help="no progress line")


def truth_from_args(args: argparse.Namespace) -> GroundTruth:
    """The ground truth described by the instance flags."""
    if args.a is not None:
        a = np.asarray(args.a, dtype=np.float64)
        if args.r is not None and args.r != a.size:
            raise ValidationError("--r", f"equal to the number of --a values ({a.size})", args.r)
    else:
        require(args.ratio >= 1, "--ratio", "a number >= 1", args.ratio)
        a = geometric_spectrum(args.r if args.r is not None else 5, args.ratio)
    require(bool(np.all(a > 0)), "--a", "positive coefficients", a.tolist())
    if args.basis == "identity":
        return identity_basis(args.d, a, args.order)
    if args.basis == "random":
        return random_orthonormal(args.d, a, args.order, args.basis_seed)
    return random_nonorthogonal(args.d, a, args.order, args.basis_seed)


def config_from_args(args: argparse.Namespace) -> FlowConfig:
    """The :class:`FlowConfig` described by the flags (validated)."""
    t_max = args.t_max
    if t_max is None and args.algorithm == "plain":
        t_max = args._t_max_default
    config = FlowConfig(
        algorithm=args.algorithm, m=args.m, delta0=args.delta0, t_max=t_max, lam=args.lam, delta1=args.delta1,
        gamma=args.gamma, eps=args.eps, epoch_factor=args.epoch_factor, beta0=args.beta0,
        reinit_rule=args.reinit_rule,
        **{k: getattr(args, k) for k in ("integrator", "linear_solver", "rtol", "atol", "step", "n_save", "device",
                                         "dtype")
           if hasattr(args, k)})
    config.validate()
    return config


def seeds_from_args(args: argparse.Namespace) -> list[int]:
    return list(range(args.first_seed, args.first_seed + args.seeds))


def reproduce_command(args: argparse.Namespace, command: str = "run") -> str:
    """A ``deflation ...`` command line that reruns this configuration."""
    skip = {"command", "_run", "_t_max_default", "quiet"}
    parts = ["deflation", command]
    for key, value in sorted(vars(args).items()):
        if key in skip or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts.append(flag)
        elif isinstance(value, list):
            parts += [flag, ",".join(repr(v) for v in value)]
        else:
            parts += [flag, str(value)]
    return " ".join(parts)


def print_summary(trajectory, stream=None) -> None:
    """One line per run: seed, discovery times, final loss with its floor."""
    import sys

    stream = stream or sys.stdout
    summary = trajectory.summary()
    r = trajectory.a.shape[1]
    print(f"{'seed':>6}  " + "  ".join(f"t_disc[{j + 1}]" for j in range(r)) + "   final loss (floor)", file=stream)
    for run in summary["runs"]:
        times = "  ".join(f"{'never':>9}" if t is None else f"{t:9.4g}" for t in run["discovery_times"])
        print(f"{run['seed']:>6}  {times}   {run['final_loss']:.3e} ({run['final_loss_floor']:.1e})", file=stream)


def run(args: argparse.Namespace) -> int:
    truth = truth_from_args(args)
    config = config_from_args(args)
    bar = ProgressBar("run", enabled=not args.quiet)
    trajectory = solve(truth, config, seeds_from_args(args), progress=bar)
    bar.close()
    trajectory.meta["command"] = reproduce_command(args)
    out = trajectory.save(Path(args.out))
    print_summary(trajectory)
    print(f"wrote {out / 'run.json'} and {out / 'trajectory.npz'}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)

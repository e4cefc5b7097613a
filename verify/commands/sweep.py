"""``deflation sweep SPEC --out DIR [--scheduler ADDRESS] [--workers N]``: a grid of runs on Dask, resumable,
one Parquet row per run, then the phase diagrams; ``deflation sweep --plot DIR`` redraws them only.

Top-level imports stay light (the CLI imports this module only when ``sweep`` is chosen; dask, torch and
pyarrow load inside :func:`run`).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from solver.errors import ValidationError

from ..outputs import check_out_dir

NAME = "sweep"
INTERRUPTED = "rerun the same command to resume (finished runs are kept)"
WORKER_LOG = "dask-workers.log"
HELP = "Run a grid of instances on Dask (resumable, Parquet results) and draw phase diagrams."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="?", default=None,
                        help="a TOML sweep spec, or a built-in one: quick (>= 200 small runs, minutes), full")
    parser.add_argument("--out", default=None, help="dataset folder (default results/sweep-<name>)")
    parser.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (tcp://host:port); "
                                                          "default: a LocalCluster on this machine")
    parser.add_argument("--workers", type=int, default=None,
                        help="LocalCluster worker processes, one thread each (default: the number of cores)")
    parser.add_argument("--plot", metavar="DIR", default=None,
                        help="redraw the phase diagrams and tables of the dataset in DIR; runs nothing")
    parser.add_argument("--threshold", type=float, default=0.9, help="success rate defining m* (default 0.9)")
    parser.add_argument("--list", action="store_true", help="print the runs the spec expands to and exit")
    parser.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    if not 0 < args.threshold <= 1:
        raise ValidationError("--threshold", "in (0, 1]", args.threshold)
    if args.plot is not None:
        if args.spec is not None:
            raise ValidationError("--plot", "given without SPEC (it redraws, runs nothing)", args.spec)
        folder = Path(args.plot)
        from verify.sweep.store import existing_keys

        if not existing_keys(folder):
            raise ValidationError("--plot", "a sweep folder holding runs/*.parquet", str(folder))
        check_out_dir(folder, "--plot")
        return _write_phase(folder, args)
    if args.spec is None:
        raise ValidationError("SPEC", "a TOML file or a built-in spec (quick, full), or --plot DIR", None)
    if args.workers is not None and args.workers < 1:
        raise ValidationError("--workers", "an integer >= 1", args.workers)
    if args.workers is not None and args.scheduler is not None:
        raise ValidationError("--workers", "not combined with --scheduler (the cluster has its own workers)",
                              args.workers)
    from verify.sweep.spec import load_spec

    spec = load_spec(args.spec)  # every validation happens here, before anything is written
    points = spec.points()
    if args.list:
        for p in points:
            print(p.key, p.spec.command())
        print(f"{len(points)} runs")
        return 0
    out = Path(args.out) if args.out is not None else Path("results") / f"sweep-{spec.name}"
    check_out_dir(out)

    from verify.progress import ProgressBar
    from verify.sweep.runner import run_sweep

    local = args.scheduler is None
    with _worker_stderr(out / WORKER_LOG if local else None):
        bar = ProgressBar("sweep", enabled=not args.quiet, interval=15.0, eta=True)
        where = args.scheduler or f"LocalCluster, {args.workers or os.cpu_count()} worker(s), 1 thread each; " \
                                  f"their own messages go to {out / WORKER_LOG}"
        bar.message(f"{spec.name}: {len(points)} runs -> {out} ({where})")
        try:
            with _quiet_interrupt():
                result = run_sweep(spec, out, scheduler=args.scheduler, workers=args.workers,
                                   progress=lambda done, total, left: bar(done, total, "runs"))
        finally:
            bar.close()
    print(f"{result.written} run(s) written, {result.skipped} already present, "
          f"{result.seconds:.1f} s on {result.workers} worker(s)")
    return _write_phase(out, args, title=f"sweep '{spec.name}'")


@contextlib.contextmanager
def _worker_stderr(log: Path | None):
    """While the sweep runs, file descriptor 2 (which the LocalCluster's worker processes inherit) points at
    ``log``, and this process's own ``sys.stderr`` keeps the original stream: Ctrl-C reaches the workers too,
    and each prints a KeyboardInterrupt traceback on its way down; they land in the log, not on the screen."""
    if log is None:
        yield
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(target, 2)
    os.close(target)
    original = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=getattr(original, "encoding", None) or "utf-8",
                           errors="backslashreplace")
    try:
        yield
    finally:
        try:
            sys.stderr.flush()
            sys.stderr.close()
        finally:
            sys.stderr = original
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def _quiet_interrupt():
    """Ctrl-C first mutes dask's loggers, then raises KeyboardInterrupt: the cluster shuts down (in the runner's
    ``finally``) without logging the workers' deaths as errors."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(signum, frame):
        _silence_dask()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _silence_dask() -> None:
    """Mute dask/distributed's loggers and stderr warnings for the rest of the process (after Ctrl-C, the
    nanny and worker shutdown prints dozens of tracebacks that say nothing about the sweep)."""
    for name in ("distributed", "dask", "tornado", "asyncio"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
    import warnings

    warnings.simplefilter("ignore")
    sys.excepthook = lambda *exc: None  # pragma: no cover - only at interpreter shutdown


def _write_phase(folder: Path, args: argparse.Namespace, title: str = "") -> int:
    from verify.sweep.phase import write_phase

    summary, paths = write_phase(folder, threshold=args.threshold, title=title)
    if not args.quiet:
        print("\n".join(summary.markdown().splitlines()[:4 + len(summary.m_star)]))
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0

"""``deflation probe``: where Theorem 1's accuracy restriction ``eps >= exp(-o(d/log d))`` bites (claims P11, P7),
as the accuracy-frontier campaign (:mod:`verify.experiments.frontier`). One of three modes:

- ``--campaign NAME``: run the campaign (two instance families, parameters scaled with eps, both readings of the
  bound, many seeds; resumable), rows into ``--out`` (default ``evidence/accuracy-frontier``), then its
  statistics and figures (:mod:`verify.experiments.frontier_stats`);
- ``--analyze``: the statistics and figures of the rows already under ``--out``;
- ``--point family:d:eps:m:seed``: one run of it again, printed as one JSON line (``--rtol``: a float64 run at
  another local tolerance than the campaign's, to see whether an outcome depends on it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from solver.errors import ValidationError
from solver.trajectory import atomic_write_bytes

from ..outputs import check_out_dir

NAME = "probe"
HELP = "The accuracy-frontier campaign: where Theorem 1's eps >= exp(-o(d/log d)) bites (claims P11, P7)."
FRONTIER_OUT = "evidence/accuracy-frontier"


def _point(text: str) -> tuple[str, int, float, int, int]:
    """``"fixed:4:1e-12:16:0"`` -> (family, d, eps, m, seed)."""
    try:
        family, d, eps, m, seed = text.split(":")
        return family, int(d), float(eps), int(m), int(seed)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be family:d:eps:m:seed like fixed:4:1e-12:16:0 (got {text!r})") \
            from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # argparse's required exclusive group: none of the three gives the one-line usage error naming them all.
    mode = parser.add_argument_group("mode (exactly one)").add_mutually_exclusive_group(required=True)
    mode.add_argument("--campaign", default=None, metavar="NAME",
                      help="run a campaign: tiny, float64 or high-precision (resumable: the runs already under "
                           "--out are kept), then its statistics and figures")
    mode.add_argument("--analyze", action="store_true",
                      help="the statistics and figures of the campaign rows under --out (no run)")
    mode.add_argument("--point", type=_point, default=None, metavar="FAMILY:D:EPS:M:SEED",
                      help="one campaign run again, printed as JSON: family:d:eps:m:seed, e.g. fixed:4:1e-12:16:0")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="with --campaign: at most this many new runs")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="with --campaign: that many single-threaded worker processes (default 1; one per "
                             "core at most)")
    parser.add_argument("--precision", default=None, metavar="NAME",
                        help="with --point: float64 (default), flint or mpmath")
    parser.add_argument("--rtol", type=float, default=None, metavar="X",
                        help="with a float64 --point: the integrator's local tolerance instead of the campaign's "
                             "(CVODE's default 1e-6), in (0, 1e-3]")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help=f"with --campaign or --analyze: the campaign's folder (default {FRONTIER_OUT})")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    import verify.experiments.frontier as fr

    if args.limit is not None and args.campaign is None:
        raise ValidationError("--limit", "given with --campaign only", args.limit)
    if args.workers is not None and args.campaign is None:
        raise ValidationError("--workers", "given with --campaign only", args.workers)
    if args.precision is not None and args.point is None:
        raise ValidationError("--precision", "given with --point only", args.precision)
    if args.rtol is not None and (args.point is None or (args.precision or "float64") != "float64"):
        raise ValidationError("--rtol", "given with a float64 --point only (a high-precision run's tolerance follows "
                              "eps)", args.rtol)
    if args.rtol is not None and not 0 < args.rtol <= 1e-3:
        raise ValidationError("--rtol", "a number in (0, 1e-3]", args.rtol)
    if args.out is not None and args.point is not None:
        raise ValidationError("--out", "given with --campaign or --analyze only (--point writes nothing)", args.out)
    if args.point is not None:
        return _run_point(args, fr)
    out = Path(args.out or FRONTIER_OUT)
    if args.campaign is not None:
        if args.campaign not in fr.CAMPAIGNS:
            raise ValidationError("--campaign", f"one of {', '.join(fr.CAMPAIGNS)}", args.campaign)
        if args.limit is not None and args.limit < 1:
            raise ValidationError("--limit", "an integer >= 1", args.limit)
        if args.workers is not None and not 1 <= args.workers <= 64:
            raise ValidationError("--workers", "an integer in [1, 64]", args.workers)
        check_out_dir(out)  # a campaign folder resumes: its own rows are expected there
        spec = fr.CAMPAIGNS[args.campaign]

        def progress(done: int, total: int, run, row: dict) -> None:
            if not args.quiet:
                print(f"[probe] {done} new ({total} in the campaign): {run.family} d={run.d} eps={run.eps:.2e} "
                      f"m={run.m} seed={run.seed} {run.precision}: success={row['success']} "
                      f"cpu={row['cpu_seconds']:.1f}s" + (f" error={row['error']}" if row.get("error") else ""),
                      file=sys.stderr, flush=True)

        written, total = fr.run_campaign(spec, out, limit=args.limit, workers=args.workers or 1,
                                         progress=progress)
        print(f"{written} run(s) written, {total} in campaign {spec.name}, rows under {out / 'runs'}")
    return _analyze(out)


def _analyze(out: Path) -> int:
    import verify.experiments.frontier as fr
    from ..experiments import frontier_stats as fs

    rows = fr.read_frontier(out)
    if not len(rows):
        raise ValidationError("--out", "a folder holding campaign rows (runs/*.parquet)", str(out))
    analysis = fs.analyze(rows)
    text = analysis.markdown()
    atomic_write_bytes(out / "frontier.md", text.encode())
    paths = fs.plot_success(rows, analysis, out / "success") + fs.plot_measures(rows, out / "measures")
    print(text)
    print(f"wrote {out / 'frontier.md'}, " + ", ".join(str(p) for p in paths))
    return 0


def _run_point(args: argparse.Namespace, fr) -> int:
    family, d, eps, m, seed = args.point
    precision = args.precision or "float64"
    if family not in fr.FAMILIES:
        raise ValidationError("--point", f"a family among {fr.FAMILIES}", family)
    if precision not in fr.PRECISIONS:
        raise ValidationError("--precision", f"one of {fr.PRECISIONS}", precision)
    if not 3 <= d <= 64:
        raise ValidationError("--point", "d in [3, 64]", d)
    if not 1e-300 <= eps < 1:
        raise ValidationError("--point", "eps in [1e-300, 1)", eps)
    if m < 1 or seed < 0:
        raise ValidationError("--point", "m >= 1 and seed >= 0", f"m={m} seed={seed}")
    top = fr.grid_eps(d, (0,))[0][2]
    a_1 = fr.family_spectrum(family, eps, top)[0]
    dps = None if precision == "float64" else fr.hp_digits(a_1, eps)
    run = fr.FrontierRun(family, d, "high-precision" if dps else "point", -1, eps, top, m, seed, precision, dps,
                         rtol=args.rtol)
    row = fr.solve_run(run)
    keys = ("key", "success", "accurate", "max_rel_residual", "free_at_ar", "t_ur_ratio", "epochs", "error",
            "cpu_seconds")
    print(json.dumps({k: row.get(k) for k in keys}, default=str))
    return 0

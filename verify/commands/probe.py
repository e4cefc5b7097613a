"""``deflation probe``: Theorem 1's accuracy regime (claim P11).

``--campaign NAME``: the accuracy-frontier campaign (:mod:`verify.precision.frontier`: two instance families,
parameters scaled with eps, both readings of the bound, many seeds), resumable, rows into ``--out`` (default
``evidence/accuracy-frontier``), then its statistics and figures (:mod:`verify.precision.frontier_stats`).
``--analyze``: the statistics and figures of the rows already under ``--out``. ``--point``: one run of it again.

Default: the redesigned probe (:func:`verify.precision.probe.frontier`): per d, the sweep finds an m at which
Algorithm 1 recovers every component above ``exp(-d/ln d)``, then goes below the bound at that m (float64,
then ``--hp-eps`` at high precision) and reports the frontier ``eps*(d)``. ``--grid``/``--tiny``: the first
probe's fixed ``m = m_per_d * d`` grid of (d, eps) points at high precision.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from solver.errors import ValidationError
from solver.trajectory import atomic_write_bytes, atomic_write_json

from ..outputs import add_overwrite_argument, check_out_dir
from solver.precision.arithmetic import BACKENDS
from ..precision.probe import QUICK_GRID, TINY_GRID, validate_grid

NAME = "probe"
HELP = "Probe the exp(-o(d/log d)) accuracy regime of the modified flow at high precision."


def _int_list(flag: str):
    def parse(text: str) -> list[int]:
        try:
            values = [int(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: must be comma-separated integers (got {text!r})") from None
        if not values:
            raise argparse.ArgumentTypeError(f"{flag}: must list at least one integer")
        return values
    return parse


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hp-eps: must be comma-separated numbers (got {text!r})") from None


def _grid(text: str) -> list[tuple[int, float]]:
    """``"4:1e-5,4:1e-10,6:1e-40"`` -> [(4, 1e-5), ...]."""
    points = []
    for item in text.split(","):
        try:
            d, eps = item.split(":")
            points.append((int(d), float(eps)))
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be d:eps pairs like 4:1e-10,6:1e-40 (got {item!r})") \
                from None
    return points


def _point(text: str) -> tuple[str, int, float, int, int]:
    """``"fixed:4:1e-12:16:0"`` -> (family, d, eps, m, seed)."""
    try:
        family, d, eps, m, seed = text.split(":")
        return family, int(d), float(eps), int(m), int(seed)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be family:d:eps:m:seed like fixed:4:1e-12:16:0 (got {text!r})") \
            from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    campaign = parser.add_argument_group("the accuracy-frontier campaign")
    campaign.add_argument("--campaign", default=None,
                          help="run a campaign: tiny, float64 or high-precision (resumable; rows into --out, "
                               "default evidence/accuracy-frontier)")
    campaign.add_argument("--limit", type=int, default=None, help="with --campaign: at most this many new runs")
    campaign.add_argument("--analyze", action="store_true",
                          help="statistics and figures of the campaign rows under --out (no run)")
    campaign.add_argument("--point", type=_point, default=None,
                          help="one campaign run again: family:d:eps:m:seed (with --precision)")
    campaign.add_argument("--precision", default="float64", help="with --point: float64, flint or mpmath")
    parser.add_argument("--grid", type=_grid, default=None,
                        help="d:eps pairs (default: the quick grid " +
                             ",".join(f"{d}:{e:g}" for d, e in QUICK_GRID) + ")")
    parser.add_argument("--tiny", action="store_true", help="the tiny test grid " +
                        ",".join(f"{d}:{e:g}" for d, e in TINY_GRID))
    parser.add_argument("--m-per-d", type=int, default=2, help="with --grid: components m = factor * d (default 2)")
    frontier = parser.add_argument_group("the frontier (default mode)")
    frontier.add_argument("--dims", type=_int_list("--dims"), default=None,
                          help="dimensions d (default 6,8,10)")
    frontier.add_argument("--m-over-d", type=_int_list("--m-over-d"), default=[2, 4, 8],
                          help="m/d searched above the bound (default 2,4,8)")
    frontier.add_argument("--seeds", type=int, default=3, help="seeds per point (default 3)")
    frontier.add_argument("--decades", type=int, default=4, help="float64 points below the bound, one per decade")
    frontier.add_argument("--hp-eps", type=_float_list, default=[],
                          help="eps below float64's reach run at high precision (e.g. 1e-10,1e-20)")
    frontier.add_argument("--workers", type=int, default=None, help="LocalCluster workers (default: cores)")
    frontier.add_argument("--scheduler", default=None, help="a running Dask scheduler (tcp://host:port)")
    parser.add_argument("--dps", type=int, default=None, help="digits (default 2 log10(1/eps) + 20, at least 30)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None,
                        help="output folder (default results/probe; evidence/accuracy-frontier with --campaign or "
                             "--analyze)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    add_overwrite_argument(parser)


def format_table(result: dict) -> str:
    lines = [f"{'d':>3} {'eps':>8} {'reached':>10} {'all':>5} {'epochs':>6} {'seconds':>8} {'exp(-d/ln d)':>12}"]
    for row in result["rows"]:
        reached = "failed" if row["reached"] is None else f"{row['reached']:.2e}"
        epochs = "-" if row["epochs"] is None else str(row["epochs"])
        lines.append(f"{row['d']:>3} {row['eps']:>8.0e} {reached:>10} {str(row['recovered_all']):>5} {epochs:>6} "
                     f"{row['seconds']:>8.1f} {row['bound']:>12.2e}")
    return "\n".join(lines)


def plot(result: dict, stem: Path) -> list[Path]:
    from ..plots import plt, save_figure

    fig, ax = plt.subplots(figsize=(6, 4))
    for d in sorted({row["d"] for row in result["rows"]}):
        rows = [row for row in result["rows"] if row["d"] == d and row["reached"] is not None]
        if rows:
            ax.plot([row["eps"] for row in rows], [max(row["reached"], 1e-300) for row in rows], "o-", label=f"d={d}")
            ax.axvline(rows[0]["bound"], ls=":", color=ax.lines[-1].get_color())
    lo = min(row["eps"] for row in result["rows"])
    ax.plot([lo, 1], [lo, 1], "k--", lw=0.8, label="reached = eps")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("target eps")
    ax.set_ylabel(r"reached $\|T - T^*\|_F$")
    ax.set_title("modified flow at high precision (dotted: exp(-d/ln d))", fontsize=9)
    ax.legend(fontsize=7)
    return save_figure(fig, stem)


def run(args: argparse.Namespace) -> int:
    if args.campaign is not None or args.analyze or args.point is not None:
        return _run_campaign(args)
    if args.out is None:
        args.out = "results/probe"
    if args.m_per_d < 1:  # checked in either mode: a flag given is a flag checked
        raise ValidationError("--m-per-d", "an integer >= 1", args.m_per_d)
    if args.grid is None and not args.tiny:
        return _run_frontier(args)
    if args.grid is not None and args.tiny:
        raise ValidationError("--grid", "not combined with --tiny", "both")
    grid = validate_grid(TINY_GRID if args.tiny else (args.grid if args.grid is not None else QUICK_GRID))
    if args.dps is not None:
        from solver.precision.arithmetic import validate_dps

        validate_dps(args.dps)
    from ..precision.probe import run_probe

    check_out_dir(args.out, overwrite=args.overwrite)
    result = run_probe(grid, m_per_d=args.m_per_d, dps=args.dps, backend=args.backend, seed=args.seed,
                       progress=None if args.quiet else
                       (lambda text: print(f"[probe] {text}", file=sys.stderr, flush=True)))
    out = Path(args.out)
    atomic_write_json(out / "probe.json", result)
    table = format_table(result)
    atomic_write_bytes(out / "probe.txt", (table + "\n").encode())
    print(table)
    paths = plot(result, out / "probe")
    print(f"wrote {out / 'probe.json'}, {out / 'probe.txt'}, {paths[0]}")
    json.dumps(result)  # the JSON file above is the contract; fail loudly here if it ever stops serializing
    return 0


def _run_frontier(args: argparse.Namespace) -> int:
    from ..precision.probe import FLOAT64_MIN_EPS, FRONTIER_DIMENSIONS, MAX_D, MIN_EPS

    dims = args.dims if args.dims is not None else list(FRONTIER_DIMENSIONS)
    for d in dims:
        if not 3 <= d <= MAX_D:
            raise ValidationError("--dims", f"integers in [3, {MAX_D}]", d)
    for k in args.m_over_d:
        if k < 1:
            raise ValidationError("--m-over-d", "integers >= 1", k)
    if args.seeds < 1:
        raise ValidationError("--seeds", "an integer >= 1", args.seeds)
    if args.decades < 0:
        raise ValidationError("--decades", "an integer >= 0", args.decades)
    for eps in args.hp_eps:
        if not MIN_EPS <= eps < FLOAT64_MIN_EPS:
            raise ValidationError("--hp-eps", f"values in [{MIN_EPS:g}, {FLOAT64_MIN_EPS:g})", eps)
    if args.workers is not None and args.workers < 1:
        raise ValidationError("--workers", "an integer >= 1", args.workers)
    if args.workers is not None and args.scheduler is not None:
        raise ValidationError("--workers", "not combined with --scheduler", args.workers)
    if args.dps is not None:
        from solver.precision.arithmetic import validate_dps

        validate_dps(args.dps)
    check_out_dir(args.out, overwrite=args.overwrite)
    from ..precision.probe import frontier, plot_frontier
    from ..progress import ProgressBar

    out = Path(args.out)
    bar = ProgressBar("probe", enabled=not args.quiet, interval=15.0, eta=True)
    result = frontier(dims, out / "sweep", m_over_d=args.m_over_d, seeds=args.seeds, decades_below=args.decades,
                      high_precision_eps=args.hp_eps, dps=args.dps, backend=args.backend, workers=args.workers,
                      scheduler=args.scheduler,
                      progress=lambda done, total, left: bar(done, total, "sweep runs"))
    bar.close()
    atomic_write_json(out / "frontier.json", result.to_dict())
    atomic_write_bytes(out / "frontier.md", result.markdown().encode())
    paths = plot_frontier(result, out / "frontier")
    print(result.markdown())
    print(f"wrote {out / 'frontier.json'}, {out / 'frontier.md'}, {paths[0]}, rows under {out / 'sweep'}")
    return 0


FRONTIER_OUT = "evidence/accuracy-frontier"


def _run_campaign(args: argparse.Namespace) -> int:
    import verify.precision.frontier as fr

    if sum(x is not None and x is not False for x in (args.campaign, args.analyze or None, args.point)) > 1:
        raise ValidationError("--campaign", "one of --campaign, --analyze, --point", "several")
    out = Path(args.out or FRONTIER_OUT)
    if args.point is not None:
        return _run_point(args, fr)
    if args.campaign is not None:
        if args.campaign not in fr.CAMPAIGNS:
            raise ValidationError("--campaign", f"one of {', '.join(fr.CAMPAIGNS)}", args.campaign)
        if args.limit is not None and args.limit < 1:
            raise ValidationError("--limit", "an integer >= 1", args.limit)
        check_out_dir(out)  # a campaign folder resumes: its own rows are expected there
        spec = fr.CAMPAIGNS[args.campaign]

        def progress(done: int, total: int, run, row: dict) -> None:
            if not args.quiet:
                print(f"[probe] {done} new ({total} in the campaign): {run.family} d={run.d} eps={run.eps:.2e} "
                      f"m={run.m} seed={run.seed} {run.precision}: success={row['success']} "
                      f"cpu={row['cpu_seconds']:.1f}s" + (f" error={row['error']}" if row.get("error") else ""),
                      file=sys.stderr, flush=True)

        written, total = fr.run_campaign(spec, out, limit=args.limit, progress=progress)
        print(f"{written} run(s) written, {total} in campaign {spec.name}, rows under {out / 'runs'}")
    return _analyze(out)


def _analyze(out: Path) -> int:
    import verify.precision.frontier as fr
    from ..precision import frontier_stats as fs

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
    if family not in fr.FAMILIES:
        raise ValidationError("--point", f"a family among {fr.FAMILIES}", family)
    if args.precision not in fr.PRECISIONS:
        raise ValidationError("--precision", f"one of {fr.PRECISIONS}", args.precision)
    if not 3 <= d <= 64:
        raise ValidationError("--point", "d in [3, 64]", d)
    if not 1e-300 <= eps < 1:
        raise ValidationError("--point", "eps in [1e-300, 1)", eps)
    if m < 1 or seed < 0:
        raise ValidationError("--point", "m >= 1 and seed >= 0", f"m={m} seed={seed}")
    top = fr.grid_eps(d, (0,))[0][2]
    a_1 = fr.family_spectrum(family, eps, top)[0]
    dps = None if args.precision == "float64" else fr.hp_digits(a_1, eps)
    run = fr.FrontierRun(family, d, "high-precision" if dps else "point", -1, eps, top, m, seed, args.precision, dps)
    row = fr.solve_run(run)
    keys = ("key", "success", "accurate", "max_rel_residual", "free_at_ar", "t_ur_ratio", "epochs", "error",
            "cpu_seconds")
    print(json.dumps({k: row.get(k) for k in keys}, default=str))
    return 0

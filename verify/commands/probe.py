"""``deflation probe``: Theorem 1's accuracy regime (claim P11) over a grid of (d, eps); table, JSON, plot."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from solver.errors import ValidationError
from solver.trajectory import atomic_write_json

from ..outputs import check_out_dir
from ..precision.arithmetic import BACKENDS
from ..precision.probe import QUICK_GRID, TINY_GRID, validate_grid

NAME = "probe"
HELP = "Probe the exp(-o(d/log d)) accuracy regime of the modified flow at high precision."


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--grid", type=_grid, default=None,
                        help="d:eps pairs (default: the quick grid " +
                             ",".join(f"{d}:{e:g}" for d, e in QUICK_GRID) + ")")
    parser.add_argument("--tiny", action="store_true", help="the tiny test grid " +
                        ",".join(f"{d}:{e:g}" for d, e in TINY_GRID))
    parser.add_argument("--m-per-d", type=int, default=2, help="components m = factor * d (default 2)")
    parser.add_argument("--dps", type=int, default=None, help="digits (default 2 log10(1/eps) + 20, at least 30)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/probe", help="output folder (default results/probe)")
    parser.add_argument("--quiet", action="store_true")


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
    if args.grid is not None and args.tiny:
        raise ValidationError("--grid", "not combined with --tiny", "both")
    grid = validate_grid(TINY_GRID if args.tiny else (args.grid if args.grid is not None else QUICK_GRID))
    if args.m_per_d < 1:
        raise ValidationError("--m-per-d", "an integer >= 1", args.m_per_d)
    if args.dps is not None:
        from ..precision.arithmetic import validate_dps

        validate_dps(args.dps)
    from ..precision.probe import run_probe

    check_out_dir(args.out)
    result = run_probe(grid, m_per_d=args.m_per_d, dps=args.dps, backend=args.backend, seed=args.seed,
                       progress=None if args.quiet else (lambda text: print(f"[probe] {text}", flush=True)))
    out = Path(args.out)
    atomic_write_json(out / "probe.json", result)
    table = format_table(result)
    (out / "probe.txt").write_text(table + "\n")
    print(table)
    paths = plot(result, out / "probe")
    print(f"wrote {out / 'probe.json'}, {out / 'probe.txt'}, {paths[0]}")
    json.dumps(result)  # the JSON file above is the contract; fail loudly here if it ever stops serializing
    return 0

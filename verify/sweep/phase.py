"""Phase diagrams of a sweep: success rate of each algorithm over m/r x spread of the spectrum (per d, r),
and the empirical m*(d, spread).

Success of a run: every ground-truth direction recovered at the end, ``|(T*-T)(u_j^l)| <= 0.1 a_j`` for
every ``j`` (:meth:`solver.Trajectory.recovered`). The rate of a cell is ``successes / n`` over its seeds,
with a Wilson 95% interval (the cells hold a handful of seeds: the interval, not the rate, is what a claim
may rest on). Runs whose integration raised (``error`` set) are counted apart and left out of the rate.

``m*(d, r, spread)`` of an algorithm: the smallest m/r of the grid at which the rate reaches the threshold
(90%) and stays there at every larger m/r of the grid; None when the grid never gets there. It is
resolved only to the grid's m/r spacing, and a cell's rate to 1/n.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solver.trajectory import atomic_write_bytes, atomic_write_json

__all__ = ["PhaseCell", "MStar", "PhaseSummary", "phase_summary", "plot_phase", "write_phase", "wilson_interval",
           "SUCCESS_THRESHOLD"]

SUCCESS_THRESHOLD = 0.9


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (95% for the default z); (0, 1) when n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class PhaseCell:
    """One cell of a phase diagram: ``successes`` of ``n`` runs (``errors`` more raised and are left out)."""

    algorithm: str
    d: int
    r: int
    spread: float
    m_over_r: float
    n: int
    successes: int
    errors: int = 0
    mean_directions: float = math.nan  # mean number of directions recovered per run

    @property
    def rate(self) -> float:
        return self.successes / self.n if self.n else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.n)


@dataclass(frozen=True)
class MStar:
    """The empirical ``m*`` of one (algorithm, d, r, spread) line of the grid (None: not reached on the grid).

    ``failures_at_or_above``: failed runs at m/r >= m* (each one a run of the kind "m large enough" covers;
    up to ``1 - threshold`` of them are allowed by the definition); ``max_m_over_r``: the grid's largest m/r.
    """

    algorithm: str
    d: int
    r: int
    spread: float
    m_over_r: float | None
    m: int | None
    n_at: int
    rate_at: float | None
    max_m_over_r: float
    failures_at_or_above: int
    runs_at_or_above: int


@dataclass(frozen=True)
class PhaseSummary:
    """Every cell and every m* of a sweep's dataset, at success ``threshold``."""

    cells: list[PhaseCell]
    m_star: list[MStar]
    threshold: float = SUCCESS_THRESHOLD
    n_runs: int = 0
    n_errors: int = 0
    notes: list[str] = field(default_factory=list)

    def lookup(self, algorithm: str, d: int, spread: float, r: int | None = None) -> MStar | None:
        """The m* entry of (algorithm, d, spread[, r]) (None if that line is not in the sweep)."""
        for entry in self.m_star:
            if (entry.algorithm == algorithm and entry.d == d and math.isclose(entry.spread, spread, rel_tol=1e-9)
                    and (r is None or entry.r == r)):
                return entry
        return None

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "n_runs": self.n_runs, "n_errors": self.n_errors, "notes": self.notes,
                "cells": [{**dataclasses.asdict(c), "rate": c.rate, "interval": list(c.interval)} for c in self.cells],
                "m_star": [dataclasses.asdict(m) for m in self.m_star]}

    def markdown(self) -> str:
        """Tables: m* per (d, r, spread) and algorithm; then every cell as k/n."""
        lines = [f"m* = smallest m/r of the grid with success rate >= {self.threshold:.0%} there and at every "
                 "larger m/r (success: every direction's final residual <= 0.1 a_j)", "",
                 "| algorithm | d | r | spread a_1/a_r | m*/r | m* | rate at m* | failures at m/r >= m*/r | grid max m/r |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for e in self.m_star:
            star = "not reached" if e.m_over_r is None else f"{e.m_over_r:g}"
            lines.append(f"| {e.algorithm} | {e.d} | {e.r} | {e.spread:.3g} | {star} | {e.m if e.m else '-'} | "
                         f"{'-' if e.rate_at is None else f'{e.rate_at:.0%} (n={e.n_at})'} | "
                         f"{e.failures_at_or_above}/{e.runs_at_or_above} | {e.max_m_over_r:g} |")
        lines += ["", "| algorithm | d | r | spread | m/r | successes/n | rate (Wilson 95%) | mean directions |",
                  "|---|---|---|---|---|---|---|---|"]
        for c in self.cells:
            lo, hi = c.interval
            lines.append(f"| {c.algorithm} | {c.d} | {c.r} | {c.spread:.3g} | {c.m_over_r:g} | {c.successes}/{c.n}"
                         f"{f' (+{c.errors} errors)' if c.errors else ''} | {c.rate:.0%} [{lo:.0%}, {hi:.0%}] | "
                         f"{c.mean_directions:.2f} |")
        return "\n".join(lines) + "\n"


def phase_summary(rows: Any, threshold: float = SUCCESS_THRESHOLD) -> PhaseSummary:
    """Cells and m* of a sweep's rows (a DataFrame from :func:`verify.sweep.store.read_rows`)."""
    from solver.errors import require

    require(0 < threshold <= 1, "threshold", "in (0, 1]", threshold)
    df = rows
    cells: list[PhaseCell] = []
    if len(df) == 0:
        return PhaseSummary(cells=[], m_star=[], threshold=threshold, notes=["no runs in the dataset"])
    ok = df["error"].isna()
    keys = ["algorithm", "d", "r", "spread", "m_over_r"]
    for (algorithm, d, r, spread, m_over_r), group in df.groupby(keys, sort=True):
        good = group[ok.loc[group.index]]
        cells.append(PhaseCell(algorithm=str(algorithm), d=int(d), r=int(r), spread=float(spread),
                               m_over_r=float(m_over_r), n=int(len(good)), successes=int(good["recovered_all"].sum()),
                               errors=int(len(group) - len(good)),
                               mean_directions=float(good["n_recovered"].mean()) if len(good) else math.nan))
    m_star: list[MStar] = []
    lines: dict[tuple, list[PhaseCell]] = {}
    for c in cells:
        lines.setdefault((c.algorithm, c.d, c.r, c.spread), []).append(c)
    for (algorithm, d, r, spread), line in sorted(lines.items()):
        line = sorted(line, key=lambda c: c.m_over_r)
        star = None
        for i, c in enumerate(line):
            if all(x.n > 0 and x.rate >= threshold for x in line[i:]):
                star = c
                break
        above = [x for x in line if star is not None and x.m_over_r >= star.m_over_r]
        m_star.append(MStar(algorithm=algorithm, d=d, r=r, spread=spread,
                            m_over_r=None if star is None else star.m_over_r,
                            m=None if star is None else int(round(star.m_over_r * r)),
                            n_at=0 if star is None else star.n, rate_at=None if star is None else star.rate,
                            max_m_over_r=line[-1].m_over_r,
                            failures_at_or_above=sum(x.n - x.successes for x in above),
                            runs_at_or_above=sum(x.n for x in above)))
    n_errors = int((~ok).sum())
    notes = [f"{n_errors} run(s) raised during integration and are left out of the rates"] if n_errors else []
    return PhaseSummary(cells=cells, m_star=m_star, threshold=threshold, n_runs=int(len(df)), n_errors=n_errors,
                        notes=notes)


def plot_phase(summary: PhaseSummary, stem: Path, title: str = "") -> list[Path]:
    """Heatmaps of the success rate, one panel per (d, r) row and algorithm column: x = m/r, y = spread
    ``a_1/a_r``, each cell annotated ``successes/n``; a white frame marks m* on each spread line.
    Writes ``stem.png`` and ``stem.svg``."""
    import numpy as np

    from verify.plots import heatmap, plt, save_figure, text_color, vector_colorbar

    algorithms = sorted({c.algorithm for c in summary.cells}, key=lambda a: (a != "plain", a))
    shapes = sorted({(c.d, c.r) for c in summary.cells})
    if not summary.cells:
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.text(0.5, 0.5, "no runs", ha="center", va="center")
        ax.axis("off")
        return save_figure(fig, Path(stem))
    fig, axes = plt.subplots(len(shapes), len(algorithms), squeeze=False,
                             figsize=(3.9 * len(algorithms) + 0.8, 2.6 * len(shapes) + 0.6))
    fig.subplots_adjust(wspace=0.4, hspace=0.5)
    image = None
    for i, (d, r) in enumerate(shapes):
        for j, algorithm in enumerate(algorithms):
            ax = axes[i][j]
            cells = [c for c in summary.cells if c.algorithm == algorithm and c.d == d and c.r == r]
            xs = sorted({c.m_over_r for c in cells})
            ys = sorted({c.spread for c in cells})
            grid = np.full((len(ys), len(xs)), np.nan)
            for c in cells:
                grid[ys.index(c.spread), xs.index(c.m_over_r)] = c.rate
            image = heatmap(ax, grid, origin="lower", cmap="viridis", vmin=0, vmax=1)
            for c in cells:  # text colour by the cell's luminance
                yi, xi = ys.index(c.spread), xs.index(c.m_over_r)
                rgba = image.cmap(image.norm(c.rate)) if c.n else image.cmap.get_bad()
                ax.text(xi, yi, f"{c.successes}/{c.n}", ha="center", va="center", fontsize=7, color=text_color(rgba))
            for yi, spread in enumerate(ys):
                entry = summary.lookup(algorithm, d, spread, r)
                if entry is not None and entry.m_over_r is not None:
                    xi = xs.index(entry.m_over_r)
                    ax.add_patch(plt.Rectangle((xi - 0.5, yi - 0.5), 1, 1, fill=False, ec="white", lw=1.5))
            ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs], fontsize=7)
            ax.set_yticks(range(len(ys)), [f"{y:.3g}" for y in ys], fontsize=7)
            ax.set_xlabel("m / r", fontsize=8)
            ax.set_ylabel(r"spread $a_1/a_r$", fontsize=8)
            ax.set_title(f"{algorithm}, d={d}, r={r}", fontsize=9)
    vector_colorbar(fig, image, ax=axes, shrink=0.8, label="success rate (all directions recovered)")
    fig.suptitle((f"{title}: " if title else "") + f"success rate (framed: m*, >= {summary.threshold:.0%} from "
                 "there on; runs that raised are left out)", fontsize=9)
    return save_figure(fig, Path(stem))


def write_phase(out: Path, threshold: float = SUCCESS_THRESHOLD, title: str = "") -> tuple[PhaseSummary, list[Path]]:
    """Read the dataset under ``out`` and write ``phase.json``, ``phase.md`` and ``phase.png/svg`` there."""
    from .store import read_rows

    out = Path(out)
    rows = read_rows(out)
    summary = phase_summary(rows, threshold)
    atomic_write_json(out / "phase.json", summary.to_dict())
    atomic_write_bytes(out / "phase.md", summary.markdown().encode())
    paths = plot_phase(summary, out / "phase", title=title)
    return summary, [out / "phase.json", out / "phase.md", *paths, *write_m_curves(rows, out, title)]


def m90_markdown(lines: list) -> str:
    """A table of every grid line's m_90 with its order-statistic 95% interval (``-``: unbounded, the grid's
    largest m did not reach it), the seeds above the grid, the non-monotone seeds, m_50 with its interval, the
    order law's m_90 on the same seeds (from each run's predicted set) and the law's agreement (runs whose
    fitted set is the predicted one)."""
    from .mcurve import quantile_interval

    def show(v):
        return "-" if v is None else f"{v:g}"

    out = ["| algorithm | d | r | spread | seeds | above the grid | m_90 | 95% interval | non-monotone seeds | "
           "m_50 | 95% interval | order law m_90 | fitted = predicted |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for line in lines:
        k = line.key
        above = sum(c.m_needed is None for c in line.curves)
        m50, lo50, hi50 = quantile_interval([c.m_needed for c in line.curves], 0.5)
        known = line.curves and all(c.predicted_success and None not in c.predicted_success for c in line.curves)
        law = (show(quantile_interval([c.predicted_m_needed for c in line.curves], 0.9)[0]).replace(
            "-", "above the grid") if known else "n/a")
        out.append(f"| {k.get('algorithm')} | {k.get('d')} | {k.get('r')} | {k.get('spread'):g} | "
                   f"{len(line.curves)} | {above} | {show(line.m90)} | [{show(line.m90_low)}, "
                   f"{show(line.m90_high)}] | {line.non_monotone} | {show(m50)} | [{show(lo50)}, {show(hi50)}] | "
                   f"{law} | {line.agree}/{line.compared} |")
    return "\n".join(out) + "\n"


def write_m_curves(rows: Any, out: Path, title: str = "") -> list[Path]:
    """For a store of nested draws (every row's ``draws`` set): ``m90.json``, ``m90.md`` (:func:`m90_markdown`)
    and the success-vs-m figure ``m_curves.png/svg`` (:func:`verify.sweep.mcurve.plot_m_curves`); with two or
    more d also ``m90_loglog.png/svg`` (:func:`verify.sweep.mfit.plot_m90`), for Algorithm 1 the logistic
    m_90(d) and slope (``m90_fit.json/md``) and for the plain flow the d-independence tests
    (``d_tests.json/md``, :mod:`verify.sweep.mfit`); nothing for
    rows drawn before draws were nested, whose seeds have no curve in m."""
    from .mcurve import m_lines, plot_m_curves

    if "draws" not in rows or rows["draws"].isna().any() or "m" not in rows:
        return []
    from .mcurve import law_vs_measured, law_vs_measured_markdown
    from .mfit import compare_forms, d_independence, d_tests_markdown, mfit_markdown, plot_m90

    lines = m_lines(rows)
    atomic_write_json(out / "m90.json", [line.to_dict() for line in lines])
    atomic_write_bytes(out / "m90.md", m90_markdown(lines).encode())
    paths = [out / "m90.json", out / "m90.md", *plot_m_curves(rows, out / "m_curves", title=title)]
    plain = rows[rows["algorithm"] == "plain"]
    if len(plain) and "order" in plain:
        atomic_write_bytes(out / "law_vs_measured.md", law_vs_measured_markdown(law_vs_measured(plain)).encode())
        paths.append(out / "law_vs_measured.md")
    if rows["d"].nunique() >= 2:
        paths += plot_m90(rows, out / "m90_loglog")
        modified = rows[rows["algorithm"] == "modified"]
        if modified["d"].nunique() >= 2:
            comparison = compare_forms(modified)
            atomic_write_json(out / "m90_fit.json", comparison)
            ds = sorted({int(d) for d in modified["d"]})
            atomic_write_bytes(out / "m90_fit.md", mfit_markdown(comparison, ds).encode())
            paths += [out / "m90_fit.json", out / "m90_fit.md"]
        if plain["d"].nunique() >= 2:
            tests = d_independence(plain)
            atomic_write_json(out / "d_tests.json", [t.to_dict() for t in tests])
            atomic_write_bytes(out / "d_tests.md", d_tests_markdown(tests).encode())
            paths += [out / "d_tests.json", out / "d_tests.md"]
    return paths

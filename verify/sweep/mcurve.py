"""Per-seed success curves in m (nested draws) and m_90 with an order-statistic confidence interval.

With nested draws (:func:`solver.flow.initial_directions`) a seed's W(0) at a larger m holds its W(0) at every
smaller m, so each seed has a success curve ``m -> success`` over a grid line (fixed d, r, spread, algorithm and
parameters). From it:

- ``m_needed`` of a seed: the smallest grid m from which the seed succeeds at every larger grid m (None when it
  never does by the grid's largest m: right-censored at that m, counted as "above the grid").
- non-monotone seeds: a success at some m followed by a failure at a larger m. The law (more components can
  only occupy more basins) predicts none for the plain flow at T = 0; a finite delta0 and rescues can make
  some. They are counted, not assumed away; ``m_needed`` is then the last switch to success.
- ``m_90`` of a line: the 90% quantile of ``m_needed`` over seeds. Its confidence interval is distribution-free
  (order statistics): with n seeds and ``m_(1) <= ... <= m_(n)`` sorted, ``P(m_(i) <= Q_q <= m_(j)) =
  F_binom(j-1; n, q) - F_binom(i-1; n, q)``; the interval is the shortest ``[m_(i), m_(j)]`` with coverage at
  least ``level`` (scipy.stats.binom). With n = 30 and q = 0.9 the upper order statistic needed is n itself
  or beyond, so the upper end is often "above the largest observed m_needed" (None): that is the honest
  answer at 30 seeds, not a defect. Censored seeds sort as +infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

__all__ = ["SeedCurve", "MLine", "seed_curves", "m_lines", "quantile_interval", "plot_m_curves", "LINE_KEYS",
           "law_vs_measured", "law_vs_measured_markdown"]

# A grid line: every input but m (and the seed). Parameters that the grid may vary are included.
LINE_KEYS = ("algorithm", "d", "r", "spread", "order", "basis", "delta0", "eps", "t_max")


@dataclass(frozen=True)
class SeedCurve:
    """One seed's success over the grid's m (sorted), its ``m_needed`` and whether the curve is monotone."""

    seed: int
    ms: tuple[int, ...]
    success: tuple[bool, ...]
    predicted_success: tuple[bool | None, ...] = ()

    @property
    def m_needed(self) -> int | None:
        """Smallest grid m from which every larger grid m succeeds (None: never, by the grid's largest m)."""
        need = None
        for m, ok in zip(reversed(self.ms), reversed(self.success)):
            if not ok:
                break
            need = m
        return need

    @property
    def monotone(self) -> bool:
        seen = False
        for ok in self.success:
            if seen and not ok:
                return False
            seen = seen or ok
        return True

    @property
    def predicted_m_needed(self) -> int | None:
        if not self.predicted_success or any(p is None for p in self.predicted_success):
            return None
        return SeedCurve(self.seed, self.ms, tuple(bool(p) for p in self.predicted_success)).m_needed


def quantile_interval(values: Sequence[float | None], q: float = 0.9,
                      level: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """``(estimate, low, high)`` of the q-quantile of ``values`` (None = censored above every value).

    Estimate: the order statistic ``m_(ceil(q n))``. Interval: the shortest ``[m_(i), m_(j)]`` (1-based) with
    binomial coverage ``F(j-1) - F(i-1) >= level``, ``F`` the Binomial(n, q) CDF; an end that falls past the
    sample (or on a censored value) is None (unbounded). None everywhere for an empty sample.
    """
    from scipy.stats import binom

    n = len(values)
    if n == 0:
        return None, None, None
    xs = sorted((math.inf if v is None else float(v)) for v in values)

    def at(i: int) -> float | None:  # 1-based order statistic; None past the sample or censored
        if i < 1 or i > n or math.isinf(xs[i - 1]):
            return None
        return xs[i - 1]

    estimate = at(max(1, math.ceil(q * n)))
    best = None
    for i in range(0, n + 1):          # i = 0: no lower bound; j = n + 1: no upper bound
        for j in range(i + 1, n + 2):
            coverage = binom.cdf(j - 1, n, q) - (binom.cdf(i - 1, n, q) if i >= 1 else 0.0)
            if coverage >= level:
                width = (j - i, -i)
                if best is None or width < best[0]:
                    best = (width, i, j)
                break
    _, i, j = best
    return estimate, (at(i) if i >= 1 else None), (at(j) if j <= n else None)


@dataclass(frozen=True)
class MLine:
    """One grid line: its inputs, each seed's curve, ``m_90`` with its interval, non-monotone seeds, and the
    order law's agreement (runs whose ``fitted`` equals ``predicted``)."""

    key: dict
    curves: list[SeedCurve]
    m90: float | None
    m90_low: float | None
    m90_high: float | None
    predicted_m90: float | None
    non_monotone: int
    agree: int
    compared: int
    ms: tuple[int, ...] = field(default=())

    def to_dict(self) -> dict:
        return {**self.key, "ms": list(self.ms), "seeds": len(self.curves), "m90": self.m90,
                "m90_low": self.m90_low, "m90_high": self.m90_high, "predicted_m90": self.predicted_m90,
                "non_monotone": self.non_monotone, "agree": self.agree, "compared": self.compared,
                "m_needed": {c.seed: c.m_needed for c in self.curves}}


def seed_curves(rows: Any) -> dict[tuple, list[SeedCurve]]:
    """Each grid line's seed curves from a store's DataFrame (runs that raised are left out: an integration
    failure is not the algorithm failing)."""
    df = rows[rows["error"].isna()] if "error" in rows else rows
    keys = [k for k in LINE_KEYS if k in df.columns]
    out: dict[tuple, list[SeedCurve]] = {}
    for line, group in df.groupby(keys, sort=True, dropna=False):
        curves = []
        for seed, runs in group.groupby("seed", sort=True):
            runs = runs.sort_values("m")
            predicted = []
            for _, row in runs.iterrows():
                p = row.get("predicted")
                predicted.append(None if p is None or (isinstance(p, float) and math.isnan(p))
                                 else len(list(p)) == int(row["r"]))
            curves.append(SeedCurve(int(seed), tuple(int(m) for m in runs["m"]),
                                    tuple(bool(s) for s in runs["success"]), tuple(predicted)))
        out[tuple(line) if isinstance(line, tuple) else (line,)] = curves
    return out


def m_lines(rows: Any, q: float = 0.9, level: float = 0.95) -> list[MLine]:
    """Every grid line's m_q (estimate and interval), predicted m_q (the order law on the same seeds),
    non-monotone seed count and the law's agreement (``fitted == predicted`` over runs with a prediction)."""
    df = rows[rows["error"].isna()] if "error" in rows else rows
    keys = [k for k in LINE_KEYS if k in df.columns]
    lines = []
    for line, curves in seed_curves(rows).items():
        sel = df
        for k, v in zip(keys, line):
            sel = sel[sel[k].isna()] if (isinstance(v, float) and math.isnan(v)) else sel[sel[k] == v]
        agree = compared = 0
        for _, row in sel.iterrows():
            p, f = row.get("predicted"), row.get("fitted")
            if p is None or f is None or (isinstance(p, float) and math.isnan(p)):
                continue
            compared += 1
            agree += sorted(int(x) for x in p) == sorted(int(x) for x in f)
        m90, lo, hi = quantile_interval([c.m_needed for c in curves], q, level)
        pm = [c.predicted_m_needed for c in curves]
        predicted = quantile_interval(pm, q, level)[0] if curves and all(
            c.predicted_success and None not in c.predicted_success for c in curves) else None
        lines.append(MLine(key=dict(zip(keys, (None if isinstance(v, float) and math.isnan(v) else v
                                               for v in line))),
                           curves=curves, m90=m90, m90_low=lo, m90_high=hi, predicted_m90=predicted,
                           non_monotone=sum(not c.monotone for c in curves), agree=agree, compared=compared,
                           ms=tuple(sorted({m for c in curves for m in c.ms}))))
    return lines


def plot_m_curves(rows: Any, stem, title: str = "") -> list:
    """Success vs m, one panel per (algorithm, r, spread), one line per d: the measured rate (Wilson 95% bars),
    the order law's predicted ``P(every basin occupied | m)`` for the plain flow (dashed; it does not depend on
    d), and each seed's ``m_needed`` as ticks under the axis. Writes ``stem.png`` and ``stem.svg``."""
    from pathlib import Path

    import matplotlib.ticker
    import numpy as np

    from verify import mlaw
    from verify.plots import plt, save_figure

    from .phase import wilson_interval

    df = rows[rows["error"].isna()] if "error" in rows else rows
    panels = sorted({(str(a), int(r), float(s)) for a, r, s in zip(df["algorithm"], df["r"], df["spread"])})
    ncols = min(3, max(1, len(panels)))
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, figsize=(3.8 * ncols, 3.2 * nrows), layout="constrained")
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (algorithm, r, spread) in zip(axes.flat, panels):
        sel = df[(df["algorithm"] == algorithm) & (df["r"] == r) & (df["spread"] == spread)]
        for i, (d, group) in enumerate(sel.groupby("d", sort=True)):
            ms, rate, lo, hi = [], [], [], []
            for m, cell in group.groupby("m", sort=True):
                k, n = int(cell["success"].sum()), len(cell)
                a, b = wilson_interval(k, n)
                ms.append(m), rate.append(k / n), lo.append(k / n - a), hi.append(b - k / n)
            ax.errorbar(ms, rate, yerr=[lo, hi], marker="o", ms=3, lw=1, capsize=2, label=f"d={d}")
            needs = [c.m_needed for c in seed_curves(group).get(next(iter(seed_curves(group))), [])]
            ax.plot([x for x in needs if x is not None], [-0.04 - 0.03 * i] * sum(x is not None for x in needs),
                    "|", ms=6, color=ax.lines[-1].get_color())
        if algorithm == "plain":
            a = spread ** (-np.arange(r) / max(1, r - 1))
            p, _ = mlaw.basin_probabilities(a, int(sel["order"].iloc[0]) if "order" in sel else 4, samples=100_000)
            grid = np.unique(np.geomspace(max(1, sel["m"].min()), sel["m"].max(), 60).round().astype(int))
            ax.plot(grid, [mlaw.occupancy_probability(p, int(m)) for m in grid], "k--", lw=1, label="order law")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_ylim(-0.05 - 0.03 * sel["d"].nunique(), 1.05)
        ax.set_xlabel("m")
        ax.set_ylabel("success rate")
        ax.set_title(f"{algorithm}, r={r}, spread {spread:g}", fontsize=9)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, Path(stem))


def law_vs_measured(rows: Any, samples: int = 200_000) -> list[dict]:
    """The plain flow's success against the order law, per (r, spread, m), pooled over d (the law says d does not
    matter): measured successes ``k`` of ``n`` runs, the law on the same W(0)s (runs whose predicted set is every
    direction: ``predicted_k``), and the law's probability ``P(every basin occupied | m)`` for a fresh W(0)
    (:func:`verify.mlaw.occupancy_probability` with Monte-Carlo basin probabilities, ``samples`` draws)."""
    import numpy as np

    from verify import mlaw

    df = rows[(rows["algorithm"] == "plain") & rows["error"].isna()] if "error" in rows else rows
    out = []
    for (r, spread, order), group in df.groupby(["r", "spread", "order"], sort=True):
        a = float(spread) ** (-np.arange(int(r)) / max(1, int(r) - 1))
        p, _ = mlaw.basin_probabilities(a, int(order), samples=samples)
        for m, cell in group.groupby("m", sort=True):
            full = [p_ is not None and not isinstance(p_, float) and len(p_) == int(r) for p_ in cell["predicted"]]
            out.append({"r": int(r), "spread": float(spread), "m": int(m), "n": len(cell),
                        "k": int(cell["success"].sum()), "predicted_k": int(sum(full)),
                        "law": mlaw.occupancy_probability(p, int(m)), "ds": sorted({int(d) for d in cell["d"]})})
    return out


def law_vs_measured_markdown(table: list[dict]) -> str:
    """:func:`law_vs_measured` as a markdown table."""
    out = ["| r | spread | m | runs (d pooled) | measured success | law on the same W(0) | law, P(all occupied) |",
           "|---|---|---|---|---|---|---|"]
    for t in table:
        out.append(f"| {t['r']} | {t['spread']:g} | {t['m']} | {t['n']} | {t['k'] / t['n']:.2f} | "
                   f"{t['predicted_k'] / t['n']:.2f} | {t['law']:.2f} |")
    return "\n".join(out) + "\n"

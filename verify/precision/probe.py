"""Probe of Theorem 1's accuracy regime (claim P11): does the modified flow reach eps = exp(-o(d/log d)) and below?

For each (d, eps) of a grid: an orthogonal instance (Haar-random basis, seeded) whose spectrum runs
geometrically from ``a_1 = 1`` down to ``a_r = eps`` (``r = min(d, r_max)``), the modified flow (Algorithm 1,
cluster re-initialization rule, ``lambda = eps / 10``) at enough digits to resolve ``eps^2`` against
``||T*||^2`` (``dps >= 2 log10(1/eps) + 20``), integrated by Radau IIA (the spread spectrum is stiff).
Reported per point: ``reached = ||T - T*||_F`` at the end, whether every ``a_j >= eps`` was recovered
(residual ``|(T*-T)(u_j^l)| <= 0.1 a_j``), epochs, wall seconds and the theorem's scale ``exp(-d / ln d)``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from solver.config import FlowConfig
from solver.errors import ValidationError, require
from solver.ground_truth import random_orthonormal
from solver.trajectory import RECOVERY_TOLERANCE

__all__ = ["run_probe", "validate_grid", "QUICK_GRID", "TINY_GRID", "probe_instance", "theorem_scale",
           "high_precision_point", "probe_run_spec", "probe_sweep_spec", "find_m", "frontier", "FrontierPoint",
           "FrontierResult", "plot_frontier", "FLOAT64_MIN_EPS", "FRONTIER_DIMENSIONS"]

# The quick default grid (measured 107 s on 2 cores, BENCHMARKS.md; the budget is 10 minutes), and a tiny
# one for tests. (12, 1e-2) lies above exp(-d/ln d) = 8e-3: inside Theorem 1's regime; the others probe below it.
QUICK_GRID: tuple[tuple[int, float], ...] = ((4, 1e-5), (4, 1e-10), (4, 1e-20), (4, 1e-40), (6, 1e-10), (6, 1e-40),
                                             (12, 1e-2))
TINY_GRID: tuple[tuple[int, float], ...] = ((3, 1e-4),)
MAX_D, MIN_EPS = 64, 1e-300


def theorem_scale(d: int) -> float:
    """``exp(-d / ln d)``: the scale below which Theorem 1's eps is not covered (up to the o(.))."""
    return math.exp(-d / math.log(d))


def validate_grid(grid: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    """Each point ``(d, eps)``: integer ``2 <= d <= 64``, ``1e-300 <= eps < 1``; at least one point."""
    try:
        points = [(d, float(e)) for d, e in grid]
    except (TypeError, ValueError):
        raise ValidationError("grid", "a list of (d, eps) pairs", grid) from None
    require(len(points) >= 1, "grid", "at least one (d, eps) point", grid)
    for d, eps in points:
        ok_d = isinstance(d, (int, np.integer)) and not isinstance(d, bool) and 2 <= d <= MAX_D
        require(ok_d, "grid", f"dimensions d: integers in [2, {MAX_D}]", d)
        require(math.isfinite(eps) and MIN_EPS <= eps < 1, "grid", f"targets eps in [{MIN_EPS:g}, 1)", eps)
    return [(int(d), eps) for d, eps in points]


def probe_instance(d: int, eps: float, r_max: int = 4, seed: int = 0):
    """Orthogonal ground truth with ``a_j = eps^((j-1)/(r-1))``, ``r = min(d, r_max)`` (``a_1 = 1``, ``a_r = eps``)."""
    r = max(2, min(d, r_max))
    a = eps ** (np.arange(r) / (r - 1))
    return random_orthonormal(d, a, 4, seed)


def run_probe(grid: Sequence[tuple[int, float]] = QUICK_GRID, *, m_per_d: int = 2, r_max: int = 4, seed: int = 0,
              dps: int | None = None, backend: str = "auto", delta0: float = 1e-15, delta1: float = 1e-5,
              epoch_factor: float = 8.0, progress: Callable[[str], None] | None = None) -> dict:
    """The first probe (fixed ``m = m_per_d * d``, kept for the audit's quick stage; :func:`frontier` is the
    redesign that separates m from eps). Returns ``{"rows": [{"d", "eps", "reached", "recovered_all", "epochs",
    "seconds", "bound", ...}]}`` (extra keys: dps, m, r, rhs_evals, error)."""
    points = validate_grid(grid)
    rows = []
    for d, eps in points:
        m = m_per_d * d
        if progress is not None:
            progress(f"d={d} eps={eps:.0e} m={m}")
        rows.append(high_precision_point(d, eps, m, r_max=r_max, seed=seed, dps=dps, backend=backend,
                                         delta0=delta0, delta1=delta1, epoch_factor=epoch_factor,
                                         reinit_rule="cluster"))
    return {"rows": rows, "settings": {"m_per_d": m_per_d, "r_max": r_max, "seed": seed, "backend": backend,
                                       "delta0": delta0, "delta1": delta1, "epoch_factor": epoch_factor}}


def high_precision_point(d: int, eps: float, m: int, *, r_max: int = 4, seed: int = 0, dps: int | None = None,
                         backend: str = "auto", delta0: float = 1e-15, delta1: float = 1e-5, epoch_factor: float = 8.0,
                         reinit_rule: str = "norm") -> dict:
    """One probe point at high precision: Algorithm 1 on :func:`probe_instance` (``a_r = eps``) with ``m``
    components, at ``dps`` digits (default ``max(30, 2 log10(1/eps) + 20)``: resolves ``eps^2`` against
    ``||T*||^2``), Radau IIA. Returns ``{"d", "eps", "m", "r", "dps", "bound", "reached" (||T - T*||_F at the
    end), "recovered_all" (every a_j >= eps with |(T*-T)(u_j^l)| <= 0.1 a_j), "epochs", "rhs_evals", "seconds",
    "error"}``; a point whose integration raised is a row with ``error`` set, not an exception."""
    truth = probe_instance(d, eps, r_max, seed)
    digits = dps if dps is not None else int(max(30, math.ceil(2 * -math.log10(eps)) + 20))
    config = FlowConfig(algorithm="modified", m=m, delta0=delta0, delta1=delta1, eps=eps, beta0=1.0,
                        epoch_factor=epoch_factor, reinit_rule=reinit_rule, integrator="radau", n_save=64,
                        rtol=1e-10, atol=1e-12)
    start = time.perf_counter()
    row = {"d": d, "eps": eps, "bound": theorem_scale(d), "dps": digits, "m": m, "r": truth.r,
           "precision": f"{digits} digits"}
    try:
        from solver.precision.backend import solve_high_precision  # loads torch: only when a point runs

        traj = solve_high_precision(truth, config, seed, dps=digits, backend=backend, integrator="radau")
        loss = traj.meta["high_precision"]["loss"][0][-1]
        import mpmath

        with mpmath.workdps(digits):
            reached = mpmath.sqrt(2 * abs(mpmath.mpf(loss)))
        final = np.abs(traj.residuals[0, -1]) / truth.a
        row.update({"reached": float(reached), "reached_exact": mpmath.nstr(reached, 20),
                    "recovered_all": bool(np.all(final[truth.a >= eps] <= RECOVERY_TOLERANCE)),
                    "epochs": len(traj.config["epochs"]), "rhs_evals": traj.meta["rhs_evals"], "error": None})
    except Exception as err:  # a failed point is a result (e.g. Newton at extreme stiffness), not a crash
        row.update({"reached": None, "recovered_all": False, "epochs": None, "error": f"{type(err).__name__}: {err}"})
    row["seconds"] = time.perf_counter() - start
    return row


# ----------------------------------------------------------------------------------------- the redesign
# Dimensions of the default frontier: exp(-d/ln d) = 0.035 (d = 6), 0.021 (8), 0.013 (10); the m search
# at m/d in {2, 4, 8} stays within seconds per run on 2 cores.
FRONTIER_DIMENSIONS: tuple[int, ...] = (6, 8, 10)
# Smallest eps run in float64: the loss 1/2 ||T - T*||^2 resolves down to ~1e-16 ||T*||^2, so ||T - T*|| <= eps
# is decidable for eps >~ 1e-8; two decades of margin. Below it the frontier continues at high precision.
FLOAT64_MIN_EPS = 1e-6


def probe_run_spec(d: int, eps: float, m: int, *, r_max: int = 4, seed: int = 0, delta0: float = 1e-15,
                   delta1: float = 1e-5, epoch_factor: float = 8.0, reinit_rule: str = "norm"):
    """The float64 run of one probe point as a :class:`solver.spec.RunSpec`: :func:`probe_instance`
    (Haar basis seeded by ``seed``, ``a_j = eps^((j-1)/(r-1))``), Algorithm 1 with ``beta0 = 1`` and target
    ``eps``, BDF with the analytic Jacobian."""
    from solver.spec import InstanceSpec, RunSpec

    r = max(2, min(d, r_max))
    instance = InstanceSpec(d=d, r=r, ratio=float((1.0 / eps) ** (1.0 / (r - 1))), basis="random", basis_seed=seed)
    config = FlowConfig(algorithm="modified", m=m, delta0=delta0, delta1=delta1, eps=eps, beta0=1.0,
                        epoch_factor=epoch_factor, reinit_rule=reinit_rule, integrator="bdf", n_save=64,
                        record_components=False)
    return RunSpec(instance=instance, config=config, first_seed=seed, n_seeds=1)


def probe_sweep_spec(d: int, eps_values: Sequence[float], m_values: Sequence[int], *, seeds: int = 3,
                     r_max: int = 4, delta0: float = 1e-15, delta1: float = 1e-5, epoch_factor: float = 8.0,
                     reinit_rule: str = "norm", name: str = "probe"):
    """The float64 probe points of one d as a sweep (:mod:`verify.sweep`): spread ``1/eps`` (so ``a_r = eps``),
    ``eps = a_r`` (``eps_per_a_min = 1``), each m, ``seeds`` seeds; every row is the RunSpec of
    :func:`probe_run_spec` (same key)."""
    from verify.sweep.spec import parse_spec

    r = max(2, min(d, r_max))
    text = f"""name = "{name}-d{d}"
[grid]
d = [{d}]
r = [{r}]
spread = [{", ".join(repr(float(1.0 / e)) for e in eps_values)}]
m = [{", ".join(str(int(m)) for m in m_values)}]
algorithm = ["modified"]
seeds = {int(seeds)}
basis = "random"
[modified]
delta0 = {delta0!r}
delta1 = {delta1!r}
eps_per_a_min = 1.0
beta0 = 1.0
epoch_factor = {epoch_factor!r}
reinit_rule = "{reinit_rule}"
integrator = "bdf"
n_save = 64
record_components = false
"""
    return parse_spec(text)


@dataclass(frozen=True)
class FrontierPoint:
    """One (d, eps, m) of the probe: ``recovered`` of ``n`` seeds recovered every component."""

    d: int
    eps: float
    m: int
    n: int
    recovered: int
    precision: str  # "float64" or "<N> digits"
    stage: str  # "calibration" (the m search above the bound) or "frontier"
    reached: float | None = None  # largest ||T - T*||_F over the seeds (None: not resolved/failed)
    commands: tuple[str, ...] = ()
    errors: int = 0  # runs whose integration raised (counted in n as not recovered)

    @property
    def all_recovered(self) -> bool:
        return self.n > 0 and self.recovered == self.n


@dataclass(frozen=True)
class FrontierResult:
    """The redesigned probe (claim P11).

    ``m_by_d[d]``: the smallest m of the search at which Algorithm 1 recovered every component in every seed
    at ``eps_calibration[d]`` (above ``exp(-d/ln d)``); None: no m of the search did (the frontier is then not
    measured at that d). ``eps_star[d]``: the smallest eps of the frontier grid at which every seed recovered
    every component (at ``m_by_d[d]``); ``resolved[d]``: whether some smaller eps of the grid failed (False: the
    frontier lies below the grid, ``eps_star`` is only an upper bound on it); ``failures_above[d]``: grid points
    above ``eps_star`` where some seed missed a component (seed luck at this m: the frontier is not a sharp line).
    """

    points: list[FrontierPoint]
    m_by_d: dict[int, int | None]
    eps_calibration: dict[int, float]
    eps_star: dict[int, float | None]
    resolved: dict[int, bool]
    bound: dict[int, float]
    settings: dict = field(default_factory=dict)
    failures_above: dict[int, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"points": [dataclasses.asdict(p) for p in self.points],
                "m_by_d": {str(k): v for k, v in self.m_by_d.items()},
                "eps_calibration": {str(k): v for k, v in self.eps_calibration.items()},
                "eps_star": {str(k): v for k, v in self.eps_star.items()},
                "resolved": {str(k): v for k, v in self.resolved.items()},
                "bound": {str(k): v for k, v in self.bound.items()}, "settings": self.settings,
                "failures_above": {str(k): v for k, v in self.failures_above.items()}}

    def markdown(self) -> str:
        lines = ["| d | exp(-d/ln d) | m (found above the bound) | eps* (smallest eps, all seeds recovered) | "
                 "frontier resolved | points above eps* with a miss | below the bound |", "|---|---|---|---|---|---|---|"]
        for d in sorted(self.bound):
            star = self.eps_star.get(d)
            below = "-" if star is None else ("yes" if star < self.bound[d] else "no")
            lines.append(f"| {d} | {self.bound[d]:.3g} | {self.m_by_d.get(d) or 'none found'} | "
                         f"{'-' if star is None else f'{star:.3g}'} | {self.resolved.get(d, False)} | "
                         f"{self.failures_above.get(d, 0)} | {below} |")
        lines += ["", "| d | stage | eps | m | precision | recovered/n | max reached ||T-T*|| |", "|---|---|---|---|---|---|---|"]
        for p in self.points:
            lines.append(f"| {p.d} | {p.stage} | {p.eps:.3g} | {p.m} | {p.precision} | {p.recovered}/{p.n}"
                         f"{f' ({p.errors} raised)' if p.errors else ''} | "
                         f"{'-' if p.reached is None else f'{p.reached:.2e}'} |")
        return "\n".join(lines) + "\n"


def _sweep_points(rows, stage: str) -> list[FrontierPoint]:
    points = []
    for (d, m, spread), group in rows.groupby(["d", "m", "spread"], sort=True):
        ok = group[group["error"].isna()]
        floor = ok["final_loss_floor"].max() if len(ok) else math.nan
        loss = ok["final_loss"].max() if len(ok) else math.nan
        reached = None if not len(ok) or loss <= floor else float(math.sqrt(2 * loss))
        # A run whose integration raised did not reach eps: it counts in n, not in recovered.
        points.append(FrontierPoint(d=int(d), eps=float(group["eps"].iloc[0]), m=int(m), n=int(len(group)),
                                    recovered=int(ok["recovered_all"].sum()), precision="float64", stage=stage,
                                    reached=reached, commands=tuple(group["command"]),
                                    errors=int(len(group) - len(ok))))
    return points


def find_m(d: int, out, *, eps: float | None = None, m_over_d: Sequence[int] = (2, 4, 8), seeds: int = 3,
           client=None, workers: int | None = None, scheduler: str | None = None, progress=None,
           **params) -> tuple[int | None, list[FrontierPoint]]:
    """Step 1 of the probe: the smallest ``m = k d`` (k in ``m_over_d``) at which Algorithm 1 recovers every
    component in every seed at ``eps`` (default ``min(0.5, 3 exp(-d/ln d))`` to 3 digits: inside Theorem 1's regime),
    run as a sweep into ``out`` (resumable). Returns ``(m or None, calibration points)``."""
    from verify.sweep.runner import run_sweep
    from verify.sweep.store import read_rows

    eps = eps if eps is not None else float(f"{min(0.5, 3 * theorem_scale(d)):.3g}")
    spec = probe_sweep_spec(d, [eps], [k * d for k in m_over_d], seeds=seeds, name="probe-calibration", **params)
    run_sweep(spec, out, client=client, workers=workers, scheduler=scheduler, progress=progress)
    rows = read_rows(out, keys=[p.key for p in spec.points()])
    points = _sweep_points(rows, "calibration")
    good = sorted(p.m for p in points if p.all_recovered)
    return (good[0] if good else None), points


def frontier(dimensions: Sequence[int] = FRONTIER_DIMENSIONS, out=None, *, m_over_d: Sequence[int] = (2, 4, 8),
             seeds: int = 3, decades_below: int = 4, high_precision_eps: Sequence[float] = (), dps: int | None = None,
             backend: str = "auto", client=None, workers: int | None = None, scheduler: str | None = None,
             progress=None, r_max: int = 4, delta0: float = 1e-15, delta1: float = 1e-5, epoch_factor: float = 8.0,
             reinit_rule: str = "norm") -> FrontierResult:
    """The redesigned accuracy probe (P7, P11), separating m from eps.

    For each d: (1) :func:`find_m` above the bound; (2) at that m, eps from the bound down, one point per decade
    (``exp(-d/ln d) 10^-k``, k = 0.5, 1.5, ...: ``decades_below`` points, none below :data:`FLOAT64_MIN_EPS`) in
    float64 through the same sweep (resumable rows in ``out``), then ``high_precision_eps`` at high precision
    (:func:`high_precision_point`, seed 0 .. seeds-1). ``eps*(d)``: the smallest eps with every seed recovering
    every component.
    """
    import tempfile

    from verify.sweep.runner import run_sweep
    from verify.sweep.store import read_rows

    dims = [int(d) for d in dimensions]
    require(len(dims) >= 1 and all(3 <= d <= MAX_D for d in dims), "dimensions", f"integers in [3, {MAX_D}]", dims)
    require(all(MIN_EPS <= e < FLOAT64_MIN_EPS for e in high_precision_eps), "high_precision_eps",
            f"values in [{MIN_EPS:g}, {FLOAT64_MIN_EPS:g}) (float64 covers the rest)", list(high_precision_eps))
    params = dict(r_max=r_max, delta0=delta0, delta1=delta1, epoch_factor=epoch_factor, reinit_rule=reinit_rule)
    owned = None
    if out is None:
        owned = tempfile.TemporaryDirectory()
        out = owned.name
    points: list[FrontierPoint] = []
    m_by_d, eps_cal, eps_star, resolved, bound, failures_above = {}, {}, {}, {}, {}, {}
    try:
        for d in dims:
            bound[d] = theorem_scale(d)
            eps_cal[d] = float(f"{min(0.5, 3 * bound[d]):.3g}")  # 3 digits: the sweep keeps 6
            m, calibration = find_m(d, out, eps=eps_cal[d], m_over_d=m_over_d, seeds=seeds, client=client,
                                    workers=workers, scheduler=scheduler, progress=progress, **params)
            points += calibration
            m_by_d[d] = m
            if m is None:
                eps_star[d], resolved[d] = None, False
                continue
            grid = [float(f"{bound[d] * 10 ** -(k + 0.5):.3g}") for k in range(decades_below)]
            grid = [e for e in grid if e >= FLOAT64_MIN_EPS]
            line = [p for p in calibration if p.m == m]
            if grid:
                spec = probe_sweep_spec(d, grid, [m], seeds=seeds, name="probe-frontier", **params)
                run_sweep(spec, out, client=client, workers=workers, scheduler=scheduler, progress=progress)
                line += _sweep_points(read_rows(out, keys=[p.key for p in spec.points()]), "frontier")
            for eps in high_precision_eps:
                rows = [high_precision_point(d, eps, m, seed=s, dps=dps, backend=backend, **params)
                        for s in range(seeds)]
                reached = [r["reached"] for r in rows if r["reached"] is not None]
                line.append(FrontierPoint(d=d, eps=eps, m=m, n=len(rows),
                                          recovered=sum(bool(r["recovered_all"]) for r in rows),
                                          precision=f"{rows[0]['dps']} digits", stage="frontier",
                                          reached=max(reached) if len(reached) == len(rows) else None,
                                          errors=sum(r["error"] is not None for r in rows)))
            points += [p for p in line if p.stage == "frontier"]
            good = [p.eps for p in line if p.all_recovered]
            eps_star[d] = min(good) if good else None
            resolved[d] = eps_star[d] is not None and any(p.eps < eps_star[d] and not p.all_recovered for p in line)
            failures_above[d] = 0 if eps_star[d] is None else sum(
                p.eps > eps_star[d] and not p.all_recovered for p in line)
    finally:
        if owned is not None:
            owned.cleanup()
    settings = {"m_over_d": list(m_over_d), "seeds": seeds, "decades_below": decades_below,
                "high_precision_eps": list(high_precision_eps), "float64_min_eps": FLOAT64_MIN_EPS, **params}
    return FrontierResult(points=points, m_by_d=m_by_d, eps_calibration=eps_cal, eps_star=eps_star,
                          resolved=resolved, bound=bound, settings=settings, failures_above=failures_above)


def plot_frontier(result: FrontierResult, stem) -> list:
    """eps*(d) against exp(-d/ln d), d on a categorical axis (one column per probed d): every probed (d, eps)
    (filled: all seeds recovered; cross: not), eps*(d) framed (a downward arrow where the frontier lies below
    the grid), each d's bound as a bar, float64's limit of this probe dashed. Writes ``stem.png`` and
    ``stem.svg``."""
    from pathlib import Path

    from verify.plots import plt, save_figure

    ds = sorted(result.bound)
    x_of = {d: i for i, d in enumerate(ds)}
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(ds) + 4.5), 4))
    ax.hlines([result.bound[d] for d in ds], [x_of[d] - 0.35 for d in ds], [x_of[d] + 0.35 for d in ds],
              color="k", lw=1.5, label=r"$\exp(-d/\ln d)$ (Theorem 1's scale)")
    ax.axhline(FLOAT64_MIN_EPS, color="grey", ls="--", lw=0.8, label="float64 limit of the probe")
    at_m = [p for p in result.points if p.m == result.m_by_d.get(p.d) and p.d in x_of]
    search = [p for p in result.points if p.m != result.m_by_d.get(p.d) and p.d in x_of]
    if search:  # the m search's other m, drawn beside the column of the chosen m
        ax.scatter([x_of[p.d] - 0.2 for p in search], [p.eps for p in search], s=14, marker="o",
                   facecolors=["none" if not p.all_recovered else "grey" for p in search], edgecolors="grey",
                   label="m search, other m (filled: all recovered)")
    ok = [p for p in at_m if p.all_recovered]
    bad = [p for p in at_m if not p.all_recovered]
    ax.scatter([x_of[p.d] for p in ok], [p.eps for p in ok], marker="o", color="tab:green", s=18,
               label="all components recovered (every seed)")
    ax.scatter([x_of[p.d] for p in bad], [p.eps for p in bad], marker="x", color="tab:red", s=22,
               label="a component missed")
    stars = [(d, e) for d, e in result.eps_star.items() if e is not None and d in x_of]
    if stars:
        ax.scatter([x_of[d] for d, _ in stars], [e for _, e in stars], marker="s", facecolors="none", edgecolors="k",
                   s=80, label=r"$\varepsilon^*(d)$ (the smallest recovered)")
        for d, e in stars:
            if not result.resolved.get(d):
                ax.annotate("", xy=(x_of[d], e / 8), xytext=(x_of[d], e), arrowprops={"arrowstyle": "->", "lw": 0.8})
    ax.set_xticks(range(len(ds)), [f"{d}\n(m = {result.m_by_d[d]})" if result.m_by_d.get(d) else str(d) for d in ds])
    ax.set_xlim(-0.7, len(ds) - 0.3)
    ax.set_yscale("log")
    ax.set_xlabel("dimension $d$ (and the m found above the bound)")
    ax.set_ylabel(r"target accuracy $\varepsilon$ ($a_r = \varepsilon$)")
    ax.set_title("Algorithm 1's accuracy frontier at the m found above the bound", fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return save_figure(fig, Path(stem))

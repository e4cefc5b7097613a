"""Probe of Theorem 1's accuracy regime (claim P11): does the modified flow reach eps = exp(-o(d/log d)) and below?

For each (d, eps) of a grid: an orthogonal instance (Haar-random basis, seeded) whose spectrum runs
geometrically from ``a_1 = 1`` down to ``a_r = eps`` (``r = min(d, r_max)``), the modified flow (Algorithm 1,
cluster re-initialization rule, ``lambda = eps / 10``) at enough digits to resolve ``eps^2`` against
``||T*||^2`` (``dps >= 2 log10(1/eps) + 20``), integrated by Radau IIA (the spread spectrum is stiff).
Reported per point: ``reached = ||T - T*||_F`` at the end, whether every ``a_j >= eps`` was recovered
(residual ``|(T*-T)(u_j^l)| <= 0.1 a_j``), epochs, wall seconds and the theorem's scale ``exp(-d / ln d)``.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import numpy as np

from solver.config import FlowConfig
from solver.errors import ValidationError, require
from solver.ground_truth import random_orthonormal
from solver.trajectory import RECOVERY_TOLERANCE

__all__ = ["run_probe", "validate_grid", "QUICK_GRID", "TINY_GRID", "probe_instance", "theorem_scale"]

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
    """Run the probe over ``grid``; returns ``{"rows": [{"d", "eps", "reached", "recovered_all", "epochs",
    "seconds", "bound", ...}]}`` (extra keys: dps, m, r, rhs_evals, error)."""
    points = validate_grid(grid)
    rows = []
    for d, eps in points:
        truth = probe_instance(d, eps, r_max, seed)
        digits = dps if dps is not None else int(max(30, math.ceil(2 * -math.log10(eps)) + 20))
        m = m_per_d * d
        config = FlowConfig(algorithm="modified", m=m, delta0=delta0, delta1=delta1, eps=eps, beta0=1.0,
                            epoch_factor=epoch_factor, reinit_rule="cluster", integrator="radau", n_save=64,
                            rtol=1e-10, atol=1e-12)
        if progress is not None:
            progress(f"d={d} eps={eps:.0e} dps={digits} m={m}")
        start = time.perf_counter()
        row = {"d": d, "eps": eps, "bound": theorem_scale(d), "dps": digits, "m": m, "r": truth.r}
        try:
            from .backend import solve_high_precision  # loads torch: only when a point runs

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
        rows.append(row)
    return {"rows": rows, "settings": {"m_per_d": m_per_d, "r_max": r_max, "seed": seed, "backend": backend,
                                       "delta0": delta0, "delta1": delta1, "epoch_factor": epoch_factor}}

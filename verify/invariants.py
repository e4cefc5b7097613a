"""Invariant checkers along trajectories: each turns a :class:`solver.Trajectory` into verdicts with margins.

Every checker tests one claim of the ledger (SPEC section 3) on one run ``b`` of the record and returns a
:class:`Verdict` whose ``margin`` is positive when the claim holds (by that much, in the unit named in
``details["margin_unit"]``) and negative when it is violated. A checker that cannot test its claim on a
run (nothing discovered, components not recorded, every value under the float64 floor) says so: it passes
with ``margin = nan`` and ``details["applicable"] = False`` -- it never invents evidence.

Notation (SPEC): ``c_k = ||w_k||^2 = exp(2 log_norms)``, ``H_kj = <wbar_k, u_j>`` (the recorded
``correlations``), ``res_j = (T* - T)(u_j^{(x)l})`` (the recorded ``residuals``), ``L = 1/2||T - T*||_F^2``
(``loss``), ``lambda`` = ``config["lam_used"]``. Discovery time ``t_j``: first time ``res_j <= a_j/2``
(:func:`solver.trajectory.discovery_times`). Cluster of direction ``j`` at a time: the components with
``H_kj^2 >= 1 - alpha``.

The claims and their checkers (defaults are ours, documented; the paper's constants are not in the seed):

=========  ============================  =====================================================================
claim      name                          statement checked
=========  ============================  =====================================================================
P1         deflation_order               ``a_j > a_k`` and ``a_j/a_k >= rho``  =>  ``t_j <= t_k`` (never = +inf)
P5         fitting                       cluster mass ``sum_{k in C_j} c_k = a_j - lambda/2`` within ``tol a_j``
                                         once ``j`` has had ``settle/a_j`` time to relax after ``t_j``
P6         plateaus_and_drops            every loss drop holds a discovery, every resolved discovery is in a drop
P8         local_stability               after ``j`` is fitted its cluster stays within ``sin^2 <= bound_ind``
                                         individually and ``bound_avg`` mass-weighted
P9         norm_correlation              ``||w_k|| >= tau  =>  max_j H_kj^2 >= 1 - alpha`` at every save time
P9         norm_correlation_law          worst ``alpha`` versus ``tau`` follows ``(delta0/tau)^4`` (slope -4)
P10        residual_near_orthogonal      distance of ``T* - T`` from ``span{u_j^{(x)l}}`` <= ``bound ||T*||``
P12 / P7   recovery                      ``|res_j| <= 0.1 a_j`` for every ``j`` at the end (plain / modified)
descent    descent                       objective non-increasing within an epoch up to integrator tolerance;
                                         a re-initialization raises it by at most what the mass it moves allows
=========  ============================  =====================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from solver.trajectory import RECOVERY_TOLERANCE, Trajectory, json_safe

__all__ = [
    "Verdict", "DEFAULTS", "check_trajectory", "deflation_order", "fitting", "plateaus_and_drops",
    "local_stability", "norm_correlation", "norm_correlation_law", "residual_near_orthogonal", "recovery",
    "descent", "misalignment", "noise_factor", "loss_segments", "orthogonal_distance", "alpha_floor",
    "plot_norm_correlation", "worst_alpha_by_tau",
]

#: Default parameters of every checker (ours; override any of them through ``check_trajectory(**params)``).
DEFAULTS: dict[str, Any] = {
    # P1: pairs whose ratio a_j/a_k is below rho may be discovered in either order (ties).
    "rho": 1.1,
    # P5 / P8: cluster membership H_kj^2 >= 1 - alpha (1/2: the SPEC's cluster; unique j for orthogonal U).
    "cluster_alpha": 0.5,
    # P5: relative tolerance on the cluster mass, and the relaxation time (in units of 1/a_j) after discovery.
    "fit_tol": 1e-3,
    "settle": 10.0,
    # P6: a save interval is "falling" when -d ln L/dt >= nu_min sqrt(2L) (a rate in the loss's own time
    # scale: sqrt(2L) ~ the largest unfitted a_j); a drop must lower the loss by at least drop_min (relative).
    "nu_min": 0.05,
    "drop_min": 0.05,
    # P8: bounds on sin^2(wbar_k, u_j) of the cluster's members (carrying >= share of its mass at fit time).
    "stability_ind": 1e-2,
    "stability_avg": 1e-4,
    "stability_share": 1e-3,
    # P9: the claim's threshold pair, and the thresholds tau of the worst-alpha table.
    "tau": 1e-4,
    "alpha": 1e-2,
    "taus": None,  # None: every half decade from 10 delta0 to 1
    # P9 law: accepted band of the fitted exponent around -4, and the least window of tau (decades).
    "law_band": 0.5,
    "law_decades": 2.0,
    # P10: bound on dist(T* - T, span{u_j^l}) / ||T*||_F.
    "orthogonal_bound": 1e-2,
    # descent: allowed increase per save interval = tol_factor * rtol * L + (m + r)(floor_k + floor_k+1).
    "descent_tol_factor": 10.0,
}


@dataclass
class Verdict:
    """One invariant on one run (``run = b``) or on the whole record (``run = None``).

    ``margin > 0``: satisfied by that much (unit in ``details["margin_unit"]``); ``margin < 0``: violated.
    ``worst`` is the measured extreme the margin is computed from (a number, or None).
    """

    claim: str
    name: str
    passed: bool
    margin: float
    worst: Any
    params: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    run: int | None = None

    def to_dict(self) -> dict:
        return {"claim": self.claim, "name": self.name, "passed": bool(self.passed), "margin": _num(self.margin),
                "worst": json_safe(self.worst), "params": json_safe(self.params), "details": json_safe(self.details),
                "run": self.run}


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _not_applicable(claim: str, name: str, run: int | None, params: dict, why: str) -> Verdict:
    return Verdict(claim, name, True, float("nan"), None, params, {"applicable": False, "why": why}, run)


def _lam(tr: Trajectory) -> float:
    return float(tr.config.get("lam_used", tr.config.get("lam") or 0.0) or 0.0)


def noise_factor(tr: Trajectory) -> float:
    """How many recorded ``loss_floor`` units the Gram-form loss's rounding noise may reach.

    ``loss_floor`` is ``eps/2`` times the size of the cancelling terms, the error of *one* rounding; the
    Gram sums add ``(m + r)^2`` terms, whose rounding errors add up like a random walk: ``~ (m + r)`` floors.
    (Measured on Figure 1, m = 50: fitted-state loss noise up to 12 floors.)
    """
    m = tr.log_norms.shape[-1] if tr.log_norms is not None else int(tr.config.get("m", 1))
    return float(m + tr.a.shape[1])


def _unit_roundoff(tr: Trajectory) -> float:
    return float(tr.meta.get("unit_roundoff", np.finfo(np.float64).eps))


# ----------------------------------------------------------------------------------------------------- P1
def deflation_order(tr: Trajectory, b: int, rho: float = DEFAULTS["rho"]) -> Verdict:
    """P1: larger components are discovered first.

    For every pair with ``a_j > a_k`` and ``a_j / a_k >= rho`` require ``t_j <= t_k`` (an undiscovered
    direction has ``t = +inf``; two undiscovered directions impose nothing). A difference within the two
    discovery times' interpolation resolution is not a violation. Margin (dimensionless, in [-1, 1]): the
    smallest ``(t_k - t_j) / max(t_j, t_k)`` over the constrained pairs (+1 when ``t_k = inf > t_j``, -1 when
    the larger one is never discovered but the smaller is).
    """
    params = {"rho": rho}
    t_disc, res = tr.discovery()
    a, t, dt = tr.a[b], t_disc[b], np.nan_to_num(res[b], nan=0.0)
    worst, worst_pair, violations = math.inf, None, []
    for j in range(a.size):
        for k in range(a.size):
            if not (a[j] > a[k] and a[j] / a[k] >= rho):
                continue
            tj, tk = t[j], t[k]
            if np.isnan(tj) and np.isnan(tk):
                continue
            if np.isnan(tk):
                m = 1.0
            elif np.isnan(tj):
                m = -1.0
            else:
                m = (tk - tj) / max(tj, tk, 1e-300)
            bad = (np.isnan(tj) and not np.isnan(tk)) or (
                not np.isnan(tj) and not np.isnan(tk) and tj - tk > dt[j] + dt[k])
            if bad:
                violations.append([j, k])
            if m < worst:
                worst, worst_pair = m, [j, k]
    if worst_pair is None:
        return _not_applicable("P1", "deflation_order", b, params, "no constrained pair has a discovery")
    return Verdict("P1", "deflation_order", not violations, worst, worst_pair, params,
                   {"margin_unit": "relative time (t_k - t_j)/max(t_j, t_k) of the tightest pair",
                    "discovery_times": t, "violations": violations, "applicable": True}, b)


# ----------------------------------------------------------------------------------------------------- P5
def _masses(tr: Trajectory, b: int) -> np.ndarray:
    return np.exp(2.0 * tr.log_norms[b])


def fitting(tr: Trajectory, b: int, cluster_alpha: float = DEFAULTS["cluster_alpha"],
            fit_tol: float = DEFAULTS["fit_tol"], settle: float = DEFAULTS["settle"]) -> Verdict:
    """P5: a discovered direction is fitted with total coefficient ``a_j - lambda/2``.

    For every direction discovered at ``t_j`` with ``t_j + settle / a_j <= t_end`` (the fitted component
    relaxes at rate ``4(a_j - lambda/2)``, C10), at every save time from then on:
    ``|sum_{k: H_kj^2 >= 1 - cluster_alpha} c_k - (a_j - lambda/2)| <= fit_tol * a_j``.
    Margin (dimensionless): ``fit_tol - worst relative deviation``.
    """
    params = {"cluster_alpha": cluster_alpha, "fit_tol": fit_tol, "settle": settle}
    if tr.log_norms is None:
        return _not_applicable("P5", "fitting", b, params, "components not recorded")
    t_disc, _ = tr.discovery()
    a, lam, times = tr.a[b], _lam(tr), tr.times
    c = _masses(tr, b)
    H2 = tr.correlations[b] ** 2
    worst, worst_j, per_dir = -math.inf, None, {}
    for j in range(a.size):
        if np.isnan(t_disc[b, j]):
            continue
        sel = times >= t_disc[b, j] + settle / a[j]
        if not sel.any():
            continue
        mass = (c[sel] * (H2[sel, :, j] >= 1 - cluster_alpha)).sum(axis=1)
        dev = np.abs(mass - (a[j] - lam / 2)) / a[j]
        per_dir[j] = {"worst_rel_dev": float(dev.max()), "final_mass": float(mass[-1]),
                      "target": float(a[j] - lam / 2), "from_time": float(times[sel][0])}
        if dev.max() > worst:
            worst, worst_j = float(dev.max()), j
    if worst_j is None:
        return _not_applicable("P5", "fitting", b, params, "no direction discovered long enough before the end")
    return Verdict("P5", "fitting", worst <= fit_tol, fit_tol - worst, worst, params,
                   {"margin_unit": "relative mass deviation (fit_tol - worst)", "worst_direction": worst_j,
                    "directions": per_dir, "applicable": True}, b)


# ----------------------------------------------------------------------------------------------------- P6
def _segments(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs ``[i, j)`` of True in a boolean vector."""
    out, start = [], None
    for i, v in enumerate(mask):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, mask.size))
    return out


def loss_segments(times: np.ndarray, loss: np.ndarray, floor: np.ndarray, nu_min: float = DEFAULTS["nu_min"],
                  drop_min: float = DEFAULTS["drop_min"]) -> list[dict]:
    """Segment one loss curve into drops (everything else is plateau).

    Save interval ``[t_i, t_{i+1}]`` is falling when ``-(ln L_{i+1} - ln L_i) / (t_{i+1} - t_i) >= nu_min
    sqrt(2 L_i)`` -- a rate measured in the loss's own time scale (while ``j`` is the largest unfitted
    direction, ``sqrt(2L) ~ a_j`` and the fit of ``j`` runs at rate ``~ a_j``), so the rule reads the same on
    linear and geometric grids and at every scale of a spread spectrum. Falling intervals merge into a drop;
    drops that lower the loss by less than ``drop_min`` (relative) are discarded. ``floor`` is the
    rounding-noise level (:func:`noise_factor` times the recorded floor): values under it are clipped to it,
    and an interval starting under 10x that level is never falling. Returns
    ``[{"start": t, "end": t, "i0": i, "i1": j, "relative_drop": ...}]``.
    """
    floor = np.asarray(floor, dtype=np.float64)
    # Values under the floor are noise: clip them to it, so that a drop that ends in the noise (the last
    # fit of a spread spectrum) still counts down to the floor, and noise never looks like a fall.
    L = np.maximum(np.asarray(loss, dtype=np.float64), floor)
    resolved = L > 10 * floor
    dt = np.diff(times)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = -(np.log(L[1:]) - np.log(L[:-1])) / dt
        falling = (rate >= nu_min * np.sqrt(2 * L[:-1])) & resolved[:-1] & (dt > 0)
    drops = []
    for i0, i1 in _segments(falling):
        rel = (L[i0] - L[i1]) / L[i0]
        if rel >= drop_min:
            drops.append({"start": float(times[i0]), "end": float(times[i1]), "i0": i0, "i1": i1,
                          "relative_drop": float(rel)})
    return drops


def plateaus_and_drops(tr: Trajectory, b: int, nu_min: float = DEFAULTS["nu_min"],
                       drop_min: float = DEFAULTS["drop_min"]) -> Verdict:
    """P6: flat regions are plateaus, decreasing regions are fits; each drop matches a discovery.

    Segments the loss with :func:`loss_segments`; a discovery ``t_j`` is *resolved* when the loss it
    removes (``~ a_j^2 / 2``) is above 10x the noise level and the save interval around ``t_j`` is at most
    the fit's duration ``ln(99^2) / (4 a_j)`` (so the grid samples the drop). Checks that every drop is a fit -- it contains a
    discovery, or at least half its decrease is the residual of already discovered directions relaxing (a fit's
    tail split off by a coarse grid) -- and that every resolved discovery lies in a drop (no silent fit).
    Margin (dimensionless): ``+min`` over resolved discoveries of the distance from ``t_j`` to the
    outside of its drop, relative to the drop's length, when all match; otherwise ``-`` the largest
    unmatched relative drop or ``-1`` per missing discovery (the worst of them).
    """
    params = {"nu_min": nu_min, "drop_min": drop_min}
    t_disc, res = tr.discovery()
    noise = noise_factor(tr) * tr.loss_floor[b]
    drops = loss_segments(tr.times, tr.loss[b], noise, nu_min, drop_min)
    floor = float(np.nanmax(noise))
    a = tr.a[b]
    slack = np.nan_to_num(res[b], nan=0.0)
    # Resolved: the loss it removes is above the noise, and the save grid samples the fit. The fitted mass is
    # logistic, dc/dt = 4 c (a_j - c) (radial law, C4), so it rises from 1% to 99% of a_j in ln(99^2)/(4 a_j)
    # ~ 2.3/a_j; a save interval longer than that around t_j holds the whole drop.
    fit_duration = math.log(99.0**2) / (4.0 * a)
    resolved = [j for j in range(a.size) if not np.isnan(t_disc[b, j]) and a[j] ** 2 / 2 > 10 * floor
                and slack[j] <= fit_duration[j]]
    res_b = tr.residuals[b]
    unexplained, tails = [], 0
    for d in drops:
        if any(d["start"] - slack[j] <= t_disc[b, j] <= d["end"] + slack[j] for j in range(a.size)
               if not np.isnan(t_disc[b, j])):
            continue
        # No discovery inside: still a fit if most of the decrease is the residual of directions discovered
        # before it relaxing to lambda/2 (the tail of a fit, split off by a coarse save grid). With P10,
        # L ~ 1/2 sum_j res_j^2, so direction j accounts for (res_j(start)^2 - res_j(end)^2) / 2.
        earlier = [j for j in range(a.size) if not np.isnan(t_disc[b, j]) and t_disc[b, j] <= d["end"]]
        share = sum(res_b[d["i0"], j] ** 2 - res_b[d["i1"], j] ** 2 for j in earlier) / 2
        if share >= 0.5 * (tr.loss[b, d["i0"]] - tr.loss[b, d["i1"]]):
            tails += 1
        else:
            unexplained.append(d)
    inside, missing = [], []
    for j in resolved:
        tj = t_disc[b, j]
        best = None
        for d in drops:
            length = max(d["end"] - d["start"], 1e-300)
            if d["start"] - slack[j] <= tj <= d["end"] + slack[j]:
                depth = min(tj - d["start"], d["end"] - tj) / length
                best = depth if best is None else max(best, depth)
        if best is None:
            missing.append(j)
        else:
            inside.append(best)
    if not drops and not resolved:
        return _not_applicable("P6", "plateaus_and_drops", b, params, "no drop and no resolvable discovery")
    if unexplained or missing:
        margin = min([-d["relative_drop"] for d in unexplained] + [-1.0] * len(missing))
    else:
        margin = min(inside) if inside else 0.0
    merged = sum(1 for d in drops if sum(d["start"] - slack[j] <= t_disc[b, j] <= d["end"] + slack[j]
                                         for j in range(a.size) if not np.isnan(t_disc[b, j])) > 1)
    return Verdict("P6", "plateaus_and_drops", not unexplained and not missing, margin,
                   {"unexplained_drops": len(unexplained), "missing_discoveries": missing}, params,
                   {"margin_unit": "relative position of discoveries inside their drops", "drops": drops,
                    "resolved_discoveries": resolved, "merged_drops": merged, "fit_tails": tails,
                    "unresolved_discoveries": [j for j in range(a.size) if not np.isnan(t_disc[b, j])
                                               and j not in resolved],
                    "applicable": True}, b)


# ------------------------------------------------------------------------------------------------ P8, P9
def alpha_floor(tr: Trajectory, b: int) -> float:
    """Smallest ``1 - max_j H_kj^2`` resolvable from the recorded correlations.

    Two limits. Arithmetic: with ``r < d`` the part of ``wbar`` outside ``span U`` is only known as
    ``1 - sum_i H_ki^2``, floor ``~ 8 d eps``. Integration: the directions are accurate to the integrator's
    tolerance, ``~ atol + rtol`` per coordinate, so in a rotated basis the squares of the small correlations
    are known to ``d (atol + rtol)^2`` (measured: d = 4, rtol 1e-8 -> a floor at 1.5e-17). In the identity
    basis each coordinate evolves multiplicatively (``dx_i/dt`` is proportional to ``x_i``, C7), so rtol does
    not limit it, but the step control ignores errors below ``atol`` in a coordinate: floor ``16 d atol^2``
    (measured, d = 4: worst alpha saturates at 1.5e-19 for atol 1e-10, 1.6e-27 for atol 1e-14).
    """
    eps = _unit_roundoff(tr)
    d, r = tr.U[b].shape
    U = tr.U[b]
    identity = bool(np.all((U == 0) | (np.abs(U) == 1)))
    arithmetic = 8 * d * eps if r < d else (0.0 if identity else 16 * d * eps * eps)
    rtol = float(tr.config.get("rtol_used") or tr.config.get("rtol") or 1e-8)
    atol = float(tr.config.get("atol_used") or tr.config.get("atol") or 0.0)
    integration = 16 * d * atol * atol if identity else d * (rtol + atol) ** 2
    return max(arithmetic, integration)


def misalignment(tr: Trajectory, b: int) -> tuple[np.ndarray, np.ndarray]:
    """``alpha_k(t) = 1 - max_j H_kj^2`` (K, m) computed without cancellation where possible, and the
    maximizing ``j`` (K, m): ``sum_{i != j} H_ki^2 + max(0, 1 - sum_i H_ki^2)`` (second term only if ``r < d``)."""
    H2 = tr.correlations[b] ** 2
    jstar = H2.argmax(axis=-1)
    total = H2.sum(axis=-1)
    # A sum of the non-maximal squares, not total - max: the difference would cancel below eps.
    mask = np.ones_like(H2, dtype=bool)
    np.put_along_axis(mask, jstar[..., None], False, axis=-1)
    other = (H2 * mask).sum(axis=-1)
    d, r = tr.U[b].shape
    outside = np.maximum(0.0, 1.0 - total) if r < d else np.zeros_like(total)
    return other + outside, jstar


def _sin2_to(tr: Trajectory, b: int, j: int) -> np.ndarray:
    """``sin^2(wbar_k, u_j) = 1 - H_kj^2`` (K, m) as ``sum_{i != j} H_ki^2 + max(0, 1 - sum_i H_ki^2)``
    (second term only if ``r < d``): no cancellation when ``U`` spans R^d."""
    H2 = tr.correlations[b] ** 2
    other = np.delete(H2, j, axis=-1).sum(axis=-1)
    d, r = tr.U[b].shape
    return other + (np.maximum(0.0, 1.0 - H2.sum(axis=-1)) if r < d else 0.0)


def worst_alpha_by_tau(tr: Trajectory, b: int, taus: Sequence[float]) -> np.ndarray:
    """For each ``tau``: the largest ``alpha_k(t)`` over save times and components with ``||w_k|| >= tau``
    (NaN when no component ever reaches ``tau``)."""
    alpha, _ = misalignment(tr, b)
    ln = tr.log_norms[b]
    out = np.full(len(taus), np.nan)
    for i, tau in enumerate(taus):
        sel = ln >= math.log(tau)
        if sel.any():
            out[i] = float(alpha[sel].max())
    return out


def _default_taus(tr: Trajectory) -> np.ndarray:
    delta0 = float(tr.config.get("delta0", 1e-15))
    lo = math.log10(delta0) + 1
    return 10.0 ** np.arange(lo, 0.0 + 1e-9, 0.5)


def norm_correlation(tr: Trajectory, b: int, tau: float = DEFAULTS["tau"], alpha: float = DEFAULTS["alpha"],
                     taus: Sequence[float] | None = None) -> Verdict:
    """P9: every component with ``||w_k|| >= tau`` has ``max_j H_kj^2 >= 1 - alpha``, at every save time.

    Also tabulates the worst ``alpha`` for each ``tau`` in ``taus`` (default: every half decade from
    ``10 delta0`` to 1) with the resolution floor of :func:`alpha_floor`. Margin: ``log10(alpha / worst)``
    (decades of slack; ``+inf`` is reported as the floor's decades when the worst is below the floor).
    """
    params = {"tau": tau, "alpha": alpha}
    if tr.log_norms is None:
        return _not_applicable("P9", "norm_correlation", b, params, "components not recorded")
    taus = _default_taus(tr) if taus is None else np.asarray(taus, dtype=np.float64)
    floor = alpha_floor(tr, b)
    worst = worst_alpha_by_tau(tr, b, [tau])[0]
    table = worst_alpha_by_tau(tr, b, taus)
    details = {"margin_unit": "decades log10(alpha / worst)", "taus": taus, "worst_alpha": table,
               "alpha_floor": floor, "applicable": True}
    if np.isnan(worst):
        details.update(applicable=False, why=f"no component reached norm tau = {tau:g}")
        return Verdict("P9", "norm_correlation", True, float("nan"), None, params, details, b)
    margin = math.log10(alpha / max(worst, floor, 1e-300))
    return Verdict("P9", "norm_correlation", worst <= alpha, margin, worst, params, details, b)


def norm_correlation_law(trajectories: Trajectory | Iterable[Trajectory], band: float = DEFAULTS["law_band"],
                         taus: Sequence[float] | None = None, min_decades: float = DEFAULTS["law_decades"]) -> Verdict:
    """P9, the empirical law: ``worst alpha(tau) ~ C (delta0 / tau)^4``.

    Pools every run (of every given record), takes the worst alpha per ``tau`` (over runs), keeps the
    points in the asymptotic range (``tau >= 10 delta0``, ``worst > 100 x`` the resolution floor so that the
    value is measured, not rounding noise) and fits ``log10 alpha = p log10(tau/delta0) + log10 C``.
    Confirmed when ``|p + 4| <= band`` with at least 3 points over at least ``min_decades`` decades of
    ``tau``; over one decade the local exponent of well-resolved runs wanders by +-0.7 (identity basis, d = 4,
    atol 1e-18: -4.2, -2.8, -4.5 on successive half decades), so narrower windows are inconclusive.
    Margin: ``band - |p + 4|``. Inconclusive (passes, ``margin = nan``, ``confirmed = None``, the measured
    exponent still reported) when the resolved window is too narrow.
    """
    trs = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
    params = {"band": band, "min_decades": min_decades}
    xs, ys = [], []
    delta0s = set()
    for tr in trs:
        if tr.log_norms is None:
            continue
        delta0 = float(tr.config.get("delta0", 1e-15))
        delta0s.add(delta0)
        grid = _default_taus(tr) if taus is None else np.asarray(taus, dtype=np.float64)
        for b in range(tr.batch):
            floor = alpha_floor(tr, b)
            worst = worst_alpha_by_tau(tr, b, grid)
            for tau, w in zip(grid, worst):
                if np.isfinite(w) and w > 100 * floor and w > 0 and tau >= 10 * delta0:
                    xs.append(math.log10(tau / delta0))
                    ys.append(math.log10(w))
    # Worst over runs per tau/delta0 value.
    pts: dict[float, float] = {}
    for x, y in zip(xs, ys):
        key = round(x, 6)
        pts[key] = max(pts.get(key, -math.inf), y)
    xs_, ys_ = np.array(sorted(pts)), np.array([pts[k] for k in sorted(pts)])
    if xs_.size < 2:
        return Verdict("P9", "norm_correlation_law", True, float("nan"), None, params,
                       {"applicable": False, "why": f"{xs_.size} resolved (tau, alpha) points",
                        "log10_tau_over_delta0": xs_, "log10_worst_alpha": ys_, "confirmed": None}, None)
    p, logc = np.polyfit(xs_, ys_, 1)
    resid = float(np.max(np.abs(ys_ - (p * xs_ + logc))))
    if xs_.size < 3 or xs_.max() - xs_.min() < min_decades:
        return Verdict("P9", "norm_correlation_law", True, float("nan"), float(p), params,
                       {"applicable": False, "confirmed": None, "exponent": float(p),
                        "why": f"resolved window of {xs_.max() - xs_.min():.1f} decades of tau (< {min_decades})",
                        "log10_tau_over_delta0": xs_, "log10_worst_alpha": ys_}, None)
    margin = band - abs(p + 4)
    return Verdict("P9", "norm_correlation_law", margin >= 0, margin, float(p), params,
                   {"margin_unit": "band - |exponent + 4|", "exponent": float(p), "prefactor_log10": float(logc),
                    "max_fit_residual_decades": resid, "log10_tau_over_delta0": xs_, "log10_worst_alpha": ys_,
                    "delta0": sorted(delta0s), "confirmed": bool(margin >= 0), "applicable": True}, None)


def _reinit_times(tr: Trajectory, b: int) -> list[tuple[float, list[int]]]:
    return [(float(e["time"]), list(e["components"])) for e in tr.events
            if e.get("kind") in ("reinit", "drop") and e.get("run") == b and e.get("components")]


def local_stability(tr: Trajectory, b: int, cluster_alpha: float = DEFAULTS["cluster_alpha"],
                    settle: float = DEFAULTS["settle"], bound_ind: float = DEFAULTS["stability_ind"],
                    bound_avg: float = DEFAULTS["stability_avg"], share: float = DEFAULTS["stability_share"]) -> Verdict:
    """P8: once fitted, a cluster stays at its ground-truth direction, individually and on average.

    Direction ``j`` is fitted at ``t_f = t_j + settle / a_j``. Its members are the components with
    ``H_kj^2 >= 1 - cluster_alpha`` carrying at least ``share`` of the cluster's mass at ``t_f`` (tiny
    components are not fitted to anything: the residual on ``u_j`` is ~0 and they legitimately leave).
    For every later save time (a member leaves the set when it is re-initialized or dropped):
    individual ``max_k sin^2(wbar_k, u_j) = 1 - H_kj^2 <= bound_ind`` and mass-weighted
    ``sum_k c_k (1 - H_kj^2) / sum_k c_k <= bound_avg``. Margin: decades of slack of the tighter of the two,
    ``min(log10(bound_ind / worst_ind), log10(bound_avg / worst_avg))``.
    """
    params = {"cluster_alpha": cluster_alpha, "settle": settle, "bound_ind": bound_ind, "bound_avg": bound_avg,
              "share": share}
    if tr.log_norms is None:
        return _not_applicable("P8", "local_stability", b, params, "components not recorded")
    t_disc, _ = tr.discovery()
    times, a = tr.times, tr.a[b]
    c = _masses(tr, b)
    H2 = tr.correlations[b] ** 2
    floor = alpha_floor(tr, b)
    reinits = _reinit_times(tr, b)
    worst_ind, worst_avg, per_dir = 0.0, 0.0, {}
    tested = False
    for j in range(a.size):
        if np.isnan(t_disc[b, j]):
            continue
        ks = np.nonzero(times >= t_disc[b, j] + settle / a[j])[0]
        if ks.size == 0:
            continue
        k0 = ks[0]
        in_cluster = H2[k0, :, j] >= 1 - cluster_alpha
        mass0 = c[k0][in_cluster].sum()
        members = in_cluster & (c[k0] >= share * mass0)
        if not members.any():
            continue
        tested = True
        alive = np.ones((times.size, members.size), dtype=bool)
        for t_ev, comps in reinits:
            later = np.nonzero(times >= t_ev - 1e-12 * max(1.0, abs(t_ev)))[0]
            alive[np.ix_(later, np.asarray(comps, dtype=int))] = False
        sel = alive[ks] & members[None, :]
        sin2 = np.where(sel, _sin2_to(tr, b, j)[ks], 0.0)
        ind = float(sin2.max())
        weights = np.where(sel, c[ks], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            avg_t = (weights * sin2).sum(axis=1) / weights.sum(axis=1)
        avg = float(np.nanmax(avg_t)) if np.isfinite(avg_t).any() else 0.0
        per_dir[j] = {"members": int(members.sum()), "worst_individual": ind, "worst_average": avg,
                      "from_time": float(times[k0])}
        worst_ind, worst_avg = max(worst_ind, ind), max(worst_avg, avg)
    if not tested:
        return _not_applicable("P8", "local_stability", b, params, "no direction fitted long enough before the end")
    # Values below the resolution floor are measured as the floor (no fake decades of slack).
    eff_floor = max(floor, 1e-300)
    margin = min(math.log10(bound_ind / max(worst_ind, eff_floor)), math.log10(bound_avg / max(worst_avg, eff_floor)))
    return Verdict("P8", "local_stability", worst_ind <= bound_ind and worst_avg <= bound_avg, margin,
                   {"individual": worst_ind, "average": worst_avg}, params,
                   {"margin_unit": "decades of slack of the tighter bound", "directions": per_dir,
                    "sin2_floor": floor, "applicable": True}, b)


# ---------------------------------------------------------------------------------------------------- P10
def orthogonal_distance(tr: Trajectory, b: int) -> tuple[np.ndarray, np.ndarray]:
    """``dist(T* - T, span{u_j^{(x)l}}) / ||T*||_F`` at every save time, and its resolution.

    The projection of ``R = T* - T`` onto ``span{u_j^{(x)l}}`` has coefficients ``(K.^l)^{-1} res`` with
    ``res_j = <R, u_j^{(x)l}>`` (recorded), so ``dist^2 = ||R||^2 - res^T (K.^l)^{-1} res`` with
    ``||R||^2 = 2L``. For orthogonal ``U`` (``K.^l = I``) the projection is an orthogonal tensor, so the value
    bounds the distance of ``R`` to the set of orthogonal tensors from above. The resolution is the loss's
    float64 floor carried through: ``sqrt(4 floor) / ||T*||``.
    """
    U, a, l = tr.U[b], tr.a[b], tr.order
    Kl = (U.T @ U) ** l
    tstar2 = float(a @ Kl @ a)
    res = tr.residuals[b]
    proj = np.einsum("kj,kj->k", res, np.linalg.solve(Kl, res.T).T)
    d2 = 2 * tr.loss[b] - proj
    return np.sqrt(np.maximum(d2, 0.0) / tstar2), np.sqrt(4 * tr.loss_floor[b] / tstar2)


def residual_near_orthogonal(tr: Trajectory, b: int, bound: float = DEFAULTS["orthogonal_bound"]) -> Verdict:
    """P10: ``T* - T`` stays close to an orthogonal tensor: ``max_t dist / ||T*||_F <= bound``
    (distance of :func:`orthogonal_distance`). Margin: ``bound - worst`` (relative Frobenius units);
    values within the resolution are reported but cannot violate."""
    params = {"bound": bound}
    dist, resolution = orthogonal_distance(tr, b)
    excess = dist - resolution
    i = int(np.argmax(excess))
    worst = float(dist[i])
    passed = bool(np.all(excess <= bound))
    return Verdict("P10", "residual_near_orthogonal", passed, bound - max(float(excess[i]), 0.0), worst, params,
                   {"margin_unit": "relative Frobenius distance (bound - worst)", "worst_time": float(tr.times[i]),
                    "resolution": float(resolution.max()), "orthogonal": bool(np.allclose(
                        tr.U[b].T @ tr.U[b], np.eye(tr.U[b].shape[1]), atol=1e-10)),
                    "distance_series": dist, "applicable": True}, b)


# ------------------------------------------------------------------------------------------ P12 / P7
def recovery(tr: Trajectory, b: int, tol: float = RECOVERY_TOLERANCE) -> Verdict:
    """P12 (plain flow) / P7 (modified flow): every direction fitted at the end, ``|res_j| <= tol a_j``.
    Margin: ``tol - max_j |res_j| / a_j``."""
    claim = "P7" if tr.config.get("algorithm") == "modified" else "P12"
    rel = np.abs(tr.residuals[b, -1] / tr.a[b])
    worst = float(rel.max())
    return Verdict(claim, "recovery", worst <= tol, tol - worst, worst, {"tol": tol},
                   {"margin_unit": "relative residual (tol - worst)", "final_relative_residuals": rel,
                    "unrecovered": [int(j) for j in np.nonzero(rel > tol)[0]], "applicable": True}, b)


# ------------------------------------------------------------------------------------------------ descent
def descent(tr: Trajectory, b: int, tol_factor: float = DEFAULTS["descent_tol_factor"]) -> Verdict:
    """Descent (C9, ``dL/dt = -||grad L||^2``): the objective ``F = L + lambda/2 sum_k c_k`` never increases
    within an epoch beyond the integration tolerance plus rounding noise,
    ``tol_factor * rtol * F_i + noise_factor * (floor_i + floor_{i+1})`` (:func:`noise_factor`).

    A save interval that contains a re-initialization (or drop) of components ``S`` may also rise by
    what moving that mass allows: with ``M`` an upper bound on the mass moved (``sum_{k in S} (c_k + delta0^2)``,
    ``c_k`` bounded by the rule: ``delta1^2`` for the norm rule, ``delta1^2 sum_k c_k`` for the cluster rule),
    ``|Delta F| <= ||T* - T||_F M + M^2/2 + lambda/2 M``. Margin: ``1 - max_i increase_i / allowed_i``.
    """
    params = {"tol_factor": tol_factor}
    lam = _lam(tr)
    rtol = float(tr.config.get("rtol_used") or tr.config.get("rtol") or 1e-6)
    F = tr.loss[b].copy()
    if lam > 0 and tr.log_norms is not None:
        F = F + lam / 2 * _masses(tr, b).sum(axis=1)
    fl = tr.loss_floor[b]
    times = tr.times
    allowed = tol_factor * rtol * np.abs(F[:-1]) + noise_factor(tr) * (fl[:-1] + fl[1:])
    delta0 = float(tr.config.get("delta0", 0.0))
    delta1 = float(tr.config.get("delta1", 0.0))
    rule = tr.config.get("reinit_rule", "norm")
    reinit_intervals = 0
    for t_ev, comps in _reinit_times(tr, b):
        i = int(np.searchsorted(times, t_ev - 1e-12 * max(1.0, abs(t_ev)))) - 1
        i = min(max(i, 0), times.size - 2)
        total_mass = _masses(tr, b)[i].sum() if tr.log_norms is not None else float(np.sum(tr.a[b]))
        per = delta1**2 * (total_mass if rule == "cluster" else 1.0) + delta0**2
        M = len(comps) * per
        allowed[i] += math.sqrt(2 * max(F[i], 0.0)) * M + M * M / 2 + lam / 2 * M
        reinit_intervals += 1
    increase = np.diff(F)
    ratio = increase / np.maximum(allowed, 1e-300)
    i = int(np.argmax(ratio))
    return Verdict("descent", "descent", bool(np.all(increase <= allowed)), 1.0 - float(ratio[i]),
                   float(increase[i]), params,
                   {"margin_unit": "1 - max increase/allowed", "worst_time": float(times[i]), "rtol": rtol,
                    "reinit_intervals": reinit_intervals, "lambda": lam, "applicable": True}, b)


# --------------------------------------------------------------------------------------------- the entry
_PER_RUN = {
    "deflation_order": (deflation_order, {"rho": "rho"}),
    "fitting": (fitting, {"cluster_alpha": "cluster_alpha", "fit_tol": "fit_tol", "settle": "settle"}),
    "plateaus_and_drops": (plateaus_and_drops, {"nu_min": "nu_min", "drop_min": "drop_min"}),
    "local_stability": (local_stability, {"cluster_alpha": "cluster_alpha", "settle": "settle",
                                          "bound_ind": "stability_ind", "bound_avg": "stability_avg",
                                          "share": "stability_share"}),
    "norm_correlation": (norm_correlation, {"tau": "tau", "alpha": "alpha", "taus": "taus"}),
    "residual_near_orthogonal": (residual_near_orthogonal, {"bound": "orthogonal_bound"}),
    "recovery": (recovery, {}),
    "descent": (descent, {"tol_factor": "descent_tol_factor"}),
}


def check_trajectory(trajectory: Trajectory, **params: Any) -> list[Verdict]:
    """Every invariant on every run of ``trajectory``, then the P9 law over all runs.

    ``params`` override :data:`DEFAULTS` (unknown names are a :class:`solver.errors.ValidationError`).
    Returns the verdicts in a fixed order: per run ``b``, one per checker of the module table; last the
    ``norm_correlation_law`` verdict (``run = None``).
    """
    from solver.errors import ValidationError

    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise ValidationError(unknown[0], f"one of {sorted(DEFAULTS)}", unknown[0])
    p = {**DEFAULTS, **params}
    out: list[Verdict] = []
    for b in range(trajectory.batch):
        for fn, mapping in _PER_RUN.values():
            out.append(fn(trajectory, b, **{arg: p[key] for arg, key in mapping.items()}))
    out.append(norm_correlation_law(trajectory, band=p["law_band"], taus=p["taus"], min_decades=p["law_decades"]))
    return out


# ------------------------------------------------------------------------------------------------- plot
def plot_norm_correlation(trajectories: Trajectory | Iterable[Trajectory], path_stem: str | Path) -> list[Path]:
    """P9 figure: worst ``1 - max_j H_kj^2`` among components with ``||w|| >= tau`` against ``tau`` (log-log),
    one line per run, the law ``(delta0/tau)^4`` and each run's resolution floor drawn. Writes png + svg."""
    import matplotlib.pyplot as plt

    from .plots import LINE_STYLES, save_figure

    trs = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    floors = []
    for n, tr in enumerate(trs):
        if tr.log_norms is None:
            continue
        taus = _default_taus(tr)
        delta0 = float(tr.config.get("delta0", 1e-15))
        for b in range(tr.batch):
            w = worst_alpha_by_tau(tr, b, taus)
            floors.append(alpha_floor(tr, b))
            ax.plot(taus, np.where(w > 0, w, np.nan), linestyle=LINE_STYLES[b % len(LINE_STYLES)], marker=".",
                    lw=1, label=f"{tr.config.get('algorithm', '')} seed {tr.seeds[b]}" if len(trs) * tr.batch <= 8
                    else None)
        ax.plot(taus, (delta0 / taus) ** 4, "k--", lw=1, label=r"$(\delta_0/\tau)^4$" if n == 0 else None)
    positive = [f for f in floors if f > 0]
    if positive:
        ax.axhline(max(positive), color="0.6", lw=1, label="resolution floor")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-80, top=2)
    ax.set_xlabel(r"$\tau$")
    ax.set_ylabel(r"worst $1 - \max_j \langle \bar w_k, u_j\rangle^2$ over $\|w_k\| \geq \tau$")
    ax.legend(fontsize=7)
    return save_figure(fig, Path(path_stem))

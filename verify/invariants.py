"""Invariant checkers along trajectories: each turns a :class:`solver.Trajectory` into verdicts with margins.

A checker is a frozen dataclass whose fields are its parameters (defaults ours, documented; the paper's
constants are not in the seed). ``checker.check(trajectory, b)`` tests one claim of the ledger (SPEC section
3) on run ``b`` of the record and returns a :class:`Verdict` with an explicit :class:`Status`:

- ``pass`` / ``fail``: the claim was tested; ``margin`` is positive when it holds (by that much, in the unit
  ``margin_unit``) and negative when it is violated;
- ``not applicable``: the checker cannot test its claim on this run (nothing discovered, components not
  recorded); ``why`` says which, ``margin`` is NaN -- it never invents evidence;
- ``inconclusive``: the claim applies but the run does not resolve it (e.g. the P9 law over too narrow a
  window of resolved thresholds); the measured value is still reported.

:class:`Invariants` bundles one instance of every checker (``deflation check --set NAME=VALUE`` replaces a
field, :meth:`Invariants.with_settings`); :func:`check_trajectory` runs them all.

Notation (SPEC): ``c_k = ||w_k||^2 = exp(2 log_norms)``, ``H_kj = <wbar_k, u_j>`` (the recorded
``correlations``), ``res_j = (T* - T)(u_j^{(x)l})`` (the recorded ``residuals``), ``L = 1/2||T - T*||_F^2``
(``loss``), ``lambda`` = ``resolved.lam``. Discovery time ``t_j``: first time ``res_j <= a_j/2``
(:func:`solver.trajectory.discovery_times`). Cluster of direction ``j`` at a time: the components with
``H_kj^2 >= 1 - alpha``. Integration tolerances: the record's ``rtol_used`` / ``atol_used`` (records without
them: :meth:`solver.config.FlowConfig.tolerances`, the one rule).

=========  ============================  =====================================================================
claim      checker                       statement checked
=========  ============================  =====================================================================
P1         DeflationOrder                ``a_j > a_k`` and ``a_j/a_k >= rho``  =>  ``t_j <= t_k`` (never = +inf)
P3         PowerMethodTracking           on the first plateau each component stays within ``kappa max_i c_i``
                                         (+ integration noise) of the power-method ODE (C7) from the same W(0)
P5         Fitting                       cluster mass ``sum_{k in C_j} c_k = a_j - lambda/2`` within ``tol a_j``
                                         once ``j`` has had ``settle/a_j`` time to relax after ``t_j``
P6         PlateausAndDrops              every loss drop holds a discovery, every resolved discovery is in a drop
P8         LocalStability                after ``j`` is fitted no member's ``sin^2`` to ``u_j`` (nor their mass-weighted
                                         mean) grows above its value at fit time by more than ``(m + r)`` floors
P9         NormCorrelation               ``||w_k|| >= tau  =>  1 - max_j H_kj^2 <= C (delta0/tau)^4 + (m + r) floor``
P9         NormCorrelationLaw            worst ``alpha`` versus ``tau`` follows ``(delta0/tau)^4`` (slope -4)
P10        ResidualNearOrthogonal        distance of ``T* - T`` from ``span{u_j^{(x)l}}`` <= ``bound ||T*||``
P12 / P7   Recovery                      ``|res_j| <= 0.1 a_j`` for every ``j`` at the end (plain / modified)
descent    Descent                       objective non-increasing within an epoch up to integrator tolerance;
                                         a re-initialization raises it by at most what the mass it moves allows
=========  ============================  =====================================================================
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping, Sequence

import numpy as np

from solver.config import IMPLICIT_INTEGRATORS, INTEGRATORS
from solver.errors import ValidationError
from solver.record import Drop, Reinitialization
from solver.trajectory import RECOVERY_TOLERANCE, Trajectory, json_safe

__all__ = [
    "Status", "Verdict", "Checker", "DeflationOrder", "PowerMethodTracking", "power_method_coordinates", "Fitting",
    "PlateausAndDrops", "LocalStability",
    "NormCorrelation", "NormCorrelationLaw", "ResidualNearOrthogonal", "Recovery", "Descent", "Invariants",
    "check_trajectory", "integration_tolerances", "misalignment", "noise_factor", "loss_segments",
    "orthogonal_distance", "alpha_floor", "plot_norm_correlation", "worst_alpha_by_tau",
]


class Status(str, enum.Enum):
    """What a checker concluded about its claim on one run."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not applicable"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Verdict:
    """One invariant on one run (``run = b``) or on the whole record (``run = None``).

    ``margin > 0``: satisfied by that much (unit ``margin_unit``); ``margin < 0``: violated; NaN when the
    status is not ``pass``/``fail``. ``worst`` is the measured extreme the margin is computed from (a number,
    a small dict, or None); ``params`` are the checker's fields; ``details`` the supporting measurements;
    ``why`` says why a verdict is not applicable or inconclusive.
    """

    claim: str
    name: str
    status: Status
    margin: float
    worst: Any
    params: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    run: int | None = None
    margin_unit: str = ""
    why: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))

    @property
    def passed(self) -> bool:
        """The claim was tested and holds."""
        return self.status is Status.PASS

    @property
    def failed(self) -> bool:
        """The claim was tested and is violated."""
        return self.status is Status.FAIL

    @property
    def decided(self) -> bool:
        """``pass`` or ``fail`` (the run tested the claim)."""
        return self.status in (Status.PASS, Status.FAIL)

    def to_dict(self) -> dict:
        """JSON-ready form (non-finite numbers become None); :meth:`from_dict` inverts it."""
        return json_safe({"claim": self.claim, "name": self.name, "status": self.status.value,
                          "margin": self.margin, "margin_unit": self.margin_unit, "worst": self.worst,
                          "params": dict(self.params), "details": dict(self.details), "run": self.run,
                          "why": self.why})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Verdict":
        margin = data["margin"]
        return cls(claim=data["claim"], name=data["name"], status=Status(data["status"]),
                   margin=float("nan") if margin is None else float(margin), worst=data["worst"],
                   params=dict(data["params"]), details=dict(data["details"]), run=data["run"],
                   margin_unit=data.get("margin_unit", ""), why=data.get("why"))


def _decided(checker: "Checker", run: int | None, holds: bool, margin: float, worst: Any, unit: str,
             details: Mapping[str, Any], claim: str | None = None) -> Verdict:
    return Verdict(claim or checker.claim, checker.name, Status.PASS if holds else Status.FAIL, float(margin), worst,
                   checker.params(), details, run, unit)


def _undecided(checker: "Checker", run: int | None, status: Status, why: str, worst: Any = None,
               details: Mapping[str, Any] | None = None) -> Verdict:
    return Verdict(checker.claim, checker.name, status, float("nan"), worst, checker.params(), details or {}, run,
                   "", why)


@dataclass(frozen=True)
class Checker:
    """A per-run invariant: its fields are its parameters; :meth:`check` gives the verdict on run ``b``."""

    claim: ClassVar[str]
    name: ClassVar[str]

    def check(self, tr: Trajectory, b: int) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The checker's parameters (its fields)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _lam(tr: Trajectory) -> float:
    """``lambda`` of the run: the recorded one (the solvers always write it), else FlowConfig's rule."""
    if tr.resolved.lam is not None:
        return float(tr.resolved.lam)
    return tr.flow.regularizer


def integration_tolerances(tr: Trajectory) -> tuple[float, float]:
    """``(rtol, atol)`` the run was integrated with: the record's resolved ones (both solvers write them); for a
    record without them, :meth:`FlowConfig.tolerances` of its configuration and integrator (the rule that chose
    them). A record that names neither is a :class:`ValidationError`."""
    resolved = tr.resolved
    if resolved.rtol is not None and resolved.atol is not None:
        return float(resolved.rtol), float(resolved.atol)
    integrator = resolved.integrator if resolved.integrator is not None else tr.flow.integrator
    if integrator not in INTEGRATORS:
        raise ValidationError("trajectory config", "rtol_used/atol_used, or the integrator that was used",
                              integrator)
    rtol, atol = tr.flow.tolerances(integrator)
    return (rtol if resolved.rtol is None else float(resolved.rtol),
            atol if resolved.atol is None else float(resolved.atol))


def noise_factor(tr: Trajectory) -> float:
    """How many recorded ``loss_floor`` units the Gram-form loss's rounding noise may reach.

    ``loss_floor`` is ``eps/2`` times the size of the cancelling terms, the error of *one* rounding; the
    Gram sums add ``(m + r)^2`` terms, whose rounding errors add up like a random walk: ``~ (m + r)`` floors.
    (Measured on Figure 1, m = 50: fitted-state loss noise up to 12 floors.)
    """
    m = tr.log_norms.shape[-1] if tr.log_norms is not None else int(tr.flow.m)
    return float(m + tr.a.shape[1])


def _unit_roundoff(tr: Trajectory) -> float:
    return float(tr.meta.get("unit_roundoff", np.finfo(np.float64).eps))


# ----------------------------------------------------------------------------------------------------- P1
@dataclass(frozen=True)
class DeflationOrder(Checker):
    """P1: larger components are discovered first.

    For every pair with ``a_j > a_k`` and ``a_j / a_k >= rho`` require ``t_j <= t_k`` (an undiscovered
    direction has ``t = +inf``; two undiscovered directions impose nothing). A difference within the two
    discovery times' interpolation resolution is not a violation. Margin (dimensionless, in [-1, 1]): the
    smallest ``(t_k - t_j) / max(t_j, t_k)`` over the constrained pairs (+1 when ``t_k = inf > t_j``, -1 when
    the larger one is never discovered but the smaller is).

    Attributes:
        rho: pairs whose ratio ``a_j/a_k`` is below ``rho`` are ties (either order is allowed).
    """

    claim: ClassVar[str] = "P1"
    name: ClassVar[str] = "deflation_order"
    rho: float = 1.1

    def check(self, tr: Trajectory, b: int) -> Verdict:
        t_disc, res = tr.discovery()
        a, t, dt = tr.a[b], t_disc[b], np.nan_to_num(res[b], nan=0.0)
        worst, worst_pair, violations = math.inf, None, []
        for j in range(a.size):
            for k in range(a.size):
                if not (a[j] > a[k] and a[j] / a[k] >= self.rho):
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
            return _undecided(self, b, Status.NOT_APPLICABLE, "no constrained pair has a discovery")
        return _decided(self, b, not violations, worst, worst_pair,
                        "relative time (t_k - t_j)/max(t_j, t_k) of the tightest pair",
                        {"discovery_times": t, "violations": violations})


# ----------------------------------------------------------------------------------------------------- P5
def _masses(tr: Trajectory, b: int) -> np.ndarray:
    return np.exp(2.0 * tr.log_norms[b])


@dataclass(frozen=True)
class Fitting(Checker):
    """P5: a discovered direction is fitted with total coefficient ``a_j - lambda/2``.

    For every direction discovered at ``t_j`` with ``t_j + settle / a_j <= t_end`` (the fitted component
    relaxes at rate ``4(a_j - lambda/2)``, C10), at every save time from then on:
    ``|sum_{k: H_kj^2 >= 1 - cluster_alpha} c_k - (a_j - lambda/2)| <= fit_tol * a_j``.
    Margin (dimensionless): ``fit_tol - worst relative deviation``.

    Attributes:
        cluster_alpha: cluster membership ``H_kj^2 >= 1 - cluster_alpha`` (1/2: the SPEC's cluster; a unique
            ``j`` for orthogonal ``U``).
        fit_tol: relative tolerance on the cluster mass.
        settle: relaxation time after discovery, in units of ``1/a_j``.
    """

    claim: ClassVar[str] = "P5"
    name: ClassVar[str] = "fitting"
    cluster_alpha: float = 0.5
    fit_tol: float = 1e-3
    settle: float = 10.0

    def check(self, tr: Trajectory, b: int) -> Verdict:
        if tr.log_norms is None:
            return _undecided(self, b, Status.NOT_APPLICABLE, "components not recorded")
        t_disc, _ = tr.discovery()
        a, lam, times = tr.a[b], _lam(tr), tr.times
        c = _masses(tr, b)
        H2 = tr.correlations[b] ** 2
        worst, worst_j, per_dir = -math.inf, None, {}
        for j in range(a.size):
            if np.isnan(t_disc[b, j]):
                continue
            sel = times >= t_disc[b, j] + self.settle / a[j]
            if not sel.any():
                continue
            mass = (c[sel] * (H2[sel, :, j] >= 1 - self.cluster_alpha)).sum(axis=1)
            dev = np.abs(mass - (a[j] - lam / 2)) / a[j]
            per_dir[j] = {"worst_rel_dev": float(dev.max()), "final_mass": float(mass[-1]),
                          "target": float(a[j] - lam / 2), "from_time": float(times[sel][0])}
            if dev.max() > worst:
                worst, worst_j = float(dev.max()), j
        if worst_j is None:
            return _undecided(self, b, Status.NOT_APPLICABLE, "no direction discovered long enough before the end")
        return _decided(self, b, worst <= self.fit_tol, self.fit_tol - worst, worst,
                        "relative mass deviation (fit_tol - worst)",
                        {"worst_direction": worst_j, "directions": per_dir})


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


def loss_segments(times: np.ndarray, loss: np.ndarray, floor: np.ndarray, nu_min: float,
                  drop_min: float) -> list[dict]:
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


@dataclass(frozen=True)
class PlateausAndDrops(Checker):
    """P6: flat regions are plateaus, decreasing regions are fits; each drop matches a discovery.

    Segments the loss with :func:`loss_segments`; a discovery ``t_j`` is *resolved* when the loss it
    removes (``~ a_j^2 / 2``) is above 10x the noise level and the save interval around ``t_j`` is at most
    the fit's duration ``ln(99^2) / (4 a_j)`` (so the grid samples the drop). Checks that every drop is a fit
    -- it contains a discovery, or at least half its decrease is the residual of already discovered directions
    relaxing (a fit's tail split off by a coarse grid) -- and that every resolved discovery lies in a drop (no
    silent fit). Margin (dimensionless): ``+min`` over resolved discoveries of the distance from ``t_j`` to the
    outside of its drop, relative to the drop's length, when all match; otherwise ``-`` the largest
    unmatched relative drop or ``-1`` per missing discovery (the worst of them).

    Attributes:
        nu_min: a save interval is falling when ``-d ln L/dt >= nu_min sqrt(2L)`` (a rate in the loss's own
            time scale: ``sqrt(2L) ~`` the largest unfitted ``a_j``).
        drop_min: a drop must lower the loss by at least this (relative).
    """

    claim: ClassVar[str] = "P6"
    name: ClassVar[str] = "plateaus_and_drops"
    nu_min: float = 0.05
    drop_min: float = 0.05

    def check(self, tr: Trajectory, b: int) -> Verdict:
        t_disc, res = tr.discovery()
        noise = noise_factor(tr) * tr.loss_floor[b]
        drops = loss_segments(tr.times, tr.loss[b], noise, self.nu_min, self.drop_min)
        floor = float(np.nanmax(noise))
        a = tr.a[b]
        slack = np.nan_to_num(res[b], nan=0.0)
        # Resolved: the loss it removes is above the noise, and the save grid samples the fit. The fitted mass
        # is logistic, dc/dt = 4 c (a_j - c) (radial law, C4), so it rises from 1% to 99% of a_j in
        # ln(99^2)/(4 a_j) ~ 2.3/a_j; a save interval longer than that around t_j holds the whole drop.
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
            return _undecided(self, b, Status.NOT_APPLICABLE, "no drop and no resolvable discovery")
        if unexplained or missing:
            margin = min([-d["relative_drop"] for d in unexplained] + [-1.0] * len(missing))
        else:
            margin = min(inside) if inside else 0.0
        merged = sum(1 for d in drops if sum(d["start"] - slack[j] <= t_disc[b, j] <= d["end"] + slack[j]
                                             for j in range(a.size) if not np.isnan(t_disc[b, j])) > 1)
        return _decided(self, b, not unexplained and not missing, margin,
                        {"unexplained_drops": len(unexplained), "missing_discoveries": missing},
                        "relative position of discoveries inside their drops",
                        {"drops": drops, "resolved_discoveries": resolved, "merged_drops": merged, "fit_tails": tails,
                         "unresolved_discoveries": [j for j in range(a.size) if not np.isnan(t_disc[b, j])
                                                    and j not in resolved]})


# ----------------------------------------------------------------------------------------------------- P3
def power_method_coordinates(h0: np.ndarray, a: np.ndarray, order: int, times: np.ndarray, rtol: float = 1e-13,
                             atol: float = 1e-16, method: str = "DOP853") -> np.ndarray:
    """The continuous tensor power method (the small-norm law, C6/C7) in the u-basis, from ``h0`` (m, r).

    For orthogonal ``U`` and ``T = 0``, ``dwbar/dt = l (I - wbar wbar^T) T*(wbar^{(x)(l-1)}, I)`` closes in
    ``h = U^T wbar``: ``dh_j/dt = l h_j (a_j h_j^{l-2} - sum_i a_i h_i^l)`` (C7); the part of ``wbar`` outside
    ``span U`` only shrinks along its own direction. Integrated with DOP853 at rtol 1e-13 (far below the flow's
    own tolerance); returns ``h`` at ``times`` (K, m, r).
    """
    from scipy.integrate import solve_ivp

    m, r = h0.shape

    def field(_t, y):
        h = y.reshape(m, r)
        s = (a * h**order).sum(axis=1, keepdims=True)
        return (order * (a * h ** (order - 1) - h * s)).ravel()

    if times.size == 1:
        return h0[None].copy()
    sol = solve_ivp(field, (float(times[0]), float(times[-1])), h0.ravel(), method=method, rtol=rtol,
                    atol=atol, t_eval=times)
    return sol.y.T.reshape(times.size, m, r)


def _angle_from_coordinates(H: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Distance ``||wbar - x||`` of two unit vectors known by their u-coordinates ``H``, ``h`` (..., r) whose parts
    outside ``span U`` are parallel (true along the power method): the chord, which is the angle to first order."""
    inside = ((H - h) ** 2).sum(axis=-1)
    out_h = np.sqrt(np.clip(1 - (H**2).sum(axis=-1), 0.0, None))
    out_x = np.sqrt(np.clip(1 - (h**2).sum(axis=-1), 0.0, None))
    return np.sqrt(inside + (out_h - out_x) ** 2)


@dataclass(frozen=True)
class PowerMethodTracking(Checker):
    """P3: while the components are small, each moves like the tensor power method.

    On the first plateau (save times up to the first discovery at which every ``c_k <= plateau_c a_1``) the
    power-method ODE of C7 (:func:`power_method_coordinates`) is integrated from the same ``W(0)`` (the recorded
    correlations at t = 0). The small-norm approximation drops the model's own contribution
    ``l (I - wbar wbar^T) sum_i c_i G_ki^(l-1) wbar_i``, so each component's distance to its power-method twin
    is of the order of the model's mass. Checked: ``dev_k(t) <= kappa sum_i c_i(t) + noise(t)`` at every window
    time, where ``noise(t)`` is measured on the run: ``noise_factor`` times the running maximum of the distance
    between the twin integrated at the run's own tolerances by a method of the run's family (scipy's RK45, the
    Dormand-Prince pair, for explicit runs; scipy's BDF for implicit ones) and the exact one (the power method
    separates nearby starts, so integration error grows along the plateau). Measured: Algorithm 1 on the spread
    spectrum (d = 4, BDF at rtol = atol = 1e-6) deviates by 4e-3, 17 x what an RK45 twin would allow, within
    what the BDF twin does. Measured on the
    Figure 1 instance (d = 10): at delta0 = 1e-15 (m = 50, 3 seeds) the deviation is integration noise,
    0.7e-7 .. 1.3e-7 at rtol 1e-8, 2 .. 4.7 times the twin's noise; at delta0 = 1e-4 .. 1e-3 (m = 20, 50) it is
    0.24 .. 0.47 sum_i c_i (1.0 .. 1.8 max_i c_i). Margin: ``1 - max_t (dev - noise) / (kappa sum_i c_i)``.

    Attributes:
        kappa: allowed deviation per unit of ``sum_i c_i(t)`` (measured <= 0.47).
        plateau_c: the window ends when some ``c_k`` exceeds ``plateau_c a_1``.
        noise_factor: allowed integration noise in units of the twin's measured noise (measured <= 4.7).
    """

    claim: ClassVar[str] = "P3"
    name: ClassVar[str] = "power_method_tracking"
    kappa: float = 1.0
    plateau_c: float = 1e-2
    noise_factor: float = 10.0

    def check(self, tr: Trajectory, b: int) -> Verdict:
        if tr.log_norms is None or tr.correlations is None:
            return _undecided(self, b, Status.NOT_APPLICABLE, "components not recorded")
        U, a = tr.U[b], tr.a[b]
        if not np.allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-10):
            return _undecided(self, b, Status.NOT_APPLICABLE, "U is not orthonormal (C7's coordinates do not close)")
        c = _masses(tr, b)
        maxc = c.max(axis=1)
        t_disc, _ = tr.discovery()
        first = np.nanmin(t_disc[b]) if np.isfinite(t_disc[b]).any() else math.inf
        # A re-initialization (Algorithm 1) replaces directions: the twin's start no longer holds after it.
        first = min([first] + [t_ev for t_ev, _ in _reinit_times(tr, b)])
        small = (maxc <= self.plateau_c * a.max()) & (tr.times <= first)
        # The window: the first run of small save times (a re-initialization later starts a new plateau).
        n = int(np.argmin(small)) if not small.all() else small.size
        if n < 3:
            return _undecided(self, b, Status.NOT_APPLICABLE, f"first plateau spans {n} save time(s)")
        times = tr.times[:n]
        H = tr.correlations[b][:n]
        h = power_method_coordinates(H[0], a, tr.order, times)
        dev = _angle_from_coordinates(H, h)  # (n, m)
        # Noise, measured on this run: the same twin integrated at the run's own tolerances differs from the
        # exact one by the integration error the power method amplifies (it separates nearby starts, C7).
        rtol, atol = integration_tolerances(tr)
        implicit = (tr.resolved.integrator or tr.flow.integrator) in IMPLICIT_INTEGRATORS
        coarse = power_method_coordinates(H[0], a, tr.order, times, rtol=rtol, atol=atol,
                                          method="BDF" if implicit else "RK45")
        noise = self.noise_factor * np.maximum.accumulate(_angle_from_coordinates(coarse, h).max(axis=1))
        mass = c[:n].sum(axis=1)
        excess = np.maximum(dev.max(axis=1) - noise, 0.0) / (self.kappa * mass)
        i = int(np.argmax(excess))
        worst = float(dev.max())
        return _decided(self, b, bool(excess[i] <= 1.0), 1.0 - float(excess[i]), worst,
                        "1 - max (deviation - noise) / (kappa sum_i c_i)",
                        {"window_end": float(times[-1]), "save_times": n, "noise_at_worst": float(noise[i]),
                         "worst_time": float(times[i]), "max_c_at_worst": float(maxc[i]),
                         "deviation_over_mass": float(dev.max(axis=1)[i] / mass[i]),
                         "deviation_over_max_c": float(dev.max(axis=1)[i] / maxc[i])})


# ------------------------------------------------------------------------------------------------ P8, P9
def alpha_floor(tr: Trajectory, b: int) -> float:
    """Smallest ``1 - max_j H_kj^2`` resolvable from the recorded correlations.

    Two limits. Arithmetic: with ``r < d`` the part of ``wbar`` outside ``span U`` is only known as
    ``1 - sum_i H_ki^2``, floor ``~ 8 d eps``. Integration: the directions are accurate to the integrator's
    tolerance, ``~ atol + rtol`` per coordinate, so in a rotated basis the squares of the small correlations
    are known to ``d (atol + rtol)^2`` (measured: d = 4, rtol 1e-8 -> a floor at 1.5e-17). In the identity
    basis each coordinate evolves multiplicatively (``dx_i/dt`` is proportional to ``x_i``, C7), so rtol does
    not limit it, but the step control ignores errors below ``atol`` in a coordinate: floor ``16 d atol^2``
    (measured, d = 4: worst alpha saturates at 1.5e-19 for atol 1e-10, 1.6e-27 for atol 1e-14). The
    tolerances are those of :func:`integration_tolerances`.
    """
    eps = _unit_roundoff(tr)
    d, r = tr.U[b].shape
    U = tr.U[b]
    identity = bool(np.all((U == 0) | (np.abs(U) == 1)))
    arithmetic = 8 * d * eps if r < d else (0.0 if identity else 16 * d * eps * eps)
    rtol, atol = integration_tolerances(tr)
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


def _delta0(tr: Trajectory) -> float:
    return float(tr.flow.delta0)


def _default_taus(tr: Trajectory) -> np.ndarray:
    lo = math.log10(_delta0(tr)) + 1
    return 10.0 ** np.arange(lo, 0.0 + 1e-9, 0.5)


def _taus(tr: Trajectory, taus: tuple[float, ...] | None) -> np.ndarray:
    return _default_taus(tr) if taus is None else np.asarray(taus, dtype=np.float64)


@dataclass(frozen=True)
class NormCorrelation(Checker):
    """P9: every component with ``||w_k|| >= tau`` is highly correlated with some ``u_j``, at every save time:
    ``1 - max_j H_kj^2 <= law_factor (delta0/tau)^4 + noise_factor (m + r) floor``.

    The bound is the measured law, not a constant decades above it: SPEC section 2 measured the worst
    misalignment at about ``(delta0/tau)^4`` (prefactor ~60 at delta0 = 1e-15, tau = 1e-10 and 1e-6); the
    reference instance of :mod:`verify.mutants` measures ~0.6. ``law_factor`` allows that prefactor with one
    decade of headroom for the sampled instances; the floor term is the resolution of :func:`alpha_floor`
    times the ``m + r`` rounding errors that add up (:func:`noise_factor`). Also tabulates the worst ``alpha``
    for each threshold in ``taus``. Margin: ``log10(bound / worst)`` (decades of slack; a worst value below the
    floor counts as the floor).

    Attributes:
        tau: the norm threshold.
        law_factor: the law's allowed prefactor.
        noise_units: rounding noise in units of ``(m + r)`` floors (as :class:`LocalStability`'s).
        taus: thresholds of the worst-alpha table (None: every half decade from ``10 delta0`` to 1).
    """

    claim: ClassVar[str] = "P9"
    name: ClassVar[str] = "norm_correlation"
    tau: float = 1e-4
    law_factor: float = 1e3
    noise_units: float = 1.0
    taus: tuple[float, ...] | None = None

    def bound(self, tr: Trajectory, b: int) -> float:
        """The allowed ``1 - max_j H_kj^2`` at ``tau`` on run ``b``."""
        return (self.law_factor * (_delta0(tr) / self.tau) ** 4
                + self.noise_units * noise_factor(tr) * alpha_floor(tr, b))

    def check(self, tr: Trajectory, b: int) -> Verdict:
        if tr.log_norms is None:
            return _undecided(self, b, Status.NOT_APPLICABLE, "components not recorded")
        taus = _taus(tr, self.taus)
        floor = alpha_floor(tr, b)
        worst = worst_alpha_by_tau(tr, b, [self.tau])[0]
        bound = self.bound(tr, b)
        details = {"taus": taus, "worst_alpha": worst_alpha_by_tau(tr, b, taus), "alpha_floor": floor,
                   "bound": bound}
        if np.isnan(worst):
            return _undecided(self, b, Status.NOT_APPLICABLE, f"no component reached norm tau = {self.tau:g}",
                              details=details)
        margin = math.log10(bound / max(worst, floor, 1e-300))
        return _decided(self, b, worst <= bound, margin, float(worst), "decades log10(bound / worst)", details)


@dataclass(frozen=True)
class NormCorrelationLaw:
    """P9, the empirical law: ``worst alpha(tau) ~ C (delta0 / tau)^4``, over every run of the given records.

    Pools every run, takes the worst alpha per ``tau`` (over runs), keeps the points in the asymptotic range
    (``tau >= 10 delta0``, ``worst > 100 x`` the resolution floor so that the value is measured, not rounding
    noise) and fits ``log10 alpha = p log10(tau/delta0) + log10 C``. Confirmed (``pass``) when
    ``|p + 4| <= band`` with at least 3 points over at least ``min_decades`` decades of ``tau``; over one decade
    the local exponent of well-resolved runs wanders by +-0.7 (identity basis, d = 4, atol 1e-18: -4.2, -2.8,
    -4.5 on successive half decades), so narrower windows are ``inconclusive`` (the measured exponent is still
    reported); fewer than 2 resolved points: ``not applicable``. Margin: ``band - |p + 4|``.

    Attributes:
        band: accepted distance of the fitted exponent from -4.
        min_decades: the least window of resolved ``tau`` (decades).
        taus: the thresholds (None: every half decade from ``10 delta0`` to 1).
    """

    claim: ClassVar[str] = "P9"
    name: ClassVar[str] = "norm_correlation_law"
    band: float = 0.5
    min_decades: float = 2.0
    taus: tuple[float, ...] | None = None

    params = Checker.params

    def check(self, trajectories: Trajectory | Iterable[Trajectory]) -> Verdict:
        trs = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
        xs, ys = [], []
        delta0s = set()
        for tr in trs:
            if tr.log_norms is None:
                continue
            delta0 = _delta0(tr)
            delta0s.add(delta0)
            grid = _taus(tr, self.taus)
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
        points = {"log10_tau_over_delta0": xs_, "log10_worst_alpha": ys_, "delta0": sorted(delta0s)}
        if xs_.size < 2:
            return _undecided(self, None, Status.NOT_APPLICABLE, f"{xs_.size} resolved (tau, alpha) points",
                              details=points)
        p, logc = np.polyfit(xs_, ys_, 1)
        resid = float(np.max(np.abs(ys_ - (p * xs_ + logc))))
        fit = {"exponent": float(p), "prefactor_log10": float(logc), "max_fit_residual_decades": resid, **points}
        if xs_.size < 3 or xs_.max() - xs_.min() < self.min_decades:
            return _undecided(self, None, Status.INCONCLUSIVE,
                              f"resolved window of {xs_.max() - xs_.min():.1f} decades of tau (< {self.min_decades})",
                              worst=float(p), details=fit)
        margin = self.band - abs(p + 4)
        return _decided(self, None, margin >= 0, margin, float(p), "band - |exponent + 4|", fit)


def _reinit_times(tr: Trajectory, b: int) -> list[tuple[float, list[int]]]:
    return [(float(e.time), list(e.components)) for e in tr.events
            if isinstance(e, (Reinitialization, Drop)) and e.run == b and e.components]


@dataclass(frozen=True)
class LocalStability(Checker):
    """P8: once fitted, a cluster stays at its ground-truth direction, individually and on average.

    Direction ``j`` is fitted at ``t_f = t_j + settle / a_j``. Its members are the components with
    ``H_kj^2 >= 1 - cluster_alpha`` carrying at least ``share`` of the cluster's mass at ``t_f`` (tiny
    components are not fitted to anything: the residual on ``u_j`` is ~0 and they legitimately leave).
    "Stay close" is tested as "never move away": for every later save time (a member leaves the set when it is
    re-initialized or dropped) each member's ``sin^2(wbar_k, u_j) = 1 - H_kj^2`` and the mass-weighted mean
    ``sum_k c_k sin^2 / sum_k c_k`` stay below their values at ``t_f`` plus the rounding noise
    ``noise_units (m + r) floor`` (:func:`alpha_floor`; ``m + r`` rounding errors add up, as in
    :func:`noise_factor`). Linear stability (C10, C11) says the tangential perturbations decay at ``-l a_j``
    (co-rotation) or ``-l lambda/2`` (merging, neutral at ``lambda = 0``), so neither may grow; measured on the
    Figure 1 and reference runs the members sit at the floor from ``t_f`` on. Margin:
    ``1 - max growth / noise`` (dimensionless; 1 when nothing grew). The absolute values are reported.

    Attributes:
        cluster_alpha, settle: as for :class:`Fitting`.
        noise_units: allowed growth in units of ``(m + r)`` resolution floors.
        share: least share of the cluster's mass at fit time that makes a member.
    """

    claim: ClassVar[str] = "P8"
    name: ClassVar[str] = "local_stability"
    cluster_alpha: float = 0.5
    settle: float = 10.0
    noise_units: float = 1.0
    share: float = 1e-3

    def check(self, tr: Trajectory, b: int) -> Verdict:
        if tr.log_norms is None:
            return _undecided(self, b, Status.NOT_APPLICABLE, "components not recorded")
        t_disc, _ = tr.discovery()
        times, a = tr.times, tr.a[b]
        c = _masses(tr, b)
        H2 = tr.correlations[b] ** 2
        floor = alpha_floor(tr, b)
        noise = max(self.noise_units * noise_factor(tr) * floor, 1e-300)
        reinits = _reinit_times(tr, b)
        worst_growth, worst_ind, worst_avg, per_dir = -math.inf, 0.0, 0.0, {}
        for j in range(a.size):
            if np.isnan(t_disc[b, j]):
                continue
            ks = np.nonzero(times >= t_disc[b, j] + self.settle / a[j])[0]
            if ks.size == 0:
                continue
            k0 = ks[0]
            in_cluster = H2[k0, :, j] >= 1 - self.cluster_alpha
            mass0 = c[k0][in_cluster].sum()
            members = in_cluster & (c[k0] >= self.share * mass0)
            if not members.any():
                continue
            alive = np.ones((times.size, members.size), dtype=bool)
            for t_ev, comps in reinits:
                later = np.nonzero(times >= t_ev - 1e-12 * max(1.0, abs(t_ev)))[0]
                alive[np.ix_(later, np.asarray(comps, dtype=int))] = False
            sel = alive[ks] & members[None, :]
            sin2_all = _sin2_to(tr, b, j)[ks]
            sin2 = np.where(sel, sin2_all, 0.0)
            growth_ind = float((sin2 - np.where(sel, sin2_all[0][None, :], 0.0)).max())
            weights = np.where(sel, c[ks], 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                avg_t = (weights * sin2).sum(axis=1) / weights.sum(axis=1)
            finite = np.isfinite(avg_t)
            growth_avg = float(np.max(avg_t[finite] - avg_t[0])) if finite.any() and finite[0] else 0.0
            growth = max(growth_ind, growth_avg)
            per_dir[j] = {"members": int(members.sum()), "worst_individual": float(sin2.max()),
                          "at_fit_individual": float(sin2_all[0][members].max()),
                          "worst_average": float(np.nanmax(avg_t)) if finite.any() else None,
                          "growth_individual": growth_ind, "growth_average": growth_avg,
                          "from_time": float(times[k0])}
            worst_growth = max(worst_growth, growth)
            worst_ind = max(worst_ind, float(sin2.max()))
            worst_avg = max(worst_avg, per_dir[j]["worst_average"] or 0.0)
        if not per_dir:
            return _undecided(self, b, Status.NOT_APPLICABLE, "no direction fitted long enough before the end")
        return _decided(self, b, worst_growth <= noise, 1.0 - max(worst_growth, 0.0) / noise,
                        {"individual": worst_ind, "average": worst_avg, "growth": worst_growth},
                        "1 - growth of sin^2 after the fit / noise",
                        {"directions": per_dir, "sin2_floor": floor, "noise": noise})


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


@dataclass(frozen=True)
class ResidualNearOrthogonal(Checker):
    """P10: ``T* - T`` stays close to an orthogonal tensor: ``max_t dist / ||T*||_F <= bound`` (distance of
    :func:`orthogonal_distance`). Margin: ``bound - worst`` (relative Frobenius units); values within the
    resolution are reported but cannot violate.

    Attributes:
        bound: bound on ``dist(T* - T, span{u_j^l}) / ||T*||_F``.
    """

    claim: ClassVar[str] = "P10"
    name: ClassVar[str] = "residual_near_orthogonal"
    bound: float = 1e-2

    def check(self, tr: Trajectory, b: int) -> Verdict:
        dist, resolution = orthogonal_distance(tr, b)
        excess = dist - resolution
        i = int(np.argmax(excess))
        return _decided(self, b, bool(np.all(excess <= self.bound)), self.bound - max(float(excess[i]), 0.0),
                        float(dist[i]), "relative Frobenius distance (bound - worst)",
                        {"worst_time": float(tr.times[i]), "resolution": float(resolution.max()),
                         "orthogonal": bool(np.allclose(tr.U[b].T @ tr.U[b], np.eye(tr.U[b].shape[1]), atol=1e-10)),
                         "distance_series": dist})


# ------------------------------------------------------------------------------------------ P12 / P7
@dataclass(frozen=True)
class Recovery(Checker):
    """P12 (plain flow) / P7 (modified flow): every direction fitted at the end, ``|res_j| <= tol a_j``.
    Margin: ``tol - max_j |res_j| / a_j``.

    Attributes:
        tol: relative residual below which a direction counts as fitted (the record's own rule).
    """

    claim: ClassVar[str] = "P12"
    name: ClassVar[str] = "recovery"
    tol: float = RECOVERY_TOLERANCE

    def check(self, tr: Trajectory, b: int) -> Verdict:
        rel = np.abs(tr.residuals[b, -1] / tr.a[b])
        worst = float(rel.max())
        return _decided(self, b, worst <= self.tol, self.tol - worst, worst, "relative residual (tol - worst)",
                        {"final_relative_residuals": rel,
                         "unrecovered": [int(j) for j in np.nonzero(rel > self.tol)[0]]},
                        claim="P7" if tr.flow.algorithm == "modified" else "P12")


# ------------------------------------------------------------------------------------------------ descent
@dataclass(frozen=True)
class Descent(Checker):
    """Descent (C9, ``dL/dt = -||grad L||^2``): the objective ``F = L + lambda/2 sum_k c_k`` never increases
    within an epoch beyond the integration tolerance plus rounding noise,
    ``tol_factor * rtol * F_i + noise_factor * (floor_i + floor_{i+1})`` (:func:`noise_factor`; ``rtol`` of
    :func:`integration_tolerances`).

    A save interval that contains a re-initialization (or drop) of components ``S`` may also rise by
    what moving that mass allows: with ``M`` an upper bound on the mass moved (``sum_{k in S} (c_k + delta0^2)``,
    ``c_k`` bounded by the rule: ``delta1^2`` for the norm rule, ``delta1^2 sum_k c_k`` for the cluster rule),
    ``|Delta F| <= ||T* - T||_F M + M^2/2 + lambda/2 M``. Margin: ``1 - max_i increase_i / allowed_i``.

    Attributes:
        tol_factor: allowed increase per save interval, in units of ``rtol * F``.
    """

    claim: ClassVar[str] = "descent"
    name: ClassVar[str] = "descent"
    tol_factor: float = 10.0

    def check(self, tr: Trajectory, b: int) -> Verdict:
        lam = _lam(tr)
        rtol, _ = integration_tolerances(tr)
        F = tr.loss[b].copy()
        if lam > 0 and tr.log_norms is not None:
            F = F + lam / 2 * _masses(tr, b).sum(axis=1)
        fl = tr.loss_floor[b]
        times = tr.times
        allowed = self.tol_factor * rtol * np.abs(F[:-1]) + noise_factor(tr) * (fl[:-1] + fl[1:])
        delta0, delta1, rule = float(tr.flow.delta0), float(tr.flow.delta1), tr.flow.reinit_rule
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
        return _decided(self, b, bool(np.all(increase <= allowed)), 1.0 - float(ratio[i]), float(increase[i]),
                        "1 - max increase/allowed", {"worst_time": float(times[i]), "rtol": rtol,
                                                     "reinit_intervals": reinit_intervals, "lambda": lam})


# --------------------------------------------------------------------------------------------- the entry
@dataclass(frozen=True)
class Invariants:
    """One instance of every checker: the per-run ones in report order, then the record-wide P9 law.

    ``Invariants()`` holds our defaults; :meth:`with_settings` replaces fields by name.
    """

    deflation_order: DeflationOrder = DeflationOrder()
    power_method_tracking: PowerMethodTracking = PowerMethodTracking()
    fitting: Fitting = Fitting()
    plateaus_and_drops: PlateausAndDrops = PlateausAndDrops()
    local_stability: LocalStability = LocalStability()
    norm_correlation: NormCorrelation = NormCorrelation()
    residual_near_orthogonal: ResidualNearOrthogonal = ResidualNearOrthogonal()
    recovery: Recovery = Recovery()
    descent: Descent = Descent()
    norm_correlation_law: NormCorrelationLaw = NormCorrelationLaw()

    def per_run(self) -> tuple[Checker, ...]:
        """The per-run checkers, in report order."""
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "norm_correlation_law")

    @classmethod
    def settable(cls) -> dict[str, list[str]]:
        """Numeric fields by name: ``{"rho": ["deflation_order"], "settle": ["fitting", "local_stability"], ...}``."""
        out: dict[str, list[str]] = {}
        for f in dataclasses.fields(cls):
            for g in dataclasses.fields(f.default):
                if isinstance(g.default, float):
                    out.setdefault(g.name, []).append(f.name)
        return out

    def with_settings(self, settings: Mapping[str, float]) -> "Invariants":
        """A copy with fields replaced: ``NAME`` sets that field on every checker that has it (``settle`` on
        :class:`Fitting` and :class:`LocalStability`), ``CHECKER.NAME`` on one (``local_stability.settle``).
        An unknown name is a :class:`ValidationError` listing the accepted ones."""
        table = self.settable()
        accepted = sorted(table) + sorted(f"{c}.{n}" for n, cs in table.items() for c in cs)
        changes: dict[str, dict[str, float]] = {}
        for key, value in settings.items():
            checker, _, name = key.rpartition(".")
            owners = table.get(name, [])
            if checker:
                owners = [checker] if checker in owners else []
            if not owners:
                raise ValidationError("--set", f"NAME=VALUE with NAME one of {accepted}", key)
            for owner in owners:
                changes.setdefault(owner, {})[name] = value
        return dataclasses.replace(self, **{owner: dataclasses.replace(getattr(self, owner), **fields)
                                            for owner, fields in changes.items()})

    def check(self, trajectory: Trajectory) -> list[Verdict]:
        """Every per-run checker on every run ``b`` (run-major), then the P9 law over all runs."""
        out = [checker.check(trajectory, b) for b in range(trajectory.batch) for checker in self.per_run()]
        out.append(self.norm_correlation_law.check(trajectory))
        return out


def check_trajectory(trajectory: Trajectory, invariants: Invariants | None = None,
                     **settings: float) -> list[Verdict]:
    """Every invariant on every run of ``trajectory`` (:meth:`Invariants.check`), with ``invariants``
    (default ``Invariants()``) changed by ``settings`` (:meth:`Invariants.with_settings`)."""
    invariants = invariants or Invariants()
    if settings:
        invariants = invariants.with_settings(settings)
    return invariants.check(trajectory)


# ------------------------------------------------------------------------------------------------- plot
def plot_norm_correlation(trajectories: Trajectory | Iterable[Trajectory], path_stem: str | Path) -> list[Path]:
    """P9 figure: worst ``1 - max_j H_kj^2`` among components with ``||w|| >= tau`` against ``tau`` (log-log),
    one colour per run, with the law ``(delta0/tau)^4`` and the resolution floor. A point above its run's floor
    is a measurement (filled); one at or below it is unresolved and drawn on the floor as an upper bound
    (hollow, pointing down); the band under the floor is shaded. Writes png + svg."""
    import matplotlib.pyplot as plt

    from .plots import save_figure

    trs = [trajectories] if isinstance(trajectories, Trajectory) else list(trajectories)
    fig, ax = plt.subplots(figsize=(10, 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    floors, lows, n_runs = [], [], sum(tr.batch for tr in trs if tr.log_norms is not None)
    run = 0
    for n, tr in enumerate(trs):
        if tr.log_norms is None:
            continue
        taus = _default_taus(tr)
        delta0 = _delta0(tr)
        for b in range(tr.batch):
            color = colors[run % len(colors)]
            run += 1
            w = worst_alpha_by_tau(tr, b, taus)
            floor = alpha_floor(tr, b)
            floors.append(floor)
            valid = w > 0
            resolved = valid & (w > floor)
            unresolved = valid & ~resolved
            label = f"{tr.flow.algorithm} seed {tr.seeds[b]}" if n_runs <= 8 else None
            ax.plot(taus[resolved], w[resolved], "o", ms=4, color=color, label=label)
            if unresolved.any() and floor > 0:
                ax.plot(taus[unresolved], np.full(int(unresolved.sum()), floor), "v", ms=5, color=color,
                        markerfacecolor="none")
            if resolved.any():
                lows.append(float(w[resolved].min()))
        law = (delta0 / taus) ** 4
        ax.plot(taus, law, "k--", lw=1, label=r"law $(\delta_0/\tau)^4$" if n == 0 else None)
    positive = [f for f in floors if f > 0]
    if positive:
        top_floor = max(positive)
        bottom = min(min(positive), *lows) / 1e3 if lows else min(positive) / 1e3
        ax.axhspan(bottom, top_floor, color="0.9", zorder=0)
        ax.axhline(top_floor, color="0.5", lw=1, label=f"resolution floor ({top_floor:.0e})")
        ax.plot([], [], "v", color="0.3", markerfacecolor="none", label="unresolved: $\\leq$ floor (upper bound)")
        ax.set_ylim(bottom=bottom, top=2)
    else:
        ax.set_ylim(top=2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"norm threshold $\tau$")
    ax.set_ylabel(r"worst $1 - \max_j \langle \bar w_k, u_j\rangle^2$" "\n" r"over $\|w_k\| \geq \tau$")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return save_figure(fig, Path(path_stem))

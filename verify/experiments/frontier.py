"""Where does Theorem 1's accuracy restriction bite? Claim P11 (and P7's points inside the regime) as a designed
experiment: Algorithm 1 on two instance families over a grid of (d, eps), float64 and high precision, with
parameters that scale with eps, many seeds, statistics that can say no, and figures.

The design (docs/spec.md section 2 for Algorithm 1; section 3 for P7, P11):

- **Two instance families**, orthogonal (Haar basis seeded by the run's seed), ``r = 4``, ratio ``a_j/a_{j+1} = 10``:
  ``shifted``: ``a_j = 10 eps * 10^(r-j)`` (``a_r = 10 eps``: the spectrum moves with the target accuracy);
  ``fixed``: ``a_j = 10 eps_top(d) * 10^(r-j)`` with ``eps_top(d)`` the largest eps of the grid at ``d``
  (the spectrum is held while eps alone shrinks: ``a_r / eps`` grows from 10 to ``~10^6``, so Algorithm 1 runs
  ``log2(1/eps)`` epochs past its last discovery). ``beta0 = a_1`` in both (the tight upper bound on ``max a_j``).
- **Parameters that scale with eps** (none fails by construction, :func:`construction_check`):
  ``delta1 = 0.1 sqrt(a_r)`` (a component fitting ``a_r`` has norm ``sqrt(a_r - lambda/2) > delta1``, so the
  norm rule never re-initializes it), ``delta0 = 0.1 sqrt(eps / m)`` (the fresh mass ``m delta0^2 = eps/100``
  stays below eps), ``lambda = eps/10`` (FlowConfig's default), the paper's norm rule.
- **m with a margin at two values**: the order law's per-epoch model (:func:`verify.mlaw.algorithm1_success`)
  gives P(success) = 1.00 (2,000 draws) from ``m = r = 4`` on this spectrum at every eps of the grid; the campaign
  runs ``m = 4 r`` and ``m = 8 r`` (4x and 8x the model's m), and the frontier must not move between them.
- **The grid**: d in {4, 6, 8, 12, 16}; ``eps = bound * 10^-k``, ``k = 0..5``, for both readings of
  ``exp(-o(d/log d))``: ``exp(-d/ln d)`` (generous) and ``exp(-d/(2 ln d))``; seeds per cell. High precision
  (flint, mpmath where flint is absent): d in {4, 6}, eps in {1e-12, 1e-20, 1e-40}.

Scale covariance (claim C12): if ``W(t)`` solves the flow for ``(a, lambda)``, ``sqrt(s) W(s t)`` solves it for
``(s a, s lambda)``. The ``shifted`` family scales ``a``, ``lambda``, ``delta0^2``, ``delta1^2`` and ``beta0`` all by
``eps``, so in exact arithmetic its runs at different eps are one run rescaled, except for the epoch rule's
``ln(1/delta0)`` (``t_s = epoch_factor (d + ln 1/delta0) / beta_s``, not scale covariant: epochs get relatively
longer as eps shrinks). A trend in that family is the numerics' (or that rule's), not the spectrum's; the
``fixed`` family is where ``log(1/eps)`` epochs and ``log(1/delta0)`` growth times enter the dynamics.

Outcomes, per run (one row in the evidence store, :mod:`verify.sweep.store`'s columns plus :data:`EXTRA_COLUMNS`):
``success`` (every direction fitted, ``|(T*-T)(u_j^l)| <= 0.1 a_j``), ``accurate`` (every ``|(T*-T)(u_j^l)| <=
eps``) and three continuous measures: ``max_rel_residual = max_j |res_j| / a_j`` at the end, ``free_at_ar`` (the
components below ``delta1`` at the start of the first epoch with ``beta_s <= a_r``: the ones free to discover
``u_r``) and ``t_ur_ratio = t(u_r) / (ln(1/delta0) / (2 a_r))`` (the discovery time of ``u_r`` against the time a
component at ``delta0`` needs to reach ``sqrt(a_r)`` at rate ``2 a_r``).
"""

from __future__ import annotations

import hashlib
import itertools
import dataclasses
import json
import tomllib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from solver.config import FlowConfig
from solver.errors import ValidationError, require

__all__ = ["FAMILIES", "PRECISIONS", "READINGS", "EXTRA_COLUMNS", "bound", "grid_eps", "family_spectrum",
           "scaled_parameters", "FrontierRun", "ConstructionCheck", "construction_check", "CampaignSpec",
           "TINY", "FLOAT64", "HIGH_PRECISION", "CAMPAIGNS", "campaign_runs", "solve_run", "run_campaign",
           "read_frontier", "row_schema", "hp_digits", "hp_rtol", "hp_epoch_rtol", "with_shared_top",
           "write_frontier_row"]

FAMILIES = ("shifted", "fixed")
PRECISIONS = ("float64", "flint", "mpmath")
# The two readings of exp(-o(d/log d)): c = 1 (exp(-d/ln d), the generous one) and c = 1/2.
READINGS: dict[str, float] = {"d/ln d": 1.0, "d/(2 ln d)": 0.5}
R = 4
RATIO = 10.0
# delta1 = 0.1 sqrt(a_r), delta0 = 0.1 sqrt(eps / m): the margins of the construction (module docstring).
DELTA1_FRACTION = 0.1
DELTA0_FRACTION = 0.1
# A high-precision run's local tolerance, as a fraction of eps / a_1: the integration's error on T stays three
# decades below eps. Measured in BENCHMARKS.md ("High precision: tolerance tied to eps"): residuals equal to 16
# digits at 1e-3 and 1e-6 of eps / a_1 and at the digits-derived 1e-28 it replaces, with half the field evaluations.
HP_RTOL_FRACTION = 1e-3
# ... never looser than float64's best: a high-precision run is at least as accurate as the float64 one it checks.
HP_RTOL_CEILING = 1e-16
# Epoch s of a high-precision run resolves its state to this fraction of beta_s (relative to a_1) while that is looser
# than the eps tolerance above: a millionth of the threshold the epoch decides by (hp_epoch_rtol).
HP_BETA_FRACTION = 1e-6
# Columns this campaign adds to the store's (evidence/accuracy-frontier/README.md).
EXTRA_COLUMNS = ("precision", "family", "reading", "k", "bound", "dps", "accurate", "max_rel_residual",
                 "free_at_ar", "t_ur_ratio", "distance", "epochs")


def bound(d: int, reading: str = "d/ln d") -> float:
    """``exp(-c d / ln d)`` with ``c = 1`` (reading ``"d/ln d"``) or ``c = 1/2`` (``"d/(2 ln d)"``): below it
    Theorem 1's ``eps >= exp(-o(d/log d))`` gives no guarantee (up to the o(.))."""
    require(reading in READINGS, "reading", f"one of {tuple(READINGS)}", reading)
    require(isinstance(d, (int, np.integer)) and d >= 2, "d", "an integer >= 2", d)
    return math.exp(-READINGS[reading] * d / math.log(d))


def grid_eps(d: int, ks: Sequence[int]) -> list[tuple[str, int, float]]:
    """``[(reading, k, eps = bound(d, reading) 10^-k)]`` for both readings, largest eps first."""
    points = [(reading, int(k), bound(d, reading) * 10.0 ** -k) for reading in READINGS for k in ks]
    return sorted(points, key=lambda p: -p[2])


def family_spectrum(family: str, eps: float, eps_top: float) -> tuple[float, ...]:
    """The coefficients ``a_1 > ... > a_r`` (``r = 4``, ratio 10): ``a_r = 10 eps`` (``shifted``) or
    ``a_r = 10 eps_top`` (``fixed``, the same spectrum at every eps of a d)."""
    require(family in FAMILIES, "family", f"one of {FAMILIES}", family)
    a_r = 10.0 * (eps if family == "shifted" else eps_top)
    return tuple(float(a_r * RATIO ** (R - 1 - j)) for j in range(R))


def scaled_parameters(a_r: float, eps: float, m: int) -> dict[str, float]:
    """``{"delta1": 0.1 sqrt(a_r), "delta0": 0.1 sqrt(eps/m), "lam": eps/10}``."""
    return {"delta1": DELTA1_FRACTION * math.sqrt(a_r), "delta0": DELTA0_FRACTION * math.sqrt(eps / m),
            "lam": eps / 10.0}


@dataclass(frozen=True)
class FrontierRun:
    """One run of the campaign: a family, ``d``, a grid eps (its reading and k), ``m``, a seed, a precision."""

    family: str
    d: int
    reading: str
    k: int
    eps: float
    eps_top: float
    m: int
    seed: int
    precision: str = "float64"
    dps: int | None = None  # digits of a high-precision run (None: float64)
    rtol: float | None = None  # a float64 run's local tolerance (None: the integrator's default, CVODE's 1e-6)

    @property
    def a(self) -> tuple[float, ...]:
        return family_spectrum(self.family, self.eps, self.eps_top)

    @property
    def bound(self) -> float:
        return bound(self.d, self.reading) if self.reading in READINGS else math.nan

    def spec(self):
        """The :class:`solver.spec.RunSpec` (float64 integrator ``auto``: CVODE on the CPU; a high-precision run
        reads ``radau`` as its implicit Radau IIA)."""
        from solver.spec import InstanceSpec, RunSpec

        a = self.a
        p = scaled_parameters(a[-1], self.eps, self.m)
        float64 = self.precision == "float64"
        config = FlowConfig(algorithm="modified", m=self.m, delta0=p["delta0"], delta1=p["delta1"], lam=p["lam"],
                            eps=self.eps, beta0=a[0], reinit_rule="norm", integrator="auto" if float64 else "radau",
                            rtol=self.rtol if float64 else hp_rtol(a[0], self.eps), n_save=64, record_components=False)
        instance = InstanceSpec(d=self.d, a=a, basis="random", basis_seed=self.seed)
        return RunSpec(instance=instance, config=config, first_seed=self.seed, n_seeds=1)

    @property
    def key(self) -> str:
        """The store key: :meth:`RunSpec.key` for float64 (so the spot-check reruns it from its command); with
        the precision and digits hashed in for a high-precision run."""
        base = self.spec().key()
        if self.precision == "float64":
            return base
        schedule = f"|epoch rtol {HP_BETA_FRACTION:g} beta/a_1"
        return hashlib.sha256(f"{base}|{self.precision}|{self.dps}{schedule}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ConstructionCheck:
    """Whether a run can fail by construction.

    ``fitted_norm_ok``: a component fitting ``a_r`` (norm ``sqrt(a_r - lambda/2)``) lies above ``delta1`` (else
    the norm rule re-initializes it every epoch). ``fresh_mass_ok``: ``m delta0^2 < eps`` (else the fresh
    components alone put ``||T - T*||`` above eps). ``resolvable``: the working precision resolves eps against
    ``a_1`` (float64: ``eps / a_1 > 1e-14``; high precision: ``dps > 2 log10(a_1/eps) + 10``)."""

    fitted_norm_ok: bool
    fresh_mass_ok: bool
    resolvable: bool
    margin_delta1: float  # sqrt(a_r - lambda/2) / delta1
    margin_mass: float  # eps / (m delta0^2)

    @property
    def ok(self) -> bool:
        return self.fitted_norm_ok and self.fresh_mass_ok and self.resolvable


def construction_check(a: Sequence[float], eps: float, m: int, delta0: float, delta1: float, lam: float,
                       precision: str = "float64", dps: int | None = None) -> ConstructionCheck:
    """:class:`ConstructionCheck` of Algorithm 1 on spectrum ``a`` with these parameters."""
    a_r, a_1 = float(min(a)), float(max(a))
    fitted = math.sqrt(max(a_r - lam / 2, 0.0))
    if precision == "float64":
        resolvable = eps / a_1 > 1e-14
    else:
        resolvable = dps is not None and dps > 2 * math.log10(a_1 / eps) + 10
    return ConstructionCheck(fitted_norm_ok=fitted > delta1, fresh_mass_ok=m * delta0 ** 2 < eps,
                             resolvable=bool(resolvable), margin_delta1=fitted / delta1,
                             margin_mass=eps / (m * delta0 ** 2))


def hp_rtol(a_1: float, eps: float) -> float:
    """Local tolerance of a high-precision run: ``HP_RTOL_FRACTION * eps / a_1`` (the state's rows are log-norms and
    unit-vector coordinates, so this bounds each step's error on ``T`` at about ``1e-3 eps``), never looser than
    float64's ``1e-16`` (a high-precision run is at least as accurate as the float64 one it is compared with)."""
    return min(HP_RTOL_FRACTION * eps / a_1, HP_RTOL_CEILING)


def hp_epoch_rtol(a_1: float, eps: float) -> Callable[[float], float]:
    """Local tolerance of a high-precision run's epoch ``s`` from its threshold ``beta_s``:
    ``min(1e-16, max(HP_RTOL_FRACTION eps, HP_BETA_FRACTION beta_s) / a_1)``.

    Epoch ``s`` decides which components grow against ``beta_s``; an error of ``1e-6 beta_s`` on ``T`` cannot change
    that, and the fitted components relax to their fixed point at rate ``~ a_r`` (times far below an epoch's
    length), so the error is forgotten before the last epochs, which run at :func:`hp_rtol` (``beta_s <= 1e3 eps``).
    Never looser than float64's ``1e-16``. The early epochs (where the components grow from ``delta0`` and are fitted)
    were most of a run's cost at ``hp_rtol`` throughout; BENCHMARKS.md ("High precision: tolerance by epoch")
    compares the two on every campaign point run at both."""
    floor = hp_rtol(a_1, eps)

    def rtol(beta: float) -> float:
        return max(floor, min(HP_BETA_FRACTION * beta / a_1, HP_RTOL_CEILING))

    return rtol


def hp_digits(a_1: float, eps: float) -> int:
    """Digits of a high-precision run: ``max(30, 2 log10(a_1/eps) + 20)`` (resolves ``eps^2`` against
    ``||T*||^2 ~ a_1^2`` with 20 digits to spare)."""
    return int(max(30, math.ceil(2 * math.log10(a_1 / eps)) + 20))


# ---------------------------------------------------------------------------------------------- the campaign
@dataclass(frozen=True)
class CampaignSpec:
    """A campaign: the float64 grid (``dims`` x both readings x ``ks`` x ``families`` x ``m_over_r`` x ``seeds``)
    and the high-precision points (``hp_dims`` x ``hp_eps`` x ``hp_families`` x ``hp_m_over_r`` x ``hp_seeds``)."""

    name: str
    dims: tuple[int, ...] = (4, 6, 8, 12, 16)
    ks: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    families: tuple[str, ...] = FAMILIES
    m_over_r: tuple[int, ...] = (4, 8)
    seeds: int = 20
    hp_dims: tuple[int, ...] = ()
    hp_eps: tuple[float, ...] = ()
    hp_families: tuple[str, ...] = ("fixed",)
    hp_m_over_r: tuple[int, ...] = (4,)
    hp_m_by_d: tuple[tuple[int, int], ...] = ()  # (d, m/r) pairs overriding hp_m_over_r at those d
    hp_seeds: int = 0
    hp_backend: str = "auto"

    def validate(self) -> None:
        require(len(self.dims) >= 1 and all(isinstance(d, int) and 3 <= d <= 64 for d in self.dims), "dims",
                "integers in [3, 64]", self.dims)
        require(all(isinstance(k, int) and 0 <= k <= 12 for k in self.ks), "ks", "integers in [0, 12]", self.ks)
        require(all(f in FAMILIES for f in self.families + self.hp_families), "families", f"among {FAMILIES}",
                self.families)
        require(all(isinstance(q, int) and q >= 1 for q in self.m_over_r + self.hp_m_over_r), "m_over_r",
                "integers >= 1", self.m_over_r)
        require(all(len(p) == 2 and p[1] >= 1 for p in self.hp_m_by_d), "hp_m_by_d", "(d, m/r) pairs",
                self.hp_m_by_d)
        require(isinstance(self.seeds, int) and self.seeds >= 0, "seeds", "an integer >= 0", self.seeds)
        require(all(1e-300 <= e < 1 for e in self.hp_eps), "hp_eps", "values in [1e-300, 1)", self.hp_eps)
        require(self.hp_backend in ("auto", "flint", "mpmath"), "hp_backend", "auto, flint or mpmath",
                self.hp_backend)

    def toml(self) -> str:
        """The spec as TOML (written to ``spec.toml`` beside the rows)."""
        lines = [f'name = "{self.name}"', 'kind = "accuracy-frontier"', "[float64]"]
        for name in ("dims", "ks", "families", "m_over_r", "seeds"):
            lines.append(f"{name} = {json.dumps(list(getattr(self, name)) if name != 'seeds' else self.seeds)}")
        lines.append("[high_precision]")
        for name in ("hp_dims", "hp_eps", "hp_families", "hp_m_over_r", "hp_m_by_d", "hp_seeds", "hp_backend"):
            value = getattr(self, name)
            lines.append(f"{name[3:]} = {json.dumps(list(value) if isinstance(value, tuple) else value)}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str) -> "CampaignSpec":
        """The spec a ``spec.toml`` written by :meth:`toml` describes."""
        data = tomllib.loads(text)
        f64, hp = data.get("float64", {}), data.get("high_precision", {})
        return cls(name=data["name"], dims=tuple(f64.get("dims", ())), ks=tuple(f64.get("ks", ())),
                   families=tuple(f64.get("families", FAMILIES)), m_over_r=tuple(f64.get("m_over_r", ())),
                   seeds=int(f64.get("seeds", 0)), hp_dims=tuple(hp.get("dims", ())),
                   hp_eps=tuple(float(e) for e in hp.get("eps", ())),
                   hp_families=tuple(hp.get("families", ("fixed",))), hp_m_over_r=tuple(hp.get("m_over_r", (4,))),
                   hp_m_by_d=tuple(tuple(pair) for pair in hp.get("m_by_d", ())), hp_seeds=int(hp.get("seeds", 0)),
                   hp_backend=hp.get("backend", "auto"))

    def union(self, newer: "CampaignSpec") -> "CampaignSpec":
        """What a folder holds after ``newer`` ran into the rows of ``self``: the float64 grid of whichever spec has
        one (``seeds > 0``; the newer where both do) and likewise the high-precision points; named after both."""
        if newer.name == self.name:
            return newer
        f64 = newer if newer.seeds > 0 or self.seeds == 0 else self
        hp = newer if newer.hp_seeds > 0 or self.hp_seeds == 0 else self
        names = [n for part in (self.name, newer.name) for n in part.split("+")]
        return dataclasses.replace(hp, name="+".join(dict.fromkeys(names)), dims=f64.dims, ks=f64.ks,
                                   families=f64.families, m_over_r=f64.m_over_r, seeds=f64.seeds)


TINY = CampaignSpec("tiny", dims=(4,), ks=(0, 2), families=FAMILIES, m_over_r=(2,), seeds=1, hp_dims=(4,),
                    hp_eps=(1e-12,), hp_families=("fixed",), hp_m_over_r=(2,), hp_seeds=1)
# Sized from the measured cost (evidence/accuracy-frontier/README.md): float64 within 2 CPU hours, high precision
# within 3.
FLOAT64 = CampaignSpec("float64", seeds=20)
# At d = 4 only m = 32 works in float64 at any eps (m = 16 runs out of free components: 0/12 in seed 0 over the
# grid), so the high-precision points run there at m = 32; m = 16 at d = 6.
HIGH_PRECISION = CampaignSpec("high-precision", seeds=0, hp_dims=(4, 6), hp_eps=(1e-12, 1e-20, 1e-40),
                              hp_families=("fixed",), hp_m_over_r=(4,), hp_m_by_d=((4, 8),), hp_seeds=5)
CAMPAIGNS = {c.name: c for c in (TINY, FLOAT64, HIGH_PRECISION)}


def campaign_runs(spec: CampaignSpec) -> list[FrontierRun]:
    """Every run of ``spec``: the float64 grid seed-major (a campaign cut short has whole seeds ``0..s`` of every
    cell), then the high-precision points cell by cell, largest eps first (a high-precision run costs minutes to an
    hour, growing with ``log(1/eps)``: one cut short has its cheapest cells complete). The largest eps of a d is one
    spectrum in both families (``a_r = 10 eps_top``): it runs once, as ``shifted``, and :func:`with_shared_top`
    gives it to both."""
    spec.validate()
    runs: list[FrontierRun] = []
    for seed in range(spec.seeds):
        for d in spec.dims:
            cells = grid_eps(d, spec.ks)
            top = cells[0][2]
            for reading, k, eps in cells:
                for family in spec.families:
                    # At the top of the grid the two families are one spectrum: that run is the shifted family's.
                    if family == "fixed" and eps == top and "shifted" in spec.families:
                        continue
                    for q in spec.m_over_r:
                        runs.append(FrontierRun(family, d, reading, k, eps, top, q * R, seed))
    backend = spec.hp_backend
    if backend == "auto":
        from solver.precision.arithmetic import make_arithmetic

        backend = make_arithmetic("auto", 30).name
    by_d = dict(spec.hp_m_by_d)
    for eps in sorted(spec.hp_eps, reverse=True):
        for d in spec.hp_dims:
            top = grid_eps(d, spec.ks or (0,))[0][2]
            for family in spec.hp_families:
                a_1 = family_spectrum(family, eps, top)[0]
                for q in (by_d[d],) if d in by_d else spec.hp_m_over_r:
                    for seed in range(spec.hp_seeds):
                        runs.append(FrontierRun(family, d, "high-precision", -1, eps, top, q * R, seed,
                                                precision=backend, dps=hp_digits(a_1, eps)))
    return runs


# ------------------------------------------------------------------------------------------------ one run
def row_schema():
    """The store's schema (:func:`verify.sweep.store.schema`) plus :data:`EXTRA_COLUMNS`."""
    import pyarrow as pa

    from verify.sweep.store import schema

    extra = [pa.field("precision", pa.string()), pa.field("family", pa.string()), pa.field("reading", pa.string()),
             pa.field("k", pa.int64()), pa.field("bound", pa.float64()), pa.field("dps", pa.int64()),
             pa.field("accurate", pa.bool_()), pa.field("max_rel_residual", pa.float64()),
             pa.field("free_at_ar", pa.int64()), pa.field("t_ur_ratio", pa.float64()),
             pa.field("distance", pa.float64()), pa.field("epochs", pa.int64())]
    base = schema()
    return pa.schema(list(base) + extra)


def _measures(traj, run: FrontierRun, config: FlowConfig) -> dict:
    """The continuous measures of one finished run (module docstring)."""
    a = np.asarray(run.a)
    final = traj.residuals[0, -1, :]
    epochs = traj.config.get("epochs", [])
    a_r = float(a.min())
    s_star = next((s for s, e in enumerate(epochs) if e["beta"] <= a_r), None)
    if s_star is None:
        free = None
    elif s_star == 0:
        free = config.m
    else:
        # The norm rule re-initializes exactly the components below delta1 at an epoch's start.
        free = sum(len(e["components"]) for e in traj.events if e["kind"] == "reinit" and e["epoch"] == s_star)
    t_disc, _ = traj.discovery()
    growth = math.log(1.0 / config.delta0) / (2 * a_r)
    loss, floor = float(traj.loss[0, -1]), float(traj.loss_floor[0, -1])
    return {"accurate": bool(np.all(np.abs(final) <= run.eps)),
            "max_rel_residual": float(np.max(np.abs(final) / a)), "free_at_ar": free,
            "t_ur_ratio": float(t_disc[0, -1] / growth) if np.isfinite(t_disc[0, -1]) else math.nan,
            "distance": math.sqrt(2 * loss) if loss > floor else math.nan, "epochs": len(epochs)}


def solve_run(run: FrontierRun) -> dict:
    """Run one point and return its row (the store's columns plus :data:`EXTRA_COLUMNS`).

    Float64 through :meth:`RunSpec.solve`; flint/mpmath through :func:`solver.precision.solve_high_precision`
    at ``run.dps`` digits (Radau IIA). A run whose integration raised is a row with ``error`` set, never a
    failure of the algorithm."""
    from verify.sweep.runner import DRAWS, git_commit, limit_threads, outcome_columns, prediction

    limit_threads()
    spec = run.spec()
    data = spec.to_dict()
    row = {**data["instance"], **data["config"]}
    row["integrator_requested"] = row.pop("integrator")
    row["a"] = list(row["a"])
    a = np.asarray(run.a)
    row.update({"seed": run.seed, "m_over_r": run.m / R, "spread": float(a.max() / a.min()), "key": run.key,
                "command": spec.command(), "spec_json": json.dumps(data, sort_keys=True), "r": R, "draws": DRAWS,
                "commit": git_commit(), "precision": run.precision, "family": run.family, "reading": run.reading,
                "k": run.k, "bound": run.bound, "dps": run.dps})
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        if run.precision == "float64":
            traj = spec.solve()
        else:
            from solver.precision.backend import solve_high_precision

            traj = solve_high_precision(spec.instance.truth(), spec.config, run.seed, dps=run.dps,
                                        backend=run.precision, integrator="radau",
                                        epoch_rtol=hp_epoch_rtol(run.a[0], run.eps))
    except Exception as err:  # noqa: BLE001 - recorded in the row, as the sweep runner does
        row.update({"recovered_all": False, "success": False, "n_recovered": 0, "error": f"{type(err).__name__}: "
                    f"{err}", "accurate": False})
        epochs = None
    else:
        row.update(outcome_columns(traj))
        row.update(_measures(traj, run, spec.config))
        epochs = [e["beta"] for e in traj.config.get("epochs", [])]
        if run.precision != "float64":
            row["command"] = _hp_command(run)
    row["predicted"], row["predicted_model"] = prediction(spec, epochs)
    row["seconds"] = time.perf_counter() - start
    row["cpu_seconds"] = time.process_time() - cpu_start
    row["worker"] = "frontier"
    return row


def _hp_command(run: FrontierRun) -> str:
    return (f"deflation probe --point {run.family}:{run.d}:{run.eps!r}:{run.m}:{run.seed} "
            f"--precision {run.precision}")


def write_frontier_row(out: Path, row: dict) -> Path:
    """Write one row to ``out/runs/<key>.parquet`` atomically (:func:`verify.sweep.store.write_row` with this
    campaign's schema); the store's own reader reads it (columns it does not know are dropped there)."""
    from verify.sweep.store import write_row as write_store_row

    return write_store_row(Path(out), row, row_schema())


def run_campaign(spec: CampaignSpec, out: Path | str, *, limit: int | None = None,
                 precision: str | None = None, workers: int = 1,
                 progress: Callable[[int, int, FrontierRun, dict], None] | None = None) -> tuple[int, int]:
    """Run every run of ``spec`` whose key is not under ``out/runs`` yet, in the campaign's order, writing each row
    as it finishes (a killed campaign loses only the runs in flight; running it again resumes).

    ``precision``: only the runs of that precision (``"float64"`` or ``"high"``). ``limit``: stop after that many
    new runs. ``workers``: that many single-threaded worker processes (``concurrent.futures``), each given the
    next pending run when it is free, so at most ``workers`` runs are in flight. Returns ``(written, total)``."""
    from solver.trajectory import atomic_write_bytes
    from verify.sweep.store import existing_keys

    out = Path(out)
    runs = campaign_runs(spec)
    if precision == "float64":
        runs = [r for r in runs if r.precision == "float64"]
    elif precision == "high":
        runs = [r for r in runs if r.precision != "float64"]
    elif precision is not None:
        raise ValidationError("precision", "float64 or high", precision)
    out.mkdir(parents=True, exist_ok=True)
    # One folder can hold several campaigns (float64 and high precision run apart): its spec says what all made it.
    if (out / "spec.toml").is_file():
        spec_written = CampaignSpec.from_toml((out / "spec.toml").read_text()).union(spec)
    else:
        spec_written = spec
    atomic_write_bytes(out / "spec.toml", spec_written.toml().encode())
    require(isinstance(workers, int) and workers >= 1, "workers", "an integer >= 1", workers)
    done = existing_keys(out)
    pending = [run for run in runs if run.key not in done][:limit]
    written = 0

    def finish(run: FrontierRun, row: dict) -> None:
        nonlocal written
        write_frontier_row(out, row)
        written += 1
        if progress is not None:
            progress(written, len(runs), run, row)

    if workers == 1:
        for run in pending:
            finish(run, solve_run(run))
        return written, len(runs)
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    queue = iter(pending)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        in_flight = {pool.submit(solve_run, run): run for run in itertools.islice(queue, workers)}
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                finish(in_flight.pop(future), future.result())
                for run in itertools.islice(queue, 1):
                    in_flight[pool.submit(solve_run, run)] = run
    return written, len(runs)


def with_shared_top(rows):
    """The rows with each ``shifted`` run at the top of its d's grid (``eps = eps_top``, the one spectrum both
    families share there) also listed as a ``fixed`` run."""
    import pandas as pd

    if not len(rows):
        return rows
    top = rows.groupby("d")["eps"].transform("max")
    shared = rows[(rows["family"] == "shifted") & (rows["eps"] == top) & (rows["precision"] == "float64")].copy()
    shared["family"] = "fixed"
    return pd.concat([rows, shared], ignore_index=True)


def read_frontier(out: Path | str):
    """Every row under ``out/runs`` as a pandas DataFrame with :func:`row_schema`'s columns (empty when none)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(out) / "runs"
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith(".")) if folder.is_dir() else []
    if not files:
        return row_schema().empty_table().to_pandas()
    return pa.concat_tables([pq.read_table(p, schema=row_schema()) for p in files]).to_pandas()

"""``run_baselines``: every method on named instances over seeds, one row per (method, instance).

Row schema (``baselines.json``, ``{"rows": [...]}``; every row also carries the fields after the first seven):

    method            tpm | tensorly_power | als_svd | als_random | exact_rank_flow | plain_flow | algorithm1
    instance          a name of verify.baselines.instances.INSTANCES
    seeds             runs made (seeds 0 .. seeds-1); 0 when the pair was skipped
    success           runs that recovered every direction (orthogonal T*: aggregated mass rule of
                      verify.baselines.recovery; non-orthogonal: ||T - T*||_F / ||T*||_F <= 1e-3)
    median_rel_error  median over runs of ||T - T*||_F / ||T*||_F (null when no run produced an output)
    order_matches_a   runs whose order of discovery is every direction by decreasing a_j; null for CP-ALS
                      (no order: all components are fitted at once)
    median_seconds    median wall-clock seconds of one run (TensorLy rows include forming the dense T*; the
                      flows solve all seeds in one batch, as their run_command does, and report the batch's
                      seconds divided by its seeds)
    rel_error_floor   largest float64 resolution floor of the relative errors (Gram-form cancellation)
    command           `deflation baselines --instances NAME --methods METHOD --seeds N` (reruns the row)
    run_command       flows only: the `deflation run ...` line of the row's RunSpec (the same trajectories)
    skipped           null, or why the pair was not run
    runs              per seed: seed, success, rel_error, seconds, discovery_order (0-based), masses, error
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from solver.errors import ValidationError, require
from solver.spec import Command

from .instances import FLOW_METHODS, DEFAULT_INSTANCES, BaselineInstance, get_instance
from .recovery import Decomposition, Recovery, flow_discovery_order, half_residual_times, recovery
from .tensorly_methods import cp_als, dense_target, tensorly_power
from .tpm import tensor_power_method

__all__ = ["METHODS", "SLOW_PAIRS", "PROFILES", "BaselineRow", "BaselinesResult", "run_baselines", "run_method", "run_profile", "p4_rows",
           "format_table", "row_command"]

METHODS = ("tpm", "tensorly_power", "als_svd", "als_random") + FLOW_METHODS
TENSORLY_METHODS = ("tensorly_power", "als_svd", "als_random")
# Pairs left out unless asked for: their cost alone exceeds the 5-minute budget of the default run.
SLOW_PAIRS = {
    ("tensorly_power", "large"): "TensorLy's dense power iteration at d^l = 6.25e6 entries takes ~60-75 s per "
                                 "seed on this machine (400 dense contractions per component); --include-slow runs it",
    ("algorithm1", "large"): "Algorithm 1 at d = 50, m = 200 (10,200 unknowns, BDF with GMRES) took 272 s for one "
                             "seed on this machine (it recovered all ten); --include-slow runs it",
}

Progress = Callable[[int, int, str], None]


@dataclass
class BaselineRow:
    """One (method, instance) row; fields as in the module docstring."""

    method: str
    instance: str
    seeds: int
    success: int
    median_rel_error: float | None
    order_matches_a: int | None
    median_seconds: float | None
    rel_error_floor: float | None
    command: Command
    run_command: Command | None = None
    skipped: str | None = None
    runs: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("method", "instance", "seeds", "success", "median_rel_error",
                                              "order_matches_a", "median_seconds", "rel_error_floor", "command",
                                              "run_command", "skipped", "runs")}


@dataclass
class BaselinesResult:
    """All rows of a run, the instances' descriptions and the total wall-clock time."""

    rows: list[BaselineRow]
    instances: dict[str, str]
    seconds: float

    def to_dict(self) -> dict:
        return {"format": "deflation-verify baselines v1", "rows": [r.to_dict() for r in self.rows],
                "instances": self.instances, "seconds": self.seconds,
                "precision": "float64; relative errors below rel_error_floor are rounding (Gram-form "
                             "cancellation of ||T - T*||^2), CP-ALS errors come from a dense difference"}

    def row(self, method: str, instance: str) -> BaselineRow:
        for r in self.rows:
            if r.method == method and r.instance == instance:
                return r
        raise KeyError((method, instance))


def row_command(method: str, instance: str, seeds: int) -> Command:
    """The ``deflation baselines`` command that reruns one row."""
    return Command("baselines", ["--instances", instance, "--methods", method, "--seeds", str(seeds)])


def _flow_recoveries(method: str, inst: BaselineInstance, seeds: Sequence[int],
                     progress: Callable[[float, float, str], None] | None = None) -> tuple[list[Recovery], float]:
    """One batched solve of the flow ``method`` over ``seeds`` (exactly the row's ``run_command``; the solver
    gives each seed the same trajectory whatever the batch); the recoveries and the batch's wall seconds.
    The order of discovery is that of :func:`half_residual_times` (the suite's discovery times when ``T*`` is
    orthogonal)."""
    truth = inst.spec.truth()
    spec = inst.flow_spec(method, n_seeds=len(seeds), first_seed=int(seeds[0]))
    require(list(spec.seeds) == [int(s) for s in seeds], "seeds", "consecutive seeds", list(seeds))
    t0 = time.perf_counter()
    trajectory = spec.solve(progress=progress)
    seconds = time.perf_counter() - t0
    t_disc = half_residual_times(trajectory.times, trajectory.residuals)
    lam = float(trajectory.config["lam_used"])
    out = []
    for b in range(len(seeds)):
        dec = Decomposition.symmetric(np.exp(2 * trajectory.final_log_norms[b]), trajectory.final_directions[b],
                                      truth.order)
        out.append(recovery(dec, truth, lam=lam, discovery_order=flow_discovery_order(t_disc[b])))
    return out, seconds


def run_method(method: str, inst: BaselineInstance, seed: int, dense: np.ndarray | None = None
               ) -> tuple[Recovery, float]:
    """One run of ``method`` on ``inst`` from ``seed``: its :class:`Recovery` and wall-clock seconds.

    ``dense`` is the dense ``T*`` for the TensorLy methods (formed here when None; its time counts).
    """
    if method in FLOW_METHODS:
        recs, seconds = _flow_recoveries(method, inst, [seed])
        return recs[0], seconds
    truth = inst.spec.truth()
    t0 = time.perf_counter()
    if method in TENSORLY_METHODS and dense is None:
        dense = dense_target(truth)
    if method == "tpm":
        return recovery(tensor_power_method(truth, seed), truth), time.perf_counter() - t0
    if method == "tensorly_power":
        dec = tensorly_power(truth, seed, tensor=dense)
        return recovery(dec, truth), time.perf_counter() - t0
    if method in ("als_svd", "als_random"):
        dec = cp_als(truth, seed, init=method[4:], tensor=dense)
        return recovery(dec, truth, dense_target=dense), time.perf_counter() - t0
    raise ValidationError("--methods", f"names among {', '.join(METHODS)}", method)


def _median(values: list[float]) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(statistics.median(finite)) if finite else None


def _run_row(method: str, inst: BaselineInstance, seeds: int, dense: np.ndarray | None, dense_seconds: float,
             tick: Callable[..., None]) -> BaselineRow:
    runs: list[dict] = []
    if method in FLOW_METHODS:
        item = f"{method} on {inst.name}, seeds 0-{seeds - 1} (batched)"
        tick(item)
        try:  # the flow's own reports keep the line on this item, with its time t
            recs, batch_seconds = _flow_recoveries(method, inst, list(range(seeds)),
                                                   progress=lambda t, t_end, stage: tick(item, flow=stage, t=t))
            outcomes = [(rec, batch_seconds / seeds, None) for rec in recs]
        except np.linalg.LinAlgError as err:  # a stiff solve that broke down fails the batch: said, not hidden
            outcomes = [(None, None, f"LinAlgError in the batched solve: {err}")] * seeds
    else:
        outcomes = []
        for seed in range(seeds):
            tick(f"{method} on {inst.name}, seed {seed}")
            try:
                rec, seconds = run_method(method, inst, seed, dense)
                extra = dense_seconds if method in TENSORLY_METHODS else 0.0
                outcomes.append((rec, seconds + extra, None))
            except np.linalg.LinAlgError as err:  # CP-ALS can break down (singular normal equations): a failure
                outcomes.append((None, None, f"LinAlgError: {err}"))
    for seed, (rec, seconds, error) in enumerate(outcomes):
        if rec is None:
            runs.append({"seed": seed, "success": False, "rel_error": None, "seconds": seconds,
                         "discovery_order": None, "masses": None, "error": error})
            continue
        runs.append({"seed": seed, "success": rec.success, "rel_error": rec.rel_error,
                     "rel_error_floor": rec.rel_error_floor, "seconds": seconds,
                     "discovery_order": None if rec.discovery_order is None else list(rec.discovery_order),
                     "order_matches_a": rec.order_matches_a, "masses": rec.masses.tolist(), "error": None})
    has_order = method not in ("als_svd", "als_random")
    floors = [r["rel_error_floor"] for r in runs if r.get("rel_error_floor") is not None]
    return BaselineRow(
        method=method, instance=inst.name, seeds=seeds, success=sum(bool(r["success"]) for r in runs),
        median_rel_error=_median([r["rel_error"] for r in runs]),
        order_matches_a=sum(bool(r.get("order_matches_a")) for r in runs) if has_order else None,
        median_seconds=_median([r["seconds"] for r in runs]), rel_error_floor=max(floors) if floors else None,
        command=row_command(method, inst.name, seeds),
        run_command=inst.flow_spec(method, n_seeds=seeds).command() if method in FLOW_METHODS else None,
        runs=runs)


def run_baselines(instances: Sequence[str] = DEFAULT_INSTANCES, methods: Sequence[str] = METHODS, seeds: int = 5,
                  include_slow: bool = False, progress: Progress | None = None) -> BaselinesResult:
    """Run every ``method`` on every named instance for seeds ``0 .. seeds-1``; one row per pair.

    Pairs of :data:`SLOW_PAIRS` are listed with ``seeds = 0`` and their reason unless ``include_slow``.
    Deterministic: the same arguments give the same rows (timings aside).
    """
    require(isinstance(seeds, int) and seeds >= 1, "--seeds", "an integer >= 1", seeds)
    require(len(instances) >= 1, "--instances", "at least one name", list(instances))
    require(len(methods) >= 1, "--methods", "at least one name", list(methods))
    for method in methods:
        require(method in METHODS, "--methods", f"names among {', '.join(METHODS)}", method)
    chosen = [get_instance(name) for name in instances]
    plan = [(inst, method) for inst in chosen for method in methods]
    total = sum(0 if ((m, i.name) in SLOW_PAIRS and not include_slow) else (1 if m in FLOW_METHODS else seeds)
                for i, m in plan)
    done = 0

    def tick(stage: str, flow: str | None = None, t: float | None = None) -> None:
        """A new item starts (``stage``); or, with ``flow``, the running flow item reports its time ``t``."""
        nonlocal done
        if flow is not None:
            if progress is not None:
                progress(done - 1, total, f"{stage}: {flow if ' t=' in flow else f'{flow} t={t:.3g}'}")
            return
        if progress is not None:
            progress(done, total, stage)
        done += 1

    # One-off import costs (torch, TensorLy) are paid before any timing starts.
    import importlib

    if any(m in FLOW_METHODS for m in methods):
        importlib.import_module("solver.flow")
    if any(m in TENSORLY_METHODS for m in methods):
        importlib.import_module("tensorly")
    rows: list[BaselineRow] = []
    t0 = time.perf_counter()
    for inst in chosen:
        dense, dense_seconds = None, 0.0
        if any(m in TENSORLY_METHODS and ((m, inst.name) not in SLOW_PAIRS or include_slow) for m in methods):
            start = time.perf_counter()
            dense = dense_target(inst.spec.truth())
            dense_seconds = time.perf_counter() - start
        for method in methods:
            if (method, inst.name) in SLOW_PAIRS and not include_slow:
                rows.append(BaselineRow(method=method, instance=inst.name, seeds=0, success=0,
                                        median_rel_error=None, order_matches_a=None, median_seconds=None,
                                        rel_error_floor=None,
                                        command=row_command(method, inst.name, seeds) + " --include-slow",
                                        skipped=SLOW_PAIRS[(method, inst.name)]))
                continue
            rows.append(_run_row(method, inst, seeds, dense, dense_seconds, tick))
    if progress is not None:
        progress(total, total, "done")
    return BaselinesResult(rows=rows, instances={i.name: i.description for i in chosen},
                           seconds=time.perf_counter() - t0)


def format_table(result: BaselinesResult) -> str:
    """A plain-text table: one line per row (success out of seeds, median relative error, order, seconds)."""
    head = f"{'instance':<14}{'method':<17}{'success':>9}{'median rel err':>16}{'order = a':>11}{'median s':>10}"
    lines = [head, "-" * len(head)]
    for r in result.rows:
        if r.skipped:
            lines.append(f"{r.instance:<14}{r.method:<17}{'skipped':>9}  ({r.skipped.split(';')[0]})")
            continue
        err = "-" if r.median_rel_error is None else f"{r.median_rel_error:.2e}"
        if r.median_rel_error is not None and r.rel_error_floor and r.median_rel_error <= r.rel_error_floor:
            err = f"<= {r.rel_error_floor:.0e}"
        order = "-" if r.order_matches_a is None else f"{r.order_matches_a}/{r.seeds}"
        secs = "-" if r.median_seconds is None else f"{r.median_seconds:.3g}"
        lines.append(f"{r.instance:<14}{r.method:<17}{f'{r.success}/{r.seeds}':>9}{err:>16}{order:>11}{secs:>10}")
    lines.append(f"total {result.seconds:.1f} s (float64; relative errors at or below the floor are rounding)")
    return "\n".join(lines)


# Audit profiles: the quick one on fewer seeds and the cheaper instances (the flows dominate the time).
PROFILES: dict[str, dict] = {
    "quick": {"instances": ("figure1", "order3", "nonorthogonal"), "seeds": 2},
    "full": {"instances": DEFAULT_INSTANCES, "seeds": 5},
}


def run_profile(profile: str, progress: Progress | None = None) -> BaselinesResult:
    """:func:`run_baselines` with every method on the instances and seeds of an audit profile (:data:`PROFILES`)."""
    require(profile in PROFILES, "profile", f"one of {tuple(PROFILES)}", profile)
    return run_baselines(instances=PROFILES[profile]["instances"], seeds=PROFILES[profile]["seeds"], progress=progress)


def p4_rows(result: BaselinesResult) -> list[BaselineRow]:
    """The rows P4 ("the power method from random starts discovers the largest components", Anandkumar et al.
    2014) cites: the two tensor power methods on the orthogonal instances that were run. P4 is supported by a
    row when ``success == seeds`` and ``order_matches_a == seeds`` (each deflation round found the largest
    remaining ``a_j``)."""
    from .instances import get_instance

    return [r for r in result.rows
            if r.method in ("tpm", "tensorly_power") and r.seeds > 0 and get_instance(r.instance).spec.basis != "nonorthogonal"]

"""Algorithm 1's driver, once for every backend (SPEC section 2): plan, epochs, re-initialization, drop, record.

Data flow::

    FlowConfig + ground truths + seeds
        -> plan_run: spans (epochs, or one plain span) and save times
        -> drive(problem, state, ...):
             for each span: re-initialize small components (epoch s >= 1), integrate(state, t0, t1, on_save)
             on_save(k, Y, runs) -> problem.observe -> the record's float64 arrays
             drop small components (optional output step)
        -> Trajectory (solver.trajectory)

The problem (:mod:`solver.problem`) owns the state and its arithmetic (torch tensors or high-precision object
arrays); the backend (:func:`solver.flow.solve`, :func:`solver.precision.solve_high_precision`) picks the
problem and the integrator and hands ``integrate`` in. Random draws (``W(0)``, re-initializations) are float64
everywhere, from each seed's own streams (:func:`seed_streams`), so a seed means the same run on every backend.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch

from .config import FlowConfig
from .errors import ValidationError, require
from .ground_truth import GroundTruth
from .power_method import largest_value
from .integrators._control import StepStats
from .record import Drop, Epoch, EpochStart, Event, Reinitialization, Resolved
from .trajectory import Trajectory

__all__ = ["initial_directions", "seed_streams", "estimate_beta0", "epoch_schedule", "reinit_mask", "save_grid",
           "RunPlan", "plan_run", "run_spans", "draw_reinitializations", "drop_small_components", "resolve",
           "work_meta", "Progress", "SpanReport", "DriverProblem", "Driven", "drive", "to_trajectory"]

class Progress(Protocol):
    """The one progress protocol: ``progress(done, total, stage)`` (:class:`verify.progress.ProgressBar` is one).
    ``done``/``total`` count integration time for a plain run and epochs for Algorithm 1 (``stage`` then names the
    epoch and the current time); integrators report only the time they reached (:data:`SpanReport`), which
    :func:`run_spans` turns into this."""

    def __call__(self, done: float, total: float, stage: str = "") -> None: ...


# An integrator's report within a span: the time it reached.
SpanReport = Callable[[float], None]


def initial_directions(rng: np.random.Generator, d: int, m: int) -> np.ndarray:
    """``m`` independent uniform random unit vectors in R^d as columns (normalized Gaussians).

    Nested in ``m``: the Gaussians are drawn as an ``(m, d)`` row-major block and transposed, so column ``k``
    uses draws ``k d .. (k+1) d - 1`` of the stream and the first ``m'`` columns of a draw of ``m >= m'`` are
    the draw of ``m'`` (a seed's W(0) at m = 12 is its W(0) at m = 6 plus six more components).
    """
    g = rng.standard_normal((m, d)).T
    return g / np.linalg.norm(g, axis=0)


def seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """A run's two random streams, ``(initial, reinit)``: the children of ``SeedSequence(seed).spawn(2)``.

    ``initial`` draws W(0) (:func:`initial_directions`, nested in m); ``reinit`` draws Algorithm 1's
    re-initializations, so they do not shift with m either. Neither is ``default_rng(seed)`` itself: that stream
    draws the random basis when ``basis_seed == seed`` (every sweep run), and W(0) drawn from it would reuse the
    basis's Gaussians (before nested draws, W(0) at m = r *was* the matrix whose QR gives U).
    """
    init, reinit = np.random.SeedSequence(int(seed)).spawn(2)
    return np.random.default_rng(init), np.random.default_rng(reinit)


def estimate_beta0(truths: Sequence[GroundTruth], starts: int = 16, iterations: int = 100, seed: int = 0) -> float:
    """Largest ``T*(x^{(x)l})`` over tensor-power-method runs ``x <- T*(x^{(x)(l-1)}, I)/||.||`` (Gram form).

    For orthogonal ``T*`` with random starts this finds ``max_j a_j`` (Anandkumar et al. 2014); the
    maximum over the batch is returned so that every run shares one epoch schedule.
    """
    rng = np.random.default_rng(seed)  # its own stream (not W(0)'s): beta0 does not depend on m
    return max(max(largest_value(t, rng, starts, iterations), float(t.a.max()) if t.orthogonal else 0.0)
               for t in truths)


def epoch_schedule(config: FlowConfig, d: int, beta0: float,
                   log_inv_delta0: float | None = None) -> list[tuple[float, float, float]]:
    """``[(t_start, t_end, beta_s), ...]`` of the modified flow: ``t_s = epoch_factor (d + ln 1/delta0) / beta_s``,
    ``beta_{s+1} = beta_s / (1 + gamma)``, while ``beta_s >= eps`` (and below the optional ``t_max`` cap).
    ``log_inv_delta0`` overrides ``ln(1/config.delta0)`` (for initial norms below float64's range)."""
    epochs: list[tuple[float, float, float]] = []
    beta, start = beta0, 0.0
    if log_inv_delta0 is None:
        log_inv_delta0 = math.log(1.0 / config.delta0)
    base = config.epoch_factor * (d + log_inv_delta0)
    while beta >= config.eps:
        end = start + base / beta
        if config.t_max is not None and end >= config.t_max:
            if config.t_max > start:
                epochs.append((start, config.t_max, beta))
            break
        epochs.append((start, end, beta))
        start, beta = end, beta / (1 + config.gamma)
        if len(epochs) > 10_000:
            raise ValidationError("eps", "reachable from beta0 in at most 10000 epochs", config.eps)
    return epochs


def reinit_mask(log_norms: torch.Tensor, directions: torch.Tensor, rule: str, delta1: float,
                cluster_cos2: float) -> torch.Tensor:
    """Which components to re-initialize, (B, m) booleans.

    ``norm``: ``||w_k|| < delta1``. ``cluster``: ``||w_k||^2 < delta1^2 sum_{j in C_k} ||w_j||^2`` with
    ``C_k = {j : <wbar_j, wbar_k>^2 >= cluster_cos2}`` (``k`` itself included, so a component alone in its
    cluster is never re-initialized).
    """
    if rule == "norm":
        return log_norms < math.log(delta1)
    G2 = (directions.mT @ directions) ** 2
    # Masses relative to the largest, so that no norm underflows when squared.
    shift = log_norms.max(dim=-1, keepdim=True).values
    rel = torch.exp(2 * (log_norms - shift))
    mass = ((G2 >= cluster_cos2).to(rel.dtype) * rel[..., None, :]).sum(-1)
    return rel < delta1**2 * mass


def save_grid(kind: str, t0: float, t1: float, n: int) -> np.ndarray:
    """Save times of one span: ``n + 1`` linear points, or ``t0`` plus ``n`` geometric points from
    ``min(span/1000, 0.1)`` after ``t0`` (long stiff spans: early transients and the late plateau)."""
    if kind == "linear":
        return np.linspace(t0, t1, n + 1)
    span = t1 - t0
    return np.concatenate([[t0], t0 + np.geomspace(min(span * 1e-3, 0.1), span, n)])


@dataclass(frozen=True)
class RunPlan:
    """What a run integrates, shared by every backend: spans (one per epoch, or one plain span with
    ``beta = None``), the ``beta0`` used, and the save times (one grid for the whole batch)."""

    spans: list[tuple[float, float, float | None]]
    beta0: float | None
    times: np.ndarray

    @property
    def t_end(self) -> float:
        return self.spans[-1][1]


def plan_run(config: FlowConfig, truths: Sequence[GroundTruth], explicit: bool,
             log_inv_delta0: float | None = None) -> RunPlan:
    """Spans and save times of a run (``explicit``: the integrator is explicit, which picks linear grids for plain runs)."""
    d = truths[0].d
    if config.algorithm == "plain":
        spans: list[tuple[float, float, float | None]] = [(0.0, float(config.end_time), None)]
        beta0 = None
    else:
        beta0 = config.beta0 if config.beta0 is not None else estimate_beta0(truths)
        spans = list(epoch_schedule(config, d, beta0, log_inv_delta0))
        require(len(spans) >= 1, "eps", f"at most beta0 = {beta0:.3g} so that at least one epoch runs", config.eps)
    kind = config.save_grid
    if kind == "auto":
        kind = "linear" if (explicit and config.algorithm == "plain") else "log"
    per_span = config.n_save if config.algorithm == "plain" else max(16, config.n_save // len(spans))
    times = np.unique(np.concatenate([save_grid(kind, s, e, per_span) for s, e, _ in spans]))
    return RunPlan(spans=spans, beta0=beta0, times=times)


def run_spans(plan: RunPlan, state, *, integrate: Callable, reinitialize: Callable, stats,
              events: list[Event], progress: Progress | None):
    """The epoch loop of Algorithm 1 (or one plain span), for any backend.

    ``integrate(state, t0, t1, report) -> (state, stats)`` advances every run over a span;
    ``reinitialize(state, epoch, t) -> state`` applies the re-initialization rule at the start of epoch
    ``s >= 1`` (at ``s = 0`` every component is freshly drawn already); ``stats.add`` accumulates work.
    """
    for s, (t0, t1, beta) in enumerate(plan.spans):
        if beta is not None:
            events.append(EpochStart(time=t0, epoch=s, end=t1, beta=beta))
            if s >= 1:
                state = reinitialize(state, s, t0)
        if progress is None:
            report = None
        elif beta is None:
            report = lambda t: progress(t, plan.t_end, "plain flow")  # noqa: E731
        else:  # epochs grow geometrically: progress counts epochs, the stage shows the time
            n = len(plan.spans)
            report = (lambda t, _s=s, _t0=t0, _t1=t1, _n=n:  # noqa: E731
                      progress(_s + (t - _t0) / (_t1 - _t0), _n, f"epoch {_s + 1}/{_n} t={t:.3g}"))
        state, step_stats = integrate(state, t0, t1, report)
        stats.add(step_stats)
    return state


def draw_reinitializations(masks: np.ndarray, rngs: Sequence[np.random.Generator], d: int, events: list[Event],
                           epoch: int, t: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Algorithm 1's re-initialization draws, for any backend: per run ``b``, the components that ``masks[b]``
    selects (:func:`reinit_mask`) and fresh uniform random unit directions for them (``d x n_b``), drawn from
    ``rngs[b]`` even when none is selected, so that each run's stream does not depend on the others; one
    ``reinit`` event per run. The caller writes norm ``delta0`` and the directions in its own arithmetic."""
    draws = []
    for b, rng in enumerate(rngs):
        idx = np.nonzero(np.asarray(masks[b]))[0]
        draws.append((idx, initial_directions(rng, d, idx.size)))
        events.append(Reinitialization(time=t, run=b, epoch=epoch, components=tuple(idx.tolist())))
    return draws


def drop_small_components(final_log_norms: np.ndarray, config: FlowConfig, events: list[Event],
                          t_end: float) -> np.ndarray:
    """The optional output step of Algorithm 1 (``drop_small``, modified flow only): components with
    ``||w|| < delta1`` get norm 0 (log-norm ``-inf``), one ``drop`` event per run. Returns the (B, m) log-norms."""
    if config.algorithm != "modified" or not config.drop_small:
        return final_log_norms
    small = final_log_norms < math.log(config.delta1)
    for b in range(small.shape[0]):
        events.append(Drop(time=t_end, run=b, components=tuple(np.nonzero(small[b])[0].tolist())))
    return np.where(small, -np.inf, final_log_norms)


def resolve(plan: RunPlan, *, d: int, r: int, order: int, integrator: str, rtol: float, atol: float, lam: float,
            device: str, linear_solver: str | None = None) -> Resolved:
    """What a run resolved from its config (:class:`solver.record.Resolved`), for any backend: the integrator and
    its linear solver, tolerances, ``lambda``, ``beta0``, device and the epochs of ``plan``."""
    return Resolved(integrator=integrator, rtol=rtol, atol=atol, lam=lam, device=device, d=d, r=r, order=order,
                    linear_solver=linear_solver, beta0=plan.beta0,
                    epochs=tuple(Epoch(s, e, b) for s, e, b in plan.spans if b is not None))


def work_meta(stats: StepStats, wall_seconds: float) -> dict:
    """The record's work figures (``meta``): wall time and every counter the integrators report
    (:class:`StepStats`: field evaluations, accepted and rejected steps, Newton iterations, Jacobians, ...)."""
    names = {"accepted": "accepted_steps", "rejected": "rejected_steps"}
    return {"wall_seconds": wall_seconds,
            **{names.get(f.name, f.name): getattr(stats, f.name) for f in dataclasses.fields(stats)}}




class DriverProblem(Protocol):
    """What :func:`drive` asks of a problem (:mod:`solver.problem`)."""

    def observe(self, Y: Any, runs: Any, components: bool) -> dict: ...

    def to_float64(self, value: Any) -> np.ndarray: ...

    def reinit_inputs(self, Y: Any) -> tuple[torch.Tensor, torch.Tensor]: ...

    def reinitialize(self, Y: Any, draws: list[tuple[np.ndarray, np.ndarray]], log_delta0: Any) -> Any: ...

    def final(self, Y: Any) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class Driven:
    """What :func:`drive` returns: the record's arrays (float64, NaN where unset), the events, the integrators'
    summed counters, the wall time and the final state (log-norms after the drop step, directions)."""

    arrays: dict[str, np.ndarray | None]
    events: list[Event]
    stats: StepStats
    wall_seconds: float
    final_log_norms: np.ndarray
    final_directions: np.ndarray
    state: Any


def drive(problem: DriverProblem, state: Any, plan: RunPlan, config: FlowConfig, rngs: Sequence[np.random.Generator],
          *, integrate: Callable, r: int, log_delta0: Any, progress: Progress | None = None,
          on_observe: Callable[[int, dict], None] | None = None) -> Driven:
    """Algorithm 1 (or the plain flow) on ``problem`` from ``state``, for any backend.

    ``integrate(state, t0, t1, on_save, report) -> (state, stats)`` advances every run over a span and calls
    ``on_save(k, Y, runs)`` at each save time ``plan.times[k]`` it reaches (``runs``: the batch rows of ``Y``).
    Re-initialized components get log-norm ``log_delta0`` (in the problem's arithmetic) and directions drawn from
    ``rngs`` (one per run, :func:`draw_reinitializations`); ``on_observe(k, observation)`` sees each save time's
    observation in the problem's own arithmetic (the high-precision record keeps it exactly).
    """
    batch, K = len(rngs), plan.times.size
    components = config.record_components
    m = config.m
    arrays: dict[str, np.ndarray | None] = {
        "loss": np.full((batch, K), np.nan), "loss_floor": np.full((batch, K), np.nan),
        "residuals": np.full((batch, K, r), np.nan),
        "log_norms": np.full((batch, K, m), np.nan) if components else None,
        "correlations": np.full((batch, K, m, r), np.nan) if components else None,
    }
    events: list[Event] = []

    def on_save(k: int, Y: Any, runs: Any) -> None:
        observation = problem.observe(Y, runs, components)
        idx = runs.cpu().numpy() if isinstance(runs, torch.Tensor) else np.asarray(runs)
        for name, value in observation.items():
            arrays[name][idx, k] = problem.to_float64(value)
        if on_observe is not None:
            on_observe(k, observation)

    def reinitialize(Y: Any, epoch: int, t: float) -> Any:
        log_norms, directions = problem.reinit_inputs(Y)
        mask = reinit_mask(log_norms, directions, config.reinit_rule, config.delta1, config.cluster_cos2)
        draws = draw_reinitializations(mask.cpu().numpy(), rngs, directions.shape[-2], events, epoch, t)
        return problem.reinitialize(Y, draws, log_delta0)

    stats = StepStats()
    wall0 = time.perf_counter()
    state = run_spans(plan, state, stats=stats, events=events, progress=progress, reinitialize=reinitialize,
                      integrate=lambda Y, t0, t1, report: integrate(Y, t0, t1, on_save, report))
    wall = time.perf_counter() - wall0
    missing = np.isnan(arrays["loss"])
    if missing.any():
        raise RuntimeError(f"internal: {int(missing.sum())} save points were not reached")
    final_log_norms, final_directions = problem.final(state)
    final_log_norms = drop_small_components(final_log_norms, config, events, plan.t_end)
    return Driven(arrays=arrays, events=events, stats=stats, wall_seconds=wall, final_log_norms=final_log_norms,
                  final_directions=final_directions, state=state)


def to_trajectory(driven: Driven, plan: RunPlan, seeds: Sequence[int], a: np.ndarray, U: np.ndarray,
                  config: FlowConfig, resolved: Resolved, meta: dict) -> Trajectory:
    """The record of a driven run: its arrays, events and final state, with the run's ``config``, what it
    ``resolved`` (:func:`resolve`) and the backend's ``meta`` (the work figures of :func:`work_meta` added here)."""
    return Trajectory(flow=config, resolved=resolved, seeds=seeds, times=plan.times, a=a, U=U, events=driven.events,
                      meta={**meta, **work_meta(driven.stats, driven.wall_seconds)},
                      final_log_norms=driven.final_log_norms, final_directions=driven.final_directions,
                      **driven.arrays)

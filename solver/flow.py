"""Plain and modified gradient flow (SPEC section 2): one entry point, :func:`solve`.

Data flow::

    GroundTruth(s) + FlowConfig + seeds
        -> initial state Y (B, d+1, m)      row 0: rho = log||w||, rows 1..d: unit directions
        -> epochs (modified) or one span (plain)
             re-initialize small components (modified, epoch s >= 1)
             integrate: explicit torch engine | torch Rosenbrock | SUNDIALS CVODE | scipy BDF/Radau
                        (all call solver.kernels)
             every save time -> observe(): loss + floor, residuals, norms, correlations
        -> Trajectory (solver.trajectory): arrays + events + config + metadata
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import torch

from . import kernels
from .config import FlowConfig
from .errors import ValidationError, require
from .ground_truth import GroundTruth
from .integrators import (EXPLICIT, IMPLICIT, SUNDIALS, TORCH_STIFF, CvodeCounts, StepStats, integrate_explicit,
                          integrate_flow_cvode, integrate_implicit, integrate_rosenbrock, resolve_linear_solver)
from .jacobian import flow_jacobian_batched, flow_krylov_linearization
from .threads import field_flops, limit_threads
from .trajectory import Trajectory, package_versions

if TYPE_CHECKING:
    from .spec import RunSpec

__all__ = ["FlowConfig", "solve", "initial_directions", "estimate_beta0", "epoch_schedule", "reinit_mask",
           "resolve_device", "DTYPES", "RunPlan", "plan_run", "run_spans", "save_grid", "draw_reinitializations",
           "drop_small_components", "record_config", "work_meta", "seed_streams"]

DTYPES = {"float64": torch.float64, "float32": torch.float32}
Progress = Callable[[float, float, str], None]


def resolve_device(device: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; a CUDA device that is absent (no GPU, or ``cuda:N`` past the
    device count) is a :class:`ValidationError`, never a silent fallback."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValidationError("device", "cpu or auto on a machine without CUDA", device)
        index = torch.device(device).index
        count = torch.cuda.device_count()
        if index is not None and index >= count:
            raise ValidationError("device", f"cuda:0..cuda:{count - 1}", device)
    return torch.device(device)


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
    rng = np.random.default_rng(seed)
    best = 0.0
    for truth in truths:
        g = rng.standard_normal((truth.d, starts))  # its own draw (not nested): beta0 as before nested W(0)
        X = g / np.linalg.norm(g, axis=0)
        for _ in range(iterations):
            X = truth.U @ (truth.a[:, None] * (truth.U.T @ X) ** (truth.order - 1))
            X = X / np.linalg.norm(X, axis=0)
        values = (truth.a[:, None] * (truth.U.T @ X) ** truth.order).sum(axis=0)
        best = max(best, float(values.max()), float(truth.a.max()) if truth.orthogonal else 0.0)
    return best


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
              events: list[dict], progress: Progress | None):
    """The epoch loop of Algorithm 1 (or one plain span), for any backend.

    ``integrate(state, t0, t1, report) -> (state, stats)`` advances every run over a span;
    ``reinitialize(state, epoch, t) -> state`` applies the re-initialization rule at the start of epoch
    ``s >= 1`` (at ``s = 0`` every component is freshly drawn already); ``stats.add`` accumulates work.
    """
    for s, (t0, t1, beta) in enumerate(plan.spans):
        if beta is not None:
            events.append({"kind": "epoch", "epoch": s, "time": t0, "end": t1, "beta": beta})
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


def draw_reinitializations(masks: np.ndarray, rngs: Sequence[np.random.Generator], d: int, events: list[dict],
                           epoch: int, t: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Algorithm 1's re-initialization draws, for any backend: per run ``b``, the components that ``masks[b]``
    selects (:func:`reinit_mask`) and fresh uniform random unit directions for them (``d x n_b``), drawn from
    ``rngs[b]`` even when none is selected, so that each run's stream does not depend on the others; one
    ``reinit`` event per run. The caller writes norm ``delta0`` and the directions in its own arithmetic."""
    draws = []
    for b, rng in enumerate(rngs):
        idx = np.nonzero(np.asarray(masks[b]))[0]
        draws.append((idx, initial_directions(rng, d, idx.size)))
        events.append({"kind": "reinit", "run": b, "epoch": epoch, "time": t, "components": idx.tolist()})
    return draws


def drop_small_components(final_log_norms: np.ndarray, config: FlowConfig, events: list[dict],
                          t_end: float) -> np.ndarray:
    """The optional output step of Algorithm 1 (``drop_small``, modified flow only): components with
    ``||w|| < delta1`` get norm 0 (log-norm ``-inf``), one ``drop`` event per run. Returns the (B, m) log-norms."""
    if config.algorithm != "modified" or not config.drop_small:
        return final_log_norms
    small = final_log_norms < math.log(config.delta1)
    for b in range(small.shape[0]):
        events.append({"kind": "drop", "run": b, "time": t_end, "components": np.nonzero(small[b])[0].tolist()})
    return np.where(small, -np.inf, final_log_norms)


def record_config(config: FlowConfig, plan: RunPlan, *, d: int, r: int, order: int, integrator: str, rtol: float,
                  atol: float, lam: float, device: str, linear_solver: str | None = None) -> dict:
    """A record's ``config``: every :class:`FlowConfig` field as given, and what the run resolved from them
    (``*_used``: integrator, its linear solver when it has one, tolerances, ``lambda``, ``beta0``, device; the
    epochs), for any backend."""
    out = config.to_dict()
    out.update({"order": order, "d": d, "r": r, "integrator_used": integrator, "rtol_used": rtol, "atol_used": atol,
                "lam_used": lam, "beta0_used": plan.beta0, "device_used": device,
                "epochs": [{"start": s, "end": e, "beta": b} for s, e, b in plan.spans if b is not None]})
    if linear_solver is not None:
        out["linear_solver_used"] = linear_solver
    return out


def work_meta(stats, wall_seconds: float) -> dict:
    """The record's work figures (``meta``): wall time and the integrator's counters (:class:`StepStats`)."""
    return {"wall_seconds": wall_seconds, "rhs_evals": stats.rhs_evals, "accepted_steps": stats.accepted,
            "rejected_steps": stats.rejected}


def _observer(state: dict, a: torch.Tensor, U: torch.Tensor, order: int, unit_roundoff: float, record: bool):
    """The ``on_save`` callback: fills the record's arrays at save index ``k`` for the given runs."""

    def on_save(k: int, Y: torch.Tensor, runs: torch.Tensor) -> None:
        rho, X = Y[:, 0, :], Y[:, 1:, :]
        a_r, U_r = a[runs], U[runs]
        c = torch.exp(2 * rho)
        loss, floor = kernels.loss_and_floor(X, c, a_r, U_r, order, unit_roundoff)
        idx = runs.cpu().numpy()
        state["loss"][idx, k] = loss.double().cpu().numpy()
        state["loss_floor"][idx, k] = floor.double().cpu().numpy()
        state["residuals"][idx, k] = kernels.direction_residuals(X, c, a_r, U_r, order).double().cpu().numpy()
        if record:
            state["log_norms"][idx, k] = rho.double().cpu().numpy()
            state["correlations"][idx, k] = kernels.correlations(X, U_r).double().cpu().numpy()

    return on_save


# Above this many unknowns m (d+1) the torch Rosenbrock method does not form the dense (n x n) Jacobian (memory
# B n^2, time B n^3 per step): ``linear_solver="auto"`` switches it to matrix-free batched GMRES
# (solver.jacobian.flow_krylov_linearization).
ROSENBROCK_AUTO_MAX_UNKNOWNS = 2000
# On the CPU the dense LU's cost (B n^3 per step) loses to GMRES (a few products of O(m^2 d) per solve, plus torch's
# per-call overhead shared by the batch) much earlier. Measured side by side on whole Algorithm 1 runs (spread
# spectrum, BENCHMARKS.md): one run, n = 140 dense 2.7x faster, n = 550 GMRES 1.6x faster; 16 runs, n = 140 dense
# 1.2x faster, n = 270 GMRES 3.2x faster (first epoch). sqrt(B) n^2 = 2e5 lies between them (n = 447 for one run,
# 224 for 16). Unmeasured on a GPU (batched LU there is fast), so CUDA keeps the size limit above.
ROSENBROCK_CPU_DENSE_MAX_WORK = 2e5


def rosenbrock_matrix_free(linear_solver: str, batch: int, unknowns: int, device: torch.device) -> bool:
    """Whether the torch Rosenbrock path solves its stages matrix-free: ``krylov`` always, ``dense`` never;
    ``auto`` above ``ROSENBROCK_AUTO_MAX_UNKNOWNS`` unknowns on any device, and on the CPU also once
    ``sqrt(batch) * unknowns^2 > ROSENBROCK_CPU_DENSE_MAX_WORK`` (a fit to the measured crossover)."""
    if linear_solver != "auto":
        return linear_solver == "krylov"
    if unknowns > ROSENBROCK_AUTO_MAX_UNKNOWNS:
        return True
    return device.type == "cpu" and math.sqrt(batch) * unknowns ** 2 > ROSENBROCK_CPU_DENSE_MAX_WORK


def _choose_integrator(config: FlowConfig, truths: Sequence[GroundTruth], device: torch.device) -> str:
    """``auto``: dopri5 for plain flows of a moderate spectrum (any device); otherwise the stiff path:
    ``rosenbrock`` (torch, batched) on a CUDA device, SUNDIALS ``cvode`` on the CPU (faster per run there than
    either; scipy's ``bdf`` when a sparse LU is asked for, which CVODE's path does not have; BENCHMARKS.md)."""
    if config.integrator != "auto":
        return config.integrator
    spread = max(float(t.a.max() / t.a.min()) for t in truths)
    if config.algorithm == "plain" and spread <= 100 and config.end_time * min(
            float(t.a.min()) for t in truths) <= 1e4:
        return "dopri5"
    if device.type != "cuda":
        return "bdf" if config.linear_solver == "sparse" else "cvode"
    return "rosenbrock"  # dense LU or matrix-free GMRES by size (rosenbrock_matrix_free)


def solve(
    truths: GroundTruth | Sequence[GroundTruth] | RunSpec,
    config: FlowConfig | None = None,
    seeds: Sequence[int] | None = None,
    progress: Progress | None = None,
    initial_state: tuple[np.ndarray, np.ndarray] | None = None,
) -> Trajectory:
    """Run the configured flow for each seed (one run per seed, batched) and return the record.

    ``solve(spec)`` with a :class:`solver.spec.RunSpec` is ``spec.solve()`` (its instance, config and seeds;
    the record carries the spec and its command); ``config`` and ``seeds`` must then be left out.
    ``truths`` is one ground truth shared by all runs or one per seed (same ``d``, ``r`` and order).
    Run ``b`` draws W(0) (nested in m: :func:`initial_directions`) and its re-initializations from two child
    streams of ``SeedSequence(seeds[b])`` (:func:`seed_streams`): the same seed gives the same
    trajectory on the same device, whatever the batch, and its first m' components are those of any larger m.
    ``progress(done, total, stage)`` is called as the integration advances.
    ``initial_state = (log_norms (B, m), directions (B, d, m))`` replaces the seeds' draw of ``W(0)`` (for
    metamorphic tests: rotated or permuted starts); re-initializations still come from the seeds' child
    streams, exactly as in a default run.
    """
    from .spec import RunSpec

    if isinstance(truths, RunSpec):
        require(config is None and seeds is None, "solve(spec)",
                "called without config or seeds (they are the spec's; use spec.replace(...) or spec.solve())",
                "config" if config is not None else "seeds")
        return truths.solve(progress=progress, initial_state=initial_state)
    if isinstance(truths, (dict, str)) or not (isinstance(truths, GroundTruth) or isinstance(truths, Sequence)):
        raise ValidationError("truths", "a GroundTruth, a list of them, or a RunSpec (or call spec.solve())",
                              type(truths).__name__)
    config = FlowConfig() if config is None else config
    seeds = (0,) if seeds is None else seeds
    config.validate()
    seeds = [int(s) for s in seeds]
    d = truths.d if isinstance(truths, GroundTruth) else truths[0].d
    # Every thread pool (torch, BLAS/LAPACK under numpy and scipy, OpenMP) sized to one field evaluation.
    with limit_threads(field_flops(len(seeds), d, config.m)):
        return _solve(truths, config, seeds, progress, initial_state)


def _solve(truths, config: FlowConfig, seeds: list[int], progress: Progress | None,
           initial_state: tuple[np.ndarray, np.ndarray] | None) -> Trajectory:
    require(len(seeds) >= 1, "seeds", "at least one seed", seeds)
    if isinstance(truths, GroundTruth):
        truths = [truths] * len(seeds)
    truths = list(truths)
    require(len(truths) == len(seeds), "truths", f"one ground truth or one per seed ({len(seeds)})", len(truths))
    shapes = {(t.d, t.r, t.order) for t in truths}
    require(len(shapes) == 1, "truths", "instances of one shape (d, r, order)", sorted(shapes))
    d, r, order = shapes.pop()
    device = resolve_device(config.device)
    integrator = _choose_integrator(config, truths, device)
    rtol, atol = config.tolerances(integrator)
    if (integrator in IMPLICIT or integrator in SUNDIALS) and device.type != "cpu":
        if config.device != "auto":
            raise ValidationError("device", f"cpu or auto for the CPU integrator {integrator} (on {device.type}: "
                                  "integrator rosenbrock)", config.device)
        device = torch.device("cpu")  # auto with an explicitly chosen CPU-only integrator
    dtype = DTYPES[config.dtype]
    lam = config.regularizer
    batch, m = len(seeds), config.m

    streams = [seed_streams(s) for s in seeds]
    X0 = np.stack([initial_directions(init, d, m) for init, _ in streams])
    rngs = [reinit for _, reinit in streams]
    rho0 = np.full((batch, m), math.log(config.delta0))
    if initial_state is not None:
        rho0, X0 = _check_initial_state(initial_state, batch, d, m)
    Y = torch.empty((batch, d + 1, m), dtype=dtype, device=device)
    Y[:, 0, :] = torch.as_tensor(rho0, dtype=dtype, device=device)
    Y[:, 1:, :] = torch.as_tensor(X0, dtype=dtype, device=device)
    a_np = np.stack([t.a for t in truths])
    U_np = np.stack([t.U for t in truths])
    a_t = torch.as_tensor(a_np, dtype=dtype, device=device)
    U_t = torch.as_tensor(U_np, dtype=dtype, device=device)

    events: list[dict] = []
    plan = plan_run(config, truths, explicit=integrator in EXPLICIT)
    times = plan.times
    K = times.size
    record = config.record_components
    buffers = {
        "loss": np.full((batch, K), np.nan), "loss_floor": np.full((batch, K), np.nan),
        "residuals": np.full((batch, K, r), np.nan),
        "log_norms": np.full((batch, K, m), np.nan) if record else None,
        "correlations": np.full((batch, K, m, r), np.nan) if record else None,
    }
    unit_roundoff = float(torch.finfo(dtype).eps)
    on_save = _observer(buffers, a_t, U_t, order, unit_roundoff, record)
    log_rows = torch.zeros((1, d + 1, 1), dtype=torch.bool, device=device)
    log_rows[:, 0] = True

    def field(Yb: torch.Tensor) -> torch.Tensor:
        d_rho, d_X = kernels.flow(Yb[:, 1:, :], torch.exp(2 * Yb[:, 0, :]), a_t, U_t, order, lam)
        return torch.cat([d_rho[:, None, :], d_X], dim=1)

    def project(Yb: torch.Tensor) -> torch.Tensor:
        X = Yb[:, 1:, :]
        return torch.cat([Yb[:, :1, :], X / X.norm(dim=1, keepdim=True)], dim=1)

    def packed_field(y: torch.Tensor, runs: torch.Tensor) -> torch.Tensor:
        """The field on the stiff layout ``[rho (m), x_1 (d), .., x_m (d)]`` (solver.jacobian), directions
        normalized inside (``xhat``), for the runs ``runs``."""
        rho, X = y[:, :m], y[:, m:].reshape(-1, m, d).mT
        X = X / X.norm(dim=1, keepdim=True)
        d_rho, d_X = kernels.flow(X, torch.exp(2 * rho), a_t[runs], U_t[runs], order, lam)
        return torch.cat([d_rho, d_X.mT.reshape(-1, m * d)], dim=1)

    def packed_jacobian(y: torch.Tensor, runs: torch.Tensor) -> torch.Tensor:
        rho, X = y[:, :m], y[:, m:].reshape(-1, m, d).mT
        return flow_jacobian_batched(X / X.norm(dim=1, keepdim=True), rho, a_t[runs], U_t[runs], order)

    def pack(Yb: torch.Tensor) -> torch.Tensor:
        return torch.cat([Yb[:, 0, :], Yb[:, 1:, :].mT.reshape(Yb.shape[0], m * d)], dim=1)

    def unpack(y: torch.Tensor) -> torch.Tensor:
        return torch.cat([y[:, None, :m], y[:, m:].reshape(-1, m, d).mT], dim=1)

    stiff_atol = torch.full((m * (d + 1),), atol, dtype=dtype, device=device)
    stiff_atol[:m] = rtol  # log-norms: an absolute error rtol is a relative error rtol of ||w|| (as the scipy path)

    # The torch stiff path's linear systems: matrix-free or a dense LU, by choice or by batch and size.
    matrix_free = integrator in TORCH_STIFF and rosenbrock_matrix_free(config.linear_solver, batch, m * (d + 1),
                                                                      device)
    linearize = flow_krylov_linearization(a_t, U_t, order, m, d) if matrix_free else None

    cvode_counts = CvodeCounts()
    cvode_linear_solver = "dense" if config.linear_solver == "dense" else "krylov"

    def integrate(Yb: torch.Tensor, t0: float, t1: float, report):
        if integrator in SUNDIALS:
            return integrate_flow_cvode(a_np, U_np, order, lam, Yb, t0, t1, times, on_save, rtol=rtol, atol=atol,
                                        linear_solver=cvode_linear_solver, progress=report, counts=cvode_counts)
        if integrator in TORCH_STIFF:
            y, step_stats = integrate_rosenbrock(
                packed_field, packed_jacobian, pack(Yb), t0, t1, times,
                lambda k, y, runs: on_save(k, unpack(y), runs), rtol=rtol, atol=stiff_atol, step=config.step,
                project=lambda y: pack(project(unpack(y))), max_steps=config.max_steps, progress=report,
                linearize=linearize)
            return unpack(y), step_stats
        if integrator in EXPLICIT:
            return integrate_explicit(
                field, Yb, t0, t1, times, on_save, tableau=EXPLICIT[integrator], step=config.step,
                rtol=rtol, atol=atol, norm_independent=log_rows, project=project,
                max_steps=config.max_steps, progress=report)
        return integrate_implicit(
            a_np, U_np, order, lam, Yb, t0, t1, times, on_save, method=IMPLICIT[integrator],
            linear_solver=config.linear_solver, rtol=rtol, atol=atol, progress=report)

    stats = StepStats()
    t_end = plan.t_end
    wall0 = time.perf_counter()
    Y = run_spans(plan, Y, integrate=integrate, stats=stats, events=events, progress=progress,
                  reinitialize=lambda Yb, s, t: _reinitialize(Yb, config, rngs, events, s, t))
    wall = time.perf_counter() - wall0
    missing = np.isnan(buffers["loss"])
    if missing.any():
        raise RuntimeError(f"internal: {int(missing.sum())} save points were not reached")

    final_log_norms = drop_small_components(Y[:, 0, :].double().cpu().numpy(), config, events, t_end)
    if integrator in TORCH_STIFF:
        linear_solver = "krylov" if matrix_free else "dense"
    elif integrator in IMPLICIT:
        linear_solver = resolve_linear_solver(config.linear_solver, IMPLICIT[integrator], m * (d + 1))
    elif integrator in SUNDIALS:
        linear_solver = cvode_linear_solver
    else:
        linear_solver = None
    config_dict = record_config(config, plan, d=d, r=r, order=order, integrator=integrator, rtol=rtol, atol=atol,
                                lam=lam, device=str(device), linear_solver=linear_solver)
    meta = {
        "versions": package_versions(("deflation-verify", "torch", "numpy")
                                     + (("scikit-sundae",) if integrator in SUNDIALS else ()), missing="unknown"),
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "dtype": config.dtype, "unit_roundoff": unit_roundoff, **work_meta(stats, wall),
        "orthogonal": [t.orthogonal for t in truths],
    }
    if integrator in SUNDIALS:
        meta["cvode"] = cvode_counts.to_dict()
    return Trajectory(
        config=config_dict, seeds=seeds, times=times, loss=buffers["loss"], loss_floor=buffers["loss_floor"],
        residuals=buffers["residuals"], log_norms=buffers["log_norms"], correlations=buffers["correlations"],
        a=a_np, U=U_np, final_log_norms=final_log_norms,
        final_directions=Y[:, 1:, :].double().cpu().numpy(), events=events, meta=meta)


def _check_initial_state(state, batch: int, d: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        rho0, X0 = (np.asarray(v, dtype=np.float64) for v in state)
    except (TypeError, ValueError):
        raise ValidationError("initial_state", "a pair (log_norms, directions)", type(state).__name__) from None
    require(rho0.shape == (batch, m), "initial_state", f"log_norms of shape (B, m) = {(batch, m)}", rho0.shape)
    require(X0.shape == (batch, d, m), "initial_state", f"directions of shape (B, d, m) = {(batch, d, m)}", X0.shape)
    require(bool(np.all(np.isfinite(rho0)) and np.all(np.isfinite(X0))), "initial_state", "finite values")
    norms = np.linalg.norm(X0, axis=1)
    require(bool(np.all(np.abs(norms - 1) < 1e-10)), "initial_state", "unit direction columns")
    return rho0, X0


def _reinitialize(Y: torch.Tensor, config: FlowConfig, rngs: list[np.random.Generator], events: list[dict],
                  epoch: int, t: float) -> torch.Tensor:
    """Re-draw the selected components (:func:`reinit_mask`, :func:`draw_reinitializations`) at norm ``delta0``."""
    mask = reinit_mask(Y[:, 0, :], Y[:, 1:, :], config.reinit_rule, config.delta1, config.cluster_cos2)
    Y = Y.clone()
    draws = draw_reinitializations(mask.cpu().numpy(), rngs, Y.shape[1] - 1, events, epoch, t)
    for b, (idx, fresh) in enumerate(draws):
        if idx.size:
            Y[b, 0, idx] = math.log(config.delta0)
            Y[b, 1:, idx] = torch.as_tensor(fresh, dtype=Y.dtype, device=Y.device)
    return Y


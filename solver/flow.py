"""Plain and modified gradient flow (SPEC section 2) in torch float64/float32: one entry point, :func:`solve`.

This module picks what ``auto`` means (integrator, linear solver, device, tolerances), builds the batched
problem (:class:`solver.problem.TorchFlowProblem`) and the integrate step of the chosen engine (explicit torch
Runge-Kutta, torch Rosenbrock, SUNDIALS CVODE, scipy BDF/Radau), and runs Algorithm 1's one driver
(:func:`solver.driver.drive`) with them.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from . import layout
from .config import FlowConfig
from .driver import (Progress, RunPlan, draw_reinitializations, drive, drop_small_components, epoch_schedule,
                     estimate_beta0, initial_directions, plan_run, reinit_mask, resolve, run_spans,
                     save_grid, seed_streams, to_trajectory, work_meta)
from .errors import ValidationError, require
from .ground_truth import GroundTruth
from .integrators import (EXPLICIT, IMPLICIT, SUNDIALS, TORCH_STIFF, CvodeCounts, integrate_explicit,
                          integrate_flow_cvode, integrate_implicit, integrate_rosenbrock, resolve_linear_solver)
from .integrators.krylov import krylov_solver
from .problem import TorchFlowProblem
from .threads import field_flops, limit_threads
from .trajectory import Trajectory, package_versions

# The driver's names stay importable from here (solver.flow is where users and older code look for them).
__all__ = ["FlowConfig", "solve", "initial_directions", "estimate_beta0", "epoch_schedule", "reinit_mask",
           "resolve_device", "DTYPES", "RunPlan", "plan_run", "run_spans", "save_grid", "draw_reinitializations",
           "drop_small_components", "work_meta", "seed_streams", "Progress"]

DTYPES = {"float64": torch.float64, "float32": torch.float32}

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
    truths: GroundTruth | Sequence[GroundTruth],
    config: FlowConfig | None = None,
    seeds: Sequence[int] | None = None,
    progress: Progress | None = None,
    initial_state: tuple[np.ndarray, np.ndarray] | None = None,
) -> Trajectory:
    """Run the configured flow for each seed (one run per seed, batched) and return the record.

    A :class:`solver.spec.RunSpec` runs through ``spec.solve()`` or the package's ``solver.solve(spec)``
    (:func:`solver.spec.solve`), which call this function with its instance, config and seeds.
    ``truths`` is one ground truth shared by all runs or one per seed (same ``d``, ``r`` and order).
    Run ``b`` draws W(0) (nested in m: :func:`initial_directions`) and its re-initializations from two child
    streams of ``SeedSequence(seeds[b])`` (:func:`seed_streams`): the same seed gives the same
    trajectory on the same device, whatever the batch, and its first m' components are those of any larger m.
    ``progress(done, total, stage)`` is called as the integration advances.
    ``initial_state = (log_norms (B, m), directions (B, d, m))`` replaces the seeds' draw of ``W(0)`` (for
    metamorphic tests: rotated or permuted starts); re-initializations still come from the seeds' child
    streams, exactly as in a default run.
    """
    if isinstance(truths, (dict, str)) or not (isinstance(truths, GroundTruth) or isinstance(truths, Sequence)):
        raise ValidationError("truths", "a GroundTruth or a list of them (a RunSpec: solver.solve(spec) or "
                              "spec.solve())",
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
    a_np = np.stack([t.a for t in truths])
    U_np = np.stack([t.U for t in truths])
    problem = TorchFlowProblem(torch.as_tensor(a_np, dtype=dtype, device=device),
                               torch.as_tensor(U_np, dtype=dtype, device=device), order, lam, m)
    Y = layout.to_rows(torch.as_tensor(rho0, dtype=dtype, device=device),
                       torch.as_tensor(X0, dtype=dtype, device=device))
    plan = plan_run(config, truths, explicit=integrator in EXPLICIT)
    times = plan.times
    log_rows = torch.zeros((1, d + 1, 1), dtype=torch.bool, device=device)
    log_rows[:, 0] = True
    stiff_atol = torch.full((m * (d + 1),), atol, dtype=dtype, device=device)
    stiff_atol[:m] = rtol  # log-norms: an absolute error rtol is a relative error rtol of ||w|| (as the scipy path)

    # The torch stiff path's linear systems: matrix-free or a dense LU, by choice or by batch and size.
    matrix_free = integrator in TORCH_STIFF and rosenbrock_matrix_free(config.linear_solver, batch, m * (d + 1),
                                                                      device)
    linearize = problem.krylov_linearization(krylov_solver) if matrix_free else None
    cvode_counts = CvodeCounts()
    cvode_linear_solver = "dense" if config.linear_solver == "dense" else "krylov"

    def integrate(Yb: torch.Tensor, t0: float, t1: float, on_save, report):
        if integrator in SUNDIALS:
            return integrate_flow_cvode(a_np, U_np, order, lam, Yb, t0, t1, times, on_save, rtol=rtol, atol=atol,
                                        linear_solver=cvode_linear_solver, progress=report, counts=cvode_counts)
        if integrator in TORCH_STIFF:
            y, step_stats = integrate_rosenbrock(
                problem.packed_field, problem.packed_jacobian, problem.pack(Yb), t0, t1, times,
                lambda k, y, runs: on_save(k, problem.unpack(y), runs), rtol=rtol, atol=stiff_atol,
                step=config.step, project=problem.project_packed, max_steps=config.max_steps, progress=report,
                linearize=linearize)
            return problem.unpack(y), step_stats
        if integrator in EXPLICIT:
            return integrate_explicit(
                problem.field, Yb, t0, t1, times, on_save, tableau=EXPLICIT[integrator], step=config.step,
                rtol=rtol, atol=atol, norm_independent=log_rows, project=problem.project,
                max_steps=config.max_steps, progress=report)
        return integrate_implicit(
            a_np, U_np, order, lam, Yb, t0, t1, times, on_save, method=IMPLICIT[integrator],
            linear_solver=config.linear_solver, rtol=rtol, atol=atol, progress=report)

    driven = drive(problem, Y, plan, config, rngs, integrate=integrate, r=r, log_delta0=math.log(config.delta0),
                   progress=progress)
    if integrator in TORCH_STIFF:
        linear_solver = "krylov" if matrix_free else "dense"
    elif integrator in IMPLICIT:
        linear_solver = resolve_linear_solver(config.linear_solver, IMPLICIT[integrator], m * (d + 1))
    elif integrator in SUNDIALS:
        linear_solver = cvode_linear_solver
    else:
        linear_solver = None
    resolved = resolve(plan, d=d, r=r, order=order, integrator=integrator, rtol=rtol, atol=atol, lam=lam,
                       device=str(device), linear_solver=linear_solver)
    meta = {
        "versions": package_versions(("deflation-verify", "torch", "numpy")
                                     + (("scikit-sundae",) if integrator in SUNDIALS else ()), missing="unknown"),
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "dtype": config.dtype, "unit_roundoff": problem.unit_roundoff, "orthogonal": [t.orthogonal for t in truths],
    }
    if integrator in SUNDIALS:
        meta["cvode"] = cvode_counts.to_dict()
    return to_trajectory(driven, plan, seeds, a_np, U_np, config, resolved, meta)


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

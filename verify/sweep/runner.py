"""Run a sweep on Dask distributed: a ``LocalCluster`` on this machine by default (one single-threaded worker
process per core), or an existing cluster at ``scheduler``.

Thread discipline: every worker runs one task at a time (``threads_per_worker=1``) with one BLAS/OpenMP
thread and one torch thread (:class:`verify.sweep._plugin.SingleThreadPlugin`, plus ``OMP/MKL/OPENBLAS_NUM_THREADS=1`` in the
worker processes' environment), so N workers use N cores, not N x cores.

Rows are written by the client as results arrive (``distributed.as_completed``), one atomic Parquet file
per run (:mod:`verify.sweep.store`). A worker that dies mid-task is replaced by its nanny and the scheduler
reruns its tasks; a killed sweep loses only the runs in flight, and running it again skips every key present.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable


from solver.spec import RunSpec

from .spec import SweepPoint, SweepSpec
from .store import existing_keys, write_row

if TYPE_CHECKING:
    from solver.trajectory import Trajectory

__all__ = ["run_point", "run_sweep", "SweepResult", "point_payload", "local_cluster", "git_commit", "prediction",
           "outcome_columns", "DRAWS"]

# How W(0) and the re-initializations were drawn: rows without it (null) predate nested draws.
DRAWS = "nested-v1"

THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def limit_threads() -> None:
    """One BLAS/OpenMP thread (threadpoolctl) and one torch intra-op thread in this process."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency; a worker without it fails in solve()
        pass


def point_payload(point: SweepPoint, commit: str | None = None) -> dict:
    """What a task receives: the spec as a dict plus the grid coordinates (plain data, cheap to send) and the
    git commit the sweep runs at (None: the task reads it itself)."""
    return {"spec": point.spec.to_dict(), "m_over_r": point.m_over_r, "spread": point.spread, "commit": commit}


def git_commit(root: Path | None = None) -> str:
    """``git rev-parse HEAD`` of the package's checkout, ``+dirty`` when tracked files differ; ``unknown``
    outside a checkout."""
    import subprocess

    root = Path(root) if root is not None else Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit + ("+dirty" if dirty else "")) if commit else "unknown"


def run_point(payload: dict) -> dict:
    """Solve one run (one seed) and return its row (:mod:`verify.sweep.store`).

    A run whose integration raises is a result, not a crash: its row has ``error`` set and
    ``recovered_all = False`` (rerunning it would raise again: the same inputs give the same run).

    Evidence columns (:mod:`verify.sweep.store`): ``success`` (= ``recovered_all``), ``fitted`` (1-based
    directions whose final residual is fitted, the run's recovery rule), ``predicted`` (the order law's set,
    :func:`prediction`), ``discovery_tolerance`` (per direction, the save interval holding the crossing: the
    resolution a rerun is compared at), ``commit``, ``integrator`` (the one used).
    """
    limit_threads()
    spec = RunSpec.from_dict(payload["spec"])
    row = _input_columns(spec, payload["m_over_r"], payload["spread"])
    row["commit"] = payload.get("commit") or git_commit()
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        trajectory = spec.solve()
    except Exception as err:  # noqa: BLE001 - recorded in the row
        row.update({"recovered_all": False, "success": False, "n_recovered": 0, "recovered": None, "fitted": None,
                    "discovery_times": None, "discovery_tolerance": None,
                    "final_residuals": None, "final_loss": None, "final_loss_floor": None, "reinitializations": None,
                    "rhs_evals": None, "integrator_used": None, "integrator": None, "versions": None,
                    "error": f"{type(err).__name__}: {err}"})
        epochs = None
    else:
        row.update(outcome_columns(trajectory))
        epochs = [e["beta"] for e in trajectory.config.get("epochs", [])]
    row["predicted"], row["predicted_model"] = prediction(spec, epochs)
    row["seconds"] = time.perf_counter() - start
    row["cpu_seconds"] = time.process_time() - cpu_start
    row["worker"] = _worker_name()
    return row


def outcome_columns(trajectory: Trajectory) -> dict[str, Any]:
    """The store's outcome columns of a one-run :class:`solver.trajectory.Trajectory` (:mod:`verify.sweep.store`):
    recovery (``success`` = ``recovered_all``, ``fitted`` 1-based), discovery times with their resolution, final
    residuals and loss, re-initializations, work and versions; ``error`` None."""
    run = trajectory.summary()["runs"][0]
    recovered = [bool(x) for x in run["recovered"]]
    return {
        "recovered_all": all(recovered), "success": all(recovered), "n_recovered": int(sum(recovered)),
        "recovered": recovered, "fitted": [j + 1 for j, ok in enumerate(recovered) if ok],
        "discovery_times": [math.nan if t is None else float(t) for t in run["discovery_times"]],
        "discovery_tolerance": [math.nan if t is None else float(t) for t in run["discovery_resolution"]],
        "final_residuals": [float(x) for x in run["final_residuals"]],
        "final_loss": float(run["final_loss"]), "final_loss_floor": float(run["final_loss_floor"]),
        "reinitializations": int(run["reinitializations"]), "rhs_evals": int(trajectory.meta["rhs_evals"]),
        "integrator_used": str(trajectory.config["integrator_used"]),
        "integrator": str(trajectory.config["integrator_used"]),
        "versions": json.dumps(trajectory.meta["versions"], sort_keys=True), "error": None}


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"local-{os.getpid()}"


def _input_columns(spec: RunSpec, m_over_r: float, spread: float) -> dict:
    data = spec.to_dict()
    row = {**data["instance"], **data["config"]}
    row["integrator_requested"] = row.pop("integrator")  # ``integrator`` is the one the run used
    row.update({"seed": spec.first_seed, "m_over_r": float(m_over_r), "spread": float(spread), "key": spec.key(),
                "command": spec.command(), "spec_json": json.dumps(data, sort_keys=True), "r": spec.instance.rank,
                "draws": DRAWS})
    return row


def prediction(spec: RunSpec, betas: list[float] | None = None) -> tuple[list[int] | None, str | None]:
    """The order law's fitted set for a one-seed spec (1-based, sorted) and the model that made it.

    Plain flow: the occupied basins of the seed's W(0) (:func:`verify.mlaw.predicted_fitted`; model
    ``"basins"``). Algorithm 1: the per-epoch model (:func:`verify.mlaw.algorithm1_epochs`, ``claimed="one"``)
    from the seed's W(0) in epoch 0 and fresh model draws from the seed's re-initialization stream (which the
    model spends differently from the solver: a model prediction, not a replay; model ``"epochs"``). None for a
    non-orthogonal T* (the law needs orthogonal u_j) or when Algorithm 1's epochs are unknown.
    """
    import numpy as np

    from solver.flow import initial_directions, seed_streams
    from verify import mlaw

    truth = spec.instance.truth()
    if not truth.orthogonal:
        return None, None
    init, reinit = seed_streams(spec.first_seed)
    X0 = initial_directions(init, truth.d, spec.config.m)
    if spec.config.algorithm == "plain":
        return [j + 1 for j in mlaw.predicted_fitted(X0, truth.a, truth.U, truth.order)], "basins"
    if not betas:
        return None, None
    epochs = mlaw.algorithm1_epochs(truth.a, truth.order, spec.config.m, betas, reinit, initial=truth.U.T @ X0,
                                    claimed="one")
    return sorted(j + 1 for e in epochs for j in e), "epochs"


# -------------------------------------------------------------------------------------------- the sweep
@dataclass
class SweepResult:
    """What a sweep did: ``total`` runs in the spec, ``skipped`` already present, ``written`` now, the wall
    time, the number of workers and the rows written in this call (dicts, in completion order)."""

    total: int
    skipped: int
    written: int
    seconds: float
    workers: int
    rows: list[dict] = field(default_factory=list)


def local_cluster(workers: int):
    """``LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)`` with one BLAS thread per
    worker, no dashboard, quiet logs."""
    import warnings

    from distributed import LocalCluster

    with warnings.catch_warnings():
        # Without a dashboard the scheduler still serves health checks over HTTP, on 8787 when free, else on a
        # random port with a warning: the fallback is what we want, the warning is noise.
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR, env=dict(THREAD_ENV))


def run_sweep(spec: SweepSpec, out: Path, *, scheduler: str | None = None, workers: int | None = None,
              client: Any = None, progress: Callable[[int, int, float], None] | None = None,
              on_row: Callable[[dict, Any], None] | None = None, retries: int = 2) -> SweepResult:
    """Run every point of ``spec`` whose key is not yet under ``out``; write each row as it finishes.

    Args:
        spec: the sweep.
        out: dataset folder (``out/runs/*.parquet``, ``out/spec.toml``).
        scheduler: address of an existing Dask scheduler (``tcp://host:port``); None: a LocalCluster.
        workers: LocalCluster worker processes (None: ``os.cpu_count()``).
        client: an existing ``distributed.Client`` (tests; overrides ``scheduler`` and ``workers``).
        progress: ``progress(done, total, seconds_left_estimate)`` after each row (and once at the start).
        on_row: ``on_row(row, client)`` after each row is written (tests kill workers or the sweep from it).
        retries: extra attempts of a task whose worker died (beyond the scheduler's own rescheduling).
    """
    from solver.trajectory import atomic_write_bytes

    out = Path(out)
    points = spec.points()
    done_keys = existing_keys(out)
    todo = [p for p in points if p.key not in done_keys]
    # Distinct keys only: two grid points that name the same run (e.g. repeated spread 1 at r = 1) run once.
    unique: dict[str, SweepPoint] = {}
    for p in todo:
        unique.setdefault(p.key, p)
    todo = list(unique.values())
    total_keys = len({p.key for p in points})
    skipped = total_keys - len(todo)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "spec.toml", spec.text.encode())
    start = time.perf_counter()
    result = SweepResult(total=total_keys, skipped=skipped, written=0, seconds=0.0, workers=0)
    if progress is not None:
        progress(skipped, total_keys, math.nan)
    if not todo:
        return result

    from distributed import Client, as_completed

    owned = []
    try:
        if client is None:
            if scheduler is not None:
                client = Client(scheduler)
            else:
                cluster = local_cluster(workers or os.cpu_count() or 1)
                owned.append(cluster)
                client = Client(cluster)
            owned.insert(0, client)
        from ._plugin import SingleThreadPlugin

        client.register_plugin(SingleThreadPlugin())
        result.workers = len(client.scheduler_info()["workers"])
        # The costliest runs first (largest m d): the sweep's tail is then many short runs, not one long one.
        todo.sort(key=lambda p: -(p.spec.config.m * p.spec.instance.d
                                  * (4 if p.spec.config.algorithm == "modified" else 1)))
        commit = git_commit()
        futures = [client.submit(run_point, point_payload(p, commit), key=f"deflation-run-{p.key}", pure=False,
                                 retries=retries, priority=len(todo) - i) for i, p in enumerate(todo)]
        for future in as_completed(futures):
            row = future.result()
            write_row(out, row)
            future.release()
            result.written += 1
            result.rows.append(row)
            if progress is not None:
                elapsed = time.perf_counter() - start
                left = elapsed / result.written * (len(todo) - result.written)
                progress(skipped + result.written, total_keys, left)
            if on_row is not None:
                on_row(row, client)
    finally:
        for obj in owned:
            obj.close()
        result.seconds = time.perf_counter() - start
    return result

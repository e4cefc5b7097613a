"""Sweep benchmark: ``sweep_speedup_2_workers``, the wall time of one sweep on a one-worker
LocalCluster divided by the same sweep on a two-worker one, measured side by side in one process.

Each cluster is started and warmed up (every worker imports torch and the solver on a throw-away run)
before the clock starts, so the ratio measures the scheduling of runs, not process start-up. Every worker
has one BLAS/torch thread. On a shared 2-core machine the ratio is bounded by the cores the other
processes leave free: run it on an otherwise idle machine for the figure that goes into BENCHMARKS.md.

    python benchmarks/sweep.py          # prints one JSON object
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

# 24 runs of Algorithm 1 costing 0.2-2 CPU seconds each (the quick sweep's d = 6, r = 3, spreads 10 and 100,
# m = 3 and 6; measured there): tasks long enough that the client's and the scheduler's own work, which share
# the machine's cores with the workers, stay small next to them.
BENCH_SPEC = """
name = "bench"
[grid]
d = [6]
r = [3]
spread = [10.0, 100.0]
m_over_r = [1, 2]
algorithm = ["modified"]
seeds = 6
[modified]
delta0 = 1e-15
delta1 = 1e-5
eps_per_a_min = 0.5
linear_solver = "dense"
n_save = 32
record_components = false
"""


def _timed_sweep(workers: int, spec, repeat: int) -> float:
    from distributed import Client

    from verify.sweep.runner import local_cluster, point_payload, run_point, run_sweep

    cluster = local_cluster(workers)
    try:
        with Client(cluster) as client:
            warm = spec.points()[0]
            client.run(run_point, point_payload(warm))  # every worker imports torch and the solver once
            best = float("inf")
            for _ in range(repeat):
                with tempfile.TemporaryDirectory() as out:
                    t0 = time.perf_counter()
                    run_sweep(spec, Path(out), client=client)
                    best = min(best, time.perf_counter() - t0)
            return best
    finally:
        cluster.close()


def measure(repeat: int = 2) -> dict:
    """``{"sweep_speedup_2_workers", "sweep_seconds_1_worker", "sweep_seconds_2_workers", "sweep_runs"}``:
    best-of-``repeat`` wall times of :data:`BENCH_SPEC` on one and on two single-threaded workers."""
    from verify.sweep.spec import parse_spec

    spec = parse_spec(BENCH_SPEC)
    one = _timed_sweep(1, spec, repeat)
    two = _timed_sweep(2, spec, repeat)
    return {"sweep_speedup_2_workers": one / two, "sweep_seconds_1_worker": one, "sweep_seconds_2_workers": two,
            "sweep_runs": len(spec.points())}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))

"""GPU checks for a session lent a device: one prepared script, a few minutes.

    python benchmarks/gpu.py --json            # on the device machine
    python benchmarks/gpu.py --json --small    # a CPU dry run of the same code paths

1. Figure-1-size instances (d=10, r=5, m=50, t=100, dopri5) batched 1024 at a time: instances per second,
   CPU vs GPU, and the largest deviation in discovery times between the two devices.
2. One vector-field evaluation at d=4096, m=65536 in float64 and float32 against the time of the two
   m x m x d GEMMs it contains (fraction of that roofline).
3. Algorithm 1, each against the CPU:
   - 256 Figure-1-size runs (d=10, m=50, spread spectrum a_i = 10^{-2(i-1)}) in one batched torch Rosenbrock
     run on the device, against scipy BDF on the CPU one run at a time (a few runs, seconds per run);
   - one run on the spread spectrum at d=200, m=1000 (random basis). That is 201,000 unknowns: the torch stiff
     path runs it matrix-free (batched GMRES on the Gram-form J v, ``solver.jacobian.flow_krylov_linearization``),
     against the CPU path (scipy BDF, matrix-free Krylov), both over the first epochs (``t_max``).
   - the torch path's dense LU against its matrix-free GMRES on 256 runs' first epoch (where ``auto``
     switches on a GPU is otherwise a guess).
   ``--small`` shrinks them (batch 4; d=20, m=100, which is past the dense limit too) and runs them on the CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from solver import FlowConfig, instances, kernels, solve
from solver.instances import figure1_truth, spread_truth


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def batched_figure1(device: str, batch: int, t_max: float) -> tuple[float, np.ndarray]:
    config = FlowConfig(t_max=t_max, m=50, device=device, n_save=100, record_components=False)
    t0 = time.perf_counter()
    traj = solve(figure1_truth(), config, seeds=range(batch))
    return batch / (time.perf_counter() - t0), traj.discovery()[0]


def field_vs_gemms(device: torch.device, dtype: torch.dtype, d: int, m: int, repeat: int = 3) -> dict:
    g = torch.Generator(device=device).manual_seed(0)
    X = torch.randn(1, d, m, dtype=dtype, device=device, generator=g)
    X /= X.norm(dim=1, keepdim=True)
    U = torch.linalg.qr(torch.randn(d, 8, dtype=dtype, device=device, generator=g))[0][None]
    a = torch.rand(1, 8, dtype=dtype, device=device, generator=g)
    c = torch.rand(1, m, dtype=dtype, device=device, generator=g)

    def timed(fn) -> float:
        fn()
        _sync(device)
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            _sync(device)
            best = min(best, time.perf_counter() - t0)
        return best

    t_field = timed(lambda: kernels.flow(X, c, a, U, 4))
    G = X.mT @ X
    t_gemms = timed(lambda: (X.mT @ X, X @ G))
    return {"field_seconds": t_field, "two_gemms_seconds": t_gemms, "roofline_fraction": t_gemms / t_field,
            "tflops": 4 * m * m * d / t_field / 1e12}


def alg1_batched(device: str, batch: int, cpu_runs: int, t_max: float | None = None) -> dict:
    """Algorithm 1, spread spectrum, d=10, m=50: ``batch`` seeds in one torch Rosenbrock run on ``device`` against
    ``cpu_runs`` seeds of scipy BDF on the CPU; discovery times of the common seeds compared (``t_max``: a cap)."""
    truth = spread_truth()
    config = dict(algorithm="modified", m=50, record_components=False, t_max=t_max)
    dev = torch.device(device)
    _sync(dev)
    t0 = time.perf_counter()
    batched = solve(truth, FlowConfig(integrator="rosenbrock", device=device, **config), seeds=range(batch))
    _sync(dev)
    device_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    cpu = solve(truth, FlowConfig(integrator="bdf", device="cpu", **config), seeds=range(cpu_runs))
    cpu_seconds = time.perf_counter() - t0
    deviation = np.abs(batched.discovery()[0][:cpu_runs] / cpu.discovery()[0] - 1)
    return {"alg1_batch": batch, "alg1_runs_per_second_device": batch / device_seconds,
            "alg1_runs_per_second_cpu_bdf": cpu_runs / cpu_seconds,
            "alg1_device_over_cpu": (batch / device_seconds) / (cpu_runs / cpu_seconds),
            "alg1_device_runs_recovering_all": int(batched.recovered().all(axis=1).sum()),
            "alg1_discovery_max_relative_deviation": float(np.nanmax(deviation))}


def discovery_deviation(times_a: np.ndarray, times_b: np.ndarray) -> tuple[int, float]:
    """How many discoveries both records reached, and the largest relative difference of their times (NaN if none)."""
    both = np.isfinite(times_a) & np.isfinite(times_b)
    if not both.any():
        return 0, float("nan")
    return int(both.sum()), float(np.max(np.abs(times_a[both] / times_b[both] - 1)))


def alg1_linear_solvers(device: str, batch: int, t_max: float) -> dict:
    """The torch stiff path's two linear solvers side by side on ``device``: ``batch`` Algorithm 1 runs (spread
    spectrum, d=10, m=50, t <= ``t_max``) with the dense batched LU and matrix-free. On the CPU the crossover is
    measured (``solver.flow.rosenbrock_matrix_free``); on a GPU ``auto`` keeps the dense LU up to 2,000 unknowns,
    unmeasured: this row is the measurement."""
    dev = torch.device(device)
    seconds = {}
    for solver_name in ("dense", "krylov"):
        _sync(dev)
        t0 = time.perf_counter()
        solve(spread_truth(), FlowConfig(algorithm="modified", m=50, integrator="rosenbrock", device=device,
                                         linear_solver=solver_name, record_components=False, t_max=t_max),
              seeds=range(batch))
        _sync(dev)
        seconds[solver_name] = time.perf_counter() - t0
    return {"alg1_solvers_batch": batch, "alg1_solvers_t_max": t_max,
            "alg1_dense_seconds": seconds["dense"], "alg1_krylov_seconds": seconds["krylov"],
            "alg1_krylov_over_dense": seconds["krylov"] / seconds["dense"]}


def alg1_large(device: str, d: int, m: int, t_max: float) -> dict:
    """One Algorithm 1 run on the spread spectrum at (d, m), random basis, over ``t <= t_max`` (the first epochs:
    a full run at d=200 does not fit a device session): the torch stiff path on ``device`` (matrix-free or dense
    as ``solver.flow.rosenbrock_matrix_free`` chooses) against scipy's BDF on the CPU, and the largest
    relative difference of the discovery times both reached."""
    from solver.flow import resolve_device, rosenbrock_matrix_free
    truth = instances.spread(d, basis="random").truth()
    matrix_free = rosenbrock_matrix_free("auto", 1, m * (d + 1), resolve_device(device))
    out: dict = {"alg1_large_d": d, "alg1_large_m": m, "alg1_large_t_max": t_max,
                 "alg1_large_device_linear_solver": "krylov" if matrix_free else "dense"}
    t0 = time.perf_counter()
    on_device = solve(truth, FlowConfig(algorithm="modified", m=m, integrator="rosenbrock", device=device,
                                        t_max=t_max), seeds=[0])
    out.update({"alg1_large_device_seconds": time.perf_counter() - t0,
                "alg1_large_device_found": int(np.isfinite(on_device.discovery()[0]).sum())})
    t0 = time.perf_counter()
    on_cpu = solve(truth, FlowConfig(algorithm="modified", m=m, integrator="bdf", device="cpu", t_max=t_max),
                   seeds=[0])
    cpu_seconds = time.perf_counter() - t0
    out.update({"alg1_large_cpu_seconds": cpu_seconds,
                "alg1_large_cpu_found": int(np.isfinite(on_cpu.discovery()[0]).sum()),
                "alg1_large_device_over_cpu_speed": cpu_seconds / out["alg1_large_device_seconds"]})
    compared, deviation = discovery_deviation(on_device.discovery()[0], on_cpu.discovery()[0])
    if compared:
        out["alg1_large_discovery_max_relative_deviation"] = deviation
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--small", action="store_true", help="small sizes (a CPU dry run)")
    args = parser.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    batch, t_max, d, m = (16, 40.0, 256, 2048) if args.small else (1024, 100.0, 4096, 65536)
    out: dict = {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu", "batch": batch}
    gpu_rate, gpu_times = batched_figure1(str(device), batch, t_max)
    cpu_batch = min(batch, 64)
    cpu_rate, cpu_times = batched_figure1("cpu", cpu_batch, t_max)
    out.update({"instances_per_second_device": gpu_rate, "instances_per_second_cpu": cpu_rate,
                "device_over_cpu": gpu_rate / cpu_rate,
                "discovery_time_max_deviation": float(np.nanmax(np.abs(gpu_times[:cpu_batch] - cpu_times)))})
    for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        out[f"field_{name}"] = field_vs_gemms(device, dtype, d, m)
    out.update(alg1_batched(str(device), 4 if args.small else 256, 2 if args.small else 4, 520.0 if args.small else None))
    out.update(alg1_linear_solvers(str(device), 4 if args.small else 256, 60.0 if args.small else 520.0))
    out.update(alg1_large(str(device), *((20, 100, 50.0) if args.small else (200, 1000, 2e3))))
    print(json.dumps(out, indent=2) if args.json else out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Solver benchmarks. Figures go to BENCHMARKS.md; nothing here is asserted in tests.

    python benchmarks/run.py --quick --json

prints one JSON object. Ratios are measured side by side in one process (absolute times drift on
shared machines); every timing is the best of ``repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from typing import Callable

import numpy as np
import torch

from solver import FlowConfig, instances, kernels, solve
from solver.dense import dense_loss
from solver.instances import figure1_truth, spread_truth


def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def gram_vs_dense(repeat: int) -> dict:
    """One vector-field evaluation: autograd through the dense d^4 tensor vs the Gram form (d=20, m=100)."""
    d, m, r, order = 20, 100, 5, 4
    g = torch.Generator().manual_seed(0)
    W = torch.randn(d, m, dtype=torch.float64, generator=g)
    U = torch.linalg.qr(torch.randn(d, r, dtype=torch.float64, generator=g))[0]
    a = torch.rand(r, dtype=torch.float64, generator=g) + 0.5

    def dense() -> torch.Tensor:
        Wg = W.clone().requires_grad_(True)
        return torch.autograd.grad(dense_loss(Wg, a, U, order), Wg)[0]

    norms = W.norm(dim=0)
    X = W / norms

    def gram() -> torch.Tensor:
        return kernels.flow_w(X, norms, a, U, order)

    assert torch.allclose(dense(), -gram(), rtol=1e-9, atol=1e-9)
    # Steady state of both: the first calls of a fresh process pay one-off dispatch and allocation costs that
    # weigh on the ~60 us Gram evaluation (measured 105 us when timed first) far more than on the dense one.
    best_of(dense, 3), best_of(gram, 50)
    t_dense, t_gram = best_of(dense, max(repeat, 5)), best_of(gram, 200)
    return {"gram_vs_dense_speedup_d20_m100": t_dense / t_gram, "dense_seconds_d20_m100": t_dense,
            "gram_seconds_d20_m100": t_gram}


def figure1_euler_vs_adaptive(quick: bool) -> dict:
    """RHS evaluations to t = 100 on Figure 1 (seed 0): Euler h = 1e-3 vs dopri5 at the loosest tolerance whose
    loss curve deviates from a tight reference (dopri5, rtol 1e-12) no more than Euler's does."""
    truth = figure1_truth()
    grid = dict(t_max=100.0, n_save=1000, save_grid="linear", m=50)
    ref = solve(truth, FlowConfig(integrator="dopri5", rtol=1e-12, atol=1e-14, **grid), seeds=[0])

    def deviation(traj) -> float:
        return float(np.max(np.abs(traj.loss - ref.loss)))

    t0 = time.perf_counter()
    euler = solve(truth, FlowConfig(integrator="euler", step=1e-3, **grid), seeds=[0])
    euler_seconds = time.perf_counter() - t0
    euler_dev = deviation(euler)
    chosen = None
    for rtol in (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8):
        t0 = time.perf_counter()
        run = solve(truth, FlowConfig(integrator="dopri5", rtol=rtol, atol=rtol * 1e-2, **grid), seeds=[0])
        seconds = time.perf_counter() - t0
        if deviation(run) <= euler_dev:
            chosen = (rtol, run, seconds)
            break
    if chosen is None:
        raise RuntimeError("no tolerance reached Euler's accuracy")
    rtol, run, seconds = chosen
    return {
        "figure1_rhs_evals_euler_over_adaptive": euler.meta["rhs_evals"] / run.meta["rhs_evals"],
        "figure1_euler_rhs_evals": euler.meta["rhs_evals"], "figure1_euler_loss_deviation": euler_dev,
        "figure1_adaptive_rtol": rtol, "figure1_adaptive_rhs_evals": run.meta["rhs_evals"],
        "figure1_adaptive_loss_deviation": deviation(run),
        "figure1_euler_over_adaptive_seconds": euler_seconds / seconds,
    }


def large_rhs(repeat: int) -> dict:
    """One float64 CPU evaluation at d = 1000, m = 4000 against its two m x m x d GEMMs."""
    d, m, r = 1000, 4000, 10
    g = torch.Generator().manual_seed(0)
    X = torch.randn(1, d, m, dtype=torch.float64, generator=g)
    X /= X.norm(dim=1, keepdim=True)
    U = torch.linalg.qr(torch.randn(d, r, dtype=torch.float64, generator=g))[0][None]
    a = torch.rand(1, r, dtype=torch.float64, generator=g)
    c = torch.rand(1, m, dtype=torch.float64, generator=g)
    t_eval = best_of(lambda: kernels.flow(X, c, a, U, 4), repeat)
    G = X.mT @ X
    t_gemms = best_of(lambda: (X.mT @ X, X @ G), repeat)
    flops = 2 * 2 * m * m * d
    return {"rhs_eval_seconds_d1000_m4000": t_eval, "rhs_eval_gflops_d1000_m4000": flops / t_eval / 1e9,
            "rhs_eval_over_two_gemms_d1000_m4000": t_eval / t_gemms}


def stiff_spread(m: int) -> dict:
    """Plain flow on the spread spectrum a_i = 10^{-2(i-1)}, d = 10, to t = 1e11 (BDF, auto linear solver)."""
    t0 = time.perf_counter()
    traj = solve(spread_truth(), FlowConfig(t_max=1e11, m=m, integrator="bdf"), seeds=[0])
    seconds = time.perf_counter() - t0
    key = "stiff_spread_seconds" if m == 50 else f"stiff_spread_m{m}_seconds"
    return {key: seconds, key.replace("seconds", "rhs_evals"): traj.meta["rhs_evals"],
            key.replace("seconds", "fitted"): int(traj.recovered().sum())}


def _spin(running, stop) -> None:
    """A CPU-bound sibling process (the 'one other process' of a shared machine): spins while ``running`` is set,
    sleeps while it is clear, exits when ``stop`` is set."""
    x = 0
    while not stop.is_set():
        if running.wait(0.05):
            for _ in range(100_000):
                x += 1


def flow_eval_loaded_over_idle() -> dict:
    """One numpy field evaluation at d = 30, m = 150 under solver.threads.limit_threads, idle vs with one busy sibling
    process, side by side; the same without the limit (BLAS at its default thread count) for contrast.

    Idle and loaded samples alternate in 10 rounds of 40 evaluations (the sibling paused and resumed between
    them), and each figure is the median over all its rounds' samples: a shared machine's speed drifts by tens of
    percent over a minute, and timing all idle samples before all loaded ones put that drift into the ratio
    (1.66, 0.95, 1.51, 0.94 in four runs of the sequential version)."""
    import multiprocessing

    from threadpoolctl import threadpool_limits

    from solver.threads import field_flops, limit_threads

    d, m, r = 30, 150, 5
    rng = np.random.default_rng(0)
    X = rng.standard_normal((d, m))
    X /= np.linalg.norm(X, axis=0)
    U = np.linalg.qr(rng.standard_normal((d, r)))[0]
    a, c = 10.0 ** (-2.0 * np.arange(r)), np.exp(rng.normal(size=m))

    def evaluate() -> None:
        kernels.flow(X, c, a, U, 4)

    def samples(limited: bool, count: int) -> list[float]:
        # Every sample kept for a median, not the best: oversubscription shows as stalls (a thread waiting for a
        # core), which the best of many repeats hides.
        cores = multiprocessing.cpu_count()
        limit = limit_threads(field_flops(1, d, m)) if limited else threadpool_limits(limits=cores)
        times = []
        with limit:  # unlimited: the default of a process started without OMP_NUM_THREADS
            for _ in range(count):
                t0 = time.perf_counter()
                evaluate()
                times.append(time.perf_counter() - t0)
        return times

    context = multiprocessing.get_context("spawn")
    running, stop = context.Event(), context.Event()
    sibling = context.Process(target=_spin, args=(running, stop))
    sibling.start()
    times = {(load, mode): [] for load in ("idle", "loaded") for mode in (True, False)}
    try:
        for _round in range(10):
            for load in ("idle", "loaded"):
                (running.set if load == "loaded" else running.clear)()
                time.sleep(0.2)  # the sibling reaches (or leaves) its loop
                for mode in (True, False):
                    times[load, mode] += samples(mode, 40)
    finally:
        stop.set()
        running.set()
        sibling.join(timeout=5)
        if sibling.is_alive():
            sibling.terminate()
    idle = {mode: float(np.median(times["idle", mode])) for mode in (True, False)}
    loaded = {mode: float(np.median(times["loaded", mode])) for mode in (True, False)}
    out = {}
    out["flow_eval_loaded_over_idle_d30_m150"] = loaded[True] / idle[True]
    out["flow_eval_idle_seconds_d30_m150"] = idle[True]
    out["flow_eval_loaded_over_idle_unlimited_d30_m150"] = loaded[False] / idle[False]
    out["flow_eval_loaded_unlimited_seconds_d30_m150"] = loaded[False]
    return out


def alg1_spread(d: int, m: int, seeds=(0,), integrator: str = "auto", basis: str = "random") -> dict:
    """Algorithm 1 (defaults) on the spread spectrum a_i = 10^{-2(i-1)}, r = 5, random orthonormal basis (seed 0) or
    the identity basis."""
    truth = instances.spread(d, basis=basis).truth()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    traj = solve(truth, FlowConfig(algorithm="modified", m=m, integrator=integrator), seeds=list(seeds))
    key = f"alg1_spread_d{d}_m{m}" + ("" if basis == "random" else f"_{basis}")
    return {f"{key}_seconds": time.perf_counter() - t0, f"{key}_cpu_seconds": time.process_time() - cpu0,
            f"{key}_recovered": int(traj.recovered().sum()), f"{key}_rhs_evals": traj.meta["rhs_evals"]}


def alg1_batch16_over_batch1(t_max: float | None = 520.0) -> dict:
    """Algorithm 1 on the spread spectrum (identity basis, d = 10, m = 50): 16 seeds in one batched torch Rosenbrock
    run over one seed, side by side; one seed of the torch path over the scipy BDF path, the largest relative
    difference of their discovery times, and whether seed 0's record is bit for bit the same in the batch as
    alone. ``t_max`` caps the run (default: the first epoch, t <= 520; None: whole runs). The torch path's linear
    solver is ``auto`` (matrix-free for both here, ``solver.flow.rosenbrock_matrix_free``)."""
    truth = spread_truth()
    timings, recovered, runs = {}, {}, {}
    for name, integrator, seeds in (("bdf1", "bdf", [0]), ("ros1", "rosenbrock", [0]),
                                    ("ros16", "rosenbrock", list(range(16)))):
        t0 = time.perf_counter()
        traj = solve(truth, FlowConfig(algorithm="modified", m=50, integrator=integrator, t_max=t_max), seeds=seeds)
        timings[name] = time.perf_counter() - t0
        recovered[name] = int(traj.recovered().all(axis=1).sum())
        runs[name] = traj
    compared, deviation = _sibling("gpu").discovery_deviation(runs["ros1"].discovery()[0], runs["bdf1"].discovery()[0])
    return {"alg1_batch16_over_batch1": timings["ros16"] / timings["ros1"],
            "alg1_rosenbrock_over_bdf_d10_m50": timings["ros1"] / timings["bdf1"],
            "alg1_bdf_seconds_d10_m50": timings["bdf1"], "alg1_rosenbrock_seconds_d10_m50": timings["ros1"],
            "alg1_rosenbrock_batch16_seconds_d10_m50": timings["ros16"],
            "alg1_rosenbrock_batch16_runs_recovering_all": recovered["ros16"],
            "alg1_rosenbrock_vs_bdf_discoveries_compared": compared,
            "alg1_rosenbrock_vs_bdf_discovery_max_relative_deviation": deviation,
            "alg1_rosenbrock_seed0_same_in_batch": bool(np.array_equal(runs["ros1"].residuals[0],
                                                                       runs["ros16"].residuals[0]))}


def alg1_scaling() -> dict:
    """One Algorithm 1 run (scipy BDF, defaults, spread spectrum, random orthonormal basis with seed 0) at
    d = 10, 20, 30, 60, m = 5d, and the exponent of CPU time against d from a least-squares fit of log time on
    log d."""
    out, ds, secs = {}, [], []
    for d in (10, 20, 30, 60):
        row = alg1_spread(d, 5 * d)
        out.update(row)
        ds.append(d)
        secs.append(row[f"alg1_spread_d{d}_m{5 * d}_cpu_seconds"])
    out["alg1_time_exponent_in_d_at_m5d"] = float(np.polyfit(np.log(ds), np.log(secs), 1)[0])
    return out


def _sibling(name: str):
    """``benchmarks/<name>.py`` as a module (this folder is scripts, not a package)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(f"_bench_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", nargs="*", default=None,
                        help="subset: gram figure1 large stiff stiff200 threads batch16 cli sweep (and with their flags: baselines, "
                             "alg1_d30, alg1_d60, scaling)")
    parser.add_argument("--large", action="store_true",
                        help="also Algorithm 1 at d = 30, m = 150 and d = 60, m = 300 (many minutes)")
    parser.add_argument("--baselines", action="store_true",
                        help="also time the Gram-form tensor power method against TensorLy's dense one (minutes)")
    parser.add_argument("--scaling", action="store_true",
                        help="also one Algorithm 1 run at d = 10, 20, 30, 60 (m = 5d): the exponent (many minutes)")
    args = parser.parse_args(argv)
    repeat = 2 if args.quick else 5
    jobs = {
        "gram": lambda: gram_vs_dense(repeat),
        "figure1": lambda: figure1_euler_vs_adaptive(args.quick),
        "large": lambda: large_rhs(repeat),
        "stiff": lambda: stiff_spread(50),
        "stiff200": lambda: stiff_spread(200),
        "threads": flow_eval_loaded_over_idle,
        # --quick times the first 60 time units (the first discovery is at t ~ 18), the full run the first epoch
        # (t <= 520): 16 runs of the torch path take ~40 s per epoch on one CPU core.
        "batch16": lambda: alg1_batch16_over_batch1(60.0 if args.quick else 520.0),
    }
    jobs["cli"] = lambda: _sibling("cli").measure(repeat)
    jobs["sweep"] = lambda: _sibling("sweep").measure(1 if args.quick else 2)
    if args.baselines:  # TensorLy's dense power iteration at d = 50 takes minutes (BENCHMARKS.md)
        jobs["baselines"] = lambda: {"tpm_vs_tensorly_d50_r10": _sibling("baselines").tpm_vs_tensorly(repeats=repeat)}
    if args.large:  # minutes each (BENCHMARKS.md): too long for --quick's 15-minute budget
        jobs["alg1_d30"] = lambda: alg1_spread(30, 150)
        jobs["alg1_d60"] = lambda: alg1_spread(60, 300)
    if args.scaling:
        jobs["scaling"] = alg1_scaling
    results: dict = {"machine": {"python": platform.python_version(), "torch": torch.__version__,
                                 "threads": torch.get_num_threads(), "processor": platform.processor()}}
    for name, job in jobs.items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        results.update(job())
        print(f"[bench] {name} done in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for k, v in results.items():
            print(f"{k:45s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

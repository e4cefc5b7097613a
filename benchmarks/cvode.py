"""SUNDIALS CVODE against scipy's BDF on the CPU stiff path, side by side in one process (BENCHMARKS.md).

    python benchmarks/cvode.py --json                  # every case below
    python benchmarks/cvode.py --case d30 --json       # one case

Each case is a ``deflation run`` flag list run with ``--integrator bdf`` and ``--integrator cvode`` (same seeds,
same save times), alternating, best of ``--repeat``. Reported per case: both wall and CPU times and their ratios
(``new_over_old`` = cvode / bdf in wall time, ``cpu_new_over_old`` in the process's CPU time, the steadier figure on
a shared machine: every run is single-threaded), both work counters, the largest relative deviation of the discovery times
(``max |t_cvode - t_bdf| / t_bdf`` over the components both discover) and the components only one discovers.
``--timeout`` bounds each run (a run that does not finish in time is reported as such, not waited for).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time

import numpy as np

CASES = {
    # Figure 1: plain flow, identity basis, ratio 1.2 (the auto integrator would pick dopri5: forced stiff here).
    "figure1": ["--ratio", "1.2", "--seeds", "5"],
    # The spread spectrum with Algorithm 1 at d = 10, m = 50.
    "spread10": ["--ratio", "100", "--algorithm", "modified"],
    # The speed target: alg1_d30_new_over_old <= 0.67.
    "d30": ["--d", "30", "--m", "150", "--ratio", "100", "--basis", "random", "--algorithm", "modified"],
    # A quick-sweep case where scipy's BDF failed (step size underflow) before the accepted-state Jacobian.
    "d6": ["--d", "6", "--r", "3", "--ratio", "10.0", "--basis", "random", "--algorithm", "modified", "--m", "6",
           "--eps", "0.005", "--linear-solver", "dense", "--n-save", "32", "--no-record-components"],
    # A long capped run that hangs scipy's BDF (noise-floor plateau to t = 1e11).
    "r5_t1e11": ["--r", "5", "--ratio", "100.0", "--m", "5", "--t-max", "1e11", "--no-record-components",
                 "--first-seed", "3"],
    "d60": ["--d", "60", "--m", "300", "--ratio", "100", "--basis", "random", "--algorithm", "modified",
            "--no-record-components"],
}
DEFAULT_CASES = ("figure1", "spread10", "d30", "d6", "r5_t1e11")


def _run(argv: list[str], integrator: str, queue) -> None:
    from solver.spec import RunSpec

    spec = RunSpec.from_argv(argv + ["--integrator", integrator])
    t0, cpu0 = time.perf_counter(), time.process_time()
    traj = spec.solve()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    t_disc, _res = traj.discovery()
    meta = {k: traj.meta[k] for k in ("wall_seconds", "rhs_evals", "accepted_steps") if k in traj.meta}
    queue.put({"seconds": wall, "cpu_seconds": cpu, "t_disc": t_disc.tolist(), "work": meta, "cvode": traj.meta.get("cvode"),
               "final_loss": traj.loss[:, -1].tolist()})


def run_once(argv: list[str], integrator: str, timeout: float) -> dict:
    """One run in a forked process (a hung integrator is killed at ``timeout``); the libraries are imported before
    the fork, so the time is the run's, not torch's import."""
    import solver.flow  # noqa: F401
    import solver.integrators.cvode  # noqa: F401
    import sksundae.cvode  # noqa: F401

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(argv, integrator, queue))
    t0 = time.perf_counter()
    proc.start()
    try:
        out = queue.get(timeout=timeout)
    except Exception:
        out = {"seconds": None, "timed_out_after": time.perf_counter() - t0}
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    if out.get("seconds") is None and "timed_out_after" not in out:
        out["failed"] = True
    return out


def compare(name: str, repeat: int, timeout: float) -> dict:
    argv = CASES[name]
    runs: dict[str, list[dict]] = {"bdf": [], "cvode": []}
    for _ in range(repeat):  # alternating, so that a change of machine load hits both
        for integrator in ("bdf", "cvode"):
            runs[integrator].append(run_once(argv, integrator, timeout))
    best = {k: min((r for r in v if r.get("seconds") is not None), key=lambda r: r["seconds"], default=v[0])
            for k, v in runs.items()}
    out = {"case": name, "argv": " ".join(argv), "bdf": best["bdf"], "cvode": best["cvode"]}
    old, new = best["bdf"].get("seconds"), best["cvode"].get("seconds")
    if old is not None and new is not None:
        out["new_over_old"] = new / old
        out["cpu_new_over_old"] = best["cvode"]["cpu_seconds"] / best["bdf"]["cpu_seconds"]
        a, b = np.array(best["bdf"]["t_disc"]), np.array(best["cvode"]["t_disc"])
        both = ~np.isnan(a) & ~np.isnan(b)
        out["discovery_max_rel_deviation"] = float(np.max(np.abs(b[both] - a[both]) / a[both])) if both.any() else None
        out["discovered_by_one_only"] = int((np.isnan(a) != np.isnan(b)).sum())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="cases to run (default: all but d60)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for name in args.case or DEFAULT_CASES:
        result = compare(name, args.repeat, args.timeout)
        results.append(result)
        if not args.json:
            print(f"{name}: bdf {result['bdf'].get('seconds')} s, cvode {result['cvode'].get('seconds')} s, "
                  f"ratio {result.get('new_over_old')}, discovery deviation {result.get('discovery_max_rel_deviation')}",
                  flush=True)
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()


if __name__ == "__main__":
    main()

"""SUNDIALS CVODE against scipy's BDF on the CPU stiff path, or one code tree against another, side by side in one
script run (BENCHMARKS.md).

    python benchmarks/cvode.py --json                            # every case below, bdf against cvode
    python benchmarks/cvode.py --case d30 --json                 # one case
    python benchmarks/cvode.py --case d30 --before /tmp/old      # cvode here against cvode in the tree /tmp/old

Each case is a ``deflation run`` flag list run with ``--integrator bdf`` and ``--integrator cvode`` (same seeds,
same save times), or with ``--before ROOT`` with ``--integrator cvode`` from the code tree ``ROOT`` ("old") and from
this one ("new"), alternating, best of ``--repeat``. Every run is a fresh Python process with the libraries imported
before the clock starts. Reported per case: both wall and CPU times and their ratios (``new_over_old`` in wall
time, ``cpu_new_over_old`` in the process's CPU time, the steadier figure on a shared machine: every run is
single-threaded), both work counters, the largest relative deviation of the discovery times (``max |t_new - t_old| /
t_old`` over the components both discover), the components only one discovers, and a run's failure (its error
text). ``--timeout`` bounds each run (a run that does not finish in time is reported as such, not waited for).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

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
    # The quick sweep's reproduce line of that case, as the sweep prints it.
    "d6_sweep": ["--d", "6", "--r", "3", "--ratio", "10.0", "--basis", "random", "--algorithm", "modified", "--m", "6",
                 "--eps", "0.005"],
    # A long capped run on the float64 noise floor of a fitted state, to t = 1e11.
    "r5_t1e11": ["--r", "5", "--ratio", "100.0", "--m", "5", "--t-max", "1e11", "--no-record-components",
                 "--first-seed", "3"],
    "d60": ["--d", "60", "--m", "300", "--ratio", "100", "--basis", "random", "--algorithm", "modified",
            "--no-record-components"],
}
DEFAULT_CASES = ("figure1", "spread10", "d30", "d6", "r5_t1e11")


# One run in a child process: the clock starts after the imports, and a failure is reported, not raised.
_CHILD = """
import json, sys, time, traceback
import numpy as np
from solver.spec import RunSpec
import solver.flow, solver.integrators.cvode, sksundae.cvode
argv = json.loads(sys.argv[1])
t0, cpu0 = time.perf_counter(), time.process_time()
try:
    traj = RunSpec.from_argv(argv).solve()
except Exception as err:
    print(json.dumps({"seconds": None, "failed": f"{type(err).__name__}: {err}"[:500]}))
    sys.exit(0)
wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
meta = {k: traj.meta[k] for k in ("wall_seconds", "rhs_evals", "accepted_steps") if k in traj.meta}
print(json.dumps({"seconds": wall, "cpu_seconds": cpu, "t_disc": np.where(np.isnan(traj.discovery()[0]), None,
                  traj.discovery()[0]).tolist(), "work": meta, "cvode": traj.meta.get("cvode"),
                  "final_loss": traj.loss[:, -1].tolist()}))
"""


def run_once(argv: list[str], integrator: str, timeout: float, root: str | None = None) -> dict:
    """One run of ``deflation run argv --integrator integrator`` in a fresh process importing the code tree ``root``
    (default: this one), killed at ``timeout`` seconds."""
    root = root or str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(argv + ["--integrator", integrator])],
                              env=env, cwd=root, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "timed_out_after": timeout}
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"seconds": None, "failed": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    out = json.loads(lines[-1])
    out["t_disc"] = [np.nan if v is None else v for v in out.get("t_disc", [])]
    return out


def compare(name: str, repeat: int, timeout: float, before: str | None = None) -> dict:
    """Case ``name``: bdf ("old") against cvode ("new"), or with ``before`` cvode in that tree against cvode here."""
    argv = CASES[name]
    if before is None:
        labels = {"bdf": ("bdf", None), "cvode": ("cvode", None)}
    else:
        labels = {"before": ("cvode", before), "after": ("cvode", None)}
    runs: dict[str, list[dict]] = {label: [] for label in labels}
    for _ in range(repeat):  # alternating, so that a change of machine load hits both
        for label, (integrator, root) in labels.items():
            runs[label].append(run_once(argv, integrator, timeout, root))
    best = {k: min((r for r in v if r.get("seconds") is not None), key=lambda r: r["seconds"], default=v[0])
            for k, v in runs.items()}
    old_label, new_label = labels
    out = {"case": name, "argv": " ".join(argv), **best}
    if before is not None:
        out["before_tree"] = before
    old, new = best[old_label].get("seconds"), best[new_label].get("seconds")
    if old is not None and new is not None:
        out["new_over_old"] = new / old
        out["cpu_new_over_old"] = best[new_label]["cpu_seconds"] / best[old_label]["cpu_seconds"]
        a, b = np.array(best[old_label]["t_disc"], dtype=float), np.array(best[new_label]["t_disc"], dtype=float)
        both = ~np.isnan(a) & ~np.isnan(b)
        out["discovery_max_rel_deviation"] = float(np.max(np.abs(b[both] - a[both]) / a[both])) if both.any() else None
        out["discovered_by_one_only"] = int((np.isnan(a) != np.isnan(b)).sum())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="cases to run (default: all but d60)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--before", metavar="ROOT", help="a code tree whose cvode runs are compared with this one's")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for name in args.case or DEFAULT_CASES:
        result = compare(name, args.repeat, args.timeout, args.before)
        results.append(result)
        if not args.json:
            old, new = ("bdf", "cvode") if args.before is None else ("before", "after")
            print(f"{name}: {old} {result[old].get('seconds') or result[old]} s, {new} "
                  f"{result[new].get('seconds') or result[new]} s, ratio {result.get('new_over_old')}, "
                  f"discovery deviation {result.get('discovery_max_rel_deviation')}", flush=True)
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        print()


if __name__ == "__main__":
    main()

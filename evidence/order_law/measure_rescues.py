"""Rescues of the order law vs delta0: the same 20 plain-flow instances at delta0 = 1e-5 and 1e-15.

Instances (numpy seed 2021): d in [3, 6], r in {2, 3}, a_1 = 1 and ratios a_j/a_{j+1} uniform in [1.3, 10],
random basis, m in [r, 3r], plain flow to t = 60 / a_r (BDF, dense). Prints one JSON line per run and a summary.
Run: PYTHONPATH=. python evidence/order_law/measure_rescues.py > evidence/order_law/rescues.jsonl
"""

import json

import numpy as np

from solver.config import FlowConfig
from solver.spec import InstanceSpec, RunSpec
from verify.mlaw import check_run

rng = np.random.default_rng(2021)
instances = []
for i in range(20):
    d = int(rng.integers(3, 7))
    r = int(rng.integers(2, min(3, d) + 1))
    a = [1.0]
    for _ in range(r - 1):
        a.append(a[-1] / float(rng.uniform(1.3, 10.0)))
    m = int(rng.integers(r, 3 * r + 1))
    instances.append((InstanceSpec(d=d, a=tuple(a), basis="random", basis_seed=int(rng.integers(2**20))), m,
                      int(rng.integers(2**20))))
summary = {}
for delta0 in (1e-5, 1e-15):
    counts = {"exact": 0, "rescue": 0, "miss": 0}
    for instance, m, seed in instances:
        config = FlowConfig(algorithm="plain", m=m, delta0=delta0, t_max=60.0 / instance.a[-1], integrator="bdf",
                            linear_solver="dense", n_save=40, record_components=False)
        check = check_run(RunSpec(instance, config, first_seed=seed, n_seeds=1))
        kind = "exact" if check.agrees else ("miss" if check.missed else "rescue")
        counts[kind] += 1
        print(json.dumps({"delta0": delta0, "predicted": [j + 1 for j in check.predicted],
                          "observed": [j + 1 for j in check.observed], "kind": kind, "command": check.command}),
              flush=True)
    summary[f"{delta0:g}"] = counts
print(json.dumps({"summary": summary}))

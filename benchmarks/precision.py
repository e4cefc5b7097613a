"""Benchmarks of the high-precision backend; numbers go to BENCHMARKS.md, not tests.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/precision.py            # RHS cost per backend and digits
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/precision.py --figure1  # + Figure 1 to t=60 at 30 digits
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from solver.flow import initial_directions
from solver.instances import figure1_truth
from solver.precision import flint_available, make_arithmetic
from verify.precision import cross_check_figure1
from solver.precision.backend import FlowProblem


def rhs_seconds(backend: str, dps: int, d: int = 10, m: int = 50, repeats: int = 3) -> float:
    """Seconds per field evaluation of the Figure 1 instance (G is m x m x d)."""
    truth = figure1_truth(d)
    ar = make_arithmetic(backend, dps)
    with ar.context():
        problem = FlowProblem(ar, truth, 0.0)
        Y = np.empty((d + 1, m), dtype=object)
        Y[0] = ar.array(np.full(m, np.log(1e-15)))
        Y[1:] = ar.array(initial_directions(np.random.default_rng(0), d, m))
        problem.field(Y)
        start = time.perf_counter()
        for _ in range(repeats):
            problem.field(Y)
        return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--figure1", action="store_true")
    parser.add_argument("--figure1-backend", default="auto")
    args = parser.parse_args()
    backends = ["mpmath"] + (["flint"] if flint_available() else [])
    table = {b: {dps: rhs_seconds(b, dps) for dps in (30, 50, 100)} for b in backends}
    print(json.dumps({"rhs_seconds": table}, indent=1))
    if args.figure1:
        out = cross_check_figure1(dps=30, t_max=60.0, m=50, backend=args.figure1_backend)
        keep = ("backend", "max_rel_loss", "max_rel_residuals", "max_loss_dev_in_floors",
                "max_residual_dev_in_floors", "wall_seconds", "rhs_evals")
        print(json.dumps({k: out[k] for k in keep}, indent=1))


if __name__ == "__main__":
    main()

"""Stage ``figure1``: the paper's Figure 1 (plain flow, 5 seeds) with the solver, and its figure.

``results``: ``{"instance": {...}, "runs": Trajectory.summary()["runs"], "discovery_rank": [[...]],
"ordered": [bool], "first_is_largest": [bool], "recovered_all": [bool], "loss_floor": float}``.
``discovery_rank[b]`` lists the directions (1-based) in the order run ``b`` discovered them (a direction is
discovered when its residual first falls to ``a_j/2``, :meth:`Trajectory.discovery`); ``ordered[b]`` says
whether that order is the order of decreasing ``a_j`` with every direction discovered. The trajectory is
left in ``ctx.artifacts["figure1"]`` for the invariants and precision stages.
"""

from __future__ import annotations

import time

import numpy as np

from ...experiments import figure1_spec, write_figure1
from .._types import Figure, RunRecord, Stage, StageContext, StageResult

NAME = "figure1"


def discovery_summary(t_disc: np.ndarray, a: np.ndarray) -> tuple[list[list[int]], list[bool], list[bool]]:
    """Per run: directions (1-based) by discovery time (undiscovered last, omitted), whether the order is
    that of decreasing ``a`` with all discovered, and whether the first discovered has the largest ``a``."""
    ranks, ordered, first = [], [], []
    for b in range(t_disc.shape[0]):
        found = [j for j in np.argsort(np.where(np.isnan(t_disc[b]), np.inf, t_disc[b]), kind="stable")
                 if not np.isnan(t_disc[b, j])]
        ranks.append([int(j) + 1 for j in found])
        by_size = list(np.argsort(-a[b], kind="stable"))
        ordered.append(len(found) == a.shape[1] and all(int(x) == int(y) for x, y in zip(found, by_size)))
        first.append(bool(found) and int(found[0]) == int(by_size[0]))
    return ranks, ordered, first


def run(ctx: StageContext, result: StageResult) -> None:
    p = ctx.profile
    start = time.perf_counter()
    spec = figure1_spec(seeds=p.figure1_seeds, d=p.figure1_d, m=p.figure1_m, t_max=p.figure1_t_max,
                        device=ctx.device)
    trajectory = spec.solve(progress=ctx.progress)
    seconds = time.perf_counter() - start
    command = spec.command(extra=["--out", "results/figure1"])
    folder = ctx.out / "runs" / "figure1"
    write_figure1(trajectory, folder)
    t_disc, resolution = trajectory.discovery()
    ranks, ordered, first = discovery_summary(t_disc, trajectory.a)
    recovered = trajectory.recovered()
    result.results = {
        "instance": {"d": p.figure1_d, "m": p.figure1_m, "r": int(trajectory.a.shape[1]), "order": trajectory.order,
                     "a": trajectory.a[0].tolist(), "delta0": trajectory.config["delta0"], "t_max": p.figure1_t_max},
        "runs": trajectory.summary()["runs"],
        "discovery_rank": ranks,
        "ordered": ordered,
        "first_is_largest": first,
        "recovered_all": [bool(v) for v in recovered.all(axis=1)],
        "mean_discovery_times": [None if np.all(np.isnan(col)) else float(np.nanmean(col)) for col in t_disc.T],
        "loss_floor": float(np.nanmax(trajectory.loss_floor[:, -1])),
    }
    result.runs.append(RunRecord(label="Figure 1 (plain flow)", command=command, config=trajectory.config,
                                 seeds=list(trajectory.seeds), ground_truth=result.results["instance"],
                                 seconds=seconds))
    result.figures.append(Figure(
        id="figure1", title="Figure 1: plain gradient flow",
        caption=(f"Plain flow, T* = sum_i a_i e_i^4 in R^{p.figure1_d}, a_i/a_(i+1) = 1.2, m = {p.figure1_m}, "
                 f"initial norm 1e-15, {p.figure1_seeds} seeds (one line style each). Left: the loss with its "
                 "float64 resolution floor (grey; values under it are not drawn). Right: the residual on each e_i."),
        path=str((folder / "figure1.svg").relative_to(ctx.out)), claims=["P1", "P4", "P5", "P6", "P12"]))
    ctx.artifacts[NAME] = trajectory


STAGE = Stage(NAME, "Figure 1: plain flow on the paper's instance", run)

"""Stage ``figure1``: the paper's Figure 1 (plain flow, 5 seeds) with the solver, and its figure.

``results``: :class:`Figure1Result`. ``discovery_rank[b]`` lists the directions (1-based) in the order run
``b`` discovered them (a direction is discovered when its residual first falls to ``a_j/2``,
:meth:`Trajectory.discovery`); ``ordered[b]`` says whether that order is the order of decreasing ``a_j`` with
every direction discovered. The trajectory is left in ``ctx.artifacts["figure1"]`` for the invariants stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solver.spec import RunSpec

from ...experiments import figure1_spec, write_figure1
from .._types import Figure, RunRecord, Stage, StageContext, StageResult

NAME = "figure1"


@dataclass
class Figure1Result:
    """The runs of ``spec`` (:func:`verify.experiments.figure1_spec` at the profile's sizes). Per run ``b``
    (seed ``seeds[b]``): discovery times (None: never; resolution: the save interval), the discovery order,
    whether it is the order of decreasing ``a_j`` / starts with the largest, whether every direction is fitted
    at the end (``|res_j| <= 0.1 a_j``), and the final loss with its float64 floor."""

    spec: RunSpec
    seeds: list[int]
    discovery_times: list[list[float | None]]
    discovery_rank: list[list[int]]
    ordered: list[bool]
    first_is_largest: list[bool]
    recovered_all: list[bool]
    mean_discovery_times: list[float | None]
    final_loss: list[float]
    loss_floor: float


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


def _times(row: np.ndarray) -> list[float | None]:
    return [None if np.isnan(t) else float(t) for t in row]


def run(ctx: StageContext, result: StageResult) -> None:
    p = ctx.profile
    start = time.perf_counter()
    spec = figure1_spec(seeds=p.figure1_seeds, d=p.figure1_d, m=p.figure1_m, t_max=p.figure1_t_max,
                        device=ctx.device)
    trajectory = spec.solve(progress=ctx.progress)
    seconds = time.perf_counter() - start
    folder = ctx.out / "runs" / "figure1"
    write_figure1(trajectory, folder)
    t_disc, _ = trajectory.discovery()
    ranks, ordered, first = discovery_summary(t_disc, trajectory.a)
    result.results = Figure1Result(
        spec=spec, seeds=spec.seeds, discovery_times=[_times(row) for row in t_disc],
        discovery_rank=ranks, ordered=ordered, first_is_largest=first,
        recovered_all=[bool(v) for v in trajectory.recovered().all(axis=1)],
        mean_discovery_times=[None if np.all(np.isnan(col)) else float(np.nanmean(col)) for col in t_disc.T],
        final_loss=[float(x) for x in trajectory.loss[:, -1]],
        loss_floor=float(np.nanmax(trajectory.loss_floor[:, -1])))
    result.runs.append(RunRecord(label="Figure 1 (plain flow)",
                                 command=spec.command(extra=["--out", "results/figure1"]),
                                 config=trajectory.config, seeds=spec.seeds, ground_truth=spec.to_dict()["instance"],
                                 seconds=seconds))
    result.figures.append(Figure(
        id="figure1", title="Figure 1: plain gradient flow",
        caption=(f"Plain flow, $T^* = \\sum_i a_i e_i^{{\\otimes 4}}$ in $\\mathbb{{R}}^{{{p.figure1_d}}}$, "
                 f"$a_i/a_{{i+1}} = 1.2$, $m = {p.figure1_m}$, "
                 f"initial norm 1e-15, {p.figure1_seeds} seeds (one line style each). Left: the loss with its "
                 "float64 resolution floor (grey band); the loss is drawn only where it exceeds 4 floors, since "
                 "nearer the floor it is rounding noise. Right: the residual on each $e_i$."),
        path=str((folder / "figure1.svg").relative_to(ctx.out)), claims=["P1", "P4", "P5", "P6", "P12"]))
    ctx.artifacts[NAME] = trajectory


STAGE = Stage(NAME, "Figure 1: plain flow on the paper's instance", run)

"""Stage ``scale``: Algorithm 1 past the paper's toy sizes.

The spread spectrum ``a_i = 10^{-2(i-1)}``, ``i <= 5``, sits on a random orthonormal basis (seed 0), at each
``d`` of ``profile.scale_dims`` with ``m = profile.scale_m_per_d * d``. It uses the defaults otherwise. Theorem 1
(P7) is about large ``d`` with ``m = poly(d)``, and one such run takes under a minute at d = 30.

``results``: :class:`ScaleResult`, one :class:`ScaleRow` per ``d``. P7 cites them and requires them to
recover every direction (:func:`verify.audit.ledger.decide_p7`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from solver.config import FlowConfig
from solver.spec import InstanceSpec, RunSpec

from .._types import Figure, RunRecord, Stage, StageContext, StageResult
from ..figures import plot_flows_side_by_side
from .spread import RATIO

NAME = "scale"


@dataclass
class ScaleRow:
    """One Algorithm 1 run at dimension ``d``.

    ``recovered``: the final residual of direction ``j`` is at most ``0.1 a_j``. ``in_order``: the directions
    that were discovered were discovered in the order of the ``a_j``. ``discovery_times``: the first time the
    residual on ``u_j`` falls to ``a_j/2``, or None if it never does. ``final_loss`` comes with its float64
    resolution floor, ``loss_floor``.
    """

    d: int
    m: int
    command: str
    recovered: list[bool]
    recovered_all: bool
    in_order: bool
    discovery_times: list[float | None]
    final_loss: float
    loss_floor: float
    epochs: int
    rhs_evals: int
    seconds: float


@dataclass
class ScaleResult:
    coefficients: list[float]
    eps: float
    m_per_d: int
    rows: list[ScaleRow] = field(default_factory=list)


def run(ctx: StageContext, result: StageResult) -> None:
    p = ctx.profile
    coefficients = InstanceSpec(r=p.scale_r, ratio=RATIO).coefficients().tolist()  # the same at every d
    stage_result = ScaleResult(coefficients=coefficients, eps=p.scale_eps, m_per_d=p.scale_m_per_d)
    result.results = stage_result
    panels = []
    for d in p.scale_dims:
        m = p.scale_m_per_d * d
        spec = RunSpec(InstanceSpec(d=d, r=p.scale_r, ratio=RATIO, order=4, basis="random", basis_seed=0),
                       FlowConfig(algorithm="modified", m=m, eps=p.scale_eps, device="cpu", record_components=False))
        ctx.progress.message(f"scale: Algorithm 1 at d = {d}, m = {m}")
        start = time.perf_counter()
        trajectory = spec.solve(progress=ctx.progress)
        seconds = time.perf_counter() - start
        trajectory.save(ctx.out / "runs" / f"scale-d{d}")
        command = spec.command(extra=["--out", f"results/scale-d{d}"])
        t_disc = trajectory.discovery()[0][0]
        found = [float(t) for t in t_disc if not math.isnan(t)]
        recovered = [bool(v) for v in trajectory.recovered()[0]]
        stage_result.rows.append(ScaleRow(
            d=d, m=m, command=command, recovered=recovered, recovered_all=all(recovered),
            in_order=found == sorted(found),
            discovery_times=[None if math.isnan(t) else float(t) for t in t_disc],
            final_loss=float(trajectory.loss[0, -1]), loss_floor=float(trajectory.loss_floor[0, -1]),
            epochs=len(trajectory.config.get("epochs", [])), rhs_evals=int(trajectory.meta["rhs_evals"]),
            seconds=seconds))
        result.runs.append(RunRecord(label=f"Algorithm 1, spread spectrum, random basis, d = {d}, m = {m}",
                                     command=command, config=trajectory.config, seeds=spec.seeds,
                                     ground_truth=spec.to_dict()["instance"], seconds=seconds))
        panels.append((f"d = {d}, m = {m}", trajectory))
    if not panels:
        return
    stem = ctx.out / "figures" / "scale"
    plot_flows_side_by_side(panels, stem, title="Algorithm 1 on the spread spectrum, random orthonormal basis")
    result.figures.append(Figure(
        id="scale", title="Algorithm 1 at larger d",
        caption=(r"Relative residual $(T^*-T)(u_j^{\otimes l})/a_j$ of each direction (0: fitted) against time, "
                 f"$a_i = 10^{{-2(i-1)}}$, $i \\le {p.scale_r}$, random orthonormal basis, $m = {p.scale_m_per_d} d$, "
                 f"defaults ($\\epsilon = {p.scale_eps:g}$; scipy BDF, dense LU up to 400 unknowns, else matrix-free "
                 "GMRES)."),
        path="figures/scale.svg", claims=["P7"]))


STAGE = Stage(NAME, "Algorithm 1 at larger d", run)

"""Stage ``spread``: plain vs modified flow on the spread spectrum ``a_i = 10^{-2(i-1)}`` (SPEC section 2).

``results``: :class:`SpreadResult` (the instance, and a :class:`FlowOutcome` for each flow). The trajectories
go to ``ctx.artifacts["spread"]`` (``{"plain": Trajectory, "modified": Trajectory}``) for the invariants stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from solver.config import FlowConfig
from solver.instances import SPREAD_RATIO
from solver.spec import InstanceSpec, RunSpec

from .._types import Figure, RunRecord, Stage, StageContext, StageResult
from ..figures import plot_flows_side_by_side

NAME = "spread"
RATIO = SPREAD_RATIO  # a_i / a_{i+1}: a_i = 10^{-2(i-1)}


@dataclass
class FlowOutcome:
    """The runs of ``spec``: per run (seed ``seeds[b]``) which directions are fitted at the end
    (``|res_j| <= 0.1 a_j``), their count, the final loss (with its float64 floor ``loss_floor``), the
    re-initializations and the discovery times;
    ``t_max`` is the time the runs reached."""

    spec: RunSpec
    seeds: list[int]
    t_max: float | None
    recovered: list[list[bool]]
    recovered_all: list[bool]
    fitted: list[int]
    final_loss: list[float]
    reinitializations: list[int]
    discovery_times: list[list[float | None]]
    seconds: float
    loss_floor: list[float] | None = None  # per run, the float64 resolution floor of the final loss


@dataclass
class SpreadResult:
    instance: InstanceSpec
    plain: FlowOutcome
    modified: FlowOutcome


def _outcome(trajectory, spec: RunSpec, seconds: float) -> FlowOutcome:
    summary = trajectory.summary()
    recovered = trajectory.recovered()
    return FlowOutcome(spec=spec, seeds=spec.seeds, t_max=float(trajectory.times[-1]), recovered=recovered.tolist(),
                       recovered_all=[bool(v) for v in recovered.all(axis=1)],
                       fitted=[int(v) for v in recovered.sum(axis=1)],
                       final_loss=[float(x) for x in trajectory.loss[:, -1]],
                       reinitializations=[int(r["reinitializations"]) for r in summary["runs"]],
                       discovery_times=summary["discovery_times"], seconds=seconds,
                       loss_floor=[float(x) for x in trajectory.loss_floor[:, -1]])


def run(ctx: StageContext, result: StageResult) -> None:
    p = ctx.profile
    instance_spec = InstanceSpec(d=p.spread_d, r=p.spread_r, ratio=RATIO, order=4, basis="identity")
    flows = {
        "plain": RunSpec(instance_spec, FlowConfig(algorithm="plain", m=p.spread_m, t_max=p.spread_plain_t_max,
                                                   device="cpu"), n_seeds=p.spread_plain_seeds),
        # BDF with the analytic Jacobian and the paper's norm rule (SPEC section 2's measured setting); dense LU
        # (what auto picks at m (d+1) = 550 unknowns) is pinned so the recorded command stays exact.
        "modified": RunSpec(instance_spec, FlowConfig(algorithm="modified", m=p.spread_m, eps=p.spread_modified_eps,
                                                      device="cpu", linear_solver="dense"),
                            n_seeds=p.spread_modified_seeds),
    }
    trajectories, outcomes = {}, {}
    for label, spec in flows.items():
        ctx.progress.message(f"spread: {label} flow, {spec.n_seeds} seed(s)")
        start = time.perf_counter()
        trajectory = spec.solve(progress=ctx.progress)
        seconds = time.perf_counter() - start
        trajectory.save(ctx.out / "runs" / f"spread-{label}")
        trajectories[label] = trajectory
        outcomes[label] = _outcome(trajectory, spec, seconds)
        result.runs.append(RunRecord(label=f"spread spectrum, {label} flow",
                                     command=spec.command(extra=["--out", f"results/spread-{label}"]),
                                     config=trajectory.config, seeds=spec.seeds, ground_truth=spec.to_dict()["instance"],
                                     seconds=seconds))
    result.results = SpreadResult(instance=instance_spec, plain=outcomes["plain"], modified=outcomes["modified"])
    stem = ctx.out / "figures" / "spread"
    plot_flows_side_by_side([("plain flow", trajectories["plain"]), ("modified flow (Algorithm 1)",
                                                                     trajectories["modified"])], stem,
                            title=f"Spread spectrum $a_i = 10^{{-2(i-1)}}$, $d = {p.spread_d}$, $m = {p.spread_m}$")
    result.figures.append(Figure(
        id="spread", title="Plain vs modified flow on the spread spectrum",
        caption=(r"Relative residual $(T^*-T)(u_j^{\otimes l})/a_j$ of each direction (0: fitted) against time, "
                 f"$a_i = 10^{{-2(i-1)}}$, $i \\le {p.spread_r}$, $d = {p.spread_d}$, $m = {p.spread_m}$. Left: plain "
                 f"flow to $t = {p.spread_plain_t_max:g}$. Right: Algorithm 1 (BDF with dense LU, norm "
                 rf"re-initialization rule, $\delta_1 = 10^{{-5}}$, $\epsilon = {p.spread_modified_eps:g}$)."),
        path="figures/spread.svg", claims=["P7", "P12"]))
    ctx.artifacts[NAME] = trajectories


STAGE = Stage(NAME, "Plain vs modified flow on the spread spectrum", run)

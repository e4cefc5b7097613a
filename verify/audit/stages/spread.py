"""Stage ``spread``: plain vs modified flow on the spread spectrum ``a_i = 10^{-2(i-1)}`` (SPEC section 2).

``results``: ``{"instance": {...}, "plain": FLOW, "modified": FLOW}`` with ``FLOW = {"seeds", "recovered":
[[bool per direction] per run], "recovered_all": [bool per run], "fitted": [int per run], "final_loss",
"reinitializations": [int per run], "seconds"}``. The trajectories go to ``ctx.artifacts["spread"]``
(``{"plain": Trajectory, "modified": Trajectory}``) for the invariants stage.
"""

from __future__ import annotations

import time

from solver.config import FlowConfig
from solver.spec import InstanceSpec, RunSpec

from .._types import Figure, RunRecord, Stage, StageContext, StageResult
from ..figures import plot_flows_side_by_side

NAME = "spread"
RATIO = 100.0  # a_i / a_{i+1}: a_i = 10^{-2(i-1)}


def _flow_summary(trajectory, seconds: float) -> dict:
    summary = trajectory.summary()
    recovered = trajectory.recovered()
    return {"seeds": list(trajectory.seeds), "recovered": recovered.tolist(),
            "recovered_all": [bool(v) for v in recovered.all(axis=1)],
            "fitted": [int(v) for v in recovered.sum(axis=1)],
            "final_loss": summary["final_loss"],
            "reinitializations": [r["reinitializations"] for r in summary["runs"]],
            "discovery_times": summary["discovery_times"], "seconds": seconds}


def run(ctx: StageContext, result: StageResult) -> None:
    p = ctx.profile
    instance_spec = InstanceSpec(d=p.spread_d, r=p.spread_r, ratio=RATIO, order=4, basis="identity")
    instance = {"d": p.spread_d, "m": p.spread_m, "r": p.spread_r, "order": 4,
                "a": instance_spec.coefficients().tolist(), "delta0": FlowConfig().delta0}
    flows = {
        "plain": RunSpec(instance_spec, FlowConfig(algorithm="plain", m=p.spread_m, t_max=p.spread_plain_t_max,
                                                   device="cpu"), n_seeds=p.spread_plain_seeds),
        # BDF with the analytic Jacobian and the paper's norm rule (SPEC section 2's measured setting); dense LU
        # (what auto picks at m (d+1) = 550 unknowns) is pinned so the recorded command stays exact.
        "modified": RunSpec(instance_spec, FlowConfig(algorithm="modified", m=p.spread_m, eps=p.spread_modified_eps,
                                                      device="cpu", linear_solver="dense"),
                            n_seeds=p.spread_modified_seeds),
    }
    trajectories = {}
    results: dict = {"instance": instance}
    for label, spec in flows.items():
        ctx.progress.message(f"spread: {label} flow, {spec.n_seeds} seed(s)")
        start = time.perf_counter()
        trajectory = spec.solve(progress=ctx.progress)
        seconds = time.perf_counter() - start
        command = spec.command(extra=["--out", f"results/spread-{label}"])
        trajectory.save(ctx.out / "runs" / f"spread-{label}")
        trajectories[label] = trajectory
        results[label] = _flow_summary(trajectory, seconds)
        result.runs.append(RunRecord(label=f"spread spectrum, {label} flow", command=command,
                                     config=trajectory.config, seeds=spec.seeds, ground_truth=instance,
                                     seconds=seconds))
    result.results = results
    stem = ctx.out / "figures" / "spread"
    plot_flows_side_by_side([("plain flow", trajectories["plain"]), ("modified flow (Algorithm 1)",
                                                                     trajectories["modified"])], stem,
                            title=f"Spread spectrum a_i = 10^(-2(i-1)), d = {p.spread_d}, m = {p.spread_m}")
    result.figures.append(Figure(
        id="spread", title="Plain vs modified flow on the spread spectrum",
        caption=(f"Relative residual (T*-T)(u_j^l)/a_j of each direction (0: fitted) against time, a_i = "
                 f"10^(-2(i-1)), i <= {p.spread_r}, d = {p.spread_d}, m = {p.spread_m}. Left: plain flow to t = "
                 f"{p.spread_plain_t_max:g}. Right: Algorithm 1 (BDF with dense LU, norm re-initialization "
                 "rule, delta1 = 1e-5, "
                 f"eps = {p.spread_modified_eps:g})."),
        path="figures/spread.svg", claims=["P7", "P12"]))
    ctx.artifacts[NAME] = trajectories


STAGE = Stage(NAME, "Plain vs modified flow on the spread spectrum", run)

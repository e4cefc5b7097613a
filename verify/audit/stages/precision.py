"""Stage ``precision``: float64 vs the high-precision backend on the Figure 1 instance
(:func:`verify.precision.cross_check_figure1`; the two runs are :func:`verify.precision.cross_check_specs`).

``results``: :class:`PrecisionResult`: the library's maximum relative deviations where float64 resolves the
value to the claimed agreement (None when float64 resolved no point), the same over every point above the
rounding floor, the deviations in units of the float64 floor, the point counts, and ``agree`` (both
deviations within ``tolerance``, the library's ``AGREEMENT`` 1e-10). The curves go to the figure.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .._types import Figure, RunRecord, Stage, StageContext, StageResult
from ..figures import plot_cross_check

NAME = "precision"


@dataclass
class PrecisionResult:
    dps: int
    backend: str
    t_max: float
    m: int
    seed: int
    rtol64: float
    tolerance: float
    max_rel_loss: float | None
    max_rel_residuals: float | None
    max_rel_loss_rounding_only: float | None
    max_rel_residuals_rounding_only: float | None
    max_loss_dev_in_floors: float
    max_residual_dev_in_floors: float
    compared_loss_points: int
    compared_residual_points: int
    excluded_by_trajectory_error: int
    float64_floor_min: float
    wall_seconds: dict[str, float]
    rhs_evals: dict[str, int]
    seconds: float

    @property
    def agree(self) -> bool | None:
        """Both deviations within ``tolerance``; None when float64 resolved no point of one of them."""
        if self.max_rel_loss is None or self.max_rel_residuals is None:
            return None
        return max(self.max_rel_loss, self.max_rel_residuals) <= self.tolerance

    def to_dict(self) -> dict:
        from solver.trajectory import json_safe

        return {**{k: json_safe(v) for k, v in self.__dict__.items()}, "agree": self.agree}


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(float(value)) else None


def run(ctx: StageContext, result: StageResult) -> None:
    from verify import precision

    p = ctx.profile
    ctx.progress.message(f"precision: Figure 1 instance, 1 seed, t <= {p.precision_t_max:g}, {p.precision_dps} digits")
    start = time.perf_counter()
    data = precision.cross_check_figure1(dps=p.precision_dps, t_max=p.precision_t_max, m=p.precision_m)
    seconds = time.perf_counter() - start
    spec64, spec_hp = precision.cross_check_specs(dps=p.precision_dps, t_max=p.precision_t_max, m=p.precision_m,
                                                  seed=data["seed"], rtol64=data["rtol64"])
    result.results = PrecisionResult(
        dps=data["dps"], backend=data["backend"], t_max=data["t_max"], m=data["m"], seed=data["seed"],
        rtol64=data["rtol64"], tolerance=float(data["agreement_claimed"]),
        max_rel_loss=_finite(data["max_rel_loss"]), max_rel_residuals=_finite(data["max_rel_residuals"]),
        max_rel_loss_rounding_only=_finite(data["max_rel_loss_rounding_only"]),
        max_rel_residuals_rounding_only=_finite(data["max_rel_residuals_rounding_only"]),
        max_loss_dev_in_floors=data["max_loss_dev_in_floors"],
        max_residual_dev_in_floors=data["max_residual_dev_in_floors"],
        compared_loss_points=data["compared_loss_points"], compared_residual_points=data["compared_residual_points"],
        excluded_by_trajectory_error=data["excluded_by_trajectory_error"],
        float64_floor_min=float(np.min(data["float64_floor"])), wall_seconds=data["wall_seconds"],
        rhs_evals=data["rhs_evals"], seconds=seconds)
    command = (spec64.command(extra=["--out", "results/xcheck-float64"]) + " && "
               + spec_hp.command("precision", ["--dps", str(p.precision_dps), "--hp-integrator", "gbs",
                                               "--out", "results/xcheck-hp"]))
    result.runs.append(RunRecord(label="float64 vs high precision (Figure 1 instance)", command=command,
                                 config={"float64": data["trajectories"]["float64"].config,
                                         "high_precision": data["trajectories"]["high_precision"].config,
                                         "dps": p.precision_dps, "backend": data["backend"]},
                                 seeds=spec64.seeds, ground_truth=spec64.to_dict()["instance"], seconds=seconds))
    plot_cross_check({"t": data["times"], "float64": data["loss_float64"], "high": data["loss_high_precision"],
                      "floor": data["float64_floor"]}, ctx.out / "figures" / "precision",
                     title=f"float64 vs {p.precision_dps} digits ({data['backend']}), Figure 1 instance, seed 0",
                     target=float(data["agreement_claimed"]))
    result.figures.append(Figure(
        id="precision", title="float64 vs high precision",
        caption=(f"Relative deviation of the float64 solver's loss (Dormand-Prince, rtol {data['rtol64']:g}) from "
                 f"the {p.precision_dps}-digit backend's on the Figure 1 instance to t = {p.precision_t_max:g}, at "
                 "every save time where float64 resolves the loss (above its rounding floor); grey: the deviation "
                 "rounding alone explains (floor / loss); dotted: the agreement target. The table's maxima also "
                 "exclude points where a control run at 10x the tolerance disagrees by more than 1e-10 (the "
                 "float64 trajectory's own error)."),
        path="figures/precision.svg", claims=["P7", "P11"]))


STAGE = Stage(NAME, "float64 vs high precision on the Figure 1 instance", run)

"""Stage ``precision``: float64 vs the high-precision backend on the Figure 1 instance (issue 5,
:func:`verify.precision.cross_check_figure1`).

``results``: the library's scalars -- ``max_rel_loss`` and ``max_rel_residuals`` (maximum relative deviations
where float64 resolves the value to the claimed agreement), ``max_loss_dev_in_floors``,
``max_residual_dev_in_floors``, ``compared_loss_points``, ``compared_residual_points``, ``dps``, ``backend``,
``t_max``, ``m``, ``seed``, ``wall_seconds``, ``rhs_evals`` -- plus ``tolerance`` (the library's
``agreement_claimed``, 1e-10), ``agree`` (both deviations within it; None when float64 resolved no point)
and ``float64_floor_min`` (the smallest float64 loss floor on the curve). The curves go to the figure.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .._types import Figure, RunRecord, Stage, StageContext, StageResult
from ..figures import plot_cross_check

NAME = "precision"
_SCALARS = ("dps", "backend", "t_max", "m", "seed", "rtol64", "max_rel_loss", "max_rel_residuals",
            "max_rel_loss_rounding_only", "max_rel_residuals_rounding_only", "max_loss_dev_in_floors",
            "max_residual_dev_in_floors", "compared_loss_points", "compared_residual_points",
            "excluded_by_trajectory_error", "wall_seconds", "rhs_evals")


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def run(ctx: StageContext, result: StageResult) -> None:
    from verify import precision

    p = ctx.profile
    ctx.progress.message(f"precision: Figure 1 instance, 1 seed, t <= {p.precision_t_max:g}, {p.precision_dps} digits")
    start = time.perf_counter()
    data = precision.cross_check_figure1(dps=p.precision_dps, t_max=p.precision_t_max, m=p.precision_m)
    seconds = time.perf_counter() - start
    out = {k: data[k] for k in _SCALARS if k in data}
    tolerance = float(data.get("agreement_claimed", 1e-10))
    loss_dev, res_dev = _finite(data.get("max_rel_loss")), _finite(data.get("max_rel_residuals"))
    out.update({"max_rel_loss": loss_dev, "max_rel_residuals": res_dev, "tolerance": tolerance,
                "agree": None if loss_dev is None or res_dev is None else max(loss_dev, res_dev) <= tolerance,
                "float64_floor_min": float(np.min(data["float64_floor"])), "seconds": seconds})
    result.results = out
    # The comparison itself is a library function; these two runs are its two sides (same save grid).
    common = f"--m {p.precision_m} --t-max {p.precision_t_max:g} --n-save 60"
    rtol64 = float(data.get("rtol64", 1e-15))
    command = (f"deflation run {common} --integrator dopri5 --rtol {rtol64:g} --atol {rtol64 * 1e-2:g} "
               f"--out results/xcheck-float64 "
               f"&& deflation precision {common} --dps {p.precision_dps} --hp-integrator gbs "
               f"--out results/xcheck-hp")
    result.runs.append(RunRecord(label="float64 vs high precision (Figure 1 instance)", command=command,
                                 config={"dps": p.precision_dps, "t_max": p.precision_t_max, "m": p.precision_m,
                                         "float64": data["trajectories"]["float64"].config,
                                         "backend": data.get("backend")},
                                 seeds=[int(data.get("seed", 0))],
                                 ground_truth={"d": 10, "r": 5, "ratio": 1.2, "order": 4, "basis": "identity"},
                                 seconds=seconds))
    plot_cross_check({"t": data["times"], "float64": data["loss_float64"], "high": data["loss_high_precision"],
                      "floor": data["float64_floor"]}, ctx.out / "figures" / "precision",
                     title=f"float64 vs {p.precision_dps} digits ({data.get('backend')}), Figure 1 instance, seed 0")
    result.figures.append(Figure(
        id="precision", title="float64 vs high precision",
        caption=(f"Loss of the float64 solver (Dormand-Prince, rtol {rtol64:g}) and of the {p.precision_dps}-digit "
                 f"backend on the Figure 1 instance to t = {p.precision_t_max:g}. Below the float64 resolution floor "
                 "(grey) only the high-precision curve is meaningful; deviations are measured only where float64 "
                 "resolves the value: above its rounding floor and where a control run at 10x the tolerance "
                 "agrees to 1e-10 (the float64 trajectory's own error)."),
        path="figures/precision.svg", claims=["P7", "P11"]))


STAGE = Stage(NAME, "float64 vs high precision on the Figure 1 instance", run)

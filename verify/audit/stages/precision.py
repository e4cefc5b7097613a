"""Stage ``precision``: float64 vs the high-precision backend on the Figure 1 instance (issue 5,
``verify.precision.cross_check_figure1``).

``results``: the library's dict (maximum relative deviations of the loss and the residuals where float64
resolves them, the float64 floor, both curves), with the curves moved to the figure, plus
``"tolerance"`` (1e-10, the issue's agreement target) and ``"agree"`` (both deviations within it).
"""

from __future__ import annotations

import math
import time

from .._types import Figure, RunRecord, Stage, StageContext, StageResult
from ..figures import plot_cross_check

NAME = "precision"
TOLERANCE = 1e-10  # issue 5: agree to 1e-10 relative wherever float64 resolves the value


def _max_deviation(data: dict, *names: str) -> float | None:
    """The first of ``names`` present in ``data`` (the library's key for a deviation), as a float."""
    for name in names:
        if name in data and data[name] is not None:
            value = data[name]
            if isinstance(value, (list, tuple)):
                value = max(float(v) for v in value) if value else 0.0
            return float(value)
    return None


def run(ctx: StageContext, result: StageResult) -> None:
    from verify import precision

    p = ctx.profile
    ctx.progress.message(f"precision: Figure 1 instance, 1 seed, t <= {p.precision_t_max:g}, {p.precision_dps} digits")
    start = time.perf_counter()
    data = dict(precision.cross_check_figure1(dps=p.precision_dps, t_max=p.precision_t_max, m=p.precision_m))
    seconds = time.perf_counter() - start
    curves = data.pop("curves", None)
    loss_dev = _max_deviation(data, "max_rel_loss", "loss_max_rel", "loss_rel_dev", "max_rel_dev_loss")
    res_dev = _max_deviation(data, "max_rel_residuals", "residuals_max_rel", "residual_rel_dev",
                             "max_rel_dev_residuals")
    data["tolerance"] = TOLERANCE
    data["agree"] = (loss_dev is not None and res_dev is not None and math.isfinite(loss_dev)
                     and math.isfinite(res_dev) and max(loss_dev, res_dev) <= TOLERANCE)
    data["max_rel_loss_deviation"] = loss_dev
    data["max_rel_residual_deviation"] = res_dev
    data["seconds"] = seconds
    result.results = data
    command = f"deflation precision --d 10 --m {p.precision_m} --t-max {p.precision_t_max:g} --dps {p.precision_dps}"
    result.runs.append(RunRecord(label="float64 vs high precision (Figure 1 instance)", command=command,
                                 config={"dps": p.precision_dps, "t_max": p.precision_t_max, "m": p.precision_m},
                                 seeds=[0], ground_truth={"d": 10, "r": 5, "ratio": 1.2, "order": 4},
                                 seconds=seconds))
    if curves:
        plot_cross_check(curves, ctx.out / "figures" / "precision",
                         title=f"float64 vs {p.precision_dps} digits, Figure 1 instance, seed 0")
        result.figures.append(Figure(
            id="precision", title="float64 vs high precision",
            caption=("Loss of the float64 solver and of the high-precision backend on the Figure 1 instance. "
                     "Below the float64 resolution floor (grey) only the high-precision curve is meaningful; "
                     "the deviations in the ledger are measured only where float64 resolves the value."),
            path="figures/precision.svg", claims=["P7", "P11"]))


STAGE = Stage(NAME, "float64 vs high precision on the Figure 1 instance", run)

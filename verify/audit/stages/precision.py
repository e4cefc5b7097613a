"""Stage ``precision``: float64 vs the high-precision backend on the stiff Algorithm 1 path that P7 relies on.

The trust check must run where the float64 evidence comes from: the same Algorithm 1 instance (a spread spectrum,
re-initializations, long late epochs where a fitted component relaxes at rate ~4 a_1 while the next is found on
the time scale 1/a_2) integrated by the float64 solver with BDF and by the high-precision backend (flint when
installed, else mpmath) with Radau IIA at ``dps`` digits (:func:`cross_check_algorithm1`). Tiny sizes (d = 3,
m = 4, a = (1, 1e-2), three epochs to t ~ 1.1e4) keep it affordable in the quick profile: measured 5 s float64
+ ~55 s at 30 digits (mpmath, 2 busy cores).

``results``: :class:`PrecisionResult`: the maximum relative deviations of the loss and of the residuals at the
save times where float64 resolves them (value above ``RESOLVED`` times its rounding floor; None when it resolved
no point), the deviations in units of the float64 floor over all save times, the point counts, and ``agree``
(both deviations within ``tolerance``). The curves go to the figure.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .._types import Figure, RunRecord, Stage, StageContext, StageResult
from ..figures import plot_cross_check

NAME = "precision"


# A value is compared where float64 resolves it: above this many rounding floors (m + r floors of noise, then
# three decades so that the relative deviation measures the trajectory, not the rounding).
RESOLVED = 1e3
ALG1_TOLERANCE = 1e-6  # relative agreement asked of float64 BDF at rtol 1e-10 on this instance (measured 1.8e-7)


def algorithm1_specs(dps: int = 30):
    """The two runs of the trust check: the float64 Algorithm 1 run (BDF, rtol 1e-10, atol 1e-12) and the
    high-precision reference (Radau IIA at rtol 1e-13, atol 1e-15), same instance, seed and schedule."""
    from solver import FlowConfig
    from solver.spec import InstanceSpec, RunSpec

    instance = InstanceSpec(d=3, r=2, a=(1.0, 1e-2), order=4, basis="identity")
    config = FlowConfig(algorithm="modified", m=4, delta0=1e-4, delta1=1e-2, eps=5e-3, gamma=9.0, integrator="bdf",
                        rtol=1e-10, atol=1e-12, device="cpu", n_save=16)
    spec64 = RunSpec(instance, config, first_seed=0, n_seeds=1)
    return spec64, spec64.replace(rtol=1e-13, atol=1e-15, integrator="radau")


def cross_check_algorithm1(dps: int = 30, backend: str = "auto") -> dict:
    """float64 BDF vs ``dps``-digit Radau IIA on :func:`algorithm1_specs`: the deviations where float64 resolves
    the value (above ``RESOLVED`` floors), in units of the floor everywhere, and the curves."""
    from solver import solve
    from verify.precision.crosscheck import residual_floor
    from solver.precision.backend import solve_high_precision

    spec64, spec_hp = algorithm1_specs(dps)
    truth = spec64.instance.truth()
    start = time.perf_counter()
    low = solve(truth, spec64.config, spec64.seeds)
    wall64 = time.perf_counter() - start
    start = time.perf_counter()
    high = solve_high_precision(truth, spec_hp.config, spec64.seeds[0], dps=dps, backend=backend, integrator="radau")
    wall_hp = time.perf_counter() - start
    if low.times.shape != high.times.shape or not np.allclose(low.times, high.times, rtol=1e-12):
        raise RuntimeError("float64 and high-precision runs saved at different times (different epoch schedules)")
    u64 = float(np.finfo(np.float64).eps)
    noise = spec64.config.m + truth.r
    loss64, loss_hp, floor64 = low.loss[0], high.loss[0], low.loss_floor[0]
    res64, res_hp = low.residuals[0], high.residuals[0]
    rfloor = residual_floor(truth.a, truth.U, low.log_norms[0], low.correlations[0], truth.order, u64)
    loss_mask = RESOLVED * noise * floor64 <= np.abs(loss_hp)
    res_mask = RESOLVED * noise * rfloor <= np.abs(res_hp)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_loss = np.abs(loss64 - loss_hp) / np.abs(loss_hp)
        rel_res = np.abs(res64 - res_hp) / np.abs(res_hp)

    def worst(rel, mask):
        return float(rel[mask].max()) if mask.any() else float("nan")

    return {"dps": dps, "backend": high.meta["high_precision"]["backend"], "t_max": float(low.times[-1]),
            "m": spec64.config.m, "seed": spec64.seeds[0], "rtol64": spec64.config.rtol,
            "agreement_claimed": ALG1_TOLERANCE, "max_rel_loss": worst(rel_loss, loss_mask),
            "max_rel_residuals": worst(rel_res, res_mask),
            "max_loss_dev_in_floors": float((np.abs(loss64 - loss_hp) / floor64).max()),
            "max_residual_dev_in_floors": float((np.abs(res64 - res_hp) / rfloor).max()),
            "compared_loss_points": int(loss_mask.sum()), "compared_residual_points": int(res_mask.sum()),
            "float64_floor": floor64, "times": low.times, "loss_float64": loss64, "loss_high_precision": loss_hp,
            "wall_seconds": {"float64": wall64, "high_precision": wall_hp},
            "rhs_evals": {"float64": low.meta["rhs_evals"], "high_precision": high.meta["rhs_evals"]},
            "recovered": {"float64": bool(low.recovered()[0].all()), "high_precision": bool(high.recovered()[0].all())},
            "reinitializations": len(low.events), "specs": (spec64, spec_hp),
            "trajectories": {"float64": low, "high_precision": high}}


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
    max_loss_dev_in_floors: float
    max_residual_dev_in_floors: float
    compared_loss_points: int
    compared_residual_points: int
    float64_floor_min: float
    wall_seconds: dict[str, float]
    rhs_evals: dict[str, int]
    seconds: float
    instance: str = ""
    recovered: dict[str, bool] | None = None

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
    p = ctx.profile
    ctx.progress.message(f"precision: Algorithm 1 on a stiff spread instance, float64 BDF vs {p.precision_dps} digits")
    start = time.perf_counter()
    data = cross_check_algorithm1(dps=p.precision_dps)
    seconds = time.perf_counter() - start
    spec64, spec_hp = data["specs"]
    instance = (f"the Algorithm 1 instance d = 3, m = 4, a = (1, 1e-2), delta0 = 1e-4, delta1 = 1e-2, "
                f"{data['reinitializations']} re-initialization(s)")
    result.results = PrecisionResult(
        dps=data["dps"], backend=data["backend"], t_max=data["t_max"], m=data["m"], seed=data["seed"],
        rtol64=data["rtol64"], tolerance=float(data["agreement_claimed"]),
        max_rel_loss=_finite(data["max_rel_loss"]), max_rel_residuals=_finite(data["max_rel_residuals"]),
        max_loss_dev_in_floors=data["max_loss_dev_in_floors"],
        max_residual_dev_in_floors=data["max_residual_dev_in_floors"],
        compared_loss_points=data["compared_loss_points"], compared_residual_points=data["compared_residual_points"],
        float64_floor_min=float(np.min(data["float64_floor"])), wall_seconds=data["wall_seconds"],
        rhs_evals=data["rhs_evals"], seconds=seconds, instance=instance, recovered=data["recovered"])
    command = (spec64.command(extra=["--out", "results/xcheck-float64"]) + " && "
               + spec_hp.command("precision", ["--dps", str(p.precision_dps), "--hp-integrator", "radau",
                                               "--out", "results/xcheck-hp"]))
    result.runs.append(RunRecord(label="float64 BDF vs high precision (Algorithm 1, stiff spread instance)",
                                 command=command,
                                 config={"float64": data["trajectories"]["float64"].config,
                                         "high_precision": data["trajectories"]["high_precision"].config,
                                         "dps": p.precision_dps, "backend": data["backend"]},
                                 seeds=spec64.seeds, ground_truth=spec64.to_dict()["instance"], seconds=seconds))
    plot_cross_check({"t": data["times"], "float64": data["loss_float64"], "high": data["loss_high_precision"],
                      "floor": data["float64_floor"]}, ctx.out / "figures" / "precision",
                     title=f"float64 BDF vs {p.precision_dps} digits ({data['backend']}), Algorithm 1, seed 0",
                     target=float(data["agreement_claimed"]))
    result.figures.append(Figure(
        id="precision", title="float64 vs high precision (Algorithm 1)",
        caption=(f"Relative deviation of the float64 solver's loss (BDF, rtol {data['rtol64']:g}) from the "
                 f"{p.precision_dps}-digit backend's (Radau IIA) on {instance}, to t = {data['t_max']:.3g}, at every "
                 "save time where float64 resolves the loss (above its rounding floor); grey: the deviation rounding "
                 "alone explains (floor / loss); dotted: the agreement target. Deviations are measured where float64 "
                 f"resolves the value ({RESOLVED:g} x (m + r) floors)."),
        path="figures/precision.svg", claims=["P7", "P11"]))


STAGE = Stage(NAME, "float64 vs high precision on a stiff Algorithm 1 instance", run)

"""Cross-validation of the high-precision backend against the float64 solver on the Figure 1 instance."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from solver import FlowConfig, instances, solve
from solver.errors import require
from solver.precision.backend import default_rtol, solve_high_precision
from solver.spec import RunSpec

__all__ = ["cross_check_figure1", "cross_check_specs", "residual_floor", "AGREEMENT"]

# The relative agreement claimed where float64 resolves a value.
AGREEMENT = 1e-10
# The reference integrates this many times tighter than the float64 run it checks.
REFERENCE_TIGHTENING = 1e-3
# Digits beyond the reference's rtol: the guard digits solve_high_precision requires, plus one for the rounding up.
GUARD_DIGITS = 6


def residual_floor(a: np.ndarray, U: np.ndarray, log_norms: np.ndarray, correlations: np.ndarray, order: int,
                   unit_roundoff: float) -> np.ndarray:
    """float64 resolution floor of ``(T*-T)(u_j^l) = sum_i a_i K_ij^l - sum_k c_k H_kj^l``: half the unit roundoff
    times the size of the cancelling terms, ``sum_i a_i |K_ij|^l + sum_k c_k |H_kj|^l``; shape (K, r)."""
    K = U.T @ U
    target = (a[:, None] * np.abs(K) ** order).sum(axis=0)
    model = (np.exp(2 * log_norms)[:, :, None] * np.abs(correlations) ** order).sum(axis=1)
    return 0.5 * unit_roundoff * (target[None, :] + model)


def cross_check_specs(dps: int = 30, t_max: float = 60.0, m: int = 50, seed: int = 0, n_save: int = 60,
                      d: int = 10, r: int = 5, rtol64: float = 1e-15) -> tuple[RunSpec, RunSpec]:
    """The two sides of :func:`cross_check_figure1` as run specifications: the float64 run (Dormand-Prince at
    ``rtol64``, atol ``rtol64 / 100``) and the high-precision reference (the same run at
    ``min(default_rtol(dps), rtol64 / 1000)``, integrated by GBS at ``dps`` digits). Their
    :meth:`RunSpec.command` (``run`` and ``precision``) reproduce the comparison."""
    hp_rtol = min(default_rtol(dps), rtol64 * REFERENCE_TIGHTENING)
    float64 = RunSpec(dataclasses.replace(instances.figure1(d), r=r),
                      FlowConfig(algorithm="plain", m=m, delta0=instances.FIGURE1_DELTA0, t_max=t_max, n_save=n_save,
                                 save_grid="linear", integrator="dopri5", rtol=rtol64, atol=rtol64 * 1e-2,
                                 device="cpu"),
                      first_seed=seed, n_seeds=1)
    return float64, float64.replace(rtol=hp_rtol, atol=None, integrator="auto")


def cross_check_figure1(dps: int = 30, t_max: float = 60.0, m: int = 50, seed: int = 0, n_save: int = 60,
                        d: int = 10, r: int = 5, backend: str = "auto", rtol64: float = 1e-15) -> dict:
    """Figure 1 (identity basis, ``a_i/a_{i+1} = 1.2``, ``delta0 = 1e-15``), plain flow, one seed, both backends.

    float64 resolves a value ``v`` to ``AGREEMENT`` when both of its error sources are below ``AGREEMENT |v|``:

    - rounding of the evaluation itself: the floor of :func:`solver.kernels.loss_and_floor` /
      :func:`residual_floor` (one rounding of the cancelling terms);
    - the float64 trajectory's own error, estimated a posteriori by a control run at ``10 rtol64``:
      ``|v(rtol64) - v(10 rtol64)|``. Near the end of a fit the residuals are ~1e-6 while the trajectory carries
      a few ulps of ``a_j`` from ~5e4 steps (measured: 4.5e-16 absolute, 2e-10 relative at rtol64 = 1e-15).

    The float64 runs use Dormand-Prince at ``rtol64`` (its default 1e-8 would itself miss 1e-10), the reference GBS
    at ``min(default_rtol(dps), rtol64 / 1000)`` (``dps >= 24`` for the default ``rtol64``). Returns the
    maximum relative deviations where float64 resolves the value (``max_rel_loss``, ``max_rel_residuals``), the
    same over every point above the rounding floor alone (``*_rounding_only``), the deviations in units of the
    rounding floor over *all* save times (``max_loss_dev_in_floors``), point counts, the floors, both curves,
    the masks and wall times.
    """
    # A reference no tighter than float64 (20 digits, say) would measure its own error, not float64's.
    spec64, spec_hp = cross_check_specs(dps, t_max, m, seed, n_save, d, r, rtol64)
    needed = math.ceil(-math.log10(spec_hp.config.rtol)) + GUARD_DIGITS
    require(dps >= needed, "dps", f"at least {needed} for a reference 1000x tighter than float64's rtol64 = {rtol64:g}",
            dps)
    truth, config = spec64.instance.truth(), spec64.config
    t0 = time.perf_counter()
    low = solve(truth, config, [seed])
    wall64 = time.perf_counter() - t0
    control = solve(truth, dataclasses.replace(config, rtol=10 * rtol64, atol=0.1 * rtol64), [seed])
    t0 = time.perf_counter()
    high = solve_high_precision(truth, spec_hp.config, seed, dps=dps, backend=backend, integrator="gbs")
    wall_hp = time.perf_counter() - t0
    assert np.allclose(low.times, high.times, rtol=0, atol=1e-12 * t_max)
    u64 = float(np.finfo(np.float64).eps)
    loss64, loss_hp, floor64 = low.loss[0], high.loss[0], low.loss_floor[0]
    res64, res_hp = low.residuals[0], high.residuals[0]
    rfloor = residual_floor(truth.a, truth.U, low.log_norms[0], low.correlations[0], truth.order, u64)
    loss_rounding = floor64 <= AGREEMENT * np.abs(loss_hp)
    res_rounding = rfloor <= AGREEMENT * np.abs(res_hp)
    loss_mask = loss_rounding & (np.abs(loss64 - control.loss[0]) <= AGREEMENT * np.abs(loss_hp))
    res_mask = res_rounding & (np.abs(res64 - control.residuals[0]) <= AGREEMENT * np.abs(res_hp))
    with np.errstate(divide="ignore", invalid="ignore"):  # zero values are masked out
        rel_loss = np.abs(loss64 - loss_hp) / np.abs(loss_hp)
        rel_res = np.abs(res64 - res_hp) / np.abs(res_hp)

    def worst(rel: np.ndarray, mask: np.ndarray) -> float:
        return float(rel[mask].max()) if mask.any() else float("nan")

    return {
        "dps": dps, "backend": high.meta["high_precision"]["backend"], "t_max": t_max, "m": m, "seed": seed,
        "agreement_claimed": AGREEMENT, "rtol64": rtol64,
        "max_rel_loss": worst(rel_loss, loss_mask), "max_rel_residuals": worst(rel_res, res_mask),
        "max_rel_loss_rounding_only": worst(rel_loss, loss_rounding),
        "max_rel_residuals_rounding_only": worst(rel_res, res_rounding),
        "max_loss_dev_in_floors": float((np.abs(loss64 - loss_hp) / floor64).max()),
        "max_residual_dev_in_floors": float((np.abs(res64 - res_hp) / rfloor).max()),
        "compared_loss_points": int(loss_mask.sum()), "compared_residual_points": int(res_mask.sum()),
        "excluded_by_trajectory_error": int(loss_rounding.sum() - loss_mask.sum() + res_rounding.sum() - res_mask.sum()),
        "float64_floor": floor64, "residual_floor": rfloor, "loss_mask": loss_mask, "residual_mask": res_mask,
        "times": low.times, "loss_float64": loss64, "loss_high_precision": loss_hp,
        "loss_high_precision_exact": high.meta["high_precision"]["loss"][0],
        "residuals_float64": res64, "residuals_high_precision": res_hp,
        "wall_seconds": {"float64": wall64, "high_precision": wall_hp},
        "rhs_evals": {"float64": low.meta["rhs_evals"], "high_precision": high.meta["rhs_evals"]},
        "trajectories": {"float64": low, "high_precision": high},
    }

"""The high-precision flow: plain and modified (Algorithm 1) at ``dps`` digits, same record as
:func:`solver.flow.solve`.

The problem is :class:`solver.problem.ObjectFlowProblem` (state: an object array (d+1, m) with row 0 the
log-norms, so norms like 1e-1000 are just ``rho = -2302.6``); the integrators are GBS extrapolation and Radau IIA
(:mod:`solver.precision.integrators`); the driver is Algorithm 1's one driver (:func:`solver.driver.drive`), with
the same plan, the same seed streams (``W(0)`` drawn in float64 and converted exactly), the same
re-initialization rule on float64 copies (log-norms are safe in float64 at any size) and the same record.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..config import FlowConfig
from ..driver import Progress, drive, initial_directions, plan_run, resolve, seed_streams, to_trajectory
from ..errors import require
from ..ground_truth import GroundTruth
from ..problem import ObjectFlowProblem
from ..trajectory import Trajectory, package_versions

from .arithmetic import DEFAULT_DPS, Arithmetic, make_arithmetic
from .integrators import INTEGRATORS, StepCarry, integrate_gbs, integrate_radau

__all__ = ["FlowProblem", "solve_high_precision", "parse_delta0", "default_rtol", "DEFAULT_DPS"]

# The name benchmarks and tests build this backend's problem by.
FlowProblem = ObjectFlowProblem


def default_rtol(dps: int) -> float:
    """Local tolerance when none is given: about half the digits plus 3 (30 digits -> 1e-18).

    The remaining digits absorb the global error's growth and keep the loss resolvable far below float64.
    """
    return 10.0 ** -(dps // 2 + 3)


def parse_delta0(value: float | str, arithmetic: Arithmetic):
    """``log(delta0)`` at working precision from a float or a decimal string such as ``"1e-1000"``."""
    x = arithmetic.scalar(value if isinstance(value, str) else float(value))
    if isinstance(value, str):
        try:
            ok = float(arithmetic.to_float(np.array([x], dtype=object))[0]) < 1e3 and x > 0
        except Exception:  # a malformed string
            ok = False
        require(ok, "delta0", "a positive decimal number below 1e3 (e.g. 1e-1000)", value)
    return arithmetic.log(x)


def solve_high_precision(
    truth: GroundTruth,
    config: FlowConfig,
    seed: int = 0,
    *,
    dps: int = DEFAULT_DPS,
    backend: str = "auto",
    integrator: str = "auto",
    delta0: str | None = None,
    progress: Progress | None = None,
    epoch_rtol: Callable[[float], float] | None = None,
) -> Trajectory:
    """Run the configured flow for one seed at ``dps`` digits; return the float64 record plus exact values.

    Args:
        truth: the ground truth (float64 data, converted exactly).
        config: every algorithm parameter, as for :func:`solver.flow.solve`. ``config.integrator`` is read
            as a family: ``bdf``/``radau`` -> implicit Radau IIA, others -> explicit GBS, when
            ``integrator`` is ``auto``. ``config.rtol`` None -> :func:`default_rtol`; atol is ``min(atol, rtol)``.
        seed: the run's seed (same ``W(0)`` as the float64 solver).
        dps: decimal digits (validated, :func:`~.arithmetic.validate_dps`).
        backend: ``auto`` (flint when installed), ``mpmath`` or ``flint``.
        integrator: ``auto``, ``gbs`` (explicit) or ``radau`` (implicit).
        delta0: the initial norm as a decimal string, overriding ``config.delta0`` (float64 cannot hold
            1e-1000; ``config.delta0`` must still be a valid float, e.g. its 1e-300 floor).
        epoch_rtol: Algorithm 1 only: the local tolerance of epoch ``s`` as a function of its ``beta_s`` (atol
            follows it as it follows ``rtol``); None: ``rtol`` in every epoch. Why: epoch ``s`` decides which
            components grow against the threshold ``beta_s``, so its state need not be resolved far below
            ``beta_s``, while the fitted components relax to their fixed point at rate ``~ a_r`` and forget an
            earlier epoch's error (measured: :func:`verify.experiments.frontier.hp_epoch_rtol`).
    Returns:
        A :class:`Trajectory` (batch 1) with ``meta["high_precision"]`` holding the exact values as strings.
    """
    config.validate()
    ar = make_arithmetic(backend, dps)
    require(integrator in ("auto",) + INTEGRATORS, "integrator", f"one of {('auto',) + INTEGRATORS}", integrator)
    if integrator == "auto":
        integrator = "radau" if config.integrator in ("bdf", "radau") else "gbs"
    rtol = config.rtol if config.rtol is not None else default_rtol(ar.dps)
    _checked_rtol(rtol, ar.dps)
    atol = rtol if config.atol is None else min(config.atol, rtol)
    with ar.context():
        return _solve(truth, config, int(seed), ar, integrator, rtol, atol, delta0, progress, epoch_rtol)


def _checked_rtol(rtol: float, dps: int) -> float:
    require(rtol > 10.0 ** (-dps + 5), "rtol", f"above 1e-{dps - 5} at dps = {dps}", rtol)
    return rtol


def _solve(truth: GroundTruth, config: FlowConfig, seed: int, ar: Arithmetic, integrator: str, rtol: float,
           atol: float, delta0: str | None, progress: Progress | None,
           epoch_rtol: Callable[[float], float] | None) -> Trajectory:
    d, r, m, order = truth.d, truth.r, config.m, truth.order
    lam = config.regularizer
    problem = ObjectFlowProblem(ar, truth, lam)
    log_delta0 = parse_delta0(delta0 if delta0 is not None else config.delta0, ar)
    log_delta0_f = float(ar.to_float(np.array([log_delta0], dtype=object))[0])

    init_rng, rng = seed_streams(seed)
    Y = np.empty((d + 1, m), dtype=object)
    Y[0] = [log_delta0] * m
    Y[1:] = ar.array(initial_directions(init_rng, d, m))
    # epoch_schedule reads ln(1/delta0) from the exact initial norm, which float64 cannot hold below 1e-300.
    plan = plan_run(config, [truth], explicit=integrator == "gbs", log_inv_delta0=-log_delta0_f)
    exact: dict[str, list] = {name: [None] * plan.times.size for name in ("loss", "loss_floor", "residuals")}

    def keep_exact(k: int, observation: dict) -> None:
        for name in exact:
            exact[name][k] = ar.to_str(observation[name])

    run = integrate_gbs if integrator == "gbs" else integrate_radau
    carry = StepCarry()  # the epochs are consecutive spans of one flow
    beta_at = {t0: beta for t0, _t1, beta in plan.spans}
    span_rtols: list[float] = []

    def integrate(state: np.ndarray, t0: float, t1: float, on_save, report):
        beta = beta_at.get(t0)
        span_rtol = rtol if epoch_rtol is None or beta is None else _checked_rtol(float(epoch_rtol(beta)), ar.dps)
        span_rtols.append(span_rtol)
        span_atol = span_rtol if config.atol is None else min(config.atol, span_rtol)
        return run(problem, state, t0, t1, plan.times, lambda k, Yk: on_save(k, Yk, [0]), rtol=span_rtol,
                   atol=span_atol, step=config.step, progress=report, carry=carry)

    driven = drive(problem, Y, plan, config, [rng], integrate=integrate, r=r, log_delta0=log_delta0,
                   progress=progress, on_observe=keep_exact)
    resolved = resolve(plan, d=d, r=r, order=order, integrator=integrator, rtol=rtol, atol=atol, lam=lam,
                       device="cpu")
    meta = {
        "versions": package_versions(("deflation-verify", "numpy", "torch", "mpmath", "python-flint")),
        "device": "cpu", "dtype": f"{ar.name} {ar.dps} digits", "unit_roundoff": float(ar.to_float(
            np.array([ar.unit_roundoff], dtype=object))[0]),
        "orthogonal": [truth.orthogonal],
        "high_precision": {**ar.describe(), "integrator": integrator, "rtol": rtol, "atol": atol,
                           "epoch_rtol": span_rtols if epoch_rtol is not None else None,
                           "delta0": ar.to_str(ar.scalar(delta0)) if delta0 is not None else repr(config.delta0),
                           "newton_iterations": driven.stats.newton_iterations, "jacobians": driven.stats.jacobians,
                           "loss": [exact["loss"]], "loss_floor": [exact["loss_floor"]],
                           "residuals": [exact["residuals"]], "final_log_norms": [ar.to_str(driven.state[0])]},
    }
    return to_trajectory(driven, plan, [seed], truth.a[None], truth.U[None], config, resolved, meta)

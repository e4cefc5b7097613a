"""The high-precision flow: plain and modified (Algorithm 1), same record as :func:`solver.flow.solve`.

State ``Y`` (object array (d+1, m)): row 0 the log-norms ``rho_k = log ||w_k||`` (so norms like 1e-1000
are just ``rho = -2302.6``; the squared norms ``c = exp(2 rho)`` the kernels take are never formed in
float64), rows 1..d the unit directions. The field is :func:`solver.kernels.flow` evaluated at
``xhat = x / ||x||`` (the formulation of :mod:`solver.jacobian`: ``||x||`` is then conserved exactly by
the flow and the float64 analytic Jacobian is the Jacobian of this field); directions are renormalized
after every step (claim C8).

The run draws its initial and re-initialized directions from :func:`solver.flow.seed_streams` through
:func:`solver.flow.initial_directions`, as the float64 solver does: a seed is the same
``W(0)``, converted exactly to the working precision. Re-initialization decisions go through
:func:`solver.flow.reinit_mask` on float64 copies (log-norms are safe in float64 at any size).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from .. import kernels
from ..errors import require
from ..flow import (FlowConfig, draw_reinitializations, drop_small_components, initial_directions, plan_run,
                         record_config, reinit_mask, run_spans, seed_streams, work_meta)
from ..ground_truth import GroundTruth
from ..jacobian import flow_jacobian
from ..trajectory import Trajectory, package_versions

from .arithmetic import DEFAULT_DPS, Arithmetic, make_arithmetic
from .integrators import INTEGRATORS, StepStats, integrate_gbs, integrate_radau

__all__ = ["FlowProblem", "solve_high_precision", "parse_delta0", "default_rtol", "DEFAULT_DPS"]

Progress = Callable[[float, float, str], None]


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


class FlowProblem:
    """The normalized flow at working precision for one ground truth (see module docstring)."""

    def __init__(self, arithmetic: Arithmetic, truth: GroundTruth, lam: float) -> None:
        self.arithmetic = arithmetic
        self.truth = truth
        self.a = arithmetic.matrices(arithmetic.array(truth.a))
        self.U = arithmetic.matrices(arithmetic.array(truth.U))
        self.lam = arithmetic.scalar(lam)
        self.order = truth.order
        self.d = truth.d
        self._perm: np.ndarray | None = None

    def directions(self, Y: np.ndarray) -> np.ndarray:
        X = self.arithmetic.matrices(Y[1:])
        return X / self.arithmetic.sqrt((X * X).sum(axis=0))[None, :]

    def field(self, Y: np.ndarray) -> np.ndarray:
        """``dY/dt``: ``(d rho/dt, d xhat/dt)`` of :func:`solver.kernels.flow` at ``xhat = x/||x||``."""
        c = self.arithmetic.exp(2 * Y[0])
        d_rho, d_X = kernels.flow(self.directions(Y), c, self.a, self.U, self.order, self.lam)
        return np.concatenate([d_rho[None, :], d_X], axis=0)

    def project(self, Y: np.ndarray) -> np.ndarray:
        return self.arithmetic.clean(np.concatenate([Y[:1], self.directions(Y)], axis=0))

    def scale(self, Y0: np.ndarray, Y1: np.ndarray, rtol: float, atol: float) -> np.ndarray:
        big = np.maximum(np.abs(self.arithmetic.to_float(Y0)), np.abs(self.arithmetic.to_float(Y1)))
        big[0] = 1.0  # log-norms: absolute error (their size is not a scale)
        return atol + rtol * big

    def jacobian(self, Y: np.ndarray) -> np.ndarray:
        """float64 analytic Jacobian (:func:`solver.jacobian.flow_jacobian`) in this state's row-major layout."""
        Y64 = self.arithmetic.to_float(Y)
        rho, X = Y64[0], Y64[1:] / np.linalg.norm(Y64[1:], axis=0)
        d, m = X.shape
        if self._perm is None or self._perm.size != m * (d + 1):
            # flat index (row i of Y, column k) -> packed index of solver.jacobian.pack_state
            perm = np.empty(m * (d + 1), dtype=np.int64)
            perm[:m] = np.arange(m)
            rows, cols = np.meshgrid(np.arange(d), np.arange(m), indexing="ij")
            perm[m:] = (m + cols * d + rows).ravel()
            self._perm = perm
        J = flow_jacobian(X, rho, self.truth.a, self.truth.U, self.order)
        return J[np.ix_(self._perm, self._perm)]

    def observe(self, Y: np.ndarray) -> dict:
        """Loss ``1/2||T-T*||^2`` with its floor, residuals ``(T*-T)(u_j^l)``, correlations: at working precision."""
        ar = self.arithmetic
        X = self.directions(Y)
        c = ar.exp(2 * Y[0])
        loss, floor = kernels.loss_and_floor(X, c, self.a, self.U, self.order, ar.unit_roundoff)
        residuals = kernels.direction_residuals(X, c, self.a, self.U, self.order)
        return {"loss": loss, "loss_floor": floor, "residuals": residuals,
                "correlations": kernels.correlations(X, self.U), "log_norms": Y[0]}


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
    Returns:
        A :class:`Trajectory` (batch 1) with ``meta["high_precision"]`` holding the exact values as strings.
    """
    config.validate()
    ar = make_arithmetic(backend, dps)
    require(integrator in ("auto",) + INTEGRATORS, "integrator", f"one of {('auto',) + INTEGRATORS}", integrator)
    if integrator == "auto":
        integrator = "radau" if config.integrator in ("bdf", "radau") else "gbs"
    rtol = config.rtol if config.rtol is not None else default_rtol(ar.dps)
    require(rtol > 10.0 ** (-ar.dps + 5), "rtol", f"above 1e-{ar.dps - 5} at dps = {ar.dps}", rtol)
    atol = rtol if config.atol is None else min(config.atol, rtol)
    with ar.context():
        return _solve(truth, config, int(seed), ar, integrator, rtol, atol, delta0, progress)


def _solve(truth: GroundTruth, config: FlowConfig, seed: int, ar: Arithmetic, integrator: str, rtol: float,
           atol: float, delta0: str | None, progress: Progress | None) -> Trajectory:
    d, r, m, order = truth.d, truth.r, config.m, truth.order
    lam = config.regularizer
    problem = FlowProblem(ar, truth, lam)
    log_delta0 = parse_delta0(delta0 if delta0 is not None else config.delta0, ar)
    log_delta0_f = float(ar.to_float(np.array([log_delta0], dtype=object))[0])

    init_rng, rng = seed_streams(seed)
    Y = np.empty((d + 1, m), dtype=object)
    Y[0] = [log_delta0] * m
    Y[1:] = ar.array(initial_directions(init_rng, d, m))

    events: list[dict] = []
    # epoch_schedule reads ln(1/delta0) from the exact initial norm, which float64 cannot hold below 1e-300.
    plan = plan_run(config, [truth], explicit=integrator == "gbs", log_inv_delta0=-log_delta0_f)
    times = plan.times
    K = times.size
    exact: dict[str, list] = {"loss": [None] * K, "loss_floor": [None] * K, "residuals": [None] * K}
    f64 = {"loss": np.full((1, K), np.nan), "loss_floor": np.full((1, K), np.nan),
           "residuals": np.full((1, K, r), np.nan), "log_norms": np.full((1, K, m), np.nan),
           "correlations": np.full((1, K, m, r), np.nan)}

    def on_save(k: int, Yk: np.ndarray) -> None:
        obs = problem.observe(Yk)
        for name in ("loss", "loss_floor", "residuals"):
            exact[name][k] = ar.to_str(obs[name])
            f64[name][0, k] = ar.to_float(obs[name])
        if config.record_components:
            f64["log_norms"][0, k] = ar.to_float(obs["log_norms"])
            f64["correlations"][0, k] = ar.to_float(obs["correlations"])

    run = integrate_gbs if integrator == "gbs" else integrate_radau

    def integrate(state: np.ndarray, t0: float, t1: float, report):
        return run(problem, state, t0, t1, times, on_save, rtol=rtol, atol=atol, step=config.step, progress=report)

    stats = StepStats()
    t_end = plan.t_end
    wall0 = time.perf_counter()
    Y = run_spans(plan, Y, integrate=integrate, stats=stats, events=events, progress=progress,
                  reinitialize=lambda state, s, t: _reinitialize(state, config, rng, log_delta0, events, s, t, ar))
    wall = time.perf_counter() - wall0
    if any(v is None for v in exact["loss"]):
        raise RuntimeError("internal: some save points were not reached")

    final_rho = drop_small_components(ar.to_float(Y[0])[None, :], config, events, t_end)
    final_X = ar.to_float(problem.directions(Y))[None]
    config_dict = record_config(config, plan, d=d, r=r, order=order, integrator=integrator, rtol=rtol, atol=atol,
                                lam=lam, device="cpu")
    meta = {
        "versions": package_versions(("deflation-verify", "numpy", "torch", "mpmath", "python-flint")),
        "device": "cpu", "dtype": f"{ar.name} {ar.dps} digits", "unit_roundoff": float(ar.to_float(
            np.array([ar.unit_roundoff], dtype=object))[0]), **work_meta(stats, wall),
        "orthogonal": [truth.orthogonal],
        "high_precision": {**ar.describe(), "integrator": integrator, "rtol": rtol, "atol": atol,
                           "delta0": ar.to_str(ar.scalar(delta0)) if delta0 is not None else repr(config.delta0),
                           "newton_iterations": stats.newton_iterations, "jacobians": stats.jacobians,
                           "loss": [exact["loss"]], "loss_floor": [exact["loss_floor"]],
                           "residuals": [exact["residuals"]], "final_log_norms": [ar.to_str(Y[0])]},
    }
    return Trajectory(config=config_dict, seeds=[seed], times=times, loss=f64["loss"], loss_floor=f64["loss_floor"],
                      residuals=f64["residuals"], log_norms=f64["log_norms"] if config.record_components else None,
                      correlations=f64["correlations"] if config.record_components else None,
                      a=truth.a[None], U=truth.U[None], final_log_norms=final_rho, final_directions=final_X,
                      events=events, meta=meta)


def _reinitialize(Y: np.ndarray, config: FlowConfig, rng: np.random.Generator, log_delta0, events: list[dict],
                  epoch: int, t: float, ar: Arithmetic) -> np.ndarray:
    """Re-draw the components selected by :func:`solver.flow.reinit_mask` (decided on float64 copies; log-norms
    are safe in float64 at any size) as the float64 solver does (:func:`solver.flow.draw_reinitializations`)."""
    Y64 = ar.to_float(Y)
    X64 = Y64[1:] / np.linalg.norm(Y64[1:], axis=0)
    mask = reinit_mask(torch.as_tensor(Y64[0])[None], torch.as_tensor(X64)[None], config.reinit_rule,
                       config.delta1, config.cluster_cos2).numpy()
    (idx, fresh), = draw_reinitializations(mask, [rng], Y.shape[0] - 1, events, epoch, t)
    Y = Y.copy()
    if idx.size:
        Y[0, idx] = log_delta0
        Y[1:, idx] = ar.array(fresh)
    return Y


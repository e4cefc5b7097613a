"""What every adaptive integrator of the project shares, in both arithmetics: the work counters, the step-size
controller and its measured instances, the initial-step rule, the stall guard and the coupling floor of the
flow's Jacobian. The float64 engines (:mod:`solver.integrators`) and the high-precision ones
(:mod:`solver.precision.integrators`) import them from here; save times live in :mod:`.save_times`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .save_times import TIME_ULPS, SaveTimes, time_tolerance

__all__ = ["StepStats", "StepController", "RUNGE_KUTTA_CONTROL", "ROSENBROCK_CONTROL", "HIGH_PRECISION_CONTROL",
           "initial_step", "StallGuard", "IntegrationStalled", "coupling_floor_for", "SaveTimes", "TIME_ULPS",
           "time_tolerance"]


@dataclass
class StepStats:
    """Work counters of one integration, the same fields for every integrator (per batch for the torch engines:
    every evaluation advances all runs; summed over runs for the engines that integrate runs one by one).

    Attributes:
        accepted, rejected: steps (CVODE through scikit-sundae reports no rejections: 0 there).
        rhs_evals: field evaluations (the integrator's own count where it keeps one: scipy, CVODE).
        jacobians: Jacobians or linearizations ``J(y*)`` formed.
        factorizations: LU factorizations or preconditioner set-ups of a Newton/stage matrix ``I - gamma J``.
        linear_iterations: Krylov (GMRES) iterations, one ``J v`` product each.
        newton_iterations: Newton iterations (the high-precision Radau; 0 where the integrator does not say).
    """

    accepted: int = 0
    rejected: int = 0
    rhs_evals: int = 0
    jacobians: int = 0
    factorizations: int = 0
    linear_iterations: int = 0
    newton_iterations: int = 0

    def add(self, other: "StepStats") -> None:
        """Add ``other``'s counters to these."""
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def to_dict(self) -> dict[str, int]:
        """The counters by field name (a record's JSON)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class StepController:
    """The elementary step-size controller (Hairer, Norsett, Wanner I, II.4): after a step with scaled error
    ``err`` (RMS, 1 = the tolerance) of a method whose error estimate has order ``q``, the next step is
    ``h * clamp(safety * err^(-1/(q+1)), min_factor, max_factor)``; a rejected step never grows
    (its factor is capped at ``reject_max``) and a non-finite error gives ``min_factor``.

    Attributes:
        safety: fraction of the optimal step taken.
        min_factor, max_factor: bounds on the change of step per step.
        tiny: error floor (an exact step would otherwise divide by zero; any err below
            ``(safety/max_factor)^(q+1)`` gives ``max_factor`` anyway).
        reject_max: largest factor after a rejected step.
    """

    safety: float = 0.9
    min_factor: float = 0.2
    max_factor: float = 10.0
    tiny: float = 1e-30
    reject_max: float = 1.0

    def factor(self, err: float, exponent: float, accepted: bool | None = None) -> float:
        """``clamp(safety * err^(-exponent), min_factor, max_factor)`` with ``exponent = 1/(q+1)``, at most
        ``reject_max`` when the step is rejected (``accepted`` False, or None and ``err > 1``)."""
        accepted = err <= 1.0 if accepted is None else accepted
        return float(self.factors(np.array([err], dtype=np.float64), exponent, np.array([accepted]))[0])

    def factors(self, err, exponent: float, accepted):
        """:meth:`factor` elementwise: ``err`` a numpy array or a torch tensor, ``accepted`` a boolean one."""
        if isinstance(err, np.ndarray):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                value = np.clip(self.safety * np.maximum(err, self.tiny) ** (-exponent), self.min_factor,
                                self.max_factor)
            value = np.where(np.isfinite(err), value, self.min_factor)
            return np.where(accepted, value, np.minimum(value, self.reject_max))
        import torch

        value = (self.safety * err.clamp_min(self.tiny) ** (-exponent)).clamp(self.min_factor, self.max_factor)
        value = torch.where(torch.isfinite(err), value, torch.full_like(value, self.min_factor))
        return torch.where(accepted, value, value.clamp_max(self.reject_max))


# The families keep the growth bounds they were measured with (BENCHMARKS.md figures depend on them):
# Dormand-Prince's up to 10x per step (Hairer's DOPRI5 default); 6x for Rodas3, whose rejected step shrinks by at
# least 0.9; 4x for the high-precision GBS extrapolation and Radau IIA, where a rejected step (one more
# full-precision solve, and for Radau a new complex LU) costs more than a shorter accepted one (ODEX's bound), and
# a rejected step shrinks by at least 0.9 as well.
RUNGE_KUTTA_CONTROL = StepController(safety=0.9, min_factor=0.2, max_factor=10.0)
ROSENBROCK_CONTROL = StepController(safety=0.9, min_factor=0.2, max_factor=6.0, tiny=1e-10, reject_max=0.9)
HIGH_PRECISION_CONTROL = StepController(safety=0.9, min_factor=0.2, max_factor=4.0, reject_max=0.9)


def initial_step(y_size: float, f_size: float, span: float) -> float:
    """The first step: ``0.01 y_size / f_size`` (Hairer, Norsett, Wanner I, II.4, part (a) of the starting-step
    algorithm) with ``y_size``, ``f_size`` the scaled sizes of the state and its field, ``1e-6`` when either is
    below 1e-5 (nothing to scale by), at most ``span``."""
    if y_size > 1e-5 and f_size > 1e-5 and math.isfinite(y_size / f_size):
        return min(span, 0.01 * y_size / f_size)
    return min(span, 1e-6)


class IntegrationStalled(RuntimeError):
    """An adaptive integrator's steps collapsed: it would take practically forever to reach the span's end."""


@dataclass
class StallGuard:
    """Stops a run whose steps have collapsed relative to its time, instead of letting it crawl for hours.

    Every ``window`` steps, the time reached is compared with the time ``window`` steps before: an advance below
    ``min_advance * |t|`` raises :class:`IntegrationStalled`. The window is far longer than any fast transient
    of the flow (a late discovery takes a few hundred steps at ``h ~ 1`` near ``t ~ 1e10``), and a stalled run
    is one that needs ``1 / min_advance`` windows to double its time.
    """

    window: int = 10_000
    min_advance: float = 1e-4
    stalled: str | None = None  # the reason, once a collapse is found
    _steps: int = 0
    _t_checkpoint: float | None = None

    def observe(self, t: float) -> str | None:
        """Record one accepted step ending at ``t``; the reason (also kept in ``stalled``) once collapsed."""
        if self._t_checkpoint is None:
            self._t_checkpoint = t
        self._steps += 1
        if self._steps % self.window:
            return None
        advance = t - self._t_checkpoint
        self._t_checkpoint = t
        if abs(advance) < self.min_advance * abs(t):
            self.stalled = (f"step size collapsed at t = {t:.6g}: the last {self.window} steps advanced t by "
                            f"{advance:.3g} (mean step {advance / self.window:.3g}, below {self.min_advance:g} |t| "
                            f"per {self.window} steps); try a tighter rtol or another integrator")
        return self.stalled

    def check(self, t: float) -> None:
        """:meth:`observe`, raising :class:`IntegrationStalled` on a collapse."""
        if self.observe(t) is not None:
            raise IntegrationStalled(self.stalled)


def coupling_floor_for(span: float, order: int) -> float:
    """Squared norm ``c_i`` below which a component's couplings are dropped from the flow's Jacobian (sparse LU,
    the matrix-free operator of CVODE's GMRES).

    Dropped entries are ``l c_i``-sized; in Newton's matrix ``I - gamma h J`` with ``h <= span`` they
    contribute at most ``l c_i span``, kept below 1e-4 so Newton's convergence is unaffected.
    """
    return 1e-4 / (order * max(span, 1.0))

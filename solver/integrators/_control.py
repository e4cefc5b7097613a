"""What every adaptive integrator of the project shares, in both arithmetics: the step-size controller and
the work counters. The float64 engines (:mod:`solver.integrators`) and the high-precision ones
(:mod:`solver.precision.integrators`) import them from here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["StepStats", "StepController", "RUNGE_KUTTA_CONTROL", "HIGH_PRECISION_CONTROL", "TIME_ULPS", "StallGuard",
           "IntegrationStalled", "time_tolerance"]

# Two instants closer than this many float64 spacings of their own size are one instant (a save time reached):
# relative to the local time, since a tolerance relative to a span's end (t ~ 1e11 late in Algorithm 1)
# would merge every save time near the span's start with it.
TIME_ULPS = 64
_FLOAT64_EPS = 2.0 ** -52


def time_tolerance(t):
    """``TIME_ULPS`` float64 spacings of ``|t|`` (a float, numpy array or torch tensor, elementwise): the
    distance below which an integrator treats a time as reached. No step is that short (its ``t + h`` would
    round to ``t``), and at ``t = 0`` only an exact hit counts."""
    return TIME_ULPS * _FLOAT64_EPS * abs(t)


@dataclass
class StepStats:
    """Work counters of one integration (per batch for the float64 engines: every evaluation advances all
    runs). ``newton_iterations`` and ``jacobians`` stay 0 for explicit methods."""

    rhs_evals: int = 0
    accepted: int = 0
    rejected: int = 0
    newton_iterations: int = 0
    jacobians: int = 0

    def add(self, other: "StepStats") -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class StepController:
    """The elementary step-size controller (Hairer, Norsett, Wanner I, II.4): after a step with scaled error
    ``err`` (RMS, 1 = the tolerance) of a method whose error estimate has order ``q``, the next step is
    ``h * clamp(safety * err^(-1/(q+1)), min_factor, max_factor)``; a rejected step never grows.

    Attributes:
        safety: fraction of the optimal step taken.
        min_factor, max_factor: bounds on the change of step per step.
        tiny: error floor (an exact step would otherwise divide by zero; any err below
            ``(safety/max_factor)^(q+1)`` gives ``max_factor`` anyway).
    """

    safety: float = 0.9
    min_factor: float = 0.2
    max_factor: float = 10.0
    tiny: float = 1e-30

    def factor(self, err: float, exponent: float) -> float:
        """``clamp(safety * err^(-exponent), min_factor, max_factor)`` with ``exponent = 1/(q+1)``."""
        return min(self.max_factor, max(self.min_factor, self.safety * max(err, self.tiny) ** (-exponent)))


# The two families keep the growth bounds they were measured with (BENCHMARKS.md figures depend on them):
# Dormand-Prince's up to 10x per step (Hairer's DOPRI5 default), and 4x for the high-precision GBS
# extrapolation and Radau IIA, where a rejected step (one more full-precision solve, and for Radau a new
# complex LU) costs more than a shorter accepted one (ODEX's default bound is also 4).
RUNGE_KUTTA_CONTROL = StepController(safety=0.9, min_factor=0.2, max_factor=10.0)
HIGH_PRECISION_CONTROL = StepController(safety=0.9, min_factor=0.2, max_factor=4.0)


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

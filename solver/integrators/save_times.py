"""Save times of one integration span, and when a time counts as reached: one definition for every integrator."""

from __future__ import annotations

import numpy as np

__all__ = ["TIME_ULPS", "time_tolerance", "reached", "SaveTimes"]

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


def reached(goal, t):
    """Whether time ``t`` has reached ``goal``: ``goal - t <= time_tolerance(goal)`` (elementwise)."""
    return goal - t <= time_tolerance(goal)


class SaveTimes:
    """The save times ``times`` (increasing) as seen from one span ``[t0, t1]``.

    Attributes:
        at_start: indices ``k`` with ``times[k]`` at ``t0`` (within :func:`time_tolerance`): their state is
            the initial one.
        targets: the times an integrator must land on (or interpolate at) after ``t0``, increasing: every
            save time in ``(t0, t1]`` (one within the tolerance of ``t1`` is ``t1`` itself), and ``t1``.
        indices: the save index of each target, ``-1`` for ``t1`` when it is not a save time.
    """

    def __init__(self, times: np.ndarray, t0: float, t1: float):
        self.times = np.asarray(times, dtype=np.float64)
        self.t0, self.t1 = float(t0), float(t1)
        start = np.abs(self.times - t0) <= time_tolerance(np.maximum(np.abs(self.times), abs(t0)))
        self.at_start = np.nonzero(start)[0]
        ahead = np.nonzero(~start & (self.times > t0) & (self.times - t1 <= time_tolerance(t1)))[0]
        targets = np.minimum(self.times[ahead], self.t1)
        if not ahead.size or not reached(self.t1, targets[-1]):
            ahead, targets = np.append(ahead, -1), np.append(targets, self.t1)
        targets[-1] = self.t1
        self.targets, self.indices = targets, ahead

    def report_start(self, on_save, *state) -> None:
        """``on_save(k, *state)`` for every save index ``k`` at ``t0``."""
        for k in self.at_start:
            on_save(int(k), *state)

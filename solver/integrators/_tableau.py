"""Butcher tableaus: an explicit Runge-Kutta method is data, run by :mod:`._explicit`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ButcherTableau:
    """An explicit Runge-Kutta method ``y1 = y0 + h sum_i b_i k_i``, ``k_i = f(t + c_i h, y0 + h sum_j A_ij k_j)``.

    Attributes:
        name: the method's name in the literature.
        order: order of ``b`` (the propagated solution).
        c, A, b: the tableau.
        b_error: ``b - b_hat`` of an embedded pair (None for fixed-step methods).
        error_order: order of the embedded solution (the controller uses ``err^(-1/(error_order+1))``).
        fsal: the last stage equals ``f(t1, y1)`` (first same as last).
        dense: (stages, p) matrix ``P`` of a continuous extension, ``y(t0 + theta h) = y0 + h sum_i k_i (P theta^[1..p])_i``;
            None means the integrator lands exactly on every save time instead.
    """

    name: str
    order: int
    c: np.ndarray
    A: np.ndarray
    b: np.ndarray
    b_error: np.ndarray | None = None
    error_order: int | None = None
    fsal: bool = False
    dense: np.ndarray | None = field(default=None)

    @property
    def stages(self) -> int:
        return len(self.b)

    @property
    def adaptive(self) -> bool:
        return self.b_error is not None

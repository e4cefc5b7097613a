"""Butcher tableaus: an explicit Runge-Kutta method is data, run by :mod:`._explicit`. Forward Euler (what
"gradient descent with step eta" is, as an integrator of the flow), the classical RK4, and Dormand-Prince 5(4)
with its 4th-order continuous extension (Dormand & Prince, J. Comp. Appl. Math. 6, 1980; dense output from
Shampine, Math. Comp. 46, 1986: the coefficients of scipy's RK45 and Hairer's DOPRI5)."""

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


EULER = ButcherTableau(name="Euler", order=1, c=np.array([0.0]), A=np.zeros((1, 1)), b=np.array([1.0]))
RK4 = ButcherTableau(name="RK4", order=4, c=np.array([0.0, 0.5, 0.5, 1.0]),
                     A=np.array([[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1.0, 0]]),
                     b=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]))

_A = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0],
        [1 / 5, 0, 0, 0, 0, 0, 0],
        [3 / 40, 9 / 40, 0, 0, 0, 0, 0],
        [44 / 45, -56 / 15, 32 / 9, 0, 0, 0, 0],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0, 0, 0],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656, 0, 0],
        [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0],
    ]
)
_B = np.array([35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0])
_B_HAT = np.array([5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40])
_DENSE = np.array(
    [
        [1, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
        [0, 0, 0, 0],
        [0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
        [0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
        [0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
        [0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
        [0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
    ]
)

DOPRI5 = ButcherTableau(
    name="Dormand-Prince 5(4)",
    order=5,
    c=np.array([0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1]),
    A=_A,
    b=_B,
    b_error=_B - _B_HAT,
    error_order=4,
    fsal=True,
    dense=_DENSE,
)

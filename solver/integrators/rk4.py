"""The classical fourth-order Runge-Kutta method (fixed step)."""

import numpy as np

from ._tableau import ButcherTableau

RK4 = ButcherTableau(
    name="RK4",
    order=4,
    c=np.array([0.0, 0.5, 0.5, 1.0]),
    A=np.array([[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1.0, 0]]),
    b=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
)

"""Forward Euler: what "gradient descent with step eta" is, as an integrator of the flow."""

import numpy as np

from ._tableau import ButcherTableau

EULER = ButcherTableau(name="Euler", order=1, c=np.array([0.0]), A=np.zeros((1, 1)), b=np.array([1.0]))

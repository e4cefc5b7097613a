"""Integrators: explicit tableaus over one batched torch engine, scipy's BDF/Radau and SUNDIALS CVODE (CPU), and
the batched torch Rosenbrock method (any device); their shared parts: :mod:`._control` (work counters, step-size
controller, initial step, stall guard), :mod:`.save_times`, :mod:`.krylov`."""

from ..config import INTEGRATORS
from ._control import IntegrationStalled, StepController, StepStats
from ._explicit import integrate_explicit
from ._tableau import DOPRI5, EULER, RK4, ButcherTableau
from .bdf import IMPLICIT_METHODS, integrate_implicit, resolve_linear_solver
from .cvode import CvodeCounts, integrate_flow_cvode
from .rosenbrock import RODAS3, integrate_rosenbrock
from .save_times import SaveTimes

EXPLICIT = {"euler": EULER, "rk4": RK4, "dopri5": DOPRI5}
IMPLICIT = {"bdf": "BDF", "radau": "Radau"}  # scipy, CPU only
TORCH_STIFF = ("rosenbrock",)  # torch, any device, batched
SUNDIALS = ("cvode",)  # SUNDIALS CVODE (scikit-sundae), CPU only
NAMES = tuple(EXPLICIT) + tuple(IMPLICIT) + TORCH_STIFF + SUNDIALS
# solver.config lists the names torch-free (for the CLI); the two must agree.
assert set(NAMES) == set(INTEGRATORS), (NAMES, INTEGRATORS)

__all__ = ["ButcherTableau", "StepStats", "StepController", "SaveTimes", "integrate_explicit", "integrate_implicit",
           "integrate_rosenbrock", "resolve_linear_solver", "integrate_flow_cvode", "CvodeCounts", "EXPLICIT",
           "IMPLICIT", "TORCH_STIFF", "SUNDIALS", "NAMES", "IMPLICIT_METHODS", "DOPRI5", "EULER", "RK4", "RODAS3",
           "IntegrationStalled"]

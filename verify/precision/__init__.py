"""High-precision backend of the flow (issue 5): arithmetics, integrators, the flow, cross-check and probe."""

from .arithmetic import BACKENDS, FlintArithmetic, MpmathArithmetic, flint_available, make_arithmetic, validate_dps
from .backend import DEFAULT_DPS, FlowProblem, default_rtol, solve_high_precision
from .crosscheck import cross_check_figure1
from .integrators import INTEGRATORS, integrate_gbs, integrate_radau, radau_iia
from .probe import QUICK_GRID, TINY_GRID, run_probe, theorem_scale, validate_grid

__all__ = ["BACKENDS", "FlintArithmetic", "MpmathArithmetic", "flint_available", "make_arithmetic", "validate_dps",
           "DEFAULT_DPS", "FlowProblem", "default_rtol", "solve_high_precision", "cross_check_figure1",
           "INTEGRATORS", "integrate_gbs", "integrate_radau", "radau_iia", "QUICK_GRID", "TINY_GRID", "run_probe",
           "theorem_scale", "validate_grid"]

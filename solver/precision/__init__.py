"""High-precision flow: arbitrary-precision arithmetics (flint, mpmath), their integrators (GBS extrapolation,
Radau IIA) and the flow on numpy object arrays. The float64 cross-check that uses it lives in
:mod:`verify.precision`, the accuracy-frontier campaign's high-precision points in :mod:`verify.experiments.frontier`.

Names load on first use: the arithmetic module is light (the CLI's flags read it), the flow needs torch.
"""

from .._lazy import lazy_exports

_WHERE = {
    "arithmetic": ("BACKENDS", "DEFAULT_DPS", "FlintArithmetic", "MpmathArithmetic", "flint_available",
                   "make_arithmetic", "validate_dps"),
    "backend": ("FlowProblem", "default_rtol", "solve_high_precision"),
    "integrators": ("INTEGRATORS", "integrate_gbs", "integrate_radau", "radau_iia"),
}
__all__, __getattr__ = lazy_exports(__name__, _WHERE)

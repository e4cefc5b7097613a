"""High-precision backend of the flow: arithmetics, integrators, the flow, cross-check and probe.

Names load on first use: the arithmetic module is light (the CLI's flags read it), the flow needs torch.
"""

from solver._lazy import lazy_exports

_WHERE = {
    "arithmetic": ("BACKENDS", "DEFAULT_DPS", "FlintArithmetic", "MpmathArithmetic", "flint_available",
                   "make_arithmetic", "validate_dps"),
    "backend": ("FlowProblem", "default_rtol", "solve_high_precision"),
    "crosscheck": ("cross_check_figure1", "cross_check_specs"),
    "integrators": ("INTEGRATORS", "integrate_gbs", "integrate_radau", "radau_iia"),
    "probe": ("QUICK_GRID", "TINY_GRID", "run_probe", "theorem_scale", "validate_grid", "frontier", "find_m",
              "FrontierResult", "FrontierPoint", "plot_frontier", "high_precision_point"),
}
__all__, __getattr__ = lazy_exports(__name__, _WHERE)

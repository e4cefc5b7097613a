"""Verification with the high-precision flow (:mod:`solver.precision`): the cross-check against float64 and the
accuracy probe.

Names load on first use: the probe's grid helpers are light, a run needs torch.
"""

from solver._lazy import lazy_exports

_WHERE = {
    "crosscheck": ("cross_check_figure1", "cross_check_specs"),
    "probe": ("QUICK_GRID", "TINY_GRID", "run_probe", "theorem_scale", "validate_grid", "frontier", "find_m",
              "FrontierResult", "FrontierPoint", "plot_frontier", "high_precision_point"),
}
__all__, __getattr__ = lazy_exports(__name__, _WHERE)

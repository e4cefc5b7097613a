"""Verification with the high-precision flow (:mod:`solver.precision`): the cross-check against float64, the
older accuracy probe, and the accuracy-frontier campaign (the submodules :mod:`verify.precision.frontier` and
:mod:`verify.precision.frontier_stats`; the older probe's own ``frontier`` function is
:func:`verify.precision.probe.frontier`).

Names load on first use: the probe's grid helpers are light, a run needs torch.
"""

from solver._lazy import lazy_exports

_WHERE = {
    "crosscheck": ("cross_check_figure1", "cross_check_specs"),
    "probe": ("QUICK_GRID", "TINY_GRID", "run_probe", "theorem_scale", "validate_grid", "find_m",
              "FrontierResult", "FrontierPoint", "plot_frontier", "high_precision_point"),
}
__all__, __getattr__ = lazy_exports(__name__, _WHERE)

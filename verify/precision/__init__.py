"""Verification with the high-precision flow (:mod:`solver.precision`): the float64 flow cross-checked against
the same flow at high precision (:mod:`verify.precision.crosscheck`).

The accuracy-frontier campaign, which also runs at high precision, is an experiment:
:mod:`verify.experiments.frontier`. Names load on first use: a run needs torch.
"""

from solver._lazy import lazy_exports

_WHERE = {
    "crosscheck": ("cross_check_figure1", "cross_check_specs"),
}
__all__, __getattr__ = lazy_exports(__name__, _WHERE)

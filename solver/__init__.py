"""deflation-verify solver: the (modified) gradient flow of over-parametrized tensor decomposition."""

from .errors import ValidationError
from .ground_truth import GroundTruth, geometric_spectrum, identity_basis, random_nonorthogonal, random_orthonormal
from . import kernels

__all__ = [
    "ValidationError",
    "GroundTruth",
    "geometric_spectrum",
    "identity_basis",
    "random_orthonormal",
    "random_nonorthogonal",
    "kernels",
]

from .trajectory import Trajectory  # noqa: E402

__all__ += ["FlowConfig", "solve", "Trajectory"]


def __getattr__(name: str):
    # The flow needs torch; the kernels, the ground truth and the record do not, so the symbolic audit
    # (proofs_check) and the high-precision arithmetic import without it. ``solver.solve`` loads it on first use.
    if name in ("FlowConfig", "solve"):
        from . import flow

        return getattr(flow, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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

from .flow import FlowConfig, solve  # noqa: E402
from .trajectory import Trajectory  # noqa: E402

__all__ += ["FlowConfig", "solve", "Trajectory"]

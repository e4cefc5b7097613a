"""deflation-verify solver: the (modified) gradient flow of over-parametrized tensor decomposition.

Names load on first use: the flow needs torch, the ground truth numpy; the CLI's parser needs neither
(``deflation --help`` stays fast), and the symbolic audit never loads torch.
"""

from ._lazy import lazy_exports

_WHERE = {
    "errors": ("ValidationError",),
    "ground_truth": ("GroundTruth", "geometric_spectrum", "identity_basis", "random_orthonormal",
                     "random_nonorthogonal"),
    "trajectory": ("Trajectory",),
    "config": ("FlowConfig",),
    "spec": ("InstanceSpec", "RunSpec", "solve"),
}
__all__, __getattr__ = lazy_exports(__name__, _WHERE)
__all__.append("kernels")  # a submodule: ``from solver import kernels`` imports it by the usual rule

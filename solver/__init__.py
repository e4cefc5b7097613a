"""deflation-verify solver: the (modified) gradient flow of over-parametrized tensor decomposition.

Names load on first use: the flow needs torch, the ground truth numpy; the CLI's parser needs neither
(``deflation --help`` stays fast), and the symbolic audit never loads torch.
"""

import importlib

_WHERE = {
    "errors": ("ValidationError",),
    "ground_truth": ("GroundTruth", "geometric_spectrum", "identity_basis", "random_orthonormal",
                     "random_nonorthogonal"),
    "trajectory": ("Trajectory",),
    "config": ("FlowConfig",),
    "spec": ("InstanceSpec", "RunSpec"),
    "flow": ("solve",),
}
__all__ = [name for names in _WHERE.values() for name in names] + ["kernels"]


def __getattr__(name: str):
    if name == "kernels":
        return importlib.import_module(f"{__name__}.kernels")
    for module, names in _WHERE.items():
        if name in names:
            return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

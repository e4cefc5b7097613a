"""Reference instances shared by tests, benchmarks and the audit report (SPEC section 2)."""

from __future__ import annotations

import numpy as np

from .ground_truth import GroundTruth, geometric_spectrum, identity_basis

__all__ = ["figure1_truth", "spread_truth", "single_component_truth", "FIGURE1_DISCOVERY_TIMES"]

# Our numpy/scipy prototype's mean discovery times on Figure 1 (SPEC section 2), 5 seeds, spread <= 0.25.
FIGURE1_DISCOVERY_TIMES = (17.2, 20.6, 24.7, 29.5, 35.2)


def figure1_truth(d: int = 10, order: int = 4) -> GroundTruth:
    """The paper's Figure 1: ``T* = sum_{i<=5} a_i e_i^{(x)4}`` in R^10, ``a_1 = 1``, ``a_i/a_{i+1} = 1.2``."""
    return identity_basis(d, geometric_spectrum(5, 1.2), order)


def spread_truth(d: int = 10, r: int = 5, order: int = 4) -> GroundTruth:
    """The stiff spread spectrum ``a_i = 10^{-2(i-1)}`` on the identity basis (SPEC section 2)."""
    return identity_basis(d, geometric_spectrum(r, 100.0), order)


def single_component_truth(d: int = 5, a: float = 1.0, order: int = 4) -> GroundTruth:
    """``T* = a e_1^{(x)l}``: one fitted component has the exact equilibrium ``||w||^2 = a - lambda/2`` (C10)."""
    return identity_basis(d, np.array([a]), order)

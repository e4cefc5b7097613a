"""The suite's named instances, defined once: the library, the CLI, the baselines, the benchmarks and the test
strategies build them here (docs/spec.md section 2).

Each is a :class:`solver.spec.InstanceSpec` (the ground truth by name and seed) or a :class:`solver.spec.RunSpec`
(instance + flow configuration), so every use reproduces with ``spec.command()``. The ``*_truth`` helpers are the
same instances as :class:`solver.ground_truth.GroundTruth` values, for code that wants the arrays.

Torch-free and numpy-free at import (the CLI builds its parser from the names here).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Sequence

from .config import PLAIN_T_MAX, FlowConfig
from .spec import InstanceSpec, RunSpec

if typing.TYPE_CHECKING:
    from .ground_truth import GroundTruth

__all__ = ["FIGURE1_RATIO", "FIGURE1_RANK", "FIGURE1_DELTA0", "FIGURE1_M", "FIGURE1_T_MAX", "FIGURE1_SEEDS",
           "FIGURE1_N_SAVE", "FIGURE1_DISCOVERY_TIMES", "SPREAD_RATIO", "PaperRegime", "PAPER_REGIME",
           "figure1", "figure1_run", "spread", "single_component", "paper_regime_run",
           "figure1_truth", "spread_truth", "single_component_truth"]

# The paper's Figure 1: a_1 = 1, a_i/a_{i+1} = 1.2, i <= 5, u_j = e_j in R^10, m = 50 components at norm 1e-15,
# plain flow to t = 100, five initializations.
FIGURE1_RATIO = 1.2
FIGURE1_RANK = 5
FIGURE1_DELTA0 = 1e-15
FIGURE1_M = 50
FIGURE1_T_MAX = PLAIN_T_MAX  # a plain run's default horizon is Figure 1's
FIGURE1_SEEDS = 5
# Save times of the Figure 1 record: enough for the discovery-time interpolation (one save interval ~0.2).
FIGURE1_N_SAVE = 500
# Our numpy/scipy prototype's mean discovery times on Figure 1 (docs/spec.md section 2), 5 seeds, spread <= 0.25.
FIGURE1_DISCOVERY_TIMES = (17.2, 20.6, 24.7, 29.5, 35.2)

# The stiff spread spectrum a_i = 10^{-2(i-1)}: five decades of time scales between a_1 and a_5.
SPREAD_RATIO = 100.0


def figure1(d: int = 10, order: int = 4, basis: str = "identity", basis_seed: int = 0) -> InstanceSpec:
    """The paper's Figure 1 ground truth ``T* = sum_{i<=5} a_i u_i^{(x)l}``, ``a_1 = 1``, ``a_i/a_{i+1} = 1.2``,
    ``u_i = e_i`` in ``R^d`` (``d = 10``, ``l = 4``); other bases keep its spectrum."""
    return InstanceSpec(d=d, r=FIGURE1_RANK, ratio=FIGURE1_RATIO, order=order, basis=basis, basis_seed=basis_seed)


def figure1_run(seeds: int = FIGURE1_SEEDS, d: int = 10, m: int = FIGURE1_M, t_max: float = FIGURE1_T_MAX,
                device: str = "auto") -> RunSpec:
    """The Figure 1 runs: :func:`figure1` with ``m`` components at norm ``1e-15``, plain flow to ``t_max``,
    ``seeds`` initializations (reduced sizes allowed for tests)."""
    return RunSpec(instance=figure1(d),
                   config=FlowConfig(algorithm="plain", m=m, delta0=FIGURE1_DELTA0, t_max=t_max, device=device,
                                     n_save=FIGURE1_N_SAVE),
                   n_seeds=seeds)


def spread(d: int = 10, r: int = 5, order: int = 4, basis: str = "identity", basis_seed: int = 0) -> InstanceSpec:
    """The spread spectrum ``a_i = 10^{-2(i-1)}``, ``i <= r`` (docs/spec.md section 2), on the identity basis
    unless ``basis`` says otherwise."""
    return InstanceSpec(d=d, r=r, ratio=SPREAD_RATIO, order=order, basis=basis, basis_seed=basis_seed)


def single_component(d: int = 5, a: float = 1.0, order: int = 4) -> InstanceSpec:
    """``T* = a e_1^{(x)l}``: one fitted component has the exact equilibrium ``||w||^2 = a - lambda/2`` (C10)."""
    return InstanceSpec(d=d, a=(float(a),), order=order, basis="identity")


@dataclass(frozen=True)
class PaperRegime:
    """The bounds of the paper's regime as the suite samples it: orthonormal ``T*`` with ``d`` in
    ``[min_d, max_d]``, ``r`` in ``[2, min(max_r, d)]``, ``a_1 = 1`` and ``a_j/a_{j+1}`` in
    ``[min_ratio, max_ratio]``, ``m`` in ``[min(3d, max_m), max_m]`` (over-parametrized), ``delta0 = 1e-10``."""

    min_d: int = 4
    max_d: int = 8
    max_r: int = 4
    min_ratio: float = 1.3
    max_ratio: float = 2.0
    max_m: int = 24
    delta0: float = 1e-10
    # Plain flow to t = plain_horizon / a_r: discovery needs ~ln(1/delta0)/(2 a_r) ~ 12/a_r, then ~10/a_r to settle.
    plain_horizon: float = 60.0
    # Modified flow: eps far below a_r >= 1/8, so every fit happens; later epochs only cost time.
    modified_eps: float = 1e-3

    def min_m(self, d: int) -> int:
        """The smallest ``m`` drawn at dimension ``d``."""
        return min(3 * d, self.max_m)


PAPER_REGIME = PaperRegime()


def paper_regime_run(d: int, a: Sequence[float], m: int, basis_seed: int, first_seed: int, algorithm: str = "plain",
                     order: int = 4, regime: PaperRegime = PAPER_REGIME, digits: int | None = None) -> RunSpec:
    """One run of the paper's regime (:class:`PaperRegime`) from drawn values: random orthonormal basis
    ``basis_seed``, plain flow to ``t = plain_horizon / a_r`` or the modified flow with ``eps = modified_eps``
    and dense Newton solves (these systems have ``(d+1) m <= 216`` unknowns, where dense LU is ~2x faster than
    Krylov, BENCHMARKS.md; named so that a change of the ``auto`` threshold changes no test). ``digits`` rounds
    the horizon to that many significant digits (a shorter reproduce line)."""
    a = tuple(float(x) for x in a)
    instance = InstanceSpec(d=d, a=a, order=order, basis="random", basis_seed=basis_seed)
    if algorithm == "plain":
        t_max = regime.plain_horizon / a[-1]
        if digits is not None:
            t_max = float(f"{t_max:.{digits}g}")
        config = FlowConfig(algorithm="plain", m=m, delta0=regime.delta0, t_max=t_max)
    else:
        config = FlowConfig(algorithm=algorithm, m=m, delta0=regime.delta0, eps=regime.modified_eps,
                            linear_solver="dense")
    return RunSpec(instance=instance, config=config, first_seed=first_seed, n_seeds=1)


def figure1_truth(d: int = 10, order: int = 4) -> GroundTruth:
    """:func:`figure1` as arrays."""
    return figure1(d, order).truth()


def spread_truth(d: int = 10, r: int = 5, order: int = 4) -> GroundTruth:
    """:func:`spread` (identity basis) as arrays."""
    return spread(d, r, order).truth()


def single_component_truth(d: int = 5, a: float = 1.0, order: int = 4) -> GroundTruth:
    """:func:`single_component` as arrays."""
    return single_component(d, a, order).truth()

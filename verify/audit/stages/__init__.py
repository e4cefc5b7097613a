"""The audit's stages, one small adaptation module each, in the order they run.

Each module imports its library (``proofs_check``, ``verify.invariants``, ``verify.precision``) inside its
``run`` function, so a library that is missing or raises fails only that stage.
"""

from __future__ import annotations

from .._types import Stage
from . import baselines, beyond, derivations, figure1, frontier, invariants, phase, precision, scale, spread

STAGES: tuple[Stage, ...] = (
    derivations.STAGE,
    figure1.STAGE,
    spread.STAGE,
    scale.STAGE,
    invariants.STAGE,
    precision.STAGE,
    frontier.STAGE,
    phase.STAGE,
    baselines.STAGE,
    beyond.STAGE,
)

__all__ = ["STAGES"]

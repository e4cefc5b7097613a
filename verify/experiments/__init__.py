"""The suite's experiments as library functions: what the CLI commands, the audit stages and the tests call.

Each experiment returns a typed result (a frozen dataclass) holding the :class:`solver.spec.RunSpec` values it ran
and the :class:`solver.spec.Command` that reruns it:

- :mod:`.figure1`: the paper's Figure 1 (:func:`run_figure1` -> :class:`Figure1Result`);
- :mod:`.sweep`: the invariant sweep over the paper's regime (:func:`invariant_sweep` -> :class:`InvariantSweep`);
- :mod:`.summary`: the text forms the commands print.
"""

from __future__ import annotations

from .figure1 import Figure1Result, figure1_spec, figure1_trajectory, run_figure1, write_figure1
from .summary import format_loss, format_summary
from .sweep import ClaimTally, InvariantSweep, SweepInstance, invariant_sweep, random_regime_spec

__all__ = ["figure1_spec", "figure1_trajectory", "run_figure1", "write_figure1", "Figure1Result", "format_summary",
           "format_loss", "random_regime_spec", "invariant_sweep", "InvariantSweep", "SweepInstance", "ClaimTally"]

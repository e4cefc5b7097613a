"""The suite's experiments as library functions: what the CLI commands, the audit stages and the tests call.

Each experiment returns a typed result (a frozen dataclass) holding the :class:`solver.spec.RunSpec` values it ran
and the :class:`solver.spec.Command` that reruns it:

- :mod:`.figure1`: the paper's Figure 1 (:func:`run_figure1` -> :class:`Figure1Result`);
- :mod:`.sweep`: the invariant sweep over the paper's regime (:func:`invariant_sweep` -> :class:`InvariantSweep`);
- :mod:`.summary`: the text forms the commands print;
- :mod:`.frontier` and :mod:`.frontier_stats`: the accuracy-frontier campaign of claims P11 and P7 (where
  Theorem 1's ``eps >= exp(-o(d/log d))`` bites: the runs, their rows in the evidence store, the statistics and
  the figures), exported as submodules because their names (``bound``, ``analyze``, ``TINY``) only read well
  qualified: ``frontier.run_campaign``, ``frontier_stats.analyze``.
"""

from __future__ import annotations

from . import frontier, frontier_stats
from .figure1 import Figure1Result, figure1_spec, figure1_trajectory, run_figure1, write_figure1
from .summary import format_loss, format_summary
from .sweep import ClaimTally, InvariantSweep, SweepInstance, invariant_sweep, random_regime_spec

__all__ = ["figure1_spec", "figure1_trajectory", "run_figure1", "write_figure1", "Figure1Result", "format_summary",
           "format_loss", "random_regime_spec", "invariant_sweep", "InvariantSweep", "SweepInstance", "ClaimTally",
           "frontier", "frontier_stats"]

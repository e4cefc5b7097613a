"""Text forms of a run's results, as the commands print them."""

from __future__ import annotations

import math

from solver.trajectory import Trajectory

__all__ = ["format_loss", "format_summary"]


def format_loss(loss: float, floor: float) -> str:
    """A loss as printed: ``"2.411e-01"``, or ``"<= floor (1.2e-15)"`` when it is below its resolution floor
    (a value there, zero or negative included, is rounding noise, not a measurement)."""
    if not math.isfinite(loss):
        return str(loss)
    if math.isfinite(floor) and loss <= floor:
        return f"<= floor ({floor:.1e})"
    return f"{loss:.3e}"


def format_summary(trajectory: Trajectory) -> str:
    """One line per run: seed, discovery times (directions counted from 1), final loss ("<= floor" below its
    resolution floor), then which directions the run recovered, so that a miss shows even when the loss
    cannot (a missed ``a_5 = 1e-8`` is below the loss floor)."""
    summary = trajectory.summary()
    a = trajectory.a
    r = a.shape[1]
    lines = [f"{'seed':>6}  " + "  ".join(f"t_disc[{j + 1}]" for j in range(r)) + "   final loss"]
    for run in summary["runs"]:
        times = "  ".join(f"{'never':>9}" if t is None else f"{t:9.4g}" for t in run["discovery_times"])
        lines.append(f"{run['seed']:>6}  {times}   {format_loss(run['final_loss'], run['final_loss_floor'])}")
    for b, run in enumerate(summary["runs"]):
        missed = [j for j, ok in enumerate(run["recovered"]) if not ok]
        text = f"seed {run['seed']}: recovered {r - len(missed)}/{r} directions"
        if missed:
            text += "; missed " + ", ".join(f"a_{j + 1} = {a[b, j]:.3g}" for j in missed)
        lines.append(text)
    return "\n".join(lines)

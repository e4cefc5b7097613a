"""Stage ``probe``: the accuracy-regime probe of Theorem 1's ``eps >= exp(-o(d/log d))``
(:func:`verify.precision.run_probe`, modified flow at high precision).

``results``: :class:`ProbeResult`, one :class:`ProbeRow` per grid point ``(d, eps)`` with
``bound = exp(-d/ln d)``; a row with an ``error`` is a point whose integration failed (reported by the
library, not raised). The rows' own commands, when the library gives them, are kept as it gives them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Mapping

from .._types import Figure, RunRecord, Stage, StageContext, StageResult
from ..figures import plot_probe

NAME = "probe"
_ROW_FIELDS = ("d", "eps", "bound", "reached", "recovered_all", "epochs", "seconds", "error")


@dataclass
class ProbeRow:
    """One probe point: the ``||T - T*||_F`` reached (None when the integration failed), whether every
    component with ``a_j >= eps`` was recovered, the epochs run; ``other`` holds the library's further keys
    (digits, m, r, evaluation counts, ...)."""

    d: int
    eps: float
    bound: float
    reached: float | None
    recovered_all: bool
    epochs: int | None
    seconds: float
    error: str | None
    command: str | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @property
    def above_bound(self) -> bool:
        """``eps >= exp(-d/ln d)``: inside Theorem 1's regime."""
        return self.eps >= self.bound

    @classmethod
    def from_library(cls, row: Mapping[str, Any]) -> "ProbeRow":
        """A row of :func:`verify.precision.run_probe` (a missing documented key raises ``KeyError``)."""
        return cls(**{k: row[k] for k in _ROW_FIELDS}, command=row.get("command"),
                   other={k: v for k, v in row.items() if k not in _ROW_FIELDS and k != "command"})


@dataclass
class ProbeResult:
    grid: list[tuple[int, float]]
    rows: list[ProbeRow]
    settings: dict[str, Any]
    seconds: float


def run(ctx: StageContext, result: StageResult) -> None:
    from verify import precision

    grid = [tuple(point) for point in (ctx.profile.probe_grid or precision.QUICK_GRID)]
    ctx.progress.message(f"probe: {len(grid)} point(s) (d, eps): {grid}")
    start = time.perf_counter()
    data = precision.run_probe(grid, progress=lambda text: ctx.progress.message(f"probe: {text}"))
    seconds = time.perf_counter() - start
    rows = [ProbeRow.from_library(r) for r in data["rows"]]
    settings = dict(data.get("settings", {}))
    result.results = ProbeResult(grid=grid, rows=rows, settings=settings, seconds=seconds)
    command = "deflation probe --grid " + ",".join(f"{d}:{eps:g}" for d, eps in grid)
    result.runs.append(RunRecord(label="accuracy probe (modified flow, high precision)", command=command,
                                 config={"grid": [list(p) for p in grid], **settings},
                                 seeds=[int(settings.get("seed", 0))],
                                 ground_truth={"kind": "random orthonormal basis, a_j = eps^((j-1)/(r-1)), "
                                                       "r = min(d, r_max)"},
                                 seconds=seconds))
    errors = [r for r in rows if r.error]
    if errors:
        result.notes.append(f"{len(errors)} probe point(s) failed to integrate: "
                            + "; ".join(f"(d={r.d}, eps={r.eps:g}) {r.error}" for r in errors))
    plot_probe([dict(r.__dict__) for r in rows], ctx.out / "figures" / "probe",
               title="Accuracy probe (modified flow, high precision)")
    result.figures.append(Figure(
        id="probe", title="Accuracy probe",
        caption=(r"Reached $\|T - T^*\|_F$ against the target $\epsilon$, one colour per $d$ (circle: every "
                 r"component with $a_j \ge \epsilon$ recovered; cross: a component missed), with Theorem 1's scale "
                 r"$\exp(-d/\ln d)$ dotted. Instances: orthogonal, spectrum from $a_1 = 1$ down to $a_r = \epsilon$."),
        path="figures/probe.svg", claims=["P7", "P11"]))


STAGE = Stage(NAME, "Accuracy-regime probe (exp(-o(d/log d)))", run)

"""The records that stages produce and the ledger and renderer consume."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..progress import ProgressBar
from .profiles import Profile

__all__ = ["Figure", "RunRecord", "StageResult", "StageContext", "Stage", "STATUSES", "LedgerEntry"]

STATUSES = ("verified", "supported", "refuted", "open")


@dataclass
class Figure:
    """One figure of the report: an SVG file under the output folder (inlined into ``index.html``)."""

    id: str
    title: str
    caption: str
    path: str  # relative to the output folder
    claims: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class RunRecord:
    """What one solver (or high-precision) run was: enough to rerun it."""

    label: str
    command: str
    config: dict
    seeds: list[int]
    ground_truth: dict
    seconds: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class StageResult:
    """The outcome of one stage. ``status``: ``ok``, ``failed`` (raised, or its module is missing) or
    ``skipped`` (a stage it needs failed). ``results`` is the stage's normalized, JSON-ready output (each
    stage module documents its keys); the ledger reads only this."""

    name: str
    title: str
    status: str = "ok"
    error: str | None = None
    traceback: str | None = None
    seconds: float = 0.0
    results: dict = field(default_factory=dict)
    runs: list[RunRecord] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "status": self.status, "error": self.error,
                "traceback": self.traceback, "seconds": self.seconds, "results": self.results,
                "runs": [r.to_dict() for r in self.runs], "figures": [f.to_dict() for f in self.figures],
                "notes": list(self.notes)}


@dataclass
class StageContext:
    """What a stage may use: the profile, the output folder, a progress bar, and the in-memory artifacts
    (e.g. trajectories) of the stages before it, keyed by stage name."""

    profile: Profile
    out: Path
    progress: ProgressBar
    device: str = "cpu"
    artifacts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """A named step of the audit. ``run(ctx, result)`` fills ``result`` (results, runs, figures) and may put
    in-memory objects into ``ctx.artifacts[name]``; ``requires`` names stages whose artifacts it needs."""

    name: str
    title: str
    run: Callable[[StageContext, StageResult], None]
    requires: tuple[str, ...] = ()


@dataclass
class LedgerEntry:
    """One row of the ledger (SPEC section 3)."""

    id: str
    title: str
    family: str
    kind: str  # "paper" (P*) or "derivation" (C*)
    status: str
    evidence: dict  # {"summary": str, "details": [str], "figures": [figure ids], "stages": [stage names]}
    reproduce: str
    counterexample: dict | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

"""The records of an audit: what stages produce, what the ledger decides and what the renderer shows.

Data flow: a stage module fills a :class:`StageResult` whose ``results`` is that stage's own result
dataclass (documented in the stage module); :func:`verify.audit.ledger.decide_ledger` reads those objects
and returns :class:`LedgerEntry` rows; :class:`AuditReport` holds everything and is both what
``index.html`` / ``report.md`` are rendered from and (through :meth:`AuditReport.to_dict` and
:func:`solver.trajectory.json_safe`) what ``report.json`` holds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from solver.trajectory import json_safe

from ..progress import ProgressBar
from .profiles import Profile

__all__ = ["Figure", "RunRecord", "StageResult", "StageContext", "Stage", "STATUSES", "Evidence", "LedgerEntry",
           "Machine", "AuditReport"]

# irreproducible: the evidence store behind the claim holds a row that a re-run from its own command did not
# reproduce (verify.sweep.spotcheck); no status is decided from such a store.
STATUSES = ("proven", "verified", "supported", "refuted", "open", "irreproducible")

R = TypeVar("R")


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
    """What one solver (or high-precision) run was: enough to rerun it. ``command`` comes from a
    :class:`solver.spec.RunSpec` (or the CLI command that reruns it, e.g. an evidence store's campaign)."""

    label: str
    command: str
    config: dict
    seeds: list[int]
    ground_truth: dict
    seconds: float

    def to_dict(self) -> dict:
        return json_safe(dataclasses.asdict(self))


@dataclass
class StageResult(Generic[R]):
    """The outcome of one stage. ``status``: ``ok``, ``failed`` (raised, or its module is missing) or
    ``skipped`` (a stage it needs failed). ``results`` is the stage's result dataclass (None unless ``ok``);
    the ledger reads only that."""

    name: str
    title: str
    status: str = "ok"
    error: str | None = None
    traceback: str | None = None
    seconds: float = 0.0
    results: R | None = None
    runs: list[RunRecord] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "status": self.status, "error": self.error,
                "traceback": self.traceback, "seconds": self.seconds,
                "results": json_safe(self.results) if self.results is not None else {},
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
    seed: int = 0  # the audit's seed: which rows of the evidence store the spot-check re-runs


@dataclass(frozen=True)
class Stage:
    """A named step of the audit. ``run(ctx, result)`` fills ``result`` (results, runs, figures) and may put
    in-memory objects into ``ctx.artifacts[name]``; ``requires`` names stages whose artifacts it needs.

    Adding a stage: one module under :mod:`verify.audit.stages` (its result dataclass, ``run`` and ``STAGE``),
    its entry in ``STAGES``, and a template block ``templates/stages/<name>.html.j2`` (and ``.md.j2``) that
    shows its ``results``; without a block the report shows the stage's figures and runs only.
    """

    name: str
    title: str
    run: Callable[[StageContext, StageResult], None]
    requires: tuple[str, ...] = ()


@dataclass
class Evidence:
    """Why a ledger row has its status: a summary, detail lines, and the figures and stages it rests on."""

    summary: str
    details: list[str]
    figures: list[str]
    stages: list[str]
    kind: str  # the evidence SPEC section 3 asks for

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class LedgerEntry:
    """One row of the ledger (SPEC section 3)."""

    id: str
    title: str
    family: str
    kind: str  # "paper" (P*) or "derivation" (C*)
    status: str
    evidence: Evidence
    reproduce: str
    counterexample: dict | None = None
    scope: dict | None = None       # {"d": "all" | [..], "l": "all" | "l>=3" | [..]}: where the status holds
    k: int | None = None            # supported: k of n runs agree, with their Wilson 95% interval ci95
    n: int | None = None
    ci95: list[float] | None = None
    sizes: list[dict] | None = None  # the runs counted: source, d, m, r, l, seeds
    lemmas: list[str] | None = None  # proven: the stated lemmas the proof rests on
    rests_on: list[str] = field(default_factory=list)  # the claims whose status bounds this one's

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "family": self.family, "kind": self.kind, "status": self.status,
                "evidence": self.evidence.to_dict(), "reproduce": self.reproduce,
                "counterexample": json_safe(self.counterexample), "scope": json_safe(self.scope), "k": self.k,
                "n": self.n, "ci95": self.ci95, "sizes": json_safe(self.sizes), "lemmas": self.lemmas,
                "rests_on": list(self.rests_on)}


@dataclass
class Machine:
    """Where the audit ran."""

    cpus: int | None
    device: str
    omp_num_threads: str | None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class AuditReport:
    """A finished audit: what ``report.json`` holds (:meth:`to_dict`) and what the report pages render."""

    format: str
    generated: str
    command: str
    wall_seconds: float
    profile: Profile
    versions: dict[str, str]
    machine: Machine
    ledger: list[LedgerEntry]
    stages: list[StageResult]

    def stage(self, name: str) -> StageResult | None:
        """The result of stage ``name`` (None when it did not run)."""
        return next((s for s in self.stages if s.name == name), None)

    def counts(self) -> dict[str, int]:
        """Number of ledger rows per status, in :data:`STATUSES` order."""
        return {s: sum(e.status == s for e in self.ledger) for s in STATUSES}

    def figures(self) -> dict[str, Figure]:
        """Every figure of every stage, by id."""
        return {f.id: f for s in self.stages for f in s.figures}

    def to_dict(self) -> dict:
        """The ``report.json`` content (schema ``report.schema.json``), JSON-ready."""
        return json_safe({
            "format": self.format, "generated": self.generated, "command": self.command,
            "wall_seconds": self.wall_seconds,
            "profile": {"name": self.profile.name, "description": self.profile.description,
                        "sizes": self.profile.to_dict(), "adds_over_quick": list(self.profile.adds)},
            "versions": self.versions, "machine": self.machine.to_dict(),
            "ledger": [e.to_dict() for e in self.ledger], "stages": [s.to_dict() for s in self.stages]})

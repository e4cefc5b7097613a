"""The evidence store's campaigns as the audit reads them: which are present, whether complete, which rows an
older solver made, and whether a random sample of rows reproduces.

A campaign is a folder ``evidence/<name>/`` holding ``runs/*.parquet`` (one row per run, :mod:`.store`) and
``spec.toml``. Its expected runs are the keys of its spec (the folder's ``spec.toml``, else the built-in spec of
the same name): a folder holding fewer is ``partial`` (the audit says so and uses what is there), none at all
is ``absent``.

Provenance: a row whose ``commit`` (without ``+dirty``) differs from the audited checkout's HEAD was "made by an
older solver". Nothing is re-run to trust such rows wholesale: the spot-check
(:func:`verify.sweep.spotcheck.spot_check`, its sampling rule there: uniform over every row, seeded by the
audit's seed and the campaign's name) is what vouches for them, and a mismatch makes the campaign
``irreproducible``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["CampaignState", "EVIDENCE_ROOT", "CAMPAIGNS", "expected_keys", "campaign_state", "read_campaign",
           "spot_seed", "base_commit"]

EVIDENCE_ROOT = Path(__file__).resolve().parents[2] / "evidence"
CAMPAIGNS = ("alg1_m", "plain_m")


def base_commit(commit: Any) -> str:
    """A commit string without its ``+dirty`` mark (``""`` for a missing one)."""
    return "" if not isinstance(commit, str) else commit.split("+", 1)[0]


def spot_seed(seed: int, name: str) -> tuple[int, int]:
    """The spot-check's seed for campaign ``name`` under the audit's ``seed``: ``(seed, crc32(name))``, so
    two campaigns draw independent samples and one audit seed fixes both."""
    return int(seed), zlib.crc32(name.encode())


def expected_keys(folder: Path, name: str) -> set[str] | None:
    """The run keys the campaign's spec expands to (its ``spec.toml``, else the built-in spec ``name``);
    None when neither exists."""
    from .builtin import BUILTIN
    from .spec import load_spec

    folder = Path(folder)
    if (folder / "spec.toml").is_file():
        spec = load_spec(folder / "spec.toml")
    elif name in BUILTIN:
        spec = load_spec(name)
    else:
        return None
    return {p.key for p in spec.points()}


@dataclass
class CampaignState:
    """What the audit knows of one campaign before and after its spot-check.

    ``status``: ``absent`` (no rows), ``partial`` (fewer rows than its spec's runs), ``complete``, or
    ``no spec`` (neither a ``spec.toml`` nor a built-in spec of that name says what it should hold);
    ``rows`` present, ``expected`` (None: no spec), ``extra`` rows whose key the spec does not name,
    ``errors`` rows whose integration raised, ``older_solver`` rows whose commit is not ``head``,
    ``commits`` row counts per commit, ``spot`` the :class:`verify.sweep.spotcheck.SpotCheck` (None before it
    ran or when absent), ``law`` the order law's agreement ``(k, n)`` (:func:`verify.sweep.claims.law_agreement`),
    ``cpu_seconds`` the rows' total CPU time, ``algorithms`` the algorithms its rows ran.
    """

    name: str
    folder: str
    status: str
    rows: int
    expected: int | None
    extra: int = 0
    errors: int = 0
    older_solver: int = 0
    head: str = ""
    commits: dict = field(default_factory=dict)
    spot: Any = None
    law: tuple[int, int] = (0, 0)
    cpu_seconds: float = 0.0
    algorithms: tuple[str, ...] = ()

    @property
    def out(self) -> str:
        """``folder`` as a reader would type it: relative to the repository when the campaign lives in it."""
        path = Path(self.folder).resolve()
        try:
            return str(path.relative_to(EVIDENCE_ROOT.parent))
        except ValueError:
            return str(self.folder)

    @property
    def reproducible(self) -> bool:
        """False when the spot-check found a mismatch (None-spot campaigns are not irreproducible)."""
        return self.spot is None or self.spot.ok

    def line(self) -> str:
        """One sentence for the report: presence, completeness, provenance, spot-check."""
        if self.status == "absent":
            return f"{self.name}: absent (no rows under {self.folder}); nothing of it is evidence in this audit"
        size = f"{self.rows}/{self.expected} rows" if self.expected is not None else f"{self.rows} rows"
        text = f"{self.name}: {self.status} ({size}"
        text += f", {self.errors} raised in the integrator" if self.errors else ""
        text += f", {self.extra} outside its spec" if self.extra else ""
        text += ")"
        if self.older_solver:
            text += (f"; {self.older_solver} made by an older solver (commit other than HEAD "
                     f"{self.head[:7] or 'unknown'}: the spot-check vouches for them)")
        if self.spot is not None:
            text += f"; {self.spot.line()}"
        k, n = self.law
        if n:
            text += f"; order law: {k} of {n} runs fitted exactly the predicted set"
        return text

    def to_dict(self) -> dict:
        from solver.trajectory import json_safe

        spot = None if self.spot is None else {
            "reproduced": self.spot.reproduced, "k": self.spot.k, "keys": list(self.spot.keys),
            "mismatches": [m.__dict__ for m in self.spot.mismatches]}
        return json_safe({"name": self.name, "folder": self.folder, "status": self.status, "rows": self.rows,
                          "expected": self.expected, "extra": self.extra, "errors": self.errors,
                          "older_solver": self.older_solver, "head": self.head, "commits": self.commits,
                          "spot_check": spot, "law": list(self.law), "cpu_seconds": self.cpu_seconds,
                          "algorithms": list(self.algorithms),
                          "line": self.line()})


def campaign_state(rows: Any, name: str, folder: Path, head: str) -> CampaignState:
    """The :class:`CampaignState` of ``rows`` (the store under ``folder``) against its spec and ``head``."""
    from .claims import law_agreement

    folder = Path(folder)
    if len(rows) == 0:
        return CampaignState(name, str(folder), "absent", 0, None, head=head)
    keys = set(rows["key"])
    expected = expected_keys(folder, name)
    missing = len(expected - keys) if expected is not None else 0
    extra = len(keys - expected) if expected is not None else 0
    commits = {str(c): int(n) for c, n in rows["commit"].fillna("unknown").value_counts().items()}
    older = int(sum(base_commit(c) != base_commit(head) for c in rows["commit"]))
    errors = int(rows["error"].notna().sum()) if "error" in rows else 0
    law = law_agreement(rows, algorithm=None)
    status = "partial" if missing else ("complete" if expected is not None else "no spec")
    return CampaignState(name, str(folder), status, len(rows),
                         None if expected is None else len(expected), extra=extra, errors=errors,
                         older_solver=older, head=head, commits=commits, law=law,
                         cpu_seconds=float(rows["cpu_seconds"].fillna(0).sum()),
                         algorithms=tuple(sorted(set(rows["algorithm"]))))


def read_campaign(name: str, root: Path = EVIDENCE_ROOT, *, head: str | None = None, spot_k: int = 8,
                  seed: int = 0, full: bool = False,
                  run_many: Callable[[list[dict]], list[dict]] | None = None) -> tuple[Any, CampaignState]:
    """Read ``root/name`` and spot-check it: ``(rows, state)``. ``spot_k`` rows (every row when ``full``)
    re-run with :func:`spot_seed` ``(seed, name)``; ``spot_k = 0`` skips the spot-check. ``head``: the commit
    the rows are compared with (default: this checkout's)."""
    from .runner import git_commit
    from .spotcheck import spot_check
    from .store import read_rows

    folder = Path(root) / name
    rows = read_rows(folder)
    state = campaign_state(rows, name, folder, head if head is not None else git_commit())
    if state.status != "absent" and (spot_k > 0 or full):
        state.spot = spot_check(rows, spot_k, seed=spot_seed(seed, name), full=full, run_many=run_many)
    return rows, state


def campaign_lines(states: Sequence[CampaignState]) -> list[str]:
    """One report line per campaign (:meth:`CampaignState.line`)."""
    return [s.line() for s in states]

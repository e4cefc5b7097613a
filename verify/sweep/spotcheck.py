"""The evidence store's spot-check: re-run a random sample of rows from their own commands and compare.

A row reproduces when, re-run from its ``command`` (the ``deflation run`` flags, parsed back into a
:class:`solver.spec.RunSpec`):

- the command names the row (its :meth:`RunSpec.key` equals the row's ``key``: a command edited after the fact
  names another run);
- the outcome is the same: ``success`` and ``fitted`` (or, for a run that raised, the same exception type);
- every discovery time agrees within the run's stated tolerance: both never reached (NaN), or
  ``|t - t'| <= max(tol_j, tol'_j) + 1e-9 |t|`` with ``tol_j`` the save interval holding the crossing
  (``discovery_tolerance``; the interpolated time is within it). Rows without a stated tolerance use
  ``rtol_fallback`` (1e-3) relative.

A mismatch is reported, never averaged away; the caller (the audit) gives a campaign with any mismatch the
status ``irreproducible``.

Sampling rule: ``k`` rows drawn uniformly at random without replacement from every row of the store (rows
sorted by ``key``, so the file order does not matter; runs that raised included: their error must reproduce
too), with ``numpy.random.default_rng(seed)``; ``seed`` may be a sequence (the audit passes its own seed and
the campaign's name), and the same store and seed give the same sample. No row is preferred for being cheap.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["SpotCheck", "Mismatch", "spot_check", "compare_row", "spec_of_row", "sample_rows"]

SPOT_CHECK_MIN = 8


@dataclass(frozen=True)
class Mismatch:
    """One row that did not reproduce: which field, what the store says, what the re-run gave."""

    key: str
    command: str
    field: str
    recorded: Any
    rerun: Any


@dataclass
class SpotCheck:
    """``reproduced`` of ``k`` sampled rows reproduced; ``mismatches`` lists the others (one entry per bad
    field). Unpacks as ``(reproduced, k, mismatches)``."""

    reproduced: int
    k: int
    mismatches: list[Mismatch] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter((self.reproduced, self.k, self.mismatches))

    @property
    def ok(self) -> bool:
        return self.reproduced == self.k

    def line(self) -> str:
        text = f"reproduced {self.reproduced}/{self.k}"
        if self.mismatches:
            text += " (irreproducible: " + "; ".join(f"{m.key} {m.field}" for m in self.mismatches[:5]) + ")"
        return text


def spec_of_row(row: Any):
    """The :class:`RunSpec` the row's ``command`` names (``deflation run FLAGS``)."""
    from solver.spec import RunSpec

    words = shlex.split(str(row["command"]))
    while words and not words[0].startswith("--"):
        words = words[1:]
    return RunSpec.from_argv(words)


def _list(value) -> list:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return list(value)


def compare_row(row: Any, rerun: dict, rtol_fallback: float = 1e-3) -> list[tuple[str, Any, Any]]:
    """The fields in which ``rerun`` (a row dict from :func:`verify.sweep.runner.run_point`) differs from
    ``row``, as ``(field, recorded, rerun)``; empty when the row reproduces (module docstring)."""
    bad: list[tuple[str, Any, Any]] = []
    if rerun.get("key") != row["key"]:
        bad.append(("key", row["key"], rerun.get("key")))
    err0, err1 = row.get("error"), rerun.get("error")
    err0 = None if isinstance(err0, float) else err0
    if (err0 is None) != (err1 is None) or (err0 and err1 and err0.split(":")[0] != err1.split(":")[0]):
        bad.append(("error", err0, err1))
        return bad
    if err0 is not None:
        return bad
    if bool(row["success"]) != bool(rerun["success"]):
        bad.append(("success", bool(row["success"]), bool(rerun["success"])))
    f0, f1 = sorted(int(x) for x in _list(row.get("fitted"))), sorted(int(x) for x in _list(rerun.get("fitted")))
    if f0 != f1:
        bad.append(("fitted", f0, f1))
    t0, t1 = [float(x) for x in _list(row.get("discovery_times"))], [float(x) for x in rerun["discovery_times"]]
    tol0 = [float(x) for x in _list(row.get("discovery_tolerance"))]
    tol1 = [float(x) for x in _list(rerun.get("discovery_tolerance"))]
    if len(t0) != len(t1):
        bad.append(("discovery_times", t0, t1))
        return bad
    for j, (a, b) in enumerate(zip(t0, t1)):
        if math.isnan(a) or math.isnan(b):
            if math.isnan(a) != math.isnan(b):
                bad.append((f"discovery_times[{j + 1}]", a, b))
            continue
        stated = [x for x in (tol0[j] if j < len(tol0) else math.nan, tol1[j] if j < len(tol1) else math.nan)
                  if not math.isnan(x)]
        tol = max(stated) if stated else rtol_fallback * abs(a)
        if abs(a - b) > tol + 1e-9 * abs(a):
            bad.append((f"discovery_times[{j + 1}]", a, b))
    return bad


def sample_rows(rows: Any, k: int = SPOT_CHECK_MIN, seed: int | Sequence[int] = 0, full: bool = False):
    """The rows the spot-check re-runs (module docstring's sampling rule): ``rows`` sorted by ``key``, then
    ``k`` drawn uniformly without replacement with ``numpy.random.default_rng(seed)`` (all of them when
    ``full`` or when there are at most ``k``), in key order."""
    import numpy as np

    rows = rows.sort_values("key", kind="stable").reset_index(drop=True)
    n = len(rows)
    if full or n <= k:
        return rows
    return rows.iloc[sorted(np.random.default_rng(seed).choice(n, size=k, replace=False).tolist())]


def spot_check(store: Path | Any, k: int = SPOT_CHECK_MIN, *, seed: int | Sequence[int] = 0, full: bool = False,
               run: Callable[[dict], dict] | None = None,
               run_many: Callable[[list[dict]], list[dict]] | None = None) -> SpotCheck:
    """Re-run ``k`` rows of ``store`` (a store folder or its DataFrame) sampled with ``seed`` (every row when
    ``full`` or when the store holds fewer than ``k``) and compare (module docstring).

    ``run(payload) -> row`` re-runs one row (default :func:`verify.sweep.runner.run_point` in this process; the
    audit may pass a Dask-backed one); ``run_many(payloads) -> rows`` re-runs them all at once instead (e.g.
    ``client.map`` on a cluster). Returns :class:`SpotCheck`, unpacking as ``(k_reproduced, k, mismatches)``.
    """
    from .runner import run_point
    from .store import read_rows

    rows = read_rows(store) if isinstance(store, (str, Path)) else store
    run = run or run_point
    picked = sample_rows(rows, k, seed, full)
    result = SpotCheck(reproduced=0, k=len(picked))
    todo: list[tuple[Any, dict]] = []
    for _, row in picked.iterrows():
        result.keys.append(str(row["key"]))
        try:
            spec = spec_of_row(row)
        except Exception as err:  # noqa: BLE001 - an unparseable command is a mismatch
            result.mismatches.append(Mismatch(str(row["key"]), str(row["command"]), "command", row["command"],
                                              f"{type(err).__name__}: {err}"))
            continue
        todo.append((row, {"spec": spec.to_dict(), "m_over_r": float(row["m_over_r"]),
                           "spread": float(row["spread"]), "commit": "spot-check"}))
    reruns = run_many([p for _, p in todo]) if run_many is not None else [run(p) for _, p in todo]
    for (row, _), rerun in zip(todo, reruns):
        fields = compare_row(row, rerun)
        if fields:
            result.mismatches += [Mismatch(str(row["key"]), str(row["command"]), f, a, b) for f, a, b in fields]
        else:
            result.reproduced += 1
    return result

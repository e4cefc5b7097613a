"""What the sweep says about claims P12 and P1, as typed results the ledger cites (the ledger renders them; it
does not recompute them).

Rules (ours; the paper states "m large enough" without a number):

- P12 (plain flow fits orthogonal T* for m large enough): ``supported`` when every (d, r, spread) line of the
  plain flow reaches the success threshold at some m/r of the grid and keeps it (its m*); ``open`` when a
  line never does within the grid (the grid's largest m may not be "large enough": no refutation). A
  failure at m < m* is not a counterexample any more; failures at m >= m* are listed (the threshold allows up
  to 1 - threshold of them; a line where they exceed it has no m*).
- P1 (larger components fitted first, m large enough): among plain runs at m/r >= m* of their line that
  discovered every direction, the share whose discovery times follow the order of the a_j. ``supported`` when
  all do, else ``refuted`` with the reproduce commands of the runs that did not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .phase import PhaseSummary

__all__ = ["ClaimEvidence", "p12_evidence", "p1_evidence", "p12_m90_evidence", "law_agreement",
           "p1_all_runs", "order_among_fitted"]


@dataclass(frozen=True)
class ClaimEvidence:
    """A claim's status (``supported``/``refuted``/``open``), one-paragraph statement, and figures."""

    claim: str
    status: str
    statement: str
    details: dict = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    k: int | None = None      # runs that agree with the claim, of ...
    n: int | None = None      # ... the runs it was decided on (None: the evidence counts no runs)
    sizes: list = field(default_factory=list)


def p12_evidence(summary: PhaseSummary, algorithm: str = "plain") -> ClaimEvidence:
    lines = [e for e in summary.m_star if e.algorithm == algorithm]
    if not lines:
        return ClaimEvidence("P12", "open", f"no {algorithm} runs in the sweep")
    reached = [e for e in lines if e.m_over_r is not None]
    parts = []
    for e in lines:
        where = f"d={e.d}, r={e.r}, spread {e.spread:.3g}"
        if e.m_over_r is None:
            parts.append(f"{where}: not reached up to m/r = {e.max_m_over_r:g}")
        else:
            parts.append(f"{where}: m* = {e.m} (m/r = {e.m_over_r:g}; {e.failures_at_or_above} failures in "
                         f"{e.runs_at_or_above} runs at m/r >= m*/r)")
    status = "supported" if len(reached) == len(lines) else "open"
    statement = (f"Empirical m* (success >= {summary.threshold:.0%} from there on, {algorithm} flow): "
                 + "; ".join(parts) + ".")
    return ClaimEvidence("P12", status, statement,
                         details={"m_star": [e.__dict__ for e in lines], "threshold": summary.threshold})


def _out_of_order(row: Any, times: list[float]) -> bool:
    """The sweep row's discovery order against its coefficients, with ties as :class:`DeflationOrder` treats
    them: a pair with ``a_j / a_k < rho`` may come in either order, and a pair counts as reversed only when
    ``t_j - t_k`` exceeds the two times' resolution (``discovery_tolerance``; 0 for rows that lack it)."""
    from verify.invariants import DeflationOrder

    rho = DeflationOrder.rho
    a = [float(x) for x in row["a"]] if "a" in row and row["a"] is not None else None
    if a is None or len(a) != len(times):  # a geometric spectrum given by its ratio a_j / a_{j+1}
        ratio = float(row["ratio"]) if "ratio" in row and row["ratio"] is not None else 2 * rho  # else: strict
        a = [ratio ** -j for j in range(len(times))]
    tol = row["discovery_tolerance"] if "discovery_tolerance" in row else None
    tol = [0.0] * len(times) if tol is None else [0.0 if math.isnan(float(x)) else float(x) for x in tol]
    return any(a[j] > a[k] and a[j] / a[k] >= rho and times[j] - times[k] > tol[j] + tol[k]
               for j in range(len(times)) for k in range(len(times)))


def order_among_fitted(row: Any) -> tuple[bool | None, bool]:
    """``(out_of_order, skipped)`` of one run: the order of its discovery times among the directions it fitted
    (``fitted`` with a finite discovery time), ties as :func:`_out_of_order` (:class:`DeflationOrder`'s rho and
    the times' resolution); None when fewer than two directions were fitted (no order to check). ``skipped``:
    a direction with larger ``a_j`` (ratio >= rho) was left unfitted while a smaller one was fitted, which
    :class:`DeflationOrder` (an undiscovered direction at t = +inf) would also flag; it is counted apart."""
    from verify.invariants import DeflationOrder

    times_all = [float(t) for t in row["discovery_times"]]
    r = len(times_all)
    fitted = {int(j) - 1 for j in (row["fitted"] if row["fitted"] is not None else [])}
    keep = [j for j in range(r) if j in fitted and not math.isnan(times_all[j])]
    a = ([float(x) for x in row["a"]] if "a" in row and row["a"] is not None and len(row["a"]) == r
         else [float(row["ratio"]) ** -j for j in range(r)])
    rho = DeflationOrder.rho
    skipped = any(a[j] > a[k] and a[j] / a[k] >= rho for j in range(r) if j not in fitted for k in fitted)
    if len(keep) < 2:
        return None, skipped
    tol = row["discovery_tolerance"] if "discovery_tolerance" in row else None
    sub = {"a": [a[j] for j in keep], "ratio": None,
           "discovery_tolerance": None if tol is None else [tol[j] for j in keep]}
    return _out_of_order(sub, [times_all[j] for j in keep]), skipped


def p1_all_runs(rows: Any, algorithm: str = "plain", campaign: str = "") -> ClaimEvidence:
    """Deflation order in every ``algorithm`` run of a store (no m threshold), among the directions each run
    fitted (:func:`order_among_fitted`): ``k`` of ``n`` runs with at least two fitted directions found them in
    the order of the a_j (ties as :class:`DeflationOrder`). ``supported`` when all did, ``refuted`` otherwise
    (with the commands of the first five that did not), ``open`` when no run fitted two directions. Runs that
    raised are left out; runs that skipped a larger direction are counted in ``details["skipped"]``."""
    sel = rows[(rows["algorithm"] == algorithm)]
    sel = sel[sel["error"].isna()] if "error" in sel else sel
    checked = bad = skipped = fewer = 0
    commands: list[str] = []
    for _, row in sel.iterrows():
        out, skip = order_among_fitted(row)
        skipped += bool(skip)
        if out is None:
            fewer += 1
            continue
        checked += 1
        if out:
            bad += 1
            commands.append(str(row["command"]))
    where = f" of {campaign}" if campaign else ""
    if checked == 0:
        return ClaimEvidence("P1", "open", f"no {algorithm} run{where} fitted two directions", k=0, n=0)
    status = "supported" if bad == 0 else "refuted"
    sizes = [{"source": f"campaign {campaign or '?'} ({algorithm})", "d": int(d), "r": int(r), "l": int(l),
              "m": f"{int(g['m'].min())}-{int(g['m'].max())}", "seeds": int(g["seed"].nunique())}
             for (d, r, l), g in sel.groupby(["d", "r", "order"])]
    statement = (f"{checked - bad} of {checked} {algorithm} runs{where} that fitted two or more directions fitted "
                 f"them in the order of the a_j (every m of the grid, directions they fitted; ties a_j/a_k < "
                 f"1.1 and differences within the save interval are not reversals); {fewer} runs fitted fewer "
                 f"than two; {skipped} left a larger direction unfitted while fitting a smaller one")
    return ClaimEvidence("P1", status, statement, details={"checked": checked, "out_of_order": bad,
                                                           "skipped": skipped, "fewer_than_two": fewer},
                         commands=commands[:5], k=checked - bad, n=checked, sizes=sizes)


def p1_evidence(rows: Any, summary: PhaseSummary, algorithm: str = "plain") -> ClaimEvidence:
    """Deflation order in the runs at m/r >= m* that found every direction (``rows``: the sweep's DataFrame),
    with ties and time resolution as :class:`verify.invariants.DeflationOrder` treats them."""
    checked, out_of_order, commands = 0, 0, []
    for e in summary.m_star:
        if e.algorithm != algorithm or e.m_over_r is None:
            continue
        sel = rows[(rows["algorithm"] == algorithm) & (rows["d"] == e.d) & (rows["r"] == e.r)
                   & (abs(rows["spread"] - e.spread) <= 1e-9 * e.spread) & (rows["m_over_r"] >= e.m_over_r)
                   & rows["recovered_all"].astype(bool)]
        for _, row in sel.iterrows():
            times = [float(t) for t in row["discovery_times"]]
            if any(math.isnan(t) for t in times):
                continue
            checked += 1
            if _out_of_order(row, times):
                out_of_order += 1
                commands.append(str(row["command"]))
    if checked == 0:
        return ClaimEvidence("P1", "open", "no run at m >= m* discovered every direction")
    status = "supported" if out_of_order == 0 else "refuted"
    return ClaimEvidence("P1", status, f"{checked - out_of_order} of {checked} {algorithm} runs at m >= m* found "
                                       "the directions in the order of a_j", details={"checked": checked,
                                                                                     "out_of_order": out_of_order},
                         commands=commands[:5])


def law_agreement(rows: Any, algorithm: str | None = "plain") -> tuple[int, int]:
    """``(k, n)``: of the ``n`` runs with a prediction (orthogonal T*, no integration error; ``algorithm`` only
    unless None), ``k`` fitted exactly the order law's predicted set (``fitted == predicted``)."""
    k = n = 0
    for _, row in rows.iterrows():
        if algorithm is not None and row["algorithm"] != algorithm:
            continue
        err, predicted, fitted = row.get("error"), row.get("predicted"), row.get("fitted")
        if (isinstance(err, str) and err) or predicted is None or fitted is None or isinstance(predicted, float):
            continue
        n += 1
        k += sorted(int(x) for x in predicted) == sorted(int(x) for x in fitted)
    return k, n


def _predicted_quantile(line: Any, q: float) -> tuple[bool, float | None]:
    """``(known, m_q)``: the order law's m_q of a line from each seed's predicted sets (``known`` False when a
    run lacks a prediction; ``m_q`` None when the law puts it above the grid)."""
    from .mcurve import quantile_interval

    if not line.curves or not all(c.predicted_success and None not in c.predicted_success for c in line.curves):
        return False, None
    return True, quantile_interval([c.predicted_m_needed for c in line.curves], q)[0]


def _line_where(key: dict) -> str:
    return f"{key['algorithm']}, d={key['d']}, r={key['r']}, spread {float(key['spread']):.3g}"


def p12_m90_evidence(rows: Any, q: float = 0.9, level: float = 0.95) -> ClaimEvidence:
    """P12 from the campaigns' per-seed curves (nested draws), one statement per grid line and algorithm: m_90
    (the 90% quantile of the seeds' ``m_needed``) with its order-statistic interval, m_50 with its (finite)
    one, the order law's m_90 on the same seeds, non-monotone seeds.

    Decided on the plain flow's lines (Algorithm 1's are cited: P12 is about the plain flow). A line is a test
    of "m large enough" only where the grid reaches the order law's m_90 for it (its seeds' predicted sets put
    m_90 inside the grid); a line the law puts above the grid is listed, not counted. ``supported`` when at
    least one line is a test and every tested line has a finite measured m_90 (``k`` of ``n``: successes among
    the runs at m >= m_90 of those lines); ``open`` when a tested line's m_90 lies above its grid (no
    refutation: "large enough" may lie beyond) or no line is a test."""
    from .mcurve import m_lines, quantile_interval

    if len(rows) == 0:
        return ClaimEvidence("P12", "open", "no runs in the campaigns")
    lines = m_lines(rows, q, level)
    parts, tested, failing, untested = [], [], [], []
    k = n = 0
    sizes = []

    def show(v):
        return "above the grid" if v is None else f"{v:g}"

    for line in lines:
        key = line.key
        m50, lo50, hi50 = quantile_interval([c.m_needed for c in line.curves], 0.5, level)
        known, predicted = _predicted_quantile(line, q)
        m90_lo = "-" if line.m90_low is None else f"{line.m90_low:g}"
        m90_hi = show(line.m90_high) if line.m90_high is not None else "unbounded"
        m50_lo, m50_hi = "-" if lo50 is None else f"{lo50:g}", "unbounded" if hi50 is None else f"{hi50:g}"
        text = (f"{_line_where(key)}: m_90 = {show(line.m90)} ({level:.0%} [{m90_lo}, {m90_hi}]), m_50 = {show(m50)} "
                f"({level:.0%} [{m50_lo}, {m50_hi}]), "
                f"order law m_90 {show(predicted) if known else 'n/a'}, {line.non_monotone} non-monotone of "
                f"{len(line.curves)} seeds")
        parts.append(text)
        if key["algorithm"] != "plain":
            continue
        if known and predicted is None and line.m90 is None:
            untested.append(_line_where(key))
            continue
        tested.append(line)
        if line.m90 is None:
            failing.append(_line_where(key))
            continue
        sel = rows
        for col in ("algorithm", "d", "r", "spread"):
            sel = sel[sel[col] == key[col]]
        sel = sel[(sel["m"] >= line.m90) & (sel["error"].isna() if "error" in sel else True)]
        k += int(sel["success"].sum())
        n += len(sel)
        sizes.append({"source": "campaign (plain, m >= m_90)", "d": int(key["d"]), "r": int(key["r"]), "l": 4,
                      "m": f">= {line.m90:g}", "spread": float(key["spread"]), "seeds": len(line.curves)})
    plain = rows[rows["algorithm"] == "plain"]
    law_k, law_n = law_agreement(plain)
    if not tested:
        status = "open"
        head = ("no plain-flow line in the campaigns" if not untested else
                "every plain line's order-law m_90 lies above its grid: none is a test of 'm large enough'")
    elif failing:
        status = "open"
        head = f"m_90 above the grid on {len(failing)} tested plain line(s) ({'; '.join(failing)})"
    else:
        status = "supported"
        head = f"every one of {len(tested)} tested plain line(s) has a finite m_90"
    # Each line's m_90 and m_50 with intervals go to the details (a list the report shows line by line, beside the
    # phase stage's table of the same numbers), not into the one-sentence statement.
    statement = (head + (f"; not a test (order law m_90 above the grid, seeds censored as predicted): "
                         f"{'; '.join(untested)}" if untested else "")
                 + (f". Order law (plain): {law_k} of {law_n} runs fitted exactly the predicted set" if law_n else "")
                 + f". m_90 of {len(parts)} line(s), each with its {level:.0%} order-statistic interval: the phase "
                   "stage's tables and this claim's details.")
    return ClaimEvidence("P12", status, statement,
                         details={"lines": [line.to_dict() for line in lines], "law_agreement": [law_k, law_n],
                                  "untested": untested, "failing": failing, "per_line": parts},
                         k=k if tested and not failing else None, n=n if tested and not failing else None,
                         sizes=sizes)

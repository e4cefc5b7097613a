"""Statistics of the accuracy frontier (claim P11) that can say no, and its figures.

Per (family, m, d) over the campaign's rows (:mod:`verify.experiments.frontier`), with ``x = log10(1/eps)``:

- a logistic regression of success on ``x`` (statsmodels GLM, binomial, logit link), with the slope's 95% Wald
  interval, cluster-robust by seed; the slope is not estimable when every run
  succeeded (or failed) or the outcomes separate perfectly in ``x`` (the MLE is then infinite: reported as None);
- a Cochran–Armitage trend test of "success is flat in eps" (statsmodels' linear-by-linear association test
  :meth:`statsmodels.stats.contingency_tables.Table.test_ordinal_association`, scores ``x``: with two outcome
  columns it is the Cochran–Armitage test);
- the success rates at the two largest and the two smallest eps of the d, and their difference
  ``low - high`` with Newcombe's interval (:func:`statsmodels.stats.proportion.confint_proportions_2indep`).

The reading at a d: **needed** when success falls with ``x`` (Cochran–Armitage one-sided p < 0.05, and the
difference's interval lies below 0); **not binding here** when the difference's interval lies inside
``[-MARGIN, MARGIN]``, no trend is detected and the runs work at the top of the grid (Wilson lower bound of the
success rate at the two largest eps >= 1/2: a rate flat near zero locates nothing); **inconclusive at these
sizes** otherwise, with the seeds per end of the grid that would bound the difference to ``MARGIN``.
A family's reading is the common reading of its m (the frontier must not move with m; different readings at the
two m are "inconclusive"). Across d: the logistic slopes' dependence on d (weighted least squares, weights ``1/se^2``) and, where success
falls, the onset ``eps_50`` (fitted success = half its value at the top of the grid) against both readings
``exp(-c d/ln d)``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from verify.audit.wording import listing

__all__ = ["MARGIN", "Trend", "FamilyReading", "FrontierAnalysis", "trend", "analyze", "wilson", "ledger_p11",
           "ledger_p7", "LedgerEvidence", "plot_success", "plot_measures"]

# The largest change of the success rate between the two ends of the grid that "not binding here" tolerates.
MARGIN = 0.2
ALPHA = 0.05
Z = 1.959963984540054


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of ``k`` successes in ``n`` (statsmodels ``proportion_confint``); (0, 1) for n = 0."""
    from statsmodels.stats.proportion import proportion_confint

    if n == 0:
        return 0.0, 1.0
    lo, hi = proportion_confint(k, n, alpha=ALPHA, method="wilson")
    # At k = 0 and k = n the closed form leaves the estimate outside its own interval by an ulp (0 < 2.8e-17,
    # 1 > 0.9999999999999999); the interval contains k/n by construction.
    return min(float(lo), k / n), max(float(hi), k / n)


@dataclass(frozen=True)
class Trend:
    """The trend statistics of one (family, d) (module docstring). ``slope``: logistic coefficient of
    ``x = log10(1/eps)`` (log-odds per decade; None: not estimable), ``slope_ci`` its 95% interval;
    ``ca_z``, ``ca_p``: Cochran–Armitage z (negative: success falls as eps shrinks) and two-sided p;
    ``high``/``low``: (k, n) at the two largest / two smallest eps; ``diff_ci``: Newcombe interval of
    ``p_low - p_high`` (per seed when seeds are given, :func:`trend`); ``reading``: ``needed``, ``not binding here`` or ``inconclusive at these sizes``;
    ``seeds_to_decide``: seeds per end that would bound the difference to :data:`MARGIN` at the observed rates
    (inconclusive only; None when none would, or when the runs fail at the top of the grid)."""

    d: int
    n: int
    k: int
    slope: float | None
    slope_se: float | None
    slope_ci: tuple[float, float] | None
    intercept: float | None
    ca_z: float
    ca_p: float
    high: tuple[int, int]
    low: tuple[int, int]
    diff_ci: tuple[float, float]
    reading: str
    seeds_to_decide: int | None = None
    eps_50: float | None = None
    note: str = ""


def _logistic(x: np.ndarray, y: np.ndarray, covariate: np.ndarray | None, groups: np.ndarray | None = None):
    """``(slope, se, intercept)`` of the logit fit, or None when the MLE does not exist (one outcome, or separation)."""
    import statsmodels.api as sm

    if y.min() == y.max():
        return None
    cols = [np.ones_like(x), x] + ([covariate] if covariate is not None and np.ptp(covariate) > 0 else [])
    X = np.column_stack(cols)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = sm.GLM(y, X, family=sm.families.Binomial())
            fit = model.fit() if groups is None else model.fit(cov_type="cluster", cov_kwds={"groups": groups})
        except Exception:  # noqa: BLE001 - statsmodels raises PerfectSeparationError on separated data
            return None
    slope, se = float(fit.params[1]), float(fit.bse[1])
    if not (math.isfinite(slope) and math.isfinite(se)) or se > 1e3 or abs(slope) > 50:
        return None  # a quasi-separated fit: the likelihood has no finite maximum along x
    return slope, se, float(fit.params[0]) + (float(fit.params[2]) * float(np.mean(covariate))
                                              if X.shape[1] == 3 else 0.0)


# A logistic slope is reported only with this many runs of the rarer outcome (the events-per-variable rule of
# Peduzzi et al. 1996) and, with seeds as clusters, this many seeds whose outcome changes with eps: below either
# the fit's interval is an artefact (quasi-separation, or a cluster-robust variance from a handful of clusters).
MIN_EVENTS = 10
MIN_MIXED_SEEDS = 5


def _slope_estimable(y: np.ndarray, groups: Sequence[int] | None) -> bool:
    """Whether the data carry a slope worth an interval (:data:`MIN_EVENTS`, :data:`MIN_MIXED_SEEDS`)."""
    if min(y.sum(), y.size - y.sum()) < MIN_EVENTS:
        return False
    if groups is None:
        return True
    g = np.asarray(groups)
    if np.unique(g).size == g.size:  # one run per seed: no cluster to collapse
        return True
    mixed = sum(1 for seed in np.unique(g) if 0 < y[g == seed].sum() < (g == seed).sum())
    return mixed >= MIN_MIXED_SEEDS


def trend(d: int, eps: Sequence[float], success: Sequence[bool], m: Sequence[int] | None = None,
          groups: Sequence[int] | None = None) -> Trend:
    """:class:`Trend` of one (family, d) from its runs (``eps``, ``success`` and optionally ``m`` and the seed
    ``groups`` per run).

    With ``groups``, the runs of one seed (the same basis and W(0) at every eps and m: correlated outcomes) count as
    one: the logistic slope's interval is cluster-robust by seed, and the difference's Newcombe interval uses as
    many observations per end as there are seeds (each seed's success share at that end counts once: an upper
    bound on each proportion's variance, so the interval is conservative)."""
    from statsmodels.stats.contingency_tables import Table
    from statsmodels.stats.proportion import confint_proportions_2indep

    x = np.log10(1.0 / np.asarray(eps, dtype=np.float64))
    y = np.asarray(success, dtype=np.float64)
    levels = np.unique(np.round(x, 9))
    if levels.size < 2:
        raise ValueError("trend: runs at two eps values at least")
    xr = np.round(x, 9)
    counts = np.array([[np.sum(y[xr == v] == 1), np.sum(y[xr == v] == 0)] for v in levels], dtype=np.float64)
    if counts[:, 1].sum() == 0 or counts[:, 0].sum() == 0:
        ca_z, ca_p = 0.0, 1.0  # one outcome only: no association is possible
    else:
        res = Table(counts, shift_zeros=False).test_ordinal_association(row_scores=levels,
                                                                        col_scores=np.array([1.0, 0.0]))
        ca_z, ca_p = float(res.zscore), float(res.pvalue)
    top = levels[-2:] if levels.size >= 4 else levels[-1:]
    bottom = levels[:2] if levels.size >= 4 else levels[:1]
    hi_mask, lo_mask = np.isin(xr, bottom), np.isin(xr, top)  # large eps = small x
    high = (int(y[hi_mask].sum()), int(hi_mask.sum()))
    low = (int(y[lo_mask].sum()), int(lo_mask.sum()))
    n_low, n_high = float(low[1]), float(high[1])
    if groups is not None:
        g = np.asarray(groups)
        n_low, n_high = float(np.unique(g[lo_mask]).size), float(np.unique(g[hi_mask]).size)
    diff_lo, diff_hi = confint_proportions_2indep(low[0] / low[1] * n_low, n_low, high[0] / high[1] * n_high,
                                                  n_high, method="newcomb", compare="diff", alpha=ALPHA)
    diff_ci = (float(diff_lo), float(diff_hi))
    cov = None if m is None else np.log2(np.asarray(m, dtype=np.float64))
    fit = _logistic(x, y, cov, None if groups is None else np.asarray(groups)) if _slope_estimable(y, groups) else None
    slope = se = intercept = None
    slope_ci = None
    if fit is not None:
        slope, se, intercept = fit
        slope_ci = (slope - Z * se, slope + Z * se)
    # The correlation of success with x is negative when success falls as eps shrinks; statsmodels' z has the sign of
    # the association between the row scores and the column scores (success = 1).
    falling = ca_z < 0 and ca_p / 2 < ALPHA and diff_ci[1] < 0
    flat = (not (ca_p < ALPHA)) and -MARGIN <= diff_ci[0] and diff_ci[1] <= MARGIN
    # A rate flat near zero says nothing about eps: the runs fail inside the regime already (m, or the instance).
    fails_at_top = wilson(*high)[1] < 0.5
    works_at_top = wilson(*high)[0] >= 0.5
    seeds = None
    note = ""
    if falling:
        reading = "needed"
    elif flat and works_at_top:
        reading = "not binding here"
    else:
        reading = "inconclusive at these sizes"
        if ca_p < ALPHA and ca_z > 0:
            note = "success rises as eps shrinks"
        elif fails_at_top:
            note = "fails at the top of the grid already (success there below 1/2): m or the instance, not eps"
        else:
            seeds = _seeds_to_bound(high[0] / high[1], low[0] / low[1])
    eps_50 = None
    if slope is not None and slope < 0 and intercept is not None:
        p_top = 1 / (1 + math.exp(-(intercept + slope * levels[0])))
        target = p_top / 2
        x50 = (math.log(target / (1 - target)) - intercept) / slope
        eps_50 = 10.0 ** -x50
    return Trend(d=int(d), n=int(y.size), k=int(y.sum()), slope=slope, slope_se=se, slope_ci=slope_ci,
                 intercept=intercept, ca_z=ca_z, ca_p=ca_p, high=high, low=low, diff_ci=diff_ci, reading=reading,
                 seeds_to_decide=seeds, eps_50=eps_50, note=note)


def _seeds_to_bound(p_high: float, p_low: float, limit: int = 5000) -> int | None:
    """The smallest number of seeds per end at which the observed rates would bound ``p_low - p_high`` to
    ``[-MARGIN, MARGIN]`` (Newcombe); None when no number would (the rates differ by about the margin)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    n = 2
    while n <= limit:
        lo, hi = confint_proportions_2indep(round(p_low * n), n, round(p_high * n), n, method="newcomb",
                                            compare="diff", alpha=ALPHA)
        if -MARGIN <= lo and hi <= MARGIN:
            return n
        n = n + 1 if n < 100 else int(n * 1.1)
    return None


@dataclass(frozen=True)
class FamilyReading:
    """One family's reading: the per-d trends, the slopes' dependence on d (WLS slope per unit d and its interval;
    None with fewer than 3 estimable slopes), the onset fit ``log(1/eps_50) = c d/ln d`` (None with fewer than 2
    onsets) and the overall reading."""

    family: str
    trends: list[Trend]
    slope_vs_d: tuple[float, float, float] | None  # (per unit d, ci low, ci high)
    onset_c: float | None
    reading: str
    why: str


def _family_reading(family: str, trends: list[Trend]) -> FamilyReading:
    import statsmodels.api as sm

    est = [t for t in trends if t.slope is not None and t.slope_se and t.slope_se > 0]
    slope_vs_d = None
    if len(est) >= 3:
        X = sm.add_constant(np.array([t.d for t in est], dtype=np.float64))
        fit = sm.WLS(np.array([t.slope for t in est]), X, weights=[1 / t.slope_se ** 2 for t in est]).fit()
        lo, hi = fit.conf_int(alpha=ALPHA)[1]
        slope_vs_d = (float(fit.params[1]), float(lo), float(hi))
    onsets = [(t.d, t.eps_50) for t in trends if t.reading == "needed" and t.eps_50]
    onset_c = None
    if len(onsets) >= 2:
        u = np.array([d / math.log(d) for d, _ in onsets])
        v = np.array([math.log(1 / e) for _, e in onsets])
        onset_c = float(u @ v / (u @ u))
    readings = [t.reading for t in trends]
    needed = [t.d for t in trends if t.reading == "needed"]
    if trends and all(r == "not binding here" for r in readings):
        reading, why = "not binding here", "flat success (within the margin) at every d down to the grid's smallest eps"
    elif len(needed) >= 2 and onset_c is not None and onset_c > 0 and _onset_moves(onsets):
        reading = "needed"
        why = f"success falls at d = {listing(needed)}; the onset moves like exp(-c d/ln d) with c = {onset_c:.2f}"
    else:
        reading = "inconclusive at these sizes"
        parts = []
        if needed:
            one_d = "" if len(needed) >= 2 else " (one d cannot show how the onset moves)"
            parts.append(f"success falls at d = {listing(needed)} only{one_d}")
        undecided = [t for t in trends if t.reading.startswith("inconclusive") and t.seeds_to_decide]
        failing = [t.d for t in trends if t.note.startswith("fails at the top")]
        if failing:
            parts.append(f"at d = {listing(failing)} the runs fail inside the regime already (more m, or another "
                         "reinit rule, would let eps show)")
        if undecided:
            parts.append("undecided at d = " + ", ".join(f"{t.d} (about {t.seeds_to_decide} seeds per end of the "
                                                          "grid would decide)" for t in undecided))
        why = "; ".join(parts) or "no d decided"
    return FamilyReading(family, trends, slope_vs_d, onset_c, reading, why)


def _onset_moves(onsets: list[tuple[int, float]]) -> bool:
    """The onset eps_50 shrinks as d grows (the theorem's direction)."""
    ordered = sorted(onsets)
    return all(e2 <= e1 for (_, e1), (_, e2) in zip(ordered, ordered[1:]))


@dataclass
class FrontierAnalysis:
    """The campaign's analysis. ``by_m[(family, m)]``: the :class:`FamilyReading` of one family at one m (float64
    rows); ``families[family]``: the family's reading over its m (the same reading at every m, else inconclusive:
    the frontier must not move with m); the high-precision cells (k/n with Wilson intervals) and run counts."""

    families: dict[str, FamilyReading]
    by_m: dict[tuple[str, int], FamilyReading]
    high_precision: list[dict]
    runs: int
    errors: int
    cpu_hours: float
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        """The tables of the report and the README."""
        lines = [f"{self.runs} runs ({self.errors} raised), {self.cpu_hours:.2f} CPU hours.", ""]
        for fam, fr in self.families.items():
            lines += [f"### family `{fam}`: {fr.reading}", "", fr.why, ""]
            for (fam_m, m), frm in sorted(self.by_m.items()):
                if fam_m != fam:
                    continue
                lines += [f"#### `{fam}`, m = {m}: {frm.reading}", "", frm.why, "",
                          "| d | runs | success | logistic slope per decade [95%] | Cochran-Armitage z (p) | "
                          "top 2 eps | bottom 2 eps | low - high [95%] | reading |",
                          "|---|---|---|---|---|---|---|---|---|"]
                for t in frm.trends:
                    slope = "not estimable" if t.slope is None else \
                        f"{t.slope:+.3f} [{t.slope_ci[0]:+.3f}, {t.slope_ci[1]:+.3f}]"
                    extra = f" ({t.seeds_to_decide} seeds per end would decide)" if t.seeds_to_decide else ""
                    extra += f" ({t.note})" if t.note else ""
                    lines.append(f"| {t.d} | {t.n} | {t.k}/{t.n} | {slope} | {t.ca_z:+.2f} ({t.ca_p:.3g}) | "
                                 f"{t.high[0]}/{t.high[1]} | {t.low[0]}/{t.low[1]} | "
                                 f"[{t.diff_ci[0]:+.2f}, {t.diff_ci[1]:+.2f}] | {t.reading}{extra} |")
                if frm.slope_vs_d:
                    sl, lo, hi = frm.slope_vs_d
                    lines += ["", f"Slope against d (WLS): {sl:+.4f} per unit d [{lo:+.4f}, {hi:+.4f}]."]
                lines.append("")
        if self.high_precision:
            lines += ["### high precision", "", "Outcomes by seed (S success, F failure, seeds in order) beside the "
                      "same seeds' float64 outcome at the float64 grid's smallest eps (the same instance and W(0)): "
                      "where they agree, the outcome did not move over the decades between.", "",
                      "| precision | family | d | eps | m | success | Wilson 95% | by seed | float64 (eps) | agree | "
                      "max_j abs(res_j)/a_j (max) | raised |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
            for c in self.high_precision:
                lines.append(f"| {c['precision']} | {c['family']} | {c['d']} | {c['eps']:.0e} | {c['m']} | "
                             f"{c['k']}/{c['n']} | [{c['lo']:.2f}, {c['hi']:.2f}] | {c['by_seed']} | "
                             f"{c['float64_by_seed'] or '-'} ({c['float64_eps']:.1e}) | {c['agree']}/{c['paired']} | "
                             f"{c['max_rel_residual']:.2e} | {c['errors']} |")
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _over_m(family: str, per_m: dict[int, FamilyReading]) -> FamilyReading:
    """A family's reading over its m: the common reading when every m reads the same, else inconclusive."""
    readings = {fr.reading for fr in per_m.values()}
    trends = [t for fr in per_m.values() for t in fr.trends]
    if len(readings) == 1:
        reading = readings.pop()
        why = "; ".join(f"m = {m}: {fr.why}" for m, fr in sorted(per_m.items()))
    else:
        reading = "inconclusive at these sizes"
        why = ("the readings differ between m (" + "; ".join(f"m = {m}: {fr.reading}" for m, fr in sorted(per_m.items()))
               + "): the frontier moves with m, or one m fails inside the regime")
    return FamilyReading(family, trends, None, None, reading, why)


def analyze(rows) -> FrontierAnalysis:
    """The :class:`FrontierAnalysis` of a campaign's rows (:func:`verify.experiments.frontier.read_frontier`).
    Runs whose integration raised are left out of the statistics and counted (an error is not a failure of the
    algorithm)."""
    from .frontier import with_shared_top

    errors = int(rows["error"].notna().sum()) if len(rows) else 0
    runs = int(len(rows))
    cpu = float(rows["cpu_seconds"].sum()) / 3600 if len(rows) else 0.0
    rows = with_shared_top(rows)
    ok = rows[rows["error"].isna()] if len(rows) else rows
    f64 = ok[ok["precision"] == "float64"]
    families: dict[str, FamilyReading] = {}
    by_m: dict[tuple[str, int], FamilyReading] = {}
    for fam in sorted(set(f64["family"])):
        sub = f64[f64["family"] == fam]
        per_m = {}
        for m in sorted(set(sub["m"])):
            gm = sub[sub["m"] == m]
            trends = [trend(int(d), g["eps"].to_numpy(), g["success"].to_numpy(bool), groups=g["seed"].to_numpy())
                      for d, g in gm.groupby("d") if g["eps"].nunique() >= 2]
            per_m[int(m)] = by_m[(fam, int(m))] = _family_reading(fam, trends)
        families[fam] = _over_m(fam, per_m)
    hp = []
    high = ok[ok["precision"] != "float64"]
    # The float64 outcome of each (family, d, m, seed) at the grid's smallest eps: a high-precision run of the same
    # seed is the same instance and W(0) further down in eps, so the pair says whether the outcome moved.
    deepest = f64.loc[f64.groupby(["family", "d", "m", "seed"])["eps"].idxmin()] if len(f64) else f64
    float64_at = {(r.family, int(r.d), int(r.m), int(r.seed)): (bool(r.success), float(r.eps))
                  for r in deepest.itertuples()}
    for (prec, fam, d, eps, m), g in high.groupby(["precision", "family", "d", "eps", "m"]):
        k, n = int(g["success"].sum()), int(len(g))
        lo, hi = wilson(k, n)
        g = g.sort_values("seed")
        paired = [(bool(r.success), float64_at[(fam, int(d), int(m), int(r.seed))]) for r in g.itertuples()
                  if (fam, int(d), int(m), int(r.seed)) in float64_at]
        hp.append({"precision": prec, "family": fam, "d": int(d), "eps": float(eps), "m": int(m), "k": k, "n": n,
                   "lo": lo, "hi": hi, "max_rel_residual": float(g["max_rel_residual"].max()),
                   "by_seed": "".join("S" if x else "F" for x in g["success"]),
                   "float64_by_seed": "".join("S" if f[0] else "F" for _, f in paired),
                   "float64_eps": max((f[1] for _, f in paired), default=math.nan),
                   "agree": sum(h == f[0] for h, f in paired), "paired": len(paired),
                   "errors": int(rows[(rows["precision"] == prec) & (rows["d"] == d) & (rows["eps"] == eps)]
                                 ["error"].notna().sum())})
    return FrontierAnalysis(families=families, by_m=by_m, high_precision=hp, runs=runs, errors=errors,
                            cpu_hours=cpu)


# --------------------------------------------------------------------------------------------- the ledger
@dataclass(frozen=True)
class LedgerEvidence:
    """What the ledger needs of the frontier: a status (``supported``, ``refuted`` or ``open``, docs/spec.md
    section 3), ``k`` of ``n`` runs with the Wilson interval, and the sentence that states it."""

    claim: str
    status: str
    k: int
    n: int
    interval: tuple[float, float]
    statement: str


def ledger_p7(rows) -> LedgerEvidence:
    """P7 counts the float64 runs inside the regime (eps >= exp(-d/ln d), the generous reading) at the campaign's
    largest m (the theorem allows any m = poly(d): the larger m is the "suitable" one) that recovered every
    component: ``supported`` with k/n when k = n, else ``open`` (a miss at a fixed m is not a counterexample to a
    theorem whose m has unknown constants). The smaller m's count is in the statement."""
    from .frontier import bound

    # Each run once (the top eps of a d is one run shared by both families).
    ok = rows[(rows["error"].isna()) & (rows["precision"] == "float64")]
    if not len(ok):
        return LedgerEvidence("P7", "open", 0, 0, (0.0, 1.0), "no frontier rows")
    inside = ok[[eps >= bound(int(d)) for d, eps in zip(ok["d"], ok["eps"])]]
    counts = {int(m): (int(g["success"].sum()), int(len(g))) for m, g in inside.groupby("m")}
    m_top = max(counts) if counts else 0
    k, n = counts.get(m_top, (0, 0))
    lo, hi = wilson(k, n)
    status = "supported" if n and k == n else "open"
    others = "; ".join(f"m = {m}: {c[0]}/{c[1]}" for m, c in sorted(counts.items()) if m != m_top)
    return LedgerEvidence("P7", status, k, n, (lo, hi),
                          f"{k}/{n} runs at m = {m_top} inside exp(-d/ln d) recovered every component (Wilson 95% "
                          f"[{lo:.2f}, {hi:.2f}]; both families, d = {listing(sorted(set(inside['d'])))})"
                          + (f"; {others}" if others else ""))


def ledger_p11(analysis: FrontierAnalysis) -> LedgerEvidence:
    """P11 ("the restriction is mild: in practice below numerical precision") from the ``fixed`` family's reading
    (the one where eps alone varies): ``supported`` when it is "not binding here", ``refuted`` when "needed",
    ``open`` when inconclusive; k/n are the float64 runs below exp(-d/ln d) that succeeded."""
    fr = analysis.families.get("fixed")
    if fr is None or not fr.trends:
        return LedgerEvidence("P11", "open", 0, 0, (0.0, 1.0), "no frontier rows")
    k = sum(t.low[0] for t in fr.trends)
    n = sum(t.low[1] for t in fr.trends)
    lo, hi = wilson(k, n)
    status = {"not binding here": "supported", "needed": "refuted"}.get(fr.reading, "open")
    statement = (f"family 'fixed': {fr.reading} ({fr.why}); {k}/{n} runs at the two smallest eps of each d "
                 f"succeeded (Wilson 95% [{lo:.2f}, {hi:.2f}])")
    cells = [c for c in analysis.high_precision if c["family"] == "fixed" and c["paired"]]
    if cells:
        # Below float64's floor: each high-precision seed against its own float64 outcome (cited, not decisive:
        # 5 seeds a cell are a check of the float64 reading, not a statistic of their own).
        agree, paired = sum(c["agree"] for c in cells), sum(c["paired"] for c in cells)
        statement += (f"; high precision (cited): {agree}/{paired} seeds keep their float64 outcome down to eps = "
                      f"{min(c['eps'] for c in cells):.0e} (d = {listing(sorted({c['d'] for c in cells}))})")
    return LedgerEvidence("P11", status, k, n, (lo, hi), statement)


# -------------------------------------------------------------------------------------------------- figures
def plot_success(rows, analysis: FrontierAnalysis, stem: Path) -> list[Path]:
    """Success against ``log10(1/eps)``, one row of panels per family and one panel per d: per m the rate with
    Wilson bars and the fitted logistic curve (when estimable), and both readings of the bound (dotted:
    exp(-d/ln d); dashed: exp(-d/(2 ln d)))."""
    from verify.plots import plt, save_figure

    from .frontier import bound, with_shared_top

    rows = with_shared_top(rows)
    f64 = rows[(rows["precision"] == "float64") & rows["error"].isna()]
    ds = sorted(set(f64["d"]))
    fams = sorted(set(f64["family"])) or ["fixed"]
    fig, axes = plt.subplots(len(fams), max(1, len(ds)), figsize=(3.0 * max(1, len(ds)), 2.8 * len(fams)),
                             sharey=True, squeeze=False)
    colors = ("tab:blue", "tab:red", "tab:green")
    for row_i, fam in enumerate(fams):
        for ax, d in zip(axes[row_i], ds):
            g = f64[(f64["d"] == d) & (f64["family"] == fam)]
            for i, m in enumerate(sorted(set(g["m"]))):
                gm = g[g["m"] == m]
                cells = gm.groupby("eps")["success"].agg(["sum", "count"]).reset_index()
                x = np.log10(1 / cells["eps"].to_numpy())
                p = cells["sum"] / cells["count"]
                ci = np.array([wilson(int(k), int(n)) for k, n in zip(cells["sum"], cells["count"])])
                color = colors[i % len(colors)]
                ax.errorbar(x + 0.08 * (i - 0.5), p, yerr=[p - ci[:, 0], ci[:, 1] - p], fmt="o", ms=3.5,
                            color=color, lw=0.8, label=f"m = {m}")
                frm = analysis.by_m.get((fam, int(m)))
                trend_ = None if frm is None else next((t for t in frm.trends if t.d == d), None)
                if trend_ is not None and trend_.slope is not None:
                    xs = np.linspace(x.min(), x.max(), 100)
                    ax.plot(xs, 1 / (1 + np.exp(-(trend_.intercept + trend_.slope * xs))), color=color, lw=1)
            ax.axvline(math.log10(1 / bound(int(d))), color="k", ls=":", lw=0.9, label=r"$e^{-d/\ln d}$")
            ax.axvline(math.log10(1 / bound(int(d), "d/(2 ln d)")), color="k", ls="--", lw=0.9,
                       label=r"$e^{-d/(2\ln d)}$")
            ax.set_title(f"{fam}, d = {d}", fontsize=9)
            ax.set_ylim(-0.05, 1.05)
            if row_i == len(fams) - 1:
                ax.set_xlabel(r"$\log_{10}(1/\varepsilon)$")
        axes[row_i][0].set_ylabel("success")
    axes[0][-1].legend(fontsize=6, loc="lower left")
    fig.suptitle("Algorithm 1: every direction fitted, against the target accuracy (Wilson 95% bars; logistic fits)",
                 fontsize=9)
    fig.tight_layout()
    return save_figure(fig, Path(stem))


def plot_measures(rows, stem: Path) -> list[Path]:
    """The continuous measures against ``log10(1/eps)``, one colour per d (float64 rows, both families; high
    precision as black crosses): ``max_j |res_j|/a_j`` at the end, the free components at the epoch where
    ``beta <= a_r`` and ``t(u_r) / (ln(1/delta0)/(2 a_r))``."""
    from verify.plots import plt, save_figure

    ok = rows[rows["error"].isna()]
    fig, axes = plt.subplots(2, 3, figsize=(11, 6), squeeze=False)
    cmap = plt.get_cmap("viridis")
    ds = sorted(set(ok["d"]))
    names = [("max_rel_residual", r"$\max_j |res_j|/a_j$ (end)", True),
             ("free_at_ar", r"free components at $\beta \approx a_r$", False),
             ("t_ur_ratio", r"$t(u_r) / (\ln(1/\delta_0)/(2 a_r))$", True)]
    for row_i, fam in enumerate(("shifted", "fixed")):
        g = ok[ok["family"] == fam]
        for ax, (col, label, logy) in zip(axes[row_i], names):
            values = g[col].to_numpy(dtype=float)
            for i, d in enumerate(ds):
                gd = g[(g["d"] == d) & (g["precision"] == "float64")]
                if len(gd):
                    x = np.log10(1 / gd["eps"].to_numpy()) + 0.05 * (i - len(ds) / 2)
                    ax.scatter(x, gd[col].to_numpy(dtype=float), s=5, alpha=0.5,
                               color=cmap(i / max(1, len(ds) - 1)), label=f"d = {d}")
            hp = g[g["precision"] != "float64"]
            if len(hp):
                ax.scatter(np.log10(1 / hp["eps"].to_numpy()), hp[col].to_numpy(dtype=float), marker="x", s=14,
                           color="k", label="high precision")
            # A log axis needs a positive value (t(u_r) is nan in every run that never found u_r).
            if logy and np.any(np.isfinite(values) & (values > 0)):
                ax.set_yscale("log")
            elif logy:
                ax.text(0.5, 0.5, "not measured in any run", transform=ax.transAxes, ha="center", fontsize=8)
            ax.set_title(f"{fam}: {label}", fontsize=8)
            ax.set_xlabel(r"$\log_{10}(1/\varepsilon)$", fontsize=8)
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    return save_figure(fig, Path(stem))

"""A model-based m_p(d): logistic regression of success on log m and a function of d, with standard errors
clustered by seed.

Why a model. With n seeds the order-statistic interval of the 90% quantile of ``m_needed``
(:func:`verify.sweep.mcurve.quantile_interval`) has a finite upper end only when ``n`` is about 29 or more; at
20 seeds it never has one, so no slope of m_90(d) can be given from order statistics alone. A parametric
success curve borrows strength across m and d:

    logit P(success | m, d) = b_0 + b_m log m + b_d g(d)

with ``g(d) = log d`` (the power form, ``m_p(d) ∝ d^k``) or ``g(d) = sqrt d`` (the form ``m_p(d) ∝ exp(c sqrt
d)``). Solving ``logit p = ...`` for m:

    log m_p(d) = (logit p - b_0 - b_d g(d)) / b_m

so the power form's log-log slope is ``k = -b_d / b_m`` and the other form's rate is ``c = -b_d / b_m``.

Dependence. Nested draws make a seed's runs at different m share their first columns (and, for one seed
number, the draws at different d share a stream), so runs of one seed are not independent: the covariance of
the coefficients is the cluster-robust (sandwich) one with the seed as the cluster (statsmodels'
``cov_type="cluster"``). Intervals of ``k``, ``c`` and ``log m_p(d)`` come from the delta method on that
covariance (first-order: gradients below). A model is an assumption: where the grid stops below m_p(d) the
value is an extrapolation, and the fit says so (``extrapolated``).

statsmodels is used because its GLM gives the Binomial likelihood, the cluster-robust covariance and the
likelihood-ratio ingredients in one well-kept place; nothing here reimplements them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = ["MFit", "fit_m_law", "DTest", "d_independence", "compare_forms", "FORMS", "mfit_markdown",
           "d_tests_markdown"]

# g(d) of each form: "power" gives m_p ∝ d^k, "sqrt" gives m_p ∝ exp(c sqrt d).
FORMS = {"power": np.log, "sqrt": np.sqrt}
Z95 = 1.959963984540054


@dataclass(frozen=True)
class MFit:
    """One fitted success curve ``logit P = b_0 + b_m log m + b_d g(d)`` (``form`` names g).

    ``params`` = (b_0, b_m, b_d), ``cov`` their seed-clustered covariance, ``llf`` the log-likelihood, ``aic``,
    ``n`` runs, ``clusters`` seeds, ``ds`` and ``m_max`` (per d, the grid's largest m) of the data.
    """

    form: str
    params: tuple[float, float, float]
    cov: tuple[tuple[float, ...], ...]
    llf: float
    aic: float
    n: int
    clusters: int
    ds: tuple[int, ...]
    m_max: dict = field(default_factory=dict)

    @property
    def slope(self) -> tuple[float, float, float]:
        """``(-b_d / b_m, low, high)``: the log-log slope of m_p(d) (power form) or the rate c of
        ``exp(c sqrt d)`` (sqrt form), with a delta-method 95% interval (gradient ``(0, b_d/b_m^2, -1/b_m)``)."""
        _, bm, bd = self.params
        est = -bd / bm
        grad = np.array([0.0, bd / bm ** 2, -1.0 / bm])
        se = math.sqrt(max(0.0, float(grad @ np.asarray(self.cov) @ grad)))
        return est, est - Z95 * se, est + Z95 * se

    def m_p(self, d: float, p: float = 0.9) -> tuple[float, float, float]:
        """``(m_p(d), low, high)``: the m at which the fitted success probability is ``p``, with a delta-method
        95% interval on ``log m_p`` (gradient ``-(1, log m_p, g(d)) / b_m``)."""
        b0, bm, bd = self.params
        g = float(FORMS[self.form](d))
        log_m = (math.log(p / (1 - p)) - b0 - bd * g) / bm
        grad = -np.array([1.0, log_m, g]) / bm
        se = math.sqrt(max(0.0, float(grad @ np.asarray(self.cov) @ grad)))
        return math.exp(log_m), math.exp(log_m - Z95 * se), math.exp(log_m + Z95 * se)

    def extrapolated(self, d: float, p: float = 0.9) -> bool:
        """True when m_p(d) lies above the largest m run at that d (the value then rests on the model)."""
        top = self.m_max.get(int(d))
        return top is None or self.m_p(d, p)[0] > top

    def to_dict(self, p: float = 0.9) -> dict:
        slope = self.slope
        return {"form": self.form, "params": list(self.params), "cov": [list(r) for r in self.cov], "llf": self.llf,
                "aic": self.aic, "n": self.n, "clusters": self.clusters, "slope": list(slope), "p": p,
                "m_p": {int(d): [*self.m_p(d, p), self.extrapolated(d, p)] for d in self.ds}}


def _design(rows: Any, form: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    df = rows[rows["error"].isna()] if "error" in rows else rows
    y = df["success"].astype(float).to_numpy()
    X = np.column_stack([np.ones(len(df)), np.log(df["m"].astype(float).to_numpy()),
                         FORMS[form](df["d"].astype(float).to_numpy())])
    return y, X, df["seed"].astype(int).to_numpy()


def _glm(y: np.ndarray, X: np.ndarray, groups: np.ndarray):
    import statsmodels.api as sm

    with warnings.catch_warnings():
        # Near-separated lines (every seed succeeds from some m on) are the data, not an error.
        warnings.simplefilter("ignore")
        return sm.GLM(y, X, family=sm.families.Binomial()).fit(cov_type="cluster", cov_kwds={"groups": groups})


def fit_m_law(rows: Any, form: str = "power") -> MFit:
    """Fit ``logit P(success) = b_0 + b_m log m + b_d g(d)`` to a store's rows (one algorithm, one spectrum
    family; runs that raised are left out), seed-clustered covariance (module docstring).

    Args:
        rows: DataFrame with ``m``, ``d``, ``seed``, ``success`` (and ``error``).
        form: ``"power"`` (g = log d) or ``"sqrt"`` (g = sqrt d).
    Raises:
        ValueError: an unknown form, fewer than two values of d, or an all-success / all-failure sample.
    """
    if form not in FORMS:
        raise ValueError(f"form: one of {tuple(FORMS)}, got {form!r}")
    y, X, groups = _design(rows, form)
    ds = tuple(sorted({int(d) for d in rows["d"]}))
    if len(ds) < 2:
        raise ValueError("fit_m_law needs at least two values of d")
    if y.size == 0 or y.min() == y.max():
        raise ValueError("fit_m_law needs both successes and failures")
    res = _glm(y, X, groups)
    df = rows[rows["error"].isna()] if "error" in rows else rows
    m_max = {int(d): int(g["m"].max()) for d, g in df.groupby("d")}
    return MFit(form=form, params=tuple(float(b) for b in res.params), cov=tuple(tuple(float(x) for x in r)
                                                                                 for r in np.asarray(res.cov_params())),
                llf=float(res.llf), aic=float(res.aic), n=int(y.size), clusters=int(np.unique(groups).size), ds=ds,
                m_max=m_max)


def compare_forms(rows: Any, p: float = 0.9) -> dict:
    """Both forms on the same rows: each one's fit, ``delta_aic = aic(sqrt) - aic(power)`` (same number of
    parameters, so the difference of deviances), and a sentence on what the range of d cannot exclude:
    ``|delta_aic| < 2`` means the data do not tell the forms apart (the usual rule of thumb; two non-nested
    models admit no likelihood-ratio test)."""
    power, sqrt = fit_m_law(rows, "power"), fit_m_law(rows, "sqrt")
    delta = sqrt.aic - power.aic
    lo, hi = min(power.ds), max(power.ds)
    k, c = power.slope, sqrt.slope
    if abs(delta) < 2:
        verdict = (f"d in {lo}..{hi} cannot tell m_90 ∝ d^k (k = {k[0]:.2f}) from m_90 ∝ exp(c sqrt d) "
                   f"(c = {c[0]:.2f}): their AICs differ by {delta:+.1f}")
    elif delta > 0:
        verdict = (f"d in {lo}..{hi} prefers the power form (AIC lower by {delta:.1f}), but cannot exclude "
                   f"exp(c sqrt d) growth beyond d = {hi}: over the range the local slope of exp(c sqrt d) in log-log, "
                   f"c sqrt(d) / 2, moves only from {c[0] * math.sqrt(lo) / 2:.2f} to {c[0] * math.sqrt(hi) / 2:.2f}")
    else:
        verdict = (f"d in {lo}..{hi} prefers exp(c sqrt d) (AIC lower by {-delta:.1f}): faster than any fixed power "
                   "over the range, which alone does not exclude a polynomial of higher degree beyond it")
    return {"power": power.to_dict(p), "sqrt": sqrt.to_dict(p), "delta_aic": delta, "verdict": verdict}


@dataclass(frozen=True)
class DTest:
    """Does success at fixed (r, spread) depend on d? The likelihood-ratio test of adding ``log d`` to
    ``logit P = b_0 + b_m log m`` (``lr``, ``p_lr``; chi-square with 1 degree of freedom, which assumes
    independent runs) and the seed-clustered Wald test of ``b_d = 0`` in the larger model (``p_wald``: the one
    that respects nested draws). ``b_d`` with its clustered standard error; ``note`` when a fit was degenerate."""

    r: int
    spread: float
    n: int
    ds: tuple[int, ...]
    lr: float
    p_lr: float
    b_d: float
    se_d: float
    p_wald: float
    note: str = ""

    def to_dict(self) -> dict:
        return {"r": self.r, "spread": self.spread, "n": self.n, "ds": list(self.ds), "lr": self.lr,
                "p_lr": self.p_lr, "b_d": self.b_d, "se_d": self.se_d, "p_wald": self.p_wald, "note": self.note}


def d_independence(rows: Any) -> list[DTest]:
    """One :class:`DTest` per (r, spread) line group of the plain flow with at least two values of d (the order
    law predicts no dependence on d at fixed r and spectrum: verify.mlaw)."""
    from scipy.stats import chi2, norm

    df = rows[rows["error"].isna()] if "error" in rows else rows
    out = []
    for (r, spread), group in df.groupby(["r", "spread"], sort=True):
        ds = tuple(sorted({int(d) for d in group["d"]}))
        y, X, groups = _design(group, "power")
        if len(ds) < 2 or y.min() == y.max():
            out.append(DTest(int(r), float(spread), int(y.size), ds, math.nan, math.nan, math.nan, math.nan,
                             math.nan, "one d only" if len(ds) < 2 else "every run has the same outcome"))
            continue
        small, big = _glm(y, X[:, :2], groups), _glm(y, X, groups)
        lr = max(0.0, 2 * (big.llf - small.llf))
        b_d, se_d = float(big.params[2]), float(big.bse[2])
        out.append(DTest(int(r), float(spread), int(y.size), ds, lr, float(chi2.sf(lr, 1)), b_d, se_d,
                         float(2 * norm.sf(abs(b_d) / se_d)) if se_d > 0 else math.nan,
                         "near-separated: |b_m| > 20" if abs(float(big.params[1])) > 20 else ""))
    return out


def _g(v: float, spec: str = ".3g") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def mfit_markdown(comparison: dict, ds: Sequence[int], p: float = 0.9) -> str:
    """The model-based m_p(d) of :func:`compare_forms` as a markdown table (95% delta-method intervals;
    ``*``: above the largest m run at that d, an extrapolation) and the slope line."""
    power = comparison["power"]
    k = power["slope"]
    out = [f"| d | m_{round(100 * p)} (logistic, power form) | 95% interval |", "|---|---|---|"]
    for d in ds:
        est, lo, hi, extra = power["m_p"][int(d)]
        out.append(f"| {d} | {est:.3g}{' *' if extra else ''} | [{lo:.3g}, {hi:.3g}] |")
    out.append("")
    out.append(f"Log-log slope of m_{round(100 * p)}(d): k = {k[0]:.2f}, 95% interval [{k[1]:.2f}, {k[2]:.2f}] "
               f"(logistic regression of success on log m and log d, {power['n']} runs, standard errors clustered "
               f"by seed over {power['clusters']} seeds, delta method). exp(c sqrt d) form: c = "
               f"{comparison['sqrt']['slope'][0]:.2f} [{comparison['sqrt']['slope'][1]:.2f}, "
               f"{comparison['sqrt']['slope'][2]:.2f}]; {comparison['verdict']}. `*`: above the grid's largest m "
               "at that d (extrapolated by the model).")
    return "\n".join(out) + "\n"


def d_tests_markdown(tests: Sequence[DTest]) -> str:
    """The d-independence tests as a markdown table."""
    out = ["| r | spread | runs | d | b_logd (clustered se) | LR stat | p (LR, independent runs) | "
           "p (Wald, clustered by seed) | note |", "|---|---|---|---|---|---|---|---|---|"]
    for t in tests:
        out.append(f"| {t.r} | {t.spread:g} | {t.n} | {', '.join(map(str, t.ds))} | {_g(t.b_d)} ({_g(t.se_d)}) | "
                   f"{_g(t.lr)} | {_g(t.p_lr)} | {_g(t.p_wald)} | {t.note} |")
    return "\n".join(out) + "\n"


def plot_m90(rows: Any, stem, title: str = "", p: float = 0.9, level: float = 0.95) -> list:
    """m_90(d) on log-log axes, one series per (algorithm, r/d or r, spread) group with two or more d: each d's
    order-statistic m_90 (dots) with its interval (bars; an unbounded upper end drawn as an arrow to the top),
    m_50 with its interval (open circles), and the logistic model's m_p(d) with its 95% delta-method band and
    the fitted slope k in the legend. Writes ``stem.png`` and ``stem.svg``."""
    from pathlib import Path

    import matplotlib.ticker

    from verify.plots import plt, save_figure

    from .mcurve import m_lines, quantile_interval

    df = rows[rows["error"].isna()] if "error" in rows else rows
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    top = float(df["m"].max()) * 4
    for (algorithm, spread), group in df.groupby(["algorithm", "spread"], sort=True):
        for r_key, sub in (group.groupby("r") if algorithm == "plain" else [("d/2", group)]):
            if sub["d"].nunique() < 2:
                continue
            lines = sorted(m_lines(sub, p, level), key=lambda line: line.key["d"])
            ds = [int(line.key["d"]) for line in lines]
            label = f"{algorithm}, r={r_key}, spread {float(spread):g}"
            color = None
            for line, d in zip(lines, ds):
                needs = [c.m_needed for c in line.curves]
                est, lo, hi = line.m90, line.m90_low, line.m90_high
                y = est if est is not None else (lo if lo is not None else float(sub["m"].max()))
                bar_lo = y - (lo if lo is not None else y)
                art = ax.errorbar([d], [y], yerr=[[bar_lo], [(hi if hi is not None else top) - y]],
                                  fmt="o" if est is not None else "^", ms=5, capsize=3, color=color,
                                  label=f"{label}: m_{round(100 * p)} (order statistics)"
                                  if color is None else None)
                color = art[0].get_color()
                if hi is None:  # unbounded above: the bar runs off the top, marked by an arrowhead there
                    ax.plot([d], [top / 1.15], "^", color=color, ms=5)
                m50, lo50, hi50 = quantile_interval(needs, 0.5, level)
                if m50 is not None:
                    ax.errorbar([d * 1.03], [m50], yerr=[[m50 - (lo50 or m50)], [(hi50 or top) - m50]], fmt="o",
                                mfc="none", ms=4, capsize=2, color=color, alpha=0.7,
                                label=f"{label}: m_50" if d == ds[0] else None)
            try:
                fit = fit_m_law(sub, "power")
            except ValueError:
                continue
            grid = np.geomspace(min(ds), max(ds), 40)
            band = np.array([fit.m_p(x, p) for x in grid])
            k = fit.slope
            ax.plot(grid, band[:, 0], "-", color=color, lw=1.2,
                    label=f"logistic m_{round(100 * p)}(d): slope k = {k[0]:.2f} [{k[1]:.2f}, {k[2]:.2f}]")
            ax.fill_between(grid, band[:, 1], band[:, 2], color=color, alpha=0.15, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks(sorted({int(d) for d in df["d"]}))
    ax.set_ylim(top=top)
    ax.set_xlabel("d")
    ax.set_ylabel(f"m_{round(100 * p)} (m_50 open)")
    ax.set_title(title or f"m_{round(100 * p)}(d) with {level:.0%} intervals (arrows: unbounded above)", fontsize=9)
    ax.legend(fontsize=6, loc="upper left")
    return save_figure(fig, Path(stem))

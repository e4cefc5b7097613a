"""Figures the audit draws itself (those no other module draws): plain vs modified flow on the spread
spectrum and the float64 vs high-precision cross-check. Each writes ``stem.svg`` (and
``stem.png``) with :func:`verify.plots.save_figure`."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from solver.trajectory import Trajectory  # noqa: E402

from ..plots import LINE_STYLES, save_figure  # noqa: E402


def plot_flows_side_by_side(panels: Sequence[tuple[str, Trajectory]], stem: Path, title: str = "") -> list[Path]:
    """One panel per (label, trajectory): the relative residual ``(T*-T)(u_j^l)/a_j`` of every direction
    against time on a log axis (the spread spectrum's scales span ``1/a_1 .. 1/a_r``); 0 means fitted,
    1 untouched. One line style per seed, one colour per direction; re-initializations are not drawn."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (label, traj) in zip(axes[0], panels):
        t = traj.times
        keep = t > 0  # log axis
        for b in range(traj.batch):
            rel = traj.residuals[b] / traj.a[b]
            for j in range(traj.a.shape[1]):
                ax.plot(t[keep], rel[keep, j], color=colors[j % len(colors)], lw=1,
                        linestyle=LINE_STYLES[b % len(LINE_STYLES)],
                        label=f"$u_{j + 1}$, $a_{j + 1} = {_tex_number(traj.a[b, j])}$" if b == 0 else None)
        ax.set_xscale("log")
        ax.set_xlabel("$t$")
        ax.set_ylabel(r"$(T^*-T)(u_j^{\otimes l})/a_j$")
        ax.set_ylim(-0.1, 1.1)
        recovered = traj.recovered()
        ax.set_title(f"{label}: fitted {int(recovered.sum())} of {recovered.size} (runs × directions)", fontsize=9)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, stem)


def _tex_number(x: float) -> str:
    """``1e-06`` as mathtext ``10^{-6}`` (a power of ten), else ``3{.}2 \\times 10^{-6}``-like ``.2g``."""
    x = float(x)
    if x > 0:
        exponent = np.log10(x)
        if abs(exponent - round(exponent)) < 1e-9:
            return f"10^{{{int(round(exponent))}}}"
    mantissa, _, exponent = f"{x:.2e}".partition("e")
    return f"{float(mantissa):g} \\times 10^{{{int(exponent)}}}"


def plot_cross_check(curves: dict, stem: Path, title: str = "", target: float | None = None) -> list[Path]:
    """The relative deviation ``|L_64 - L_hp| / L_hp`` of the float64 loss from the high-precision loss against
    time (log axis), only where float64 resolves the loss (above its rounding floor); beside it the deviation
    rounding alone explains, ``floor / L_hp``, and the agreement ``target`` when given.

    ``curves``: ``{"t": [...], "float64": [...], "high": [...], "floor": [...] (optional)}``; the last three
    are losses (a float64 curve may be given on its own time grid as ``"t_float64"``; the high-precision loss
    is then interpolated onto it)."""
    fig, ax = plt.subplots(figsize=(9, 4.2))
    t_hi = np.asarray(curves["t"], dtype=float)
    t_lo = np.asarray(curves.get("t_float64", curves["t"]), dtype=float)
    high = np.asarray(curves["high"], dtype=float)
    low = np.asarray(curves["float64"], dtype=float)
    if t_lo.shape != t_hi.shape or not np.array_equal(t_lo, t_hi):
        high = np.exp(np.interp(t_lo, t_hi, np.log(np.maximum(high, 1e-300))))
    with np.errstate(divide="ignore", invalid="ignore"):
        deviation = np.abs(low - high) / np.abs(high)
    floor = None
    if curves.get("floor") is not None:
        floor = np.asarray(curves["floor"], dtype=float)
        resolved = low > floor
    else:
        resolved = np.isfinite(low)
    shown = resolved & np.isfinite(deviation) & (deviation > 0)
    exact = resolved & (deviation == 0)
    ax.plot(t_lo[shown], deviation[shown], ".", ms=3, color="tab:orange",
            label=r"$|L_{64} - L_{hp}| / L_{hp}$ (float64 resolves $L$)")
    if floor is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            rounding = floor / np.abs(high)
        ax.plot(t_lo, rounding, color="0.45", lw=1, label=r"rounding alone: floor$\,/\,L_{hp}$")
    if target is not None:
        ax.axhline(target, color="tab:red", lw=1, linestyle=":", label=f"agreement target {target:.0e}")
    ax.set_yscale("log")
    positive = deviation[shown]
    if positive.size:
        lo = min(float(positive.min()), target or np.inf) / 10
        # Room above the data and the target for the legend (inside the axes: the figure keeps its width).
        ax.set_ylim(lo, max(float(positive.max()), target or 0.0) * 1e5)
    if exact.any():
        ax.plot([], [], " ", label=f"{int(exact.sum())} point(s) agree exactly (not drawn on the log axis)")
    n_unresolved = int((~resolved).sum())
    if n_unresolved:
        ax.plot([], [], " ", label=f"{n_unresolved} point(s) under the float64 floor: not compared")
    ax.set_xlabel("$t$")
    ax.set_ylabel("relative deviation of the loss")
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, stem)


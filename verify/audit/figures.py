"""Figures the audit draws itself (those no other module draws): plain vs modified flow on the spread
spectrum, the float64 vs high-precision cross-check, and the accuracy probe. Each writes ``stem.svg`` (and
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
                        label=f"$u_{j + 1}$, $a={traj.a[b, j]:.0e}$" if b == 0 else None)
        ax.set_xscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel(r"$(T^*-T)(u_j^{\otimes l})/a_j$")
        ax.set_ylim(-0.1, 1.1)
        recovered = traj.recovered()
        ax.set_title(f"{label}: fitted {int(recovered.sum())}/{recovered.size} (runs x directions)", fontsize=9)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return save_figure(fig, stem)


def plot_cross_check(curves: dict, stem: Path, title: str = "") -> list[Path]:
    """The loss of the float64 solver and of the high-precision backend against time, with the float64
    resolution floor; below the floor only the high-precision curve is meaningful.

    ``curves``: ``{"t": [...], "float64": [...], "high": [...], "floor": [...] (optional)}``; the last three
    are losses (a float64 curve may be given on its own time grid as ``"t_float64"``)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    t_hi = np.asarray(curves["t"], dtype=float)
    t_lo = np.asarray(curves.get("t_float64", curves["t"]), dtype=float)
    high = np.asarray(curves["high"], dtype=float)
    low = np.asarray(curves["float64"], dtype=float)
    ax.plot(t_hi, high, color="k", lw=1.5, label="high precision")
    if "floor" in curves and curves["floor"] is not None:
        floor = np.asarray(curves["floor"], dtype=float)
        low = np.where(low > floor, low, np.nan)
        ax.fill_between(t_lo, np.full_like(floor, max(np.nanmin(floor), 1e-300) * 1e-3), floor, color="0.85",
                        label="float64 resolution floor")
    ax.plot(t_lo, low, color="tab:orange", lw=1, linestyle="--", label="float64 solver")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel(r"$\frac{1}{2}\|T-T^*\|_F^2$")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, stem)


def plot_probe(rows: Sequence[dict], stem: Path, title: str = "") -> list[Path]:
    """The accuracy probe: reached ``||T-T*||_F`` against the target eps, one marker per d (filled when every
    component with ``a_j >= eps`` was recovered, hollow otherwise), the diagonal ``reached = eps``, and each
    d's ``exp(-d/ln d)`` (Theorem 1's scale) as a vertical line."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    dims = sorted({int(r["d"]) for r in rows})
    eps_all = [float(r["eps"]) for r in rows]
    for i, d in enumerate(dims):
        mine = [r for r in rows if int(r["d"]) == d]
        color = colors[i % len(colors)]
        for r in mine:
            reached = r.get("reached")
            if reached is None:
                continue
            ax.plot([float(r["eps"])], [float(reached)], "o", color=color,
                    markerfacecolor=color if r.get("recovered_all") else "none")
        ax.plot([], [], "o", color=color, label=f"d = {d}")
        bound = next((r.get("bound") for r in mine if r.get("bound") is not None), None)
        if bound is not None and float(bound) > 0:
            ax.axvline(float(bound), color=color, lw=0.8, linestyle=":")
    if eps_all:
        lo, hi = min(eps_all), max(eps_all)
        grid = np.geomspace(lo / 10, hi * 10, 50)
        ax.plot(grid, grid, color="0.5", lw=0.8, label="reached = eps")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"target accuracy $\epsilon$")
    ax.set_ylabel(r"reached $\|T-T^*\|_F$")
    ax.legend(fontsize=8, title="filled: all recovered; dotted: exp(-d/ln d)", title_fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, stem)

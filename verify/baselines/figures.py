"""Figures of the baselines table and of the beyond-the-paper study (matplotlib, headless; PNG + SVG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .runner import BaselinesResult

__all__ = ["plot_baselines"]


def _cell_text(mesh, value: float) -> str:
    """The text colour (black or white) that reads on the cell ``mesh`` paints for ``value``."""
    from ..plots import text_color

    rgba = mesh.cmap(mesh.norm(value)) if np.isfinite(value) else mesh.cmap.get_bad()
    return text_color(rgba)


def plot_baselines(result: BaselinesResult, stem: Path) -> list[Path]:
    """Two panels, methods x instances: success (runs that recovered every direction, out of the row's
    seeds; grey = not run) and median seconds per run (log colour scale). Writes ``stem.png`` and ``stem.svg``."""
    from ..plots import heatmap, plt, save_figure, vector_colorbar

    methods = list(dict.fromkeys(r.method for r in result.rows))
    instances = list(dict.fromkeys(r.instance for r in result.rows))
    success = np.full((len(methods), len(instances)), np.nan)
    seconds = np.full_like(success, np.nan)
    labels = [["" for _ in instances] for _ in methods]
    for r in result.rows:
        i, j = methods.index(r.method), instances.index(r.instance)
        if r.seeds:
            success[i, j] = r.success / r.seeds
            labels[i][j] = f"{r.success}/{r.seeds}"
            if r.median_seconds is not None:
                seconds[i, j] = r.median_seconds
        else:
            labels[i][j] = "skipped"
    fig, axes = plt.subplots(1, 2, figsize=(4.2 + 1.5 * len(instances), 0.5 * len(methods) + 1.6), sharey=True)
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="0.85")
    mesh = heatmap(axes[0], success, cmap=cmap, vmin=0, vmax=1)
    for i in range(len(methods)):
        for j in range(len(instances)):
            axes[0].text(j, i, labels[i][j], ha="center", va="center", fontsize=8,
                         color=_cell_text(mesh, success[i, j]))
    axes[0].set_title("success (all directions recovered)")
    finite = seconds[np.isfinite(seconds) & (seconds > 0)]
    logs = np.log10(np.where(np.isfinite(seconds) & (seconds > 0), seconds, np.nan))
    tcmap = plt.get_cmap("viridis").with_extremes(bad="0.85")
    image = heatmap(axes[1], logs, cmap=tcmap,
                    vmin=np.log10(finite.min()) if finite.size else -3,
                    vmax=np.log10(finite.max()) if finite.size else 2)
    for i in range(len(methods)):
        for j in range(len(instances)):
            text = "skipped" if labels[i][j] == "skipped" else (
                "" if not np.isfinite(seconds[i, j]) else f"{seconds[i, j]:.2g}")
            axes[1].text(j, i, text, ha="center", va="center", fontsize=8, color=_cell_text(image, logs[i, j]))
    axes[1].set_title("median seconds per run")
    vector_colorbar(fig, image, ax=axes[1], label="log10 seconds")
    for ax in axes:
        ax.set_xticks(range(len(instances)), instances, rotation=30, ha="right")
    axes[0].set_yticks(range(len(methods)), methods)
    fig.suptitle("Baselines: classical methods and the flows on the same instances (float64)", fontsize=10)
    return save_figure(fig, Path(stem))

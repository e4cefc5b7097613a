"""Figures (matplotlib, headless). Each function writes PNG and SVG and returns the paths."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from solver.trajectory import Trajectory, atomic_write_bytes  # noqa: E402

LINE_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)))


def save_figure(fig, stem: Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` atomically; close the figure."""
    import io

    paths = []
    for ext in ("png", "svg"):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=120, bbox_inches="tight")
        path = stem.with_suffix(f".{ext}")
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


#: The loss is drawn only where it exceeds this many float64 resolution floors: just above the floor it is
#: rounding noise, which would draw a hairy band along the floor.
FLOOR_MARGIN = 4.0


def plot_loss_and_residuals(trajectory: Trajectory, stem: Path, title: str = "", log_time: bool = False) -> list[Path]:
    """The paper's Figure 1 layout: left the loss ``1/2||T-T*||^2`` (log axis) with the float64 resolution
    floor drawn as a shaded band (the loss is drawn only above ``FLOOR_MARGIN`` floors), right the residual
    ``(T*-T)(u_i^l)`` per direction; one line style per seed."""
    fig, (ax_loss, ax_res) = plt.subplots(1, 2, figsize=(11, 4))
    t = trajectory.times
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for b in range(trajectory.batch):
        style = LINE_STYLES[b % len(LINE_STYLES)]
        # Within a few floors of the floor the loss is rounding noise: not drawn.
        loss = np.where(trajectory.loss[b] > FLOOR_MARGIN * trajectory.loss_floor[b], trajectory.loss[b], np.nan)
        ax_loss.plot(t, loss, linestyle=style, color="k", lw=1, label=f"seed {trajectory.seeds[b]}")
        for j in range(trajectory.a.shape[1]):
            ax_res.plot(t, trajectory.residuals[b, :, j], linestyle=style, color=colors[j % len(colors)], lw=1,
                        label=f"$e_{j + 1}$" if b == 0 else None)
    floor = np.nanmax(trajectory.loss_floor, axis=0)
    finite = trajectory.loss[np.isfinite(trajectory.loss) & (trajectory.loss > 0)]
    top = float(finite.max()) * 3 if finite.size else 1.0
    bottom = float(np.nanmin(floor)) / 30
    ax_loss.fill_between(t, np.full_like(floor, bottom), floor, color="0.82", lw=0, zorder=0,
                         label=f"float64 floor (loss drawn above {FLOOR_MARGIN:g}x)")
    ax_loss.plot(t, floor, color="0.45", lw=0.8, zorder=1)
    ax_loss.set_yscale("log")
    ax_loss.set_ylim(bottom, top)
    ax_loss.set_xlabel("$t$")
    ax_loss.set_ylabel(r"$\frac{1}{2}\|T - T^*\|_F^2$")
    ax_loss.legend(fontsize=7)
    ax_res.set_xlabel("$t$")
    ax_res.set_ylabel(r"$(T^* - T)(u_i^{\otimes l})$")
    ax_res.legend(fontsize=7, ncol=2)
    if log_time:
        for ax in (ax_loss, ax_res):
            ax.set_xscale("symlog", linthresh=max(t[1], 1e-3) if t.size > 1 else 1.0)
    if title:
        fig.suptitle(title, fontsize=11)
    return save_figure(fig, stem)


def text_color(rgba) -> str:
    """Black or white, whichever reads better on a cell of colour ``rgba`` (WCAG relative luminance)."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(float(c)) for c in rgba[:3])
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # Contrast with black (L + 0.05) / 0.05 against white 1.05 / (L + 0.05): equal at L ~ 0.179.
    return "black" if luminance > 0.179 else "white"


def heatmap(ax, grid, *, origin: str = "upper", **kwargs):
    """``ax.imshow(grid, origin=origin, aspect="auto", **kwargs)`` drawn as vector cells (``pcolormesh``), so an
    SVG holds paths and no embedded bitmap (the report is self-contained text). Cell (i, j) is centred on
    (x = j, y = i), as with ``imshow``; ``origin="upper"`` puts row 0 at the top."""
    import numpy as np

    grid = np.ma.masked_invalid(np.asarray(grid, dtype=float))
    rows, cols = grid.shape
    mesh = ax.pcolormesh(np.arange(cols + 1) - 0.5, np.arange(rows + 1) - 0.5, grid, **kwargs)
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim((rows - 0.5, -0.5) if origin == "upper" else (-0.5, rows - 0.5))
    return mesh


def vector_colorbar(fig, mappable, **kwargs):
    """``fig.colorbar(mappable, **kwargs)`` kept as vector paths: matplotlib rasterizes a colorbar of 50 or more
    colour steps, which would put a bitmap into the report's SVG."""
    bar = fig.colorbar(mappable, **kwargs)
    bar.solids.set_rasterized(False)
    return bar

"""The one plotting style of the book."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

#: Colours by role, used consistently across chapters.
COLORS = {
    "teacher": "#222222",
    "student": "#1f77b4",
    "gradient_em": "#d62728",
    "em": "#ff7f0e",
    "ravine": "#2ca02c",
    "polyak": "#9467bd",
    "nesterov": "#8c564b",
    "lbfgs": "#7f7f7f",
    "normal": "#17becf",
    "tangent": "#bcbd22",
}

#: Marker for Polyak iterates in every convergence plot.
POLYAK_MARKER = dict(marker="s", s=28, facecolors="none", edgecolors=COLORS["polyak"], linewidths=1.2, zorder=5)

_RC = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.6,
}


def apply_style():
    """Set the book's matplotlib defaults (idempotent)."""
    mpl.rcParams.update(_RC)


def new_figure(ncols=1, nrows=1, width=6.4, height=3.6, **kwargs):
    """A figure with the book style applied: returns ``(fig, axes)``."""
    apply_style()
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), constrained_layout=True, **kwargs)
    return fig, axes

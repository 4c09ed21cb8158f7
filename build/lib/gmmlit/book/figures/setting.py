"""Figures of the chapter on the setting."""

from __future__ import annotations

import numpy as np

from ...core.mixture import Mixture
from .style import COLORS, new_figure


def mixture_density_figure(teacher, student_means=None, student_weights=None, *, extent=None, grid=300):
    """Contours of the teacher density in d = 2 with the student means on top.

    Student markers have area proportional to their weights.
    """
    if teacher.dim != 2:
        raise ValueError(f"teacher must be two-dimensional for this figure, got dim={teacher.dim}")
    centre = teacher.means.mean(axis=0)
    half = extent if extent is not None else float(np.max(np.abs(teacher.means - centre))) + 3.5
    xs = np.linspace(centre[0] - half, centre[0] + half, grid)
    ys = np.linspace(centre[1] - half, centre[1] + half, grid)
    xx, yy = np.meshgrid(xs, ys)
    dens = teacher.pdf(np.stack([xx.ravel(), yy.ravel()], axis=1)).reshape(xx.shape)
    fig, ax = new_figure(width=5.0, height=4.4)
    ax.contourf(xx, yy, dens, levels=14, cmap="Greys", alpha=0.8)
    ax.scatter(*teacher.means.T, marker="x", s=80, color=COLORS["teacher"], label=r"teacher means $\mu^*_j$")
    if student_means is not None:
        sm = np.asarray(student_means)
        sw = np.ones(len(sm)) / len(sm) if student_weights is None else np.asarray(student_weights)
        ax.scatter(*sm.T, s=900 * sw, color=COLORS["student"], alpha=0.7, edgecolors="white",
                   label=r"student means $\mu_i$ (area $\propto \pi_i$)")
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper right", framealpha=0.9)
    ax.grid(False)
    return fig

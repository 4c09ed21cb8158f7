"""Figures of the chapter on the ravine (besides Figure 2, in :mod:`gmmlit.book.figures.landscape`)."""

from __future__ import annotations

import numpy as np

from ...theory.landscape import loglog_slope
from .style import COLORS, new_figure


def _slope_label(name, slope):
    return f"{name}, slope {slope:.3f}"


def growth_figure(growth):
    """Growth across and along the ravine, from :func:`gmmlit.theory.landscape.measure_growth`.

    (a) the loss along a normal and a tangent direction and on the ravine, with the
    predicted ``(1/2) u^T H u t^2`` and ``Q(v) t^4``; (b) the normal part of the gradient
    along the tangent line and the cluster bias of the ravine point above it, both
    ``O(t^2)``, with the predicted ``|b_2| t^2`` (:func:`gmmlit.theory.quartic.ravine_cluster_bias`).
    """
    g = growth
    ts, rts = np.asarray(g["ts"]), np.asarray(g["ravine_ts"])
    fig, (ax, bx) = new_figure(ncols=2, width=10.0, height=4.0)
    ax.loglog(ts, g["loss_normal"], "o-", color=COLORS["normal"], ms=4,
              label=_slope_label(r"$L(\theta^*+tu)$", g["slope_normal"]))
    ax.loglog(ts, g["loss_tangent"], "o-", color=COLORS["tangent"], ms=4,
              label=_slope_label(r"$L(\theta^*+tv)$", g["slope_tangent"]))
    ax.loglog(rts, g["loss_ravine"], "x", color=COLORS["ravine"], ms=8, mew=1.5,
              label=_slope_label(r"$L$ on the ravine", g["slope_ravine"]))
    ax.loglog(ts, g["half_uHu"] * ts ** 2, "--", color=COLORS["teacher"], lw=1.0,
              label=r"$\frac{1}{2}u^\top H u\;t^2$")
    ax.loglog(ts, g["quartic_Q"] * ts ** 4, ":", color=COLORS["teacher"], lw=1.2, label=r"$Q(v)\,t^4$")
    ax.set_xlabel("$t$")
    ax.set_ylabel("loss")
    ax.set_title("(a) quadratic across, quartic along")
    ax.legend(fontsize=8, loc="lower right")

    bias = np.linalg.norm(np.asarray(g["biases"]).reshape(len(rts), -1), axis=1)
    b2 = float(np.linalg.norm(g["bias_coefficient"]))
    bx.loglog(ts, np.linalg.norm(g["normal_gradient"], axis=1), "o-", color=COLORS["normal"], ms=4,
              label=_slope_label(r"$|P_N\nabla L(\theta^*+tv)|$", g["slope_normal_gradient"]))
    bx.loglog(rts, bias, "s", color=COLORS["ravine"], ms=6,
              label=_slope_label(r"cluster bias of the ravine point", loglog_slope(rts, bias)))
    bx.loglog(ts, b2 * ts ** 2, "--", color=COLORS["ravine"], lw=1.0, label=r"predicted $|b_2(v)|\,t^2$")
    bx.set_xlabel("$t$")
    bx.set_title("(b) the ravine bends: both are $O(t^2)$")
    bx.legend(fontsize=8, loc="lower right")
    return fig


def separation_figure(sep):
    """Quartic constants against the side of the triangle teacher.

    ``sep`` is :func:`gmmlit.theory.landscape.quartic_constants_vs_separation`'s dictionary:
    measured ``L / t^4`` on the tangent line and on the ravine (markers), ``Q(v)`` and
    ``Q_M(v)`` from :mod:`gmmlit.theory.quartic` (lines) and the well separated limit (dashed).
    """
    sides = np.asarray(sep["sides"], dtype=float)
    q_line, q_ravine = sep["q_line"], sep["q_ravine"]
    fig, ax = new_figure(width=6.0, height=3.6)
    ax.plot(sides, q_line, "o", color=COLORS["tangent"], ms=7, label=r"measured on the line, $L(\theta^*+tv)/t^4$")
    ax.plot(sides, q_ravine, "s", color=COLORS["ravine"], ms=6, label=r"measured on the ravine $M$")
    ax.plot(sides, sep["q_formula"], "-", color=COLORS["tangent"], lw=1.2, label=r"$Q(v)$, formula")
    ax.plot(sides, sep["q_ravine_formula"], "-", color=COLORS["ravine"], lw=1.2, label=r"$Q_M(v)$, formula")
    ax.axhline(float(np.atleast_1d(sep["q_separated"])[0]), ls="--", color=COLORS["teacher"], lw=1.0,
               label=r"separated limit $\sum_j\|A_j\|_F^2/(4\pi^*_j)$")
    ax.set_xlabel("side of the teacher triangle (separation of the means)")
    ax.set_ylabel("quartic constant")
    ax.legend(fontsize=8, loc="lower right")
    return fig

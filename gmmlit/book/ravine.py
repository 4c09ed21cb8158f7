"""The chapter "The ravine": Figure 2 (the landscape of the two-parameter example), the growth
of the loss along the ravine and the quartic constants against the separation.

``compute_figure2`` returns numbers only and ``plot_figure2`` draws them, so that the
command line (:mod:`gmmlit.book.reproduce`) and the book make the same figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm

from ..theory.landscape import loglog_slope, two_parameter_landscape
from .style import COLORS, new_figure

#: Contour levels of panel (a): half-decades of the loss, from 1e-6 to 1.
CONTOUR_LEVELS = np.logspace(-6, 0, 13)


def compute_figure2(*, seed=0, full=False, progress=None, weights=(0.5, 0.5)):
    """Numbers of Figure 2: :func:`gmmlit.theory.landscape.two_parameter_landscape`.

    Parameters
    ----------
    seed : int
        Unused: the figure has no randomness (the normal and tangent spaces are lines,
        and their unit directions are fixed by a sign convention). Accepted so that every
        figure has the same call signature.
    full : bool
        ``True`` uses a finer contour grid (241 points per axis instead of 121).
    progress : callable or None
        Called as ``progress(done, total)`` before and after the computation.
    weights : array_like, shape (2,)
        Student weights; the paper's example has ``(1/2, 1/2)``.
    """
    if progress is not None:
        progress(0, 1)
    data = two_parameter_landscape(weights, grid_points=241 if full else 121)
    if progress is not None:
        progress(1, 1)
    return data


def _reference(ax, ts, const, power, style, label):
    ax.loglog(ts, const * ts ** power, style, color=COLORS["teacher"], lw=1.0, alpha=0.8, label=label)


def plot_figure2(data):
    """Draw Figure 2 from :func:`compute_figure2`'s dictionary.

    (a) log-spaced contours of ``L(mu_1, mu_2)`` with the tangent line ``T``, the normal
    line and the ravine ``M``; (b) the normal and tangent slices on log-log axes with
    reference lines of slopes 2 and 4 and the predicted constants; (c) the slices
    divided by ``t^2`` and ``t^4``, which tend to the predicted constants.
    """
    fig, (ax, bx, cx) = new_figure(ncols=3, width=13.5, height=4.4, gridspec_kw=dict(width_ratios=[1.25, 1, 0.8]))
    mu1, mu2, grid = data["mu1"], data["mu2"], data["loss_grid"]
    lo, hi = CONTOUR_LEVELS[0], CONTOUR_LEVELS[-1]
    clipped = np.clip(grid, lo, hi * (1 - 1e-12))
    cs = ax.contourf(mu1, mu2, clipped, levels=CONTOUR_LEVELS, norm=LogNorm(lo, hi), cmap="viridis", extend="neither")
    ax.contour(mu1, mu2, clipped, levels=CONTOUR_LEVELS, colors="white", linewidths=0.4, alpha=0.6)
    cbar = fig.colorbar(cs, ax=ax, shrink=0.9)
    cbar.set_label(r"$L(\mu_1,\mu_2)$")
    cbar.set_ticks(CONTOUR_LEVELS[::2])
    half = float(np.max(np.abs(mu1)))
    u = np.asarray(data["normal"])
    tl = np.asarray(data["tangent_line"])
    ax.plot(tl[:, 0], tl[:, 1], "--", color=COLORS["tangent"], lw=1.6, label=r"tangent line $T$")
    ax.plot([-2 * half * u[0], 2 * half * u[0]], [-2 * half * u[1], 2 * half * u[1]], ":",
            color=COLORS["normal"], lw=1.8, label=r"normal line $N$")
    rv = np.asarray(data["ravine"])
    ax.plot(rv[:, 0], rv[:, 1], "-", color=COLORS["ravine"], lw=2.0, label=r"ravine $M$")
    ax.plot([0], [0], marker="*", ms=12, color="white", mec=COLORS["teacher"], ls="none", label=r"$\theta^*$")
    ax.set_xlim(-half, half)
    ax.set_ylim(-half, half)
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xlabel(r"$\mu_1$")
    ax.set_ylabel(r"$\mu_2$")
    w = np.asarray(data["weights"])
    ax.set_title(rf"(a) $L$ over $(\mu_1,\mu_2)$, $\pi=({w[0]:g},{w[1]:g})$")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.85)

    ts = np.asarray(data["ts"])
    bx.loglog(ts, data["loss_normal"], "-", color=COLORS["normal"], lw=2.2,
              label=rf"normal $L(\theta^*+tu)$, slope {data['slope_normal']:.3f}")
    bx.loglog(ts, data["loss_tangent"], "-", color=COLORS["tangent"], lw=2.2,
              label=rf"tangent $L(\theta^*+tv)$, slope {data['slope_tangent']:.3f}")
    bx.loglog(ts, data["loss_ravine"], "--", color=COLORS["ravine"], lw=1.4, label=r"on the ravine $M$ above $tv$")
    _reference(bx, ts, data["half_uHu"], 2, "--", rf"$\frac{{1}}{{2}}u^\top H u\;t^2 = {data['half_uHu']:.4g}\,t^2$")
    _reference(bx, ts, data["quartic_Q"], 4, ":", rf"$Q(v)\,t^4 = {data['quartic_Q']:.4g}\,t^4$")
    bx.set_xlabel(r"$t$")
    bx.set_ylabel("loss")
    bx.set_title("(b) slices: slope 2 across, slope 4 along")
    bx.legend(loc="lower right", fontsize=8)

    cx.semilogx(ts, data["loss_normal"] / (data["half_uHu"] * ts ** 2), "-", color=COLORS["normal"], lw=2.2,
                label=r"$L(\theta^*+tu)\,/\,(\frac{1}{2}u^\top H u\;t^2)$")
    cx.semilogx(ts, data["loss_tangent"] / (data["quartic_Q"] * ts ** 4), "-", color=COLORS["tangent"], lw=2.2,
                label=r"$L(\theta^*+tv)\,/\,(Q(v)\,t^4)$")
    cx.axhline(1.0, ls="--", color=COLORS["teacher"], lw=1.0)
    cx.set_ylim(0.6, 1.05)
    cx.set_xlabel(r"$t$")
    cx.set_ylabel("measured / predicted")
    cx.set_title("(c) the constants")
    cx.legend(loc="lower left", fontsize=8)
    return fig


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

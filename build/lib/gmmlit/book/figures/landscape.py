"""Figure 2 (the landscape of the two-parameter example) and the Hessian spectrum.

``compute_figure2`` returns numbers only and ``plot_figure2`` draws them, so that the
command line (:mod:`gmmlit.book.reproduce`) and the book make the same figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.ticker import MaxNLocator

from ...theory.landscape import two_parameter_landscape
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


def hessian_spectrum_figure(eigenvalues, rank, *, title=None):
    """Eigenvalues of a Hessian, sorted, as ``|lambda|`` on a log scale.

    The first ``rank`` (largest) are drawn as the range, the others as the null space;
    the gap between them is the numerical rank. A dashed line marks the rounding level
    ``eps * max |lambda|``.
    """
    lam = np.sort(np.abs(np.asarray(eigenvalues, dtype=float)))[::-1]
    if not 0 <= rank <= lam.size:
        raise ValueError(f"rank must lie in 0..{lam.size}, got {rank}")
    k = np.arange(1, lam.size + 1)
    floor = np.finfo(float).tiny
    fig, ax = new_figure(width=5.6, height=3.2)
    ax.semilogy(k[:rank], np.maximum(lam[:rank], floor), "o", color=COLORS["normal"],
                label=f"range: {rank} eigenvalues (normal space)")
    ax.semilogy(k[rank:], np.maximum(lam[rank:], floor), "s", color=COLORS["tangent"],
                label=f"null space: {lam.size - rank} eigenvalues (tangent space)")
    if lam.size and lam[0] > 0:
        ax.axhline(np.finfo(float).eps * lam[0], ls="--", color=COLORS["teacher"], lw=1.0,
                   label=r"rounding level $\varepsilon\,\lambda_{\max}$")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("index (sorted by $|\\lambda|$)")
    ax.set_ylabel("$|\\lambda|$")
    ax.legend(loc="center right", fontsize=8)
    if title:
        ax.set_title(title)
    return fig

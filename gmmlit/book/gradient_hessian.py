"""The chapter "Gradient and Hessian": the Hessian spectrum at a minimiser."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from .style import COLORS, new_figure


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

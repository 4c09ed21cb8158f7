"""Figure of the chapter "From population to samples": where the sample minimiser of the
two-student model sits, and how curved the sample loss is there, against ``N``."""

from __future__ import annotations

import numpy as np

from .style import COLORS, new_figure

#: Marker per dimension.
DIM_MARKERS = {1: "o", 2: "s"}


def samples_figure(sizes, studies, models=None):
    """Two panels against the sample size ``N``.

    Left: distance of the sample minimiser from ``theta*``: along ``T`` for the seeds with
    ``lambda_max(S - I) > 0`` (filled), across ``T`` for the others, whose two students
    coincide (hollow); every seed is one marker. Right: least and largest Hessian
    eigenvalue at the sample minimiser (medians over seeds, markers), and the least
    eigenvalue of the fourth-order model over more seeds (lines), when ``models`` is given.

    Parameters
    ----------
    sizes : array_like
    studies : dict dim -> dict
        Outputs of :func:`gmmlit.book.samples.displacement_study`.
    models : dict dim -> dict or None
        Outputs of :func:`gmmlit.book.samples.predicted_study` over the same sizes.
    """
    n = np.asarray(sizes, dtype=float)
    fig, (left, right) = new_figure(ncols=2, width=9.6, height=3.8)
    for dim, study in studies.items():
        marker = DIM_MARKERS.get(dim, "^")
        spread = study["spread"] > 0
        jitter = np.exp(0.04 * (dim - 1.5))
        nn = np.broadcast_to(n[:, None], spread.shape) * jitter
        left.loglog(nn[spread], study["tangent"][spread], marker, color=COLORS["tangent"], ms=4, ls="none",
                    label=f"d={dim}: along $T$ ($\\lambda_{{\\max}}(S-I)>0$)")
        left.loglog(nn[~spread], study["normal"][~spread], marker, mfc="none", color=COLORS["normal"], ms=4,
                    ls="none", label=f"d={dim}: across $T$ (students coincide)")
        right.loglog(n, np.median(study["eig_min"], axis=1), marker, color=COLORS["ravine"], ls="none",
                     label=f"d={dim}: least eigenvalue")
        right.loglog(n, np.median(study["eig_max"], axis=1), marker, color=COLORS["em"], ls="none",
                     label=f"d={dim}: largest eigenvalue")
        if models is not None:
            right.loglog(n, np.median(models[dim]["eig_min"], axis=1), "-" if dim == 1 else "--",
                         color=COLORS["ravine"], lw=1.0, label=f"d={dim}: least eigenvalue, model, more seeds")
    anchor_t = np.median(studies[max(studies)]["tangent"][0])
    anchor_n = np.median(studies[max(studies)]["normal"][0])
    left.loglog(n, anchor_t * (n / n[0]) ** -0.25, "--", color="0.4", lw=0.9, label="$N^{-1/4}$")
    left.loglog(n, anchor_n * (n / n[0]) ** -0.5, ":", color="0.4", lw=0.9, label="$N^{-1/2}$")
    anchor_e = np.median(studies[max(studies)]["eig_min"][0])
    right.loglog(n, anchor_e * (n / n[0]) ** -0.5, ":", color="0.4", lw=0.9, label="$N^{-1/2}$")
    left.set_xlabel("sample size $N$")
    left.set_ylabel(r"distance of $\hat\theta_N$ from $\theta^*$")
    right.set_xlabel("sample size $N$")
    right.set_ylabel(r"Hessian eigenvalue at $\hat\theta_N$")
    left.set_ylim(top=left.get_ylim()[1] * 30)
    left.legend(fontsize=6.5, loc="upper right", ncol=2)
    right.set_ylim(top=right.get_ylim()[1] * 8)
    right.legend(fontsize=6.5, loc="upper right", ncol=2)
    return fig

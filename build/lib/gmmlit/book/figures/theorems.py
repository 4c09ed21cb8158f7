"""The figure of the chapter "The two theorems": tangent size at the Polyak base points of
the paper's method, block by block, with the accuracy level of the local-linear theorem."""

from __future__ import annotations

import numpy as np

from .style import new_figure


def plot_rates(rows, threshold_rows=None):
    """(a) ``|v_k|`` against the block index for every row of
    :func:`gmmlit.book.theorems.rate_study`, with its level ``delta`` (dotted); (b) with
    ``threshold_rows`` (:func:`gmmlit.book.theorems.threshold_study`), ``L / L* - 1`` of the
    paper's method on the misspecified instances, against evaluations, with ``KL / L*``
    (dashed)."""
    fig, axes = new_figure(ncols=2 if threshold_rows else 1, width=10.0 if threshold_rows else 6.4, height=3.8)
    ax = axes[0] if threshold_rows else axes
    for k, row in enumerate(rows):
        color = f"C{k}"
        v = row["diagnostics"]["v"]
        ax.semilogy(np.arange(v.size), v, "o-", ms=3, color=color, label=row["label"])
        if np.isfinite(row["delta2"]):
            ax.axhline(np.sqrt(row["delta2"]), color=color, ls=":", lw=1)
    ax.set_xlabel("block k")
    ax.set_ylabel(r"tangent size $|v_k|$ at the base point")
    ax.set_title("(a) the paper's method, Delta_pi = 0")
    ax.legend(fontsize=8)
    if threshold_rows:
        ax = axes[1]
        for k, row in enumerate(threshold_rows):
            excess = row["losses"] / row["L_star"] - 1.0
            ax.semilogy(np.arange(excess.size), np.where(excess > 0, excess, np.nan), color=f"C{k}", lw=1,
                        label=f"Delta_pi = {row['delta_pi']:g}")
            ax.axhline(row["kl"] / row["L_star"], color=f"C{k}", ls="--", lw=1)
        ax.set_xlabel("objective evaluations")
        ax.set_ylabel(r"$L/L^*-1$")
        ax.set_ylim(1e-4, 1e3)
        ax.set_title("(b) target 0 with Delta_pi > 0")
        ax.legend(fontsize=8)
    return fig

"""The figure of the chapter "Beyond the paper": loss against objective evaluations for
every method of the methods benchmark on one instance (``compute_beyond`` /
``plot_beyond``), Polyak trial points marked with :data:`~gmmlit.book.figures.style.POLYAK_MARKER`.
"""

from __future__ import annotations

import numpy as np

from ...bench.methods import METHODS, run_method
from ...core.validation import check_positive_int
from .style import COLORS, POLYAK_MARKER, new_figure

#: Methods drawn, with their colour role in :data:`~gmmlit.book.figures.style.COLORS` and line style.
BEYOND_METHODS = {
    "gradient_em": ("gradient_em", "-"),
    "em": ("em", "-"),
    "nesterov": ("nesterov", "-"),
    "lbfgs": ("lbfgs", "-"),
    "bfgs": ("lbfgs", "--"),
    "newton": ("nesterov", "--"),
    "gdpolyak_K10": ("polyak", "-"),
    "ravine_default": ("ravine", "-"),
}


def compute_beyond(instance_name="triangle_side6", seed=0, max_evals=150, methods=tuple(BEYOND_METHODS)):
    """Run ``methods`` (keys of :data:`gmmlit.bench.methods.METHODS`) with the quick
    rule of the benchmark, ``tol = 1e-12`` and a common budget; returns name -> result."""
    max_evals = check_positive_int(max_evals, "max_evals")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods must be keys of METHODS, got {unknown}")
    return {m: run_method(m, instance_name, seed, quick=True, max_evals=max_evals) for m in methods}


def plot_beyond(results, title=None):
    """Loss (log scale) against evaluations, one line per method; Polyak trials marked."""
    fig, ax = new_figure(width=7.6, height=4.0)
    for name, res in results.items():
        role, ls = BEYOND_METHODS.get(name, ("teacher", "-"))
        k = np.arange(1, res.n_evals + 1)
        ax.semilogy(k, res.losses, ls, color=COLORS[role], label=name)
        if res.polyak_evals.size:
            ax.scatter(res.polyak_evals + 1, res.losses[res.polyak_evals], **POLYAK_MARKER)
    ax.scatter([], [], label="Polyak trial", **POLYAK_MARKER)
    ax.axhline(1e-12, color="k", lw=0.8, alpha=0.5)
    ax.set_xlabel("objective evaluations")
    ax.set_ylabel(r"$L(\theta)$")
    if title:
        ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig

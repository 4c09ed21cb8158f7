"""Reproducing the paper's figures from the command line.

Each figure ``figN`` is produced by two functions in a module of ``gmmlit.book.figures``:
``compute_figureN(*, seed=0, full=False, jobs=1, progress=None) -> dict`` (numbers only:
arrays and scalars) and ``plot_figureN(data) -> matplotlib.figure.Figure``. The book calls
the same two functions with ``full=False`` (sizes that build in minutes); ``full=True``
uses the paper's sizes where they differ. :func:`reproduce` writes the figure as PNG and
PDF and its data as NPZ.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time
from pathlib import Path

import numpy as np

#: Figure name -> (module, what it shows).
FIGURES = {
    "fig1": ("gmmlit.book.figures.polyak", "loss and distance vs iteration, ravine method vs gradient EM (d=5, m=3, n=20)"),
    "fig2": ("gmmlit.book.figures.landscape", "loss landscape of the two-parameter example (d=1, m=1, n=2)"),
    "fig3": ("gmmlit.book.figures.polyak", "the algorithm on a 2-D example: tube, Polyak step, short steps"),
    "fig4": ("gmmlit.book.figures.slowdown", "intra-cluster dispersion and cluster bias over iterations"),
    "fig5": ("gmmlit.book.figures.misspecified", "general mixtures: both methods from the same initialisation"),
    "fig6": ("gmmlit.book.figures.misspecified", "effect of the weight mismatch on rate and floor"),
    "fig7": ("gmmlit.book.figures.global_phase", "histogram of active components after the global phase"),
}


class Progress:
    """A minimal text progress bar on stderr: ``progress(done, total)``."""

    def __init__(self, label, stream=None, width=30):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.start = time.perf_counter()

    def __call__(self, done, total):
        total = max(int(total), 1)
        frac = min(max(done / total, 0.0), 1.0)
        bar = "#" * int(round(frac * self.width))
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"\r{self.label} [{bar:<{self.width}}] {done}/{total} {elapsed:6.1f}s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def figure_functions(name):
    """``(compute, plot)`` for a figure name such as ``"fig4"``."""
    if name not in FIGURES:
        raise ValueError(f"unknown figure {name!r}; choose one of {', '.join(FIGURES)} or 'all'")
    module = importlib.import_module(FIGURES[name][0])
    number = name[3:]
    return getattr(module, f"compute_figure{number}"), getattr(module, f"plot_figure{number}")


def _flatten(data, prefix=""):
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = np.asarray(value)
    return flat


def reproduce(name, out, *, seed=0, full=False, jobs=1, progress=True):
    """Compute and save one figure: ``out/name.png``, ``out/name.pdf``, ``out/name.npz``.

    Returns the list of written paths.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    compute, plot = figure_functions(name)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    kwargs = dict(seed=seed, full=full)
    params = inspect.signature(compute).parameters
    if "jobs" in params:
        kwargs["jobs"] = jobs
    if "progress" in params and progress:
        kwargs["progress"] = Progress(name)
    data = compute(**kwargs)
    fig = plot(data)
    paths = [out / f"{name}.png", out / f"{name}.pdf", out / f"{name}.npz"]
    fig.savefig(paths[0])
    fig.savefig(paths[1])
    plt.close(fig)
    np.savez(paths[2], **_flatten(data))
    return paths

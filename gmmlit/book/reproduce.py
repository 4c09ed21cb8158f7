"""Reproducing the paper's figures from the command line.

Each figure ``figN`` is produced by two functions of its chapter's module ``gmmlit.book.<chapter>``:
``compute_figureN(*, seed=0, full=False, jobs=1, progress=None) -> dict`` (numbers only:
arrays and scalars) and ``plot_figureN(data) -> matplotlib.figure.Figure``. The book calls
the same two functions with ``full=False`` (sizes that build in minutes); ``full=True``
uses the paper's sizes where they differ. :func:`reproduce` writes the figure as PNG and
PDF and its data as NPZ; the NPZ holds the figure's setting as scalars ``d``, ``m``, ``n``
(and ``trials`` where there are trials; Figure 7's ``d`` is the array of its dimensions),
see :data:`SETTINGS`.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from pathlib import Path

import numpy as np

from ..bench.atomic import atomic_paths, pause_point

#: Figure name -> (module, what it shows).
FIGURES = {
    "fig1": ("gmmlit.book.polyak", "loss and distance vs iteration, ravine method vs gradient EM (d=5, m=3, n=20)"),
    "fig2": ("gmmlit.book.ravine", "loss landscape of the two-parameter example (d=1, m=1, n=2)"),
    "fig3": ("gmmlit.book.polyak", "the algorithm on a 2-D example: tube, Polyak step, short steps"),
    "fig4": ("gmmlit.book.slowdown", "intra-cluster dispersion and cluster bias over iterations"),
    "fig5": ("gmmlit.book.misspecified", "general mixtures: both methods from the same initialisation"),
    "fig6": ("gmmlit.book.misspecified", "effect of the weight mismatch on rate and floor"),
    "fig7": ("gmmlit.book.global_phase", "histogram of active components after the global phase"),
}


#: The setting of every figure, as stored in its NPZ (``d``, ``m``, ``n``; ``trials`` is
#: read from the data's ``n_trials`` where the figure has trials). Values the compute
#: function returns under these names take precedence.
SETTINGS = {
    "fig1": dict(d=5, m=3, n=20),
    "fig2": dict(d=1, m=1, n=2),
    "fig3": dict(d=1, m=1, n=2),
    "fig4": dict(d=2, m=3, n=10),
    "fig5": dict(d=2, m=3, n=10),
    "fig6": dict(d=2, m=3, n=10),
    "fig7": dict(d=(2, 5, 10), m=3, n=20),
}


class Progress:
    """A ``tqdm`` progress bar driven as ``progress(done, total)`` (the protocol of the
    compute functions); closed once ``done >= total``."""

    def __init__(self, label, **tqdm_options):
        from ..bench.parallel import require

        tqdm = require("tqdm.auto", "book", "progress bars").tqdm
        self.bar = tqdm(desc=label, total=1, unit="step", **tqdm_options)

    def __call__(self, done, total):
        total = max(int(total), 1)
        if self.bar.total != total:
            self.bar.total = total
        self.bar.n = min(int(done), total)
        self.bar.refresh()
        if done >= total:
            self.bar.close()


def figure_setting(name, data):
    """``d``, ``m``, ``n`` (and ``trials``) of figure ``name``: :data:`SETTINGS`, overridden
    by the entries of the same names in ``data``, ``trials`` from ``data["n_trials"]``."""
    setting = {k: np.asarray(v) for k, v in SETTINGS[name].items()}
    for key in ("d", "m", "n", "trials"):
        if key in data:
            setting[key] = np.asarray(data[key])
    if "trials" not in setting and "n_trials" in data:
        setting["trials"] = np.asarray(int(data["n_trials"]))
    return setting


def backend_context(backend, jobs=1, scheduler=None):
    """A context in which :func:`gmmlit.bench.parallel.map_trials` calls with ``backend=None``
    run on ``backend`` (``None``: joblib's default), whatever their ``jobs``; with ``"dask"``
    one client (of ``scheduler``, or of a local cluster) serves every call of the block."""
    from ..bench.parallel import check_backend, dask_client, sweep_backend

    backend = check_backend(backend)
    stack = contextlib.ExitStack()
    if backend == "dask":
        stack.enter_context(dask_client(jobs, scheduler))
    stack.enter_context(sweep_backend(backend, scheduler))
    return stack


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


def reproduce(name, out, *, seed=0, full=False, jobs=1, progress=True, backend=None, scheduler=None):
    """Compute and save one figure: ``out/name.png``, ``out/name.pdf``, ``out/name.npz``.

    ``backend`` (``"loky"``, ``"threading"``, ``"dask"`` or ``None``) is where the sweeps'
    trials run, ``scheduler`` the address of an existing Dask cluster (:func:`backend_context`).
    The three files are written whole or not at all (:func:`~gmmlit.bench.atomic.atomic_paths`).
    Returns the list of written paths.
    """
    from ..bench.parallel import require

    matplotlib = require("matplotlib", "book", "figures")
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
    with backend_context(backend, jobs, scheduler):
        data = compute(**kwargs)
    fig = plot(data)
    paths = [out / f"{name}.png", out / f"{name}.pdf", out / f"{name}.npz"]
    try:
        with atomic_paths(*paths) as (png, pdf, npz):
            save_figure(fig, png)
            pause_point()
            save_figure(fig, pdf)
            with open(npz, "wb") as fh:
                np.savez(fh, **{**_flatten(data), **figure_setting(name, data)})
    finally:
        plt.close(fig)
    return paths


#: Metadata that makes the saved figures depend on their content only: no creation date in
#: the PDF (matplotlib writes the current time otherwise), no version string in either.
REPRODUCIBLE_METADATA = {".pdf": {"CreationDate": None, "Creator": None, "Producer": None},
                         ".png": {"Software": None}}


def save_figure(fig, path):
    """``fig.savefig(path)`` with :data:`REPRODUCIBLE_METADATA`: the same figure gives the same
    bytes on every run. The format is taken from the suffix of ``path``; a temporary name
    from :func:`~gmmlit.bench.atomic.atomic_path` keeps it."""
    path = Path(path)
    fmt = path.suffix.lstrip(".")
    fig.savefig(path, format=fmt, metadata=REPRODUCIBLE_METADATA.get(path.suffix, {}))
    return path

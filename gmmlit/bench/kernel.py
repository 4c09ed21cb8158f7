"""Performance benchmarks: scripts that print figures, never timed assertions.

``python -m gmmlit bench kernel`` times one loss+gradient evaluation of
:class:`~gmmlit.PopulationKL` across sizes (nodes ``N``, students ``n``, dimension ``d``)
next to the unavoidable work of the same size timed in the same run: the two matrix
products ``Z @ delta^T`` and ``(psi c)^T Z`` and one ``exp`` over the ``N x n`` exponents.
The ratio floor / evaluation says how close the kernel is to that floor (1 is the floor
itself). The floor is timed twice: over the whole ``N x n`` arrays at once, and in blocks
of the kernel's chunk size (the kernel bounds its memory by chunking, which also keeps its
arrays in cache; the unchunked floor turns memory bound once its arrays outgrow the cache,
so at large ``N`` the chunked floor is the demanding comparison). The peak memory of one
evaluation (``tracemalloc``) is reported next to the chunk size. The growth exponents of
the evaluation time in ``N``, ``n`` and ``d`` are fitted by least squares.

``python -m gmmlit bench methods`` (see :func:`gmmlit.bench.methods.methods_table`) runs every method to the
tolerances ``1e-6 .. 1e-12`` on fixed seeded instances; ``python -m gmmlit bench starts``
(:func:`gmmlit.bench.starts.starts_main`) measures success and cost from random starts.

This machine is noisy: every time is the best of several repeats, and only ratios
measured in the same process are compared.
"""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import numpy as np

from ..core.mixture import Mixture
from ..core.objective import PopulationKL
from ..core.quadrature import SobolRule
from ..theory.landscape import loglog_slope
from .tables import best_time, format_rows, read_commented_csv, write_csv



def kernel_case(n_nodes, n, d, seed=0):
    """A one-component teacher in ``R^d`` with a Sobol rule of ``n_nodes`` nodes, ``n`` students."""
    rng = np.random.default_rng(seed)
    teacher = Mixture([1.0], np.zeros((1, d)))
    weights = rng.dirichlet(np.full(n, 5.0))
    objective = PopulationKL(teacher, weights, SobolRule(n_nodes, seed))
    means = 0.3 * rng.standard_normal((n, d))
    return objective, means


def floor_time(n_nodes, n, d, seed=0, repeats=5, chunk=None):
    """Time of the unavoidable work: two ``(N x d) (d x n)`` products and one ``exp`` over ``N x n``.

    With ``chunk``, the same work in blocks of ``chunk`` nodes (as the kernel does it): the
    arrays then stay in cache, while the unchunked floor becomes memory bound once the
    ``N x n`` arrays outgrow it.
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_nodes, d))
    delta = rng.standard_normal((n, d))
    e = -rng.random((n_nodes, n))
    step = n_nodes if chunk is None else max(1, int(chunk))

    def work():
        out = np.zeros((n, d))
        for lo in range(0, n_nodes, step):
            zc = z[lo:lo + step]
            zc @ delta.T
            out += np.exp(e[lo:lo + step]).T @ zc
        return out

    return best_time(work, repeats)


def kernel_row(n_nodes, n, d, repeats=5):
    """One row of the kernel table: seconds per evaluation, floor, ratio, peak memory."""
    objective, means = kernel_case(n_nodes, n, d)
    t_eval = best_time(lambda: objective.loss_and_grad(means), repeats)
    t_floor = floor_time(n_nodes, n, d, repeats=repeats)
    t_chunked = floor_time(n_nodes, n, d, repeats=repeats, chunk=objective.chunk_size)
    tracemalloc.start()
    objective.loss_and_grad(means)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dict(N=n_nodes, n=n, d=d, seconds=t_eval, floor_seconds=t_floor, floor_ratio=t_floor / t_eval,
                chunked_floor_seconds=t_chunked, chunked_floor_ratio=t_chunked / t_eval,
                peak_MB=peak / 2 ** 20, chunk=objective.chunk_size)


#: Columns of the printed kernel table.
KERNEL_COLUMNS = ["N", "n", "d", "seconds", "floor_seconds", "floor_ratio", "chunked_floor_seconds",
                  "chunked_floor_ratio", "peak_MB", "chunk"]


def kernel_sizes(quick=False):
    """The grid of sizes of the kernel benchmark."""
    if quick:
        return [(2 ** k, 20, 5) for k in (10, 12, 14)] + [(2 ** 12, n, 5) for n in (5, 80)] + \
               [(2 ** 12, 20, d) for d in (2, 10)]
    return [(2 ** k, 20, 5) for k in (10, 12, 14, 16, 18)] + [(2 ** 15, n, 5) for n in (5, 10, 40, 80)] + \
           [(2 ** 15, 20, d) for d in (2, 10, 20, 50)]


def kernel_table(quick=False, repeats=5):
    """Rows of the kernel benchmark and the fitted exponents in ``N``, ``n``, ``d``."""
    rows = [kernel_row(N, n, d, repeats) for N, n, d in kernel_sizes(quick)]
    base_n = rows[0]["n"]
    base_d = rows[0]["d"]
    by_n_nodes = [r for r in rows if r["n"] == base_n and r["d"] == base_d]
    n_fixed = max(set(r["N"] for r in rows if r["n"] != base_n), default=None)
    by_n = [r for r in rows if r["N"] == n_fixed and r["d"] == base_d]
    by_d = [r for r in rows if r["N"] == n_fixed and r["n"] == base_n]
    exponents = {}
    if len(by_n_nodes) >= 2:
        exponents["N"] = loglog_slope([r["N"] for r in by_n_nodes], [r["seconds"] for r in by_n_nodes])
    if len(by_n) >= 2:
        exponents["n"] = loglog_slope([r["n"] for r in by_n], [r["seconds"] for r in by_n])
    if len(by_d) >= 2:
        exponents["d"] = loglog_slope([r["d"] for r in by_d], [r["seconds"] for r in by_d])
    return rows, exponents


def read_kernel_csv(path):
    """Read a table written by :func:`main` (``kernel.csv``): ``(rows, comments)``, with
    the sizes as ``int``, times, ratios and memory as ``float``, and the comment lines
    (the command, the BLAS threads, the fitted exponents) as a dict ``key -> text``."""
    raw_rows, comments = read_commented_csv(path)
    rows = [{k: (int(v) if k in ("N", "n", "d", "chunk") else float(v)) for k, v in raw.items()} for raw in raw_rows]
    return rows, comments


def main(which="all", quick=False, jobs=1, out=None, backend=None, progress=False):
    """Run the benchmarks, print their tables, optionally write CSV files into ``out``
    (``backend``: where the sweeps' runs go, :func:`gmmlit.bench.parallel.map_trials`;
    ``progress``: a progress bar over the runs of the methods and starts benchmarks).

    ``which="mutations"`` runs the mutation run of :mod:`gmmlit.bench.mutations` instead
    (not part of ``"all"``); it returns 1 when a mutant survives.
    """
    if which == "mutations":
        from .mutations import mutations_main

        return mutations_main(quick=quick, out=out)
    if which in ("kernel", "all"):
        rows, exponents = kernel_table(quick)
        print("Kernel: one loss+gradient evaluation vs the floor (2 matmuls + 1 exp of the same size)")
        print(format_rows(rows, KERNEL_COLUMNS))
        print("fitted exponents of time: " + ", ".join(f"{k}: {v:.2f}" for k, v in exponents.items()))
        if out is not None:
            cmd = f"python -m gmmlit bench kernel{' --quick' if quick else ''} --out {out}"
            threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
            comments = [f"command: {cmd}", f"OPENBLAS_NUM_THREADS: {threads}",
                        "exponents: " + ", ".join(f"{k}={v:.3f}" for k, v in exponents.items())]
            print("wrote", write_csv(rows, Path(out) / "kernel.csv", comments))
    if which in ("methods", "all"):
        try:
            from .methods import methods_main
        except ImportError:
            print("methods benchmark: not available in this version")
        else:
            methods_main(quick=quick, jobs=jobs, out=out, backend=backend, progress=progress)
    if which in ("starts", "all"):
        from .starts import starts_main

        starts_main(quick=quick, jobs=jobs, out=out, backend=backend, progress=progress)
    return 0

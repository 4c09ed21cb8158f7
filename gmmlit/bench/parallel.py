"""Running many seeded trials, serially or in parallel through joblib.

Sweeps (the histogram of active components, benchmarks) map a function over seeds.
:func:`map_trials` sends them to joblib, whose backend decides where they run
(:data:`BACKENDS`): local processes (``"loky"``, the default), threads
(``"threading"``), or a Dask cluster (``"dask"``: the cluster of the current
``distributed.Client``, else the scheduler named by ``DASK_SCHEDULER_ADDRESS``, else a
local cluster with ``jobs`` single-threaded workers started for the call). Each trial receives its own integer seed and
builds its own generator from it, so results do not depend on the order of execution
or on the number of workers: a parallel run equals the serial run bit for bit.
"""

from __future__ import annotations

import joblib

from ..core.validation import check_positive_int

#: Backends accepted by :func:`map_trials` (``None`` lets ``joblib.parallel_config`` decide).
BACKENDS = ("loky", "threading", "dask")


def trial_seeds(seed, n_trials):
    """``n_trials`` independent integer seeds derived from one ``seed`` (SeedSequence)."""
    import numpy as np

    seed = check_positive_int(seed, "seed", minimum=0)
    n_trials = check_positive_int(n_trials, "n_trials")
    children = np.random.SeedSequence(seed).spawn(n_trials)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


def map_trials(func, seeds, *, jobs=1, backend=None, **kwargs):
    """``[func(seed, **kwargs) for seed in seeds]``, in parallel when ``jobs != 1``.

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled for process workers) taking a seed.
    seeds : sequence of int
    jobs : int
        Number of workers; ``1`` runs serially in this process, ``-1`` uses every core.
    backend : {"loky", "threading", "dask"} or None
        Where the trials run (:data:`BACKENDS`); ``None`` lets ``joblib.parallel_config``
        decide (local processes). With ``"dask"`` the trials go to a Dask cluster
        (:func:`dask_client`) even when ``jobs == 1``.

    Returns
    -------
    list
        Results in the order of ``seeds``: the same for every backend and worker count.
    """
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs == 0 or jobs < -1:
        raise ValueError(f"jobs must be a positive integer or -1 (all cores), got {jobs!r}")
    backend = check_backend(backend)
    seeds = [check_positive_int(s, "seeds[i]", minimum=0) for s in seeds]
    calls = (joblib.delayed(func)(s, **kwargs) for s in seeds)
    if backend == "dask":
        with dask_client(jobs) as _, joblib.parallel_config(backend="dask"):
            return joblib.Parallel(n_jobs=jobs)(calls)
    if jobs == 1:
        return [func(s, **kwargs) for s in seeds]
    return joblib.Parallel(n_jobs=jobs, backend=backend)(calls)


def check_backend(backend):
    """``backend`` is ``None`` or one of :data:`BACKENDS`."""
    if backend is not None and (not isinstance(backend, str) or backend not in BACKENDS):
        raise ValueError(f"backend must be None or one of {BACKENDS}, got {backend!r}")
    return backend


class dask_client:  # noqa: N801  (used as a context manager, like a function)
    """Context manager yielding a ``distributed.Client``: the current one if there is one,
    else a new client (connected to ``DASK_SCHEDULER_ADDRESS`` if set, else to a local
    cluster of ``jobs`` single-threaded worker processes), closed on exit."""

    def __init__(self, jobs=1):
        self.jobs = jobs
        self.client, self.owned = None, False

    def __enter__(self):
        try:
            from distributed import Client, get_client
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ValueError("backend='dask' needs the package 'distributed' (pip install distributed)") from err
        try:
            self.client = get_client()
        except ValueError:
            import os

            if os.environ.get("DASK_SCHEDULER_ADDRESS"):
                self.client = Client(os.environ["DASK_SCHEDULER_ADDRESS"])
            else:
                workers = os.cpu_count() if self.jobs == -1 else self.jobs
                self.client = Client(n_workers=workers, threads_per_worker=1, dashboard_address=None)
            self.owned = True
        return self.client

    def __exit__(self, *exc):
        if self.owned:
            self.client.close()
        return False

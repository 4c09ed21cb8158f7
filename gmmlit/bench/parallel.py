"""Running many seeded trials, serially or in parallel through joblib.

Sweeps (the histogram of active components, benchmarks) map a function over seeds.
:func:`map_trials` sends them to joblib, whose backend decides where they run
(:data:`BACKENDS`): local processes (``"loky"``, the default), threads
(``"threading"``), or a Dask cluster (``"dask"``: the cluster of the current
``distributed.Client``, else the scheduler named by ``DASK_SCHEDULER_ADDRESS``, else a
local cluster with ``max(jobs, 2)`` single-threaded workers started for the call). Each trial receives its own integer seed and
builds its own generator from it, so results do not depend on the order of execution
or on the number of workers: a parallel run equals the serial run bit for bit.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys

from ..core.validation import check_positive_int

#: Backends accepted by :func:`map_trials` (``None`` lets ``joblib.parallel_config`` decide).
BACKENDS = ("loky", "threading", "dask")

#: Workers of the local Dask cluster started when ``jobs == 1``: a cluster of one worker would
#: run the trials one at a time, like the serial path, so ``--backend dask`` alone gets two.
DASK_MIN_WORKERS = 2

#: The backend and scheduler address of the enclosing :func:`sweep_backend` block, used by
#: :func:`map_trials` calls that name no backend (the figures' compute functions).
_ACTIVE = contextvars.ContextVar("gmmlit_sweep_backend", default=(None, None))


@contextlib.contextmanager
def sweep_backend(backend=None, scheduler=None):
    """Within the block, :func:`map_trials` calls with ``backend=None`` run on ``backend``
    (and a Dask backend connects to ``scheduler``, a ``tcp://host:port`` address, when given)."""
    backend = check_backend(backend)
    if scheduler is not None and backend != "dask":
        raise ValueError(f"scheduler is the address of a Dask cluster; it needs backend='dask', got {backend!r}")
    token = _ACTIVE.set((backend, scheduler))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def trial_seeds(seed, n_trials):
    """``n_trials`` independent integer seeds derived from one ``seed`` (SeedSequence)."""
    import numpy as np

    seed = check_positive_int(seed, "seed", minimum=0)
    n_trials = check_positive_int(n_trials, "n_trials")
    children = np.random.SeedSequence(seed).spawn(n_trials)
    return [int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


def map_trials(func, seeds, *, jobs=1, backend=None, scheduler=None, progress=None, **kwargs):
    """``[func(seed, **kwargs) for seed in seeds]``, in parallel when ``jobs != 1``.

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled for process workers) taking a seed.
    seeds : sequence of int
    jobs : int
        Number of workers; ``1`` runs serially in this process, ``-1`` uses every core.
    backend : {"loky", "threading", "dask"} or None
        Where the trials run (:data:`BACKENDS`); ``None``: the backend of the enclosing
        :func:`sweep_backend` block, else joblib's default (local processes). With
        ``"dask"`` the trials go to a Dask cluster (:func:`dask_client`) whatever ``jobs``.
    scheduler : str or None
        Address of an existing Dask scheduler (``backend="dask"`` only).
    progress : str or None
        Label of a ``tqdm`` progress bar over the trials (on standard error); ``None``: none.

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
    if backend is None:
        backend, scheduler = _ACTIVE.get() if scheduler is None else (_ACTIVE.get()[0], scheduler)
    if scheduler is not None and backend != "dask":
        raise ValueError(f"scheduler is the address of a Dask cluster; it needs backend='dask', got {backend!r}")
    seeds = [check_positive_int(s, "seeds[i]", minimum=0) for s in seeds]
    if backend is None and jobs == 1:
        return _collect((func(s, **kwargs) for s in seeds), len(seeds), progress)
    joblib = require("joblib", "book", "parallel sweeps")
    calls = (joblib.delayed(func)(s, **kwargs) for s in seeds)
    if backend == "dask":
        with dask_client(jobs, scheduler) as client, joblib.parallel_config(backend="dask"):
            workers = max(1, len(client.scheduler_info().get("workers", {})))
            parallel = joblib.Parallel(n_jobs=workers if jobs == 1 else jobs, return_as="generator")
            return _collect(parallel(calls), len(seeds), progress)
    parallel = joblib.Parallel(n_jobs=jobs, backend=backend, return_as="generator")
    return _collect(parallel(calls), len(seeds), progress)


def _collect(results, total, progress):
    """``list(results)``, through a ``tqdm`` bar labelled ``progress`` unless it is ``None``."""
    if progress is None:
        return list(results)
    tqdm = require("tqdm.auto", "book", "progress bars").tqdm
    return list(tqdm(results, total=total, desc=progress, unit="run", file=sys.stderr))


def require(module, extra, what):
    """Import ``module``; if it is missing, a ``ValueError`` naming the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ValueError(f"{what} need the package {module!r}: pip install \"gmmlit[{extra}]\"") from err


def check_backend(backend):
    """``backend`` is ``None`` or one of :data:`BACKENDS`."""
    if backend is not None and (not isinstance(backend, str) or backend not in BACKENDS):
        raise ValueError(f"backend must be None or one of {BACKENDS}, got {backend!r}")
    return backend


class dask_client:  # noqa: N801  (used as a context manager, like a function)
    """Context manager yielding a ``distributed.Client``: the current client if there is one
    (the enclosing :func:`gmmlit.book.reproduce.backend_context` makes one per command);
    else a new client connected to ``scheduler``, or to ``DASK_SCHEDULER_ADDRESS`` if set,
    or to a local cluster of ``jobs`` (at least
    :data:`DASK_MIN_WORKERS`) single-threaded worker processes. Clients it made are closed
    on exit (and the local cluster with them)."""

    def __init__(self, jobs=1, scheduler=None):
        self.jobs, self.scheduler = jobs, scheduler
        self.client, self.owned = None, False

    def __enter__(self):
        distributed = require("distributed", "dask", "sweeps on Dask (backend 'dask')")
        address = self.scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
        try:
            self.client = distributed.get_client()
            return self.client
        except ValueError:
            pass
        if address:
            try:
                self.client = distributed.Client(address, timeout="10s")
            except OSError as err:
                raise ValueError(f"cannot reach the Dask scheduler at {address!r}: {err}") from None
        else:
            workers = os.cpu_count() if self.jobs == -1 else max(self.jobs, DASK_MIN_WORKERS)
            self.client = distributed.Client(n_workers=workers, threads_per_worker=1, dashboard_address=None)
        self.owned = True
        return self.client

    def __exit__(self, *exc):
        if self.owned:
            self.client.close()
        return False

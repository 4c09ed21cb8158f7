"""Running many seeded trials, serially or in parallel through joblib.

Sweeps (the histogram of active components, benchmarks) map a function over seeds.
:func:`map_trials` sends them to joblib, whose backend decides where they run: local
processes by default, or a Dask or Ray cluster with ``joblib.parallel_config(backend=...)``
around the call, without code changes. Each trial receives its own integer seed and
builds its own generator from it, so results do not depend on the order of execution
or on the number of workers: a parallel run equals the serial run bit for bit.
"""

from __future__ import annotations

import joblib

from ..core.validation import check_positive_int


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
    backend : str or None
        A joblib backend name (``"loky"``, ``"threading"``, ``"dask"``, ``"ray"`` once
        registered); ``None`` lets ``joblib.parallel_config`` decide (local processes).

    Returns
    -------
    list
        Results in the order of ``seeds``.
    """
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs == 0 or jobs < -1:
        raise ValueError(f"jobs must be a positive integer or -1 (all cores), got {jobs!r}")
    seeds = [check_positive_int(s, "seeds[i]", minimum=0) for s in seeds]
    if jobs == 1:
        return [func(s, **kwargs) for s in seeds]
    return joblib.Parallel(n_jobs=jobs, backend=backend)(joblib.delayed(func)(s, **kwargs) for s in seeds)

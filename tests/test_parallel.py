"""Parallel sweeps give the serial results bit for bit."""

import numpy as np
import pytest

import gmmlit
from gmmlit.bench.parallel import map_trials, trial_seeds


def loss_at_random_start(seed, scale=0.3):
    inst = gmmlit.triangle_instance(n=5, seed=0)
    f = inst.objective(gmmlit.TrapezoidRule(0.4, 7.0))
    return f.loss_and_grad(inst.start(scale, seed))


def test_parallel_equals_serial():
    seeds = trial_seeds(11, 6)
    serial = map_trials(loss_at_random_start, seeds, jobs=1)
    parallel = map_trials(loss_at_random_start, seeds, jobs=2)
    for (ls, gs), (lp, gp) in zip(serial, parallel):
        assert ls == lp
        np.testing.assert_array_equal(gs, gp)


def test_trial_seeds_deterministic_and_distinct():
    a = trial_seeds(3, 50)
    assert a == trial_seeds(3, 50)
    assert len(set(a)) == 50
    assert a != trial_seeds(4, 50)


@pytest.mark.parametrize("jobs", [0, -2, 1.5, True])
def test_bad_jobs(jobs):
    with pytest.raises(ValueError, match="jobs"):
        map_trials(loss_at_random_start, [1], jobs=jobs)


def test_bad_func():
    with pytest.raises(TypeError, match="func"):
        map_trials(3, [1])


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_every_local_backend_equals_serial(backend):
    seeds = trial_seeds(5, 4)
    serial = map_trials(loss_at_random_start, seeds, jobs=1)
    other = map_trials(loss_at_random_start, seeds, jobs=2, backend=backend)
    for (ls, gs), (lo, go) in zip(serial, other):
        assert ls == lo
        np.testing.assert_array_equal(gs, go)


def test_dask_cluster_equals_serial():
    distributed = pytest.importorskip("distributed")
    seeds = trial_seeds(7, 4)
    serial = map_trials(loss_at_random_start, seeds, jobs=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_dask = map_trials(loss_at_random_start, seeds, jobs=2, backend="dask")
        assert client.status == "running"  # map_trials used this client and left it open
    for (ls, gs), (ld, gd) in zip(serial, on_dask):
        assert ls == ld
        np.testing.assert_array_equal(gs, gd)


@pytest.mark.parametrize("backend", ["ray", "", 3])
def test_bad_backend(backend):
    with pytest.raises(ValueError, match="backend"):
        map_trials(loss_at_random_start, [1], backend=backend)

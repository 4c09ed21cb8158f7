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

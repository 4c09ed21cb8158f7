"""No silent failure: a run whose loss grows by orders of magnitude or turns non-finite stops
with ``DIVERGED`` and returns its best point (issue 23, item 4).

The threshold is derived in :data:`gmmlit.optim.results.DIVERGENCE_FACTOR`; here it is
checked both ways: diverging runs (too long a step) are caught, and converging runs of every
driver, from near and far starts, stay orders of magnitude below it.
"""

import numpy as np
import pytest

import gmmlit
from gmmlit import StopReason, em, gradient_em, lbfgs, nesterov, ravine_method
from gmmlit.optim.global_phase import global_phase
from gmmlit.optim.peers import gdpolyak, newton
from gmmlit.optim.ravine_options import GradientStep, RavineOptions
from gmmlit.optim.results import DIVERGENCE_FACTOR, DIVERGENCE_FLOOR, DIVERGENCE_PATIENCE, diverged


@pytest.fixture(scope="module")
def triangle():
    # a coarse rule: the bookkeeping of a stop does not depend on the rule's accuracy
    inst = gmmlit.triangle_instance(n=5, seed=0)
    return inst, inst.objective(gmmlit.TrapezoidRule(0.4, 7.0))


def _ravine_with_step(f, x0, *, max_evals, step):
    return ravine_method(f, x0, RavineOptions(short_step=GradientStep(size=step)), max_evals=max_evals)


@pytest.mark.parametrize("driver", [gradient_em, nesterov, _ravine_with_step])
def test_a_huge_step_diverges_and_returns_the_best_point(triangle, driver):
    # the case: step 1e6 took gradient EM from 0.07 to 8e199, reported as 'budget'
    inst, f = triangle
    x0 = inst.start(0.5, 0)
    r = driver(f, x0, max_evals=50, step=1e6)
    assert r.stop_reason == StopReason.DIVERGED
    assert r.loss == np.min(r.losses[np.isfinite(r.losses)]) and np.all(np.isfinite(r.means))
    assert f.loss(r.means) == r.loss  # the returned point is the one of that loss
    assert r.n_evals <= 1 + DIVERGENCE_PATIENCE + 1


def test_a_non_finite_loss_after_a_finite_start_is_a_divergence(triangle):
    inst, f = triangle
    r = gradient_em(f, inst.start(0.5, 0), max_evals=50, step=1e300)
    assert r.stop_reason == StopReason.DIVERGED and np.isfinite(r.loss) and r.loss == r.losses[0]


def test_gdpolyak_and_global_phase_stop_as_diverged(triangle):
    inst, f = triangle
    r = gdpolyak(f, inst.start(0.5, 0), max_evals=50, step=1e6, gd_steps=1)
    assert r.stop_reason == StopReason.DIVERGED and np.all(np.isfinite(r.means))
    gp = global_phase(inst.teacher, 6, seed=0, max_iters=30, update="gem", step=1e6)
    assert gp.stop_reason == StopReason.DIVERGED
    assert np.all(np.isfinite(gp.means)) and np.all(np.isfinite(gp.weights))


def test_the_threshold():
    assert not diverged(DIVERGENCE_FACTOR * 2.0, 2.0) and diverged(DIVERGENCE_FACTOR * 2.0 * 1.001, 2.0)
    # a start already near its minimum is measured against one nat, not against its tiny loss
    assert not diverged(0.5, 1e-8) and diverged(DIVERGENCE_FACTOR * DIVERGENCE_FLOOR * 1.001, 1e-8)


def _converging_runs(inst, f):
    far = inst.start(0.3, 1) + 20.0
    near = inst.start(1e-4, 2)  # L ~ 1e-9: L-BFGS's first unit-length trial goes to L ~ 0.1
    for x0 in (inst.start(0.5, 0), far, near):
        yield "ravine", ravine_method(f, x0, max_evals=150)
        yield "gradient_em", gradient_em(f, x0, max_evals=150)
        yield "em", em(f, x0, max_evals=150)
        yield "nesterov", nesterov(f, x0, max_evals=150)
        yield "lbfgs", lbfgs(f, x0, max_evals=150)
        yield "newton", newton(f, x0, max_evals=30)


def test_converging_runs_stay_far_below_the_threshold(triangle):
    inst, f = triangle
    worst = 0.0
    for name, r in _converging_runs(inst, f):
        assert r.stop_reason != StopReason.DIVERGED, (name, r.message)
        worst = max(worst, float(np.max(r.losses)) / max(r.losses[0], DIVERGENCE_FLOOR))
    # measured: the largest loss of these runs is at most ~1 times max(L(start), 1 nat)
    # (the 1-smoothness bound of DIVERGENCE_FACTOR allows (1 + c)^2 for steps of c gradients);
    # the margin to the threshold is five orders of magnitude
    assert worst < DIVERGENCE_FACTOR / 1e5

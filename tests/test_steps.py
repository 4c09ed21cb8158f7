"""Single steps: gradient EM, EM, and the Polyak step with its zero-gradient guard."""

import numpy as np
import pytest

import gmmlit
from gmmlit.steps import em_step, gradient_em_step, polyak_from_evaluation, polyak_step


@pytest.fixture(scope="module")
def inst():
    return gmmlit.triangle_instance(n=6, seed=0)


def test_polyak_step_formula(inst):
    f = inst.objective()
    x = inst.start(0.2, seed=1)
    ev = f.evaluate(x)
    for metric, d in [("euclidean", np.ones(6)), ("em", 1.0 / ev.mass)]:
        res = polyak_step(f, x, f_star=0.0, metric=metric)
        dg = ev.grad * d[:, None]
        expected = x - ev.loss / np.sum(ev.grad * dg) * dg
        np.testing.assert_allclose(res.means, expected, rtol=1e-13)
        assert not res.zero_gradient and res.step_size > 0


def test_polyak_step_reports_an_exactly_zero_gradient():
    # one student on one teacher: s = 0 exactly at the nodes, so the gradient is exactly 0
    f = gmmlit.PopulationKL(gmmlit.Mixture([1.0], [[1.0, -2.0]]), [1.0])
    res = polyak_step(f, [[1.0, -2.0]])
    assert res.zero_gradient and res.step_size == 0.0
    np.testing.assert_array_equal(res.means, [[1.0, -2.0]])


def test_polyak_step_at_minimiser_stays_put(inst):
    # at theta* the loss (~1e-32) and gradient (~1e-18) are rounding: the step moves
    # the means by a rounding-sized amount and never produces NaN
    res = polyak_step(inst.objective(), inst.means_star)
    assert np.all(np.isfinite(res.means))
    assert np.abs(res.means - inst.means_star).max() <= 1e-13


def test_polyak_step_tiny_loss_stays_finite(inst):
    f = inst.objective()
    # a tangent move of size 1e-7: L ~ Q t^4 ~ 1e-30
    pt = gmmlit.tangent_projector(inst.weights, inst.assignment, inst.d)
    v = (pt @ np.random.default_rng(3).normal(size=pt.shape[0])).reshape(inst.means_star.shape)
    x = inst.means_star + 1e-7 * v / np.linalg.norm(v)
    res = polyak_step(f, x)
    assert 0 < res.loss < 1e-27
    assert np.all(np.isfinite(res.means))
    # x is on T, not on the curved ravine: the step mostly corrects the O(t^2) normal
    # error and barely moves the distance (ratio 0.996 at t = 1e-2, 1 - 4e-10 at 1e-6);
    # at L ~ 1e-30 the loss itself carries ~10% rounding error (s ~ t^2 = 1e-14 is
    # resolved to ~1e-16), so only "no jump" is asserted here.
    assert gmmlit.distance(res.means, inst.means_star) <= (1 + 1e-6) * gmmlit.distance(x, inst.means_star)


def test_polyak_below_target_takes_no_step(inst):
    f = inst.objective()
    x = inst.start(0.2, seed=1)
    res = polyak_step(f, x, f_star=1.0)
    assert res.step_size == 0.0
    np.testing.assert_array_equal(res.means, x)


@pytest.mark.parametrize("f_star", [np.nan, np.inf, "0"])
def test_polyak_rejects_bad_f_star(inst, f_star):
    f = inst.objective()
    with pytest.raises((ValueError, TypeError), match="f_star"):
        polyak_step(f, inst.means_star, f_star=f_star)


def test_polyak_rejects_unknown_metric(inst):
    with pytest.raises(ValueError, match="metric"):
        polyak_step(inst.objective(), inst.means_star, metric="newton")


def test_em_and_gradient_em_steps(inst):
    f = inst.objective()
    x = inst.start(0.3, seed=2)
    ev = f.evaluate(x)
    np.testing.assert_allclose(gradient_em_step(x, ev, 0.5), x - 0.5 * ev.grad)
    np.testing.assert_allclose(em_step(ev), ev.moment / ev.mass[:, None])
    with pytest.raises(ValueError, match="step"):
        gradient_em_step(x, ev, -1.0)
    with pytest.raises(ValueError, match="multiplier"):
        polyak_from_evaluation(x, ev, multiplier=0.0)

"""Single steps: gradient EM, EM, and the Polyak step with its zero-gradient guard."""

import numpy as np
import pytest

import gmmlit
from gmmlit.optim.steps import em_step, gradient_em_step, polyak_from_evaluation, polyak_step


@pytest.fixture(scope="module")
def inst():
    return gmmlit.triangle_instance(n=6, seed=0)


@pytest.mark.claim("polyak.metric-step")
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
    np.testing.assert_allclose(em_step(x, ev), ev.moment / ev.mass[:, None])
    with pytest.raises(ValueError, match="step"):
        gradient_em_step(x, ev, -1.0)
    with pytest.raises(ValueError, match="multiplier"):
        polyak_from_evaluation(x, ev, multiplier=0.0)


# ---------------------------------------------------------------------------- floor estimate
from hypothesis import assume, given, settings, strategies as st  # noqa: E402

from gmmlit.optim.steps import floor_estimate  # noqa: E402


@pytest.mark.claim("polyak.floor-estimate")
@settings(deadline=None)
@given(
    c=st.floats(1e-3, 1e3),
    s1=st.floats(1e-2, 1.0),
    shrink=st.floats(0.05, 0.95),
    floor=st.floats(-1.0, 1.0),
    degree=st.sampled_from([2.0, 3.0, 4.0, 6.0]),
)
def test_floor_estimate_is_exact_on_a_power_law(c, s1, shrink, floor, degree):
    # L - L* = c s^p and |g| = p c s^(p-1) at two distances: the estimate is L*
    s2 = shrink * s1
    # both excesses must be resolvable next to the floor in double precision
    assume(c * s2 ** degree > 1e-6 * (1.0 + abs(floor)))
    loss = lambda s: floor + c * s ** degree  # noqa: E731
    grad = lambda s: degree * c * s ** (degree - 1)  # noqa: E731
    est = floor_estimate(loss(s1), grad(s1), loss(s2), grad(s2), degree)
    # the rounding of the losses (relative 1e-16) is amplified by (rho + 1) / (rho - 1),
    # at most about 40 for shrink <= 0.95
    scale = c * s1 ** degree
    assert est is not None and abs(est - floor) <= 1e-12 * (scale + abs(floor))


@pytest.mark.claim("polyak.floor-estimate")
def test_floor_estimate_with_the_wrong_degree_errs_on_the_safe_side():
    # quadratic growth read as quartic: the estimate lies below the true floor, so a
    # Polyak step aimed at it is too long rather than too short
    loss = lambda s: 2.0 + s ** 2  # noqa: E731
    est = floor_estimate(loss(0.5), 2 * 0.5, loss(0.25), 2 * 0.25, degree=4.0)
    assert est is not None and est < 2.0


def test_floor_estimate_refuses_what_it_cannot_determine():
    assert floor_estimate(1.0, 1.0, 0.5, 1.0) is None       # equal gradient norms
    assert floor_estimate(1.0, 1.0, 0.5, 2.0) is None       # L fell while |g| grew: no fit below both
    assert floor_estimate(1.0, 1.0, 0.5, 0.0) is None       # zero gradient
    assert floor_estimate(np.nan, 1.0, 0.5, 0.5) is None    # not finite
    assert floor_estimate(1.0, 1.0, 0.9, 1e-6) < 0.9        # fits: just below the smaller loss
    # the later point beyond the minimiser (an overshooting step): still determined
    loss = lambda s: 0.3 + abs(s) ** 4  # noqa: E731
    est = floor_estimate(loss(0.4), 4 * 0.4 ** 3, loss(-0.6), 4 * 0.6 ** 3)
    assert est == pytest.approx(0.3, rel=1e-12)
    with pytest.raises(ValueError, match="degree"):
        floor_estimate(1.0, 1.0, 0.5, 0.5, degree=1.0)
    with pytest.raises(ValueError, match="degree"):
        floor_estimate(1.0, 1.0, 0.5, 0.5, degree=-2.0)


def test_the_pure_steps_take_means_then_evaluation():
    # one order for every step: the means, the evaluation there, then the step's parameters;
    # polyak_step evaluates for itself and takes the objective first, as the drivers do
    import inspect

    from gmmlit.optim.steps import polyak_direction, short_step

    for step in (gradient_em_step, em_step, short_step, polyak_from_evaluation):
        assert list(inspect.signature(step).parameters)[:2] == ["means", "evaluation"], step.__name__
    assert list(inspect.signature(polyak_step).parameters)[:2] == ["objective", "means"]
    assert list(inspect.signature(polyak_direction).parameters)[0] == "evaluation"

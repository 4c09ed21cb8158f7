"""Tests of the drivers: bookkeeping, stopping rules, agreement with the pure steps,
bad input, and the scipy wrappers. Budgets are small: one evaluation of the triangle
instance costs about 13 ms on one core."""

from dataclasses import FrozenInstanceError

import numpy as np
import pytest

import gmmlit
from gmmlit.optim.global_phase import global_phase, objective_with_weights, prune
from gmmlit.optim.first_order import em, gradient_em
from gmmlit.optim.ravine import ravine_method
from gmmlit.optim.ravine_options import (EMMetricGradientStep, FixedShortSteps, FloorEstimate, GradientStep,
                                         LbfgsHandOver, LookaheadSafeguard, NoSafeguard, PolyakRule, RavineOptions,
                                         TrialSafeguard, UntilGradientStalls)
from gmmlit.core.objective import Evaluation, PopulationKL
from gmmlit.core.quadrature import TrapezoidRule
from gmmlit.optim.peers import bfgs, lbfgs, nesterov
from gmmlit.optim.results import OptimizationResult, StopReason
from gmmlit.optim.steps import em_step, gradient_em_step
from gmmlit.core.validation import check_means


# ---------------------------------------------------------------------------- toy objectives
class ToyObjective:
    """A synthetic objective with the interface of PopulationKL (``evaluate`` and
    ``check_means``) on means of shape ``(2, 1)``: ``x = means[0, 0]`` (normal) and
    ``t = means[1, 0]`` (tangent), ``L = a x^2 / 2 + c t^4 + offset``. The ravine is
    ``x = 0``; ``mass`` is 1 for both rows so EM-metric quantities are defined."""

    def __init__(self, a=2.0, c=1.0, offset=0.0, nan_at_eval=None):
        self.a, self.c, self.offset = a, c, offset
        self.nan_at_eval = nan_at_eval
        self.n_evals = 0

    def check_means(self, means, name="means"):
        return check_means(means, name, n_rows=2, dim=1)

    def evaluate(self, means):
        means = self.check_means(means)
        self.n_evals += 1
        x, t = means[0, 0], means[1, 0]
        loss = self.a * x * x / 2 + self.c * t ** 4 + self.offset
        if self.nan_at_eval is not None and self.n_evals >= self.nan_at_eval:
            loss = np.nan
        grad = np.array([[self.a * x], [4 * self.c * t ** 3]])
        return Evaluation(float(loss), grad, np.ones(2), means - grad)


@pytest.fixture(scope="module")
def triangle():
    # bookkeeping does not depend on the accuracy of the rule: a coarse trapezoid rule
    # (h = 0.3, radius 8) makes an evaluation about 8x cheaper than the default rule
    inst = gmmlit.triangle_instance(n=10, side=6, seed=0)
    return inst, inst.objective(TrapezoidRule(0.3, 8.0))


# ---------------------------------------------------------------------------- ravine on the toy
def test_polyak_factor_is_three_quarters_on_toy_ravine():
    # gradient step 1/a puts x exactly on the ravine; the plain Polyak step on c t^4 from
    # the ravine then maps t to 3 t / 4 exactly (the homogeneous quartic, radial case)
    toy = ToyObjective(a=2.0, c=1.0)
    options = RavineOptions(short_step=GradientStep(size=0.5), short_phase=FixedShortSteps(1),
                            polyak=PolyakRule(metric="euclidean", multiplier=1.0, target=0.0), safeguard=NoSafeguard())
    r = ravine_method(toy, [[0.7], [0.4]], options, max_evals=40, minimizer=np.zeros((2, 1)), record_means=True)
    assert r.polyak_evals.size >= 10
    assert np.all(r.polyak_accepted)
    hist = r.means_history
    ratios = hist[r.polyak_evals, 1, 0] / hist[r.polyak_base, 1, 0]
    np.testing.assert_allclose(ratios, 0.75, rtol=1e-12)  # rounding only
    np.testing.assert_allclose(hist[r.polyak_base, 0, 0], 0.0, atol=1e-15)
    # bookkeeping: every base is the evaluation just before its trial (K >= 1)
    np.testing.assert_array_equal(r.polyak_base, r.polyak_evals - 1)


def test_trial_safeguard_rejects_overshooting_polyak_steps():
    # L = x^2 + t^4 + 1 with f_star = 0: the Polyak step aims at 0 < min L = 1 and overshoots
    toy = ToyObjective(a=2.0, c=1.0, offset=1.0)
    options = RavineOptions(short_step=GradientStep(size=0.01), short_phase=FixedShortSteps(1),
                            polyak=PolyakRule(target=0.0), safeguard=TrialSafeguard(max_rejections=3), hand_over=None)
    r = ravine_method(toy, [[0.0], [0.5]], options, max_evals=200)
    assert r.stop_reason == StopReason.REJECTED_STEPS
    assert r.polyak_evals.size == 3 and not np.any(r.polyak_accepted)
    # the final point is the last short-step point, never a rejected trial
    assert r.loss == r.losses[r.polyak_base[-1]]
    assert r.loss < np.min(r.losses[r.polyak_evals])


def test_lookahead_safeguard_records_and_continues():
    toy = ToyObjective(a=2.0, c=1.0, offset=1.0)
    options = RavineOptions(short_step=GradientStep(size=0.01), short_phase=FixedShortSteps(2),
                            polyak=PolyakRule(target=0.0), safeguard=LookaheadSafeguard(max_rejections=2),
                            hand_over=None)
    r = ravine_method(toy, [[0.0], [0.5]], options, max_evals=200)
    assert r.stop_reason == StopReason.REJECTED_STEPS
    # each rejected block costs K short steps, the trial, and the K short steps after it
    # by which the trial is judged
    assert r.n_evals == 1 + 2 * (2 * 2 + 1)
    # the final point is the base point of the last trial, not a point after it
    assert r.loss == r.losses[r.polyak_base[-1]]
    assert not np.any(r.polyak_accepted)


@pytest.mark.claim("polyak.floor-estimate")
def test_adaptive_target_reaches_a_positive_floor_where_zero_target_stalls():
    # L = x^2 + t^4 + 0.3: the floor 0.3 is unknown to the method. With f_star = 0 the
    # Polyak steps overshoot and the look-ahead safeguard stops the run far above it; the
    # estimate from consecutive base points is exact on this quartic, so the adaptive
    # target converges like the exact target would
    toy = ToyObjective(a=2.0, c=1.0, offset=0.3)
    common = RavineOptions(short_step=GradientStep(size=0.5), short_phase=FixedShortSteps(1), hand_over=None)
    # f_star = 0 (and the first trial of the adaptive run, which has no estimate yet)
    # overshoots far out, where the fixed-step short steps on t^4 blow up: rejected
    with np.errstate(over="ignore", invalid="ignore"):
        zero = ravine_method(toy, [[0.7], [0.4]], common.replace(polyak=PolyakRule("euclidean", 4.0, 0.0)),
                             max_evals=200)
        adaptive = ravine_method(toy, [[0.7], [0.4]], common.replace(polyak=PolyakRule("euclidean", 4.0)),
                                 max_evals=200)
    assert zero.stop_reason == StopReason.REJECTED_STEPS and zero.loss - 0.3 > 1e-4
    assert adaptive.loss - 0.3 < 1e-12 * 0.3
    assert adaptive.options["polyak"].target == FloorEstimate()


@pytest.mark.claim("polyak.floor-estimate")
def test_plateau_hands_over_to_lbfgs_and_records_both_stages():
    toy = ToyObjective(a=2.0, c=1.0, offset=1.0)
    common = dict(max_evals=120, record_means=True, minimizer=np.zeros((2, 1)))
    options = RavineOptions(short_step=GradientStep(size=0.01), short_phase=FixedShortSteps(2),
                            polyak=PolyakRule(target=0.0), safeguard=LookaheadSafeguard(max_rejections=2))
    alone = ravine_method(toy, [[0.0], [0.5]], options.replace(hand_over=None), **common)
    both = ravine_method(toy, [[0.0], [0.5]], options.replace(hand_over=LbfgsHandOver()), **common)
    k = both.extras["switch_eval"]
    assert k == alone.n_evals and both.extras["first_stop_reason"] == "rejected_steps"
    np.testing.assert_array_equal(both.losses[:k], alone.losses)  # the same ravine stage
    assert both.n_evals == both.losses.size == both.grad_norms.size == both.distances.size
    assert both.means_history.shape[0] == both.n_evals and both.n_evals <= 120
    assert np.all(both.polyak_evals < k)  # Polyak trials belong to the ravine stage
    assert both.loss < 1.0 + 1e-10 < alone.loss  # L-BFGS finishes the job: min L = 1
    assert both.options["hand_over"] == LbfgsHandOver() and both.extras["second_method"] == "lbfgs"


@pytest.mark.claim("polyak.relaxation")
def test_relaxation_factor_balances_the_slowest_and_fastest_modes():
    from gmmlit.optim.steps import relaxation_factor

    for q in (0.0, 0.1, 0.4, 0.6, 0.8):
        omega = relaxation_factor(q)
        # a linear contraction with rates in [0, q], relaxed: rates 1 - omega (1 - r)
        slowest, fastest = 1 - omega * (1 - q), 1 - omega
        assert slowest == pytest.approx(q / (2 - q)) and fastest == pytest.approx(-q / (2 - q))
        assert abs(slowest) <= q + 1e-15
    assert relaxation_factor(0.95) == relaxation_factor(0.8)  # capped
    assert relaxation_factor(-1.0) == 1.0


@pytest.mark.claim("polyak.relaxation")
def test_relaxation_changes_only_later_short_steps(triangle):
    inst, obj = triangle
    x0 = inst.start(0.3, 0)
    kw = dict(max_evals=6, record_means=True)
    off = ravine_method(obj, x0, RavineOptions(short_step=EMMetricGradientStep(relaxation_cap=None),
                                               short_phase=FixedShortSteps(5)), **kw)
    on = ravine_method(obj, x0, RavineOptions(short_phase=FixedShortSteps(5)), **kw)
    np.testing.assert_array_equal(off.means_history[:2], on.means_history[:2])  # start, first step
    assert not np.allclose(off.means_history[2], on.means_history[2])
    assert on.losses[5] < off.losses[5]  # faster along the slow normal modes here


def test_chain_results_rejects_non_results(triangle):
    from gmmlit.optim.results import chain_results

    inst, obj = triangle
    r = ravine_method(obj, inst.start(0.3, 0), max_evals=5)
    with pytest.raises(TypeError, match="second"):
        chain_results(r, "result")


def test_degree_multiplier_lands_on_the_minimiser_of_a_radial_quartic():
    # multiplier 4 = the degree: t - 4 * (t / 4) = 0 exactly on the ravine
    toy = ToyObjective(a=2.0, c=1.0)
    options = RavineOptions(short_step=GradientStep(size=0.5), short_phase=FixedShortSteps(1),
                            polyak=PolyakRule(metric="euclidean", multiplier=4.0))
    r = ravine_method(toy, [[0.7], [0.4]], options, max_evals=10)
    assert r.converged and r.n_evals == 3 and r.loss == 0.0


def test_zero_gradient_and_non_finite_stops():
    flat = ToyObjective(a=2.0, c=1.0, offset=1.0)
    r = gradient_em(flat, [[0.0], [0.0]], max_evals=10)
    assert r.stop_reason == StopReason.ZERO_GRADIENT and r.n_evals == 1
    r = ravine_method(flat, [[0.0], [0.0]], max_evals=10)
    assert r.stop_reason == StopReason.ZERO_GRADIENT
    bad = ToyObjective(nan_at_eval=3)
    r = ravine_method(bad, [[0.5], [0.5]], RavineOptions(short_step=GradientStep(size=0.5)), max_evals=10)
    # a non-finite loss after a finite start is a divergence: the best point is returned
    assert r.stop_reason == StopReason.DIVERGED and r.n_evals == 3
    assert np.isfinite(r.loss) and r.loss == np.nanmin(r.losses)


def test_pure_helpers():
    assert NoSafeguard().accepts(1.0, 2.0)
    assert not TrialSafeguard().accepts(1.0, 2.0)
    assert LookaheadSafeguard().accepts(1.0, 1.0)
    assert not TrialSafeguard().accepts(1.0, np.nan)
    assert FixedShortSteps(2).done([1.0, 0.5, 0.3])
    assert not FixedShortSteps(2).done([1.0, 0.5])
    assert not UntilGradientStalls(ratio=0.5).done([1.0, 0.1])
    assert UntilGradientStalls(ratio=0.5).done([1.0, 0.1, 0.09])
    assert UntilGradientStalls(max_steps=3).done([1.0] + [0.1 ** k for k in range(1, 4)])


# ---------------------------------------------------------------------------- on the triangle
def test_every_evaluation_is_recorded_and_counted(triangle):
    inst, obj = triangle
    x0 = inst.start(0.3, 1)
    for method, kw in [(gradient_em, {}), (em, {}), (ravine_method, {}),
                       (ravine_method, dict(options=RavineOptions(safeguard=TrialSafeguard()))),
                       (nesterov, {}), (lbfgs, {}), (bfgs, {})]:
        obj.reset_counter()
        r = method(obj, x0, max_evals=12, minimizer=inst.means_star, **kw)
        assert obj.counts["evaluate"] == obj.n_evals == r.n_evals == r.losses.size
        assert r.stop_reason == StopReason.BUDGET and r.n_evals == 12, method.__name__
        assert r.distances.shape == r.losses.shape == r.grad_norms.shape
        assert r.loss in r.losses  # the final point is an evaluated point


def test_drivers_apply_the_pure_steps(triangle):
    inst, obj = triangle
    x0 = inst.start(0.3, 2)
    r = gradient_em(obj, x0, max_evals=4, step=1.5, record_means=True)
    for k in range(3):
        ev = obj.evaluate(r.means_history[k])
        np.testing.assert_array_equal(r.means_history[k + 1], gradient_em_step(r.means_history[k], ev, 1.5))
        assert ev.loss == r.losses[k]
    r = em(obj, x0, max_evals=3, record_means=True)
    for k in range(2):
        x = r.means_history[k]
        np.testing.assert_array_equal(r.means_history[k + 1], em_step(x, obj.evaluate(x)))


def test_pgem_keeps_theta_star_where_em_moves_by_the_integration_error(triangle):
    from gmmlit.optim.steps import short_step

    inst, obj = triangle  # coarse rule: integration error about 1e-8 (measured 1.6e-8)
    ev = obj.evaluate(inst.means_star)
    # the discretised Bregman gradient vanishes at theta*: only rounding moves pgem
    assert np.abs(short_step(inst.means_star, ev, "em_metric_gradient") - inst.means_star).max() <= 1e-15
    # EM's fixed point is that of the naive discretised loss: it moves theta*
    assert np.abs(short_step(inst.means_star, ev, "em") - inst.means_star).max() > 1e-10
    # elsewhere the two are the same map up to that integration error
    x = inst.start(0.3, 0)
    ev = obj.evaluate(x)
    # (measured 2.5e-8, against the rule's integration error 1.6e-8; allowance 1e-6)
    np.testing.assert_allclose(short_step(x, ev, "em_metric_gradient"), short_step(x, ev, "em"), rtol=0, atol=1e-6)


def test_ravine_polyak_trials_use_the_base_evaluation(triangle):
    from gmmlit.optim.steps import polyak_from_evaluation

    inst, obj = triangle
    options = RavineOptions(short_phase=FixedShortSteps(3), safeguard=NoSafeguard(),
                            polyak=PolyakRule(metric="euclidean", multiplier=1.0, target=0.0))
    r = ravine_method(obj, inst.start(0.3, 0), options, max_evals=13, record_means=True)
    assert r.polyak_evals.size == 3  # 1 + 3 * (3 + 1) = 13 evaluations
    for trial, base in zip(r.polyak_evals, r.polyak_base):
        step = polyak_from_evaluation(r.means_history[base], obj.evaluate(r.means_history[base]))
        np.testing.assert_allclose(r.means_history[trial], step.means, rtol=0, atol=1e-14)


def test_tolerance_stop_and_evals_to(triangle):
    inst, obj = triangle
    r = lbfgs(obj, inst.start(0.3, 0), max_evals=300, tol=1e-6)
    assert r.stop_reason == StopReason.TOLERANCE and r.converged
    assert r.evals_to(1e-6) == r.n_evals  # it stopped at the first evaluation under tol
    assert r.loss == r.losses[-1] <= 1e-6


def test_result_is_frozen(triangle):
    inst, obj = triangle
    r = gradient_em(obj, inst.start(0.3, 0), max_evals=2)
    assert isinstance(r, OptimizationResult)
    with pytest.raises(FrozenInstanceError):
        r.loss = 0.0
    with pytest.raises(ValueError):
        r.losses[0] = 0.0
    assert r.polyak.dtype.names == ("eval", "base", "accepted", "step_size")
    assert str(r.stop_reason) == "budget" and r.stop_reason == "budget"


def test_nesterov_beats_gradient_em_on_the_ravine(triangle):
    # acceleration along the flat (quartic) directions: after the same budget the
    # accelerated method is lower; fails if momentum or restart were broken
    inst, obj = triangle
    x0 = inst.start(0.3, 0)
    a = nesterov(obj, x0, max_evals=100)
    b = gradient_em(obj, x0, max_evals=100)
    assert a.loss < 0.5 * b.loss       # "lower" with a factor 2 to spare; measured ratio 0.015


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda o, x: gradient_em(o, x[:3]), ValueError, "means0"),
        (lambda o, x: gradient_em(o, x, step=-1.0), ValueError, "step"),
        (lambda o, x: em(o, x, max_evals=0), ValueError, "max_evals"),
        (lambda o, x: em(o, x, tol=-1.0), ValueError, "tol"),
        (lambda o, x: ravine_method(o, x, "defaults"), TypeError, "options"),
        (lambda o, x: ravine_method(o, x, minimizer=x[:, :1]), ValueError, "minimizer"),
        (lambda o, x: ravine_method(o, x, polyak_every=3), TypeError, "polyak_every"),
        (lambda o, x: nesterov(o, x, restart="sometimes"), ValueError, "restart"),
        (lambda o, x: lbfgs(o, x, memory=0), ValueError, "memory"),
        (lambda o, x: gradient_em("objective", x), TypeError, "objective"),
        (lambda o, x: gradient_em(o, x, record_means="yes"), TypeError, "record_means"),
    ],
)
def test_bad_input_names_the_argument(triangle, call, exc, words):
    inst, obj = triangle
    with pytest.raises(exc, match=words):
        call(obj, inst.means_star)


def test_non_finite_start_is_rejected(triangle):
    inst, obj = triangle
    x = np.array(inst.means_star)
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="means0"):
        ravine_method(obj, x)


# ---------------------------------------------------------------------------- global phase
def test_objective_with_weights_matches_a_fresh_objective(triangle):
    inst, obj = triangle
    w = np.array([0.4, 0.35, 0.25])
    x = inst.teacher.means + 0.1
    fresh = PopulationKL(inst.teacher, w, obj.rule)
    shared = objective_with_weights(obj, w)
    a, b = fresh.evaluate(x), shared.evaluate(x)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-14)
    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-16)
    assert obj.weights.shape == (10,)  # the original is untouched


def test_prune_keeps_heaviest_and_renormalises():
    w, m, ids, dropped = prune(np.array([0.5, 0.001, 0.499]), np.arange(6.0).reshape(3, 2), np.arange(3), 0.01)
    np.testing.assert_allclose(w.sum(), 1.0)
    assert ids.tolist() == [0, 2] and dropped.tolist() == [1]
    w, _, ids, _ = prune(np.array([0.2, 0.8]), np.zeros((2, 1)), np.arange(2), 0.9)
    assert ids.tolist() == [1] and w.tolist() == [1.0]


def test_global_phase_records_and_prunes(triangle):
    inst, obj = triangle
    r = global_phase(inst.teacher, 8, seed=3, max_iters=25, prune_threshold=0.05, rule=obj.rule)
    assert r.n_iters == 25 and r.stop_reason == StopReason.BUDGET
    assert np.all(np.diff(r.n_active) <= 0)
    assert r.n_active[-1] == r.n_components == r.means.shape[0] == len(r.component_ids)
    assert len(r.pruned) == 8 - r.n_components
    np.testing.assert_allclose(r.weights.sum(), 1.0, rtol=1e-12)
    assert np.all(r.weights >= 0.05)
    assert r.delta_pi[-1] == pytest.approx(gmmlit.current_delta_pi(inst.teacher, r.weights, r.means))
    # EM on weights and means is a monotone (MM) scheme while no component is pruned
    steady = np.flatnonzero(np.diff(r.n_active) == 0)
    assert np.all(np.diff(r.losses)[steady] <= 1e-12)
    # the weight mismatch shrinks from the random start
    assert r.delta_pi[-1] < 0.5 * r.delta_pi[0]


def test_global_phase_bad_input(triangle):
    inst, _ = triangle
    with pytest.raises(ValueError, match="prune_threshold"):
        global_phase(inst.teacher, 5, seed=0, prune_threshold=1.0)
    with pytest.raises(ValueError, match="update"):
        global_phase(inst.teacher, 5, seed=0, update="newton")
    with pytest.raises(TypeError, match="teacher"):
        global_phase(inst.means_star, 5, seed=0)
    with pytest.raises(ValueError, match="max_iters"):
        global_phase(inst.teacher, 5, seed=0, max_iters=0)

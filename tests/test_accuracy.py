"""Accuracy of the numerical core against independent references.

The requirement (foundation issue): with the default rule, the relative error of loss
and gradient is at most 1e-10 in d = 1 and d = 2 for teachers with m <= 3 components at
separations up to 10, near the minimiser and at distance 1 from it, and loss and
gradient are at most 1e-15 at the minimiser in every dimension.

References: :func:`gmmlit.core.reference.reference_1d` (mpmath, 30 digits) and
:func:`gmmlit.core.reference.reference_2d` (extended-precision trapezoid rule, step 0.05).
Both are slow, so each is computed once per (dimension, separation, point) and shared.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from gmmlit.book.computing import (
    bregman_evaluation_errors,
    discrete_minimiser,
    predicted_naive_offset,
    probe_point,
    reduced_loss_and_grad,
    relative_error,
)
from gmmlit.core.instances import make_instance, random_teacher, split_weights, triangle_teacher, two_student_model
from gmmlit.core.mixture import Mixture
from gmmlit.core.objective import PopulationKL
from gmmlit.core.quadrature import ExplicitRule, MonteCarloRule, SobolRule, TrapezoidRule
from gmmlit.core.reference import reference_1d, reference_2d

#: The required relative accuracy of the default rule in d <= 2.
REL_TOL = 1e-10

#: Absolute rounding floor of the gradient. The gradient is a weighted sum over the nodes
#: of expm1(s) psi_i (x - mu_i), with s = log p_theta - log p* formed as a difference of
#: two log-sum-exps, so s carries an absolute rounding error of a few ulps (~1e-16)
#: whatever the rule. Along the tangent space at distance 1e-2 the gradient itself is only
#: ~1e-8 (it is O(t^3)), so no double-precision evaluation of this form reaches 1e-10
#: relative there: measured absolute errors are 3e-18..2e-17 for every step h <= 0.1.
GRAD_ROUNDING_FLOOR = 1e-16

SEPARATIONS = [1.0, 3.0, 6.0, 10.0]
#: (kind, distance) of the probe points: near the minimiser (across and along the ravine)
#: and at distance 1.
POINTS = [("random", 0.1), ("tangent", 0.01), ("random", 1.0)]


@functools.lru_cache(maxsize=None)
def problem(dim, separation):
    """m = 3 teacher components at pairwise-adjacent distance ``separation``, n = 4 students."""
    if dim == 1:
        teacher = Mixture(np.array([0.5, 0.3, 0.2]), separation * np.arange(3.0)[:, None])
    else:
        teacher = triangle_teacher(separation)
    w, a = split_weights(teacher.weights, [2, 1, 1], seed=0)
    return make_instance(teacher, w, a)


@functools.lru_cache(maxsize=None)
def reference_at(dim, separation, kind, dist):
    inst = problem(dim, separation)
    x = probe_point(inst, dist, kind, seed=1)
    ref = (reference_1d if dim == 1 else reference_2d)(inst.teacher, inst.weights, x)
    return x, ref


def test_references_agree_with_each_other():
    # The same problem embedded on a line in R^2: the KL only sees the line, so the two
    # independent references (mpmath in d = 1, extended trapezoid in d = 2) must agree to
    # their own accuracy (~1e-14 relative; 1e-12 leaves room for the float conversions).
    inst = problem(1, 6.0)
    x1 = probe_point(inst, 0.1, "random", seed=3)
    l1, g1 = reference_1d(inst.teacher, inst.weights, x1)
    t2 = Mixture(inst.teacher.weights, np.c_[inst.teacher.means, np.zeros(3)])
    l2, g2 = reference_2d(t2, inst.weights, np.c_[x1, np.zeros(4)])
    assert relative_error(l2, l1) <= 1e-12
    assert relative_error(g2[:, :1], g1) <= 1e-12
    assert np.abs(g2[:, 1]).max() <= 1e-20  # nothing moves off the line


@pytest.mark.claim("computing.default-rule-accuracy")
@pytest.mark.parametrize("separation", SEPARATIONS)
@pytest.mark.parametrize("kind,dist", POINTS)
@pytest.mark.parametrize("dim", [1, 2])
def test_default_rule_accuracy(dim, separation, kind, dist):
    inst = problem(dim, separation)
    x, (l_ref, g_ref) = reference_at(dim, separation, kind, dist)
    loss, grad = inst.objective().loss_and_grad(x)
    assert relative_error(loss, l_ref) <= REL_TOL
    g_err = float(np.linalg.norm(grad - g_ref))
    if kind == "tangent" and dist <= 0.01:
        # relative 1e-10 or the double-precision floor, whichever is larger (see GRAD_ROUNDING_FLOOR)
        assert g_err <= REL_TOL * np.linalg.norm(g_ref) + GRAD_ROUNDING_FLOOR
    else:
        assert g_err <= REL_TOL * np.linalg.norm(g_ref)


@pytest.mark.claim("computing.bregman-any-rule")
@pytest.mark.parametrize("dim", [1, 2, 3, 5, 10])
def test_loss_and_gradient_vanish_at_the_minimiser(dim):
    if dim == 1:
        teacher = problem(1, 3.0).teacher
    else:
        teacher = random_teacher(3, dim, seed=dim, min_separation=min(4.0, 2.0 * dim))
    w, a = split_weights(teacher.weights, [3, 2, 2], seed=dim)
    inst = make_instance(teacher, w, a)
    loss, grad = inst.objective().loss_and_grad(inst.means_star)
    # the Bregman integrand is O(s^2) with s ~ 1e-16 from rounding: loss ~1e-32, gradient ~1e-17
    assert 0.0 <= loss <= 1e-15
    assert np.linalg.norm(grad) <= 1e-15


@pytest.mark.parametrize("form", ["bregman", "naive"])
@pytest.mark.parametrize("dim", [1, 2])
def test_hessian_matches_finite_differences(dim, form):
    # The Hessian is the exact derivative of the discretised gradient for any rule, so a
    # coarse rule (fast) tests it as well as the default one.
    inst = problem(dim, 3.0)
    f = inst.objective(TrapezoidRule(0.3, 8.0), form=form)
    x = probe_point(inst, 0.5, "random", seed=2)
    h = f.hessian(x)
    step = 1e-5  # central differences: truncation ~ step^2 * |L'''| ~ 1e-10, rounding ~ eps / step ~ 1e-11
    fd = np.zeros_like(h)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = step
        e = e.reshape(x.shape)
        fd[:, k] = (f.grad(x + e) - f.grad(x - e)).ravel() / (2 * step)
    assert relative_error(fd, h) <= 1e-6
    assert np.allclose(h, h.T)


@pytest.mark.parametrize("dim", [1, 2])
def test_bregman_and_naive_forms_agree_away_from_the_minimiser(dim):
    inst = problem(dim, 6.0)
    x = probe_point(inst, 1.0, "random", seed=4)
    lb, gb = inst.objective(form="bregman").loss_and_grad(x)
    ln, gn = inst.objective(form="naive").loss_and_grad(x)
    # both are within REL_TOL of the truth there (test above), so within 2 REL_TOL of each other
    assert relative_error(ln, lb) <= 2 * REL_TOL
    assert relative_error(gn, gb) <= 2 * REL_TOL


@pytest.mark.claim("computing.bregman-any-rule")
def test_bregman_form_is_exact_at_the_minimiser_with_any_rule_naive_form_is_not():
    inst = problem(2, 6.0)
    rule = SobolRule(2 ** 8, 3)
    breg = inst.objective(rule, form="bregman")
    naive = inst.objective(rule, form="naive")
    loss, grad = breg.loss_and_grad(inst.means_star)
    assert 0.0 <= loss <= 1e-30 and np.linalg.norm(grad) <= 1e-15
    rng = np.random.default_rng(0)
    values = [breg.loss(inst.means_star + s * rng.standard_normal(inst.means_star.shape)) for s in (1e-3, 1e-2, 1e-1)]
    assert min(values) > 0.0
    # the naive discretisation is minimised elsewhere, below L(theta*) = 0
    x, fx = discrete_minimiser(naive, probe_point(inst, 1e-3, "random", seed=0))
    assert fx < 0.0
    assert np.linalg.norm(x - inst.means_star) > 1e-2


def test_naive_minimiser_matches_its_prediction():
    # Two students on N(0, I_2) with Monte Carlo nodes: the naive discrete minimiser sits
    # at distance sqrt(2 |zbar|^2 + 2 lambda_max(S - I)) (fourth-order expansion); the
    # neglected terms are O(lambda^2), a few percent at N = 2^12.
    inst = two_student_model(2)
    rule = MonteCarloRule(2 ** 12, 5)
    naive = inst.objective(rule, form="naive")
    x, _ = discrete_minimiser(naive, inst.means_star + 1e-3)
    predicted = predicted_naive_offset(*rule.nodes(inst.teacher))[0]
    # a resolved offset (measured 0.204, far above the minimiser's accuracy); relative model error
    # O(lambda_max(S - I)) = O(0.020) here, allowance 0.05; measured 0.0068 (both kernels)
    assert predicted > 0.05
    assert np.linalg.norm(x - inst.means_star) == pytest.approx(predicted, rel=0.05)


@pytest.mark.claim("computing.affine-span")
def test_reduction_to_the_affine_span_is_exact():
    # d = 3, m = 1, n = 2: three means span a plane, so the 3-D integral equals a 2-D one.
    teacher = Mixture(np.ones(1), np.array([[0.3, -0.2, 0.5]]))
    weights = np.array([0.4, 0.6])
    means = np.array([[1.0, 0.5, -0.4], [-0.2, -0.9, 1.1]])
    # radius 10, not 8: the Bregman integrand contains p_theta / p*, whose tail reaches
    # further than the teacher's (radius 8 leaves ~2e-10 of it out)
    full_loss, full_grad = PopulationKL(teacher, weights, TrapezoidRule(0.25, 10.0)).loss_and_grad(means)
    red_loss, red_grad = reduced_loss_and_grad(teacher, weights, means)
    # both rules are spectrally accurate here (no teacher switch): agreement to ~1e-13
    assert relative_error(red_loss, full_loss) <= 1e-11
    assert relative_error(red_grad, full_grad) <= 1e-11


def test_series_evaluation_of_the_bregman_integrand_is_accurate():
    s = np.concatenate([-np.logspace(-12, 0, 13), np.logspace(-12, 0, 13)])
    err = bregman_evaluation_errors(s)
    assert err["series"].max() <= 4e-16  # a few ulps
    assert err["expm1"].max() > 1e-6  # cancellation of expm1(s) - s for tiny s: the reason for the series
    assert err["exp"].max() > 1e-2


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: MonteCarloRule(1), "n_points"),
        (lambda: MonteCarloRule(16, -1), "seed"),
        (lambda: MonteCarloRule(2.5), "n_points"),
        (lambda: ExplicitRule(np.zeros((3, 2)), np.ones(2)), "shape"),
        (lambda: ExplicitRule(np.zeros((2, 2)), np.array([1.0, -1.0])), "positive"),
        (lambda: probe_point(problem(1, 1.0), 0.1, "sideways"), "kind"),
        (lambda: relative_error(np.ones(2), np.ones(3)), "shape"),
    ],
)
def test_bad_input_is_rejected(build, match):
    with pytest.raises((ValueError, TypeError), match=match):
        build()


def test_relative_error_edge_cases():
    assert relative_error(0.0, 0.0) == 0.0
    assert relative_error(1.0, 0.0) == float("inf")
    assert relative_error([3.0, 4.0], [0.0, 0.0]) == float("inf")
    assert relative_error([1.0, 1.0], [1.0, 2.0]) == pytest.approx(1 / np.sqrt(5))

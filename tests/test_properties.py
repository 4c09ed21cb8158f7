"""Property tests (hypothesis) of the local theory on random small instances.

Instances are valid by construction: teacher means at least ``MIN_SEPARATION`` apart
(consecutive means joined by steps of length in ``[3, 6]`` at angles within 60 degrees of
the first axis, so that every pair is at least 3 apart), student weights that group
exactly (:func:`gmmlit.core.instances.split_weights`), directions projected onto ``T`` or
``N``. Everything is compared on the *same* discretised objective, so a cheap rule
(``TrapezoidRule(h=0.3, radius=6)``) is enough: the statements hold for every rule.

Tolerances come with their reason; "measured" constants were measured over 40 random
instances of the same family (``d <= 2``, ``m <= 3``, ``n <= 6``) and are given a factor
of about 3 of margin.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gmmlit.core.geometry import normal_projector, project_to_ravine, tangent_basis, tangent_projector
from gmmlit.core.instances import make_instance, split_weights
from gmmlit.core.mixture import Mixture
from gmmlit.core.objective import PopulationKL
from gmmlit.core.quadrature import GaussHermiteRule, ProductRule, SobolRule, TrapezoidRule
from gmmlit.theory.quartic import (
    QuarticModel,
    one_component_model,
    quartic_form,
    quartic_gradient,
    ravine_quartic_form,
    ravine_quartic_gradient,
    separated_limit,
    separated_limit_gradient,
)
from gmmlit.theory.quartic_polyak import (
    angle_degrees,
    direction_map_multipliers,
    polyak_quartic_factor,
    quartic_polyak_iterates,
    quartic_polyak_step,
    ravine_gradient_tolerance,
)
from gmmlit.optim.steps import polyak_step
from tests.claim_support import finite_difference_hessian, teacher_fisher

#: The cheap rule of these tests (about 1250 nodes per teacher component in d = 2).
RULE = TrapezoidRule(h=0.3, radius=6.0)
MIN_SEPARATION = 3.0
MAX_SEPARATION = 6.0


# ---------------------------------------------------------------------- strategies
@st.composite
def exact_instances(draw, max_m=3, max_n=6, dims=(1, 2), min_m=1):
    """An Instance with Delta_pi = 0, ``d in dims``, ``min_m <= m <= max_m``, ``m < n <= max_n``."""
    d = draw(st.sampled_from(dims))
    m = draw(st.integers(min_m, max_m))
    n = draw(st.integers(m + 1, max_n))
    gaps = draw(st.lists(st.floats(MIN_SEPARATION, MAX_SEPARATION), min_size=m - 1, max_size=m - 1))
    angles = draw(st.lists(st.floats(-math.pi / 3, math.pi / 3), min_size=m - 1, max_size=m - 1))
    raw = draw(st.lists(st.floats(1.0, 3.0), min_size=m, max_size=m))
    extra = draw(st.lists(st.integers(0, m - 1), min_size=n - m, max_size=n - m))
    seed = draw(st.integers(0, 2 ** 16))
    means = np.zeros((m, d))
    for j, (gap, angle) in enumerate(zip(gaps, angles), start=1):
        step = np.array([gap]) if d == 1 else gap * np.array([math.cos(angle), math.sin(angle)])
        means[j] = means[j - 1] + step
    means -= means.mean(axis=0)
    teacher_weights = np.array(raw) / sum(raw)
    counts = [1] * m
    for j in extra:
        counts[j] += 1
    weights, assignment = split_weights(teacher_weights, counts, seed=seed)
    return make_instance(Mixture(teacher_weights, means), weights, assignment)


seeds = st.integers(0, 2 ** 32 - 1)


def unit_direction(inst, seed, space):
    """A random unit vector of ``T`` (``space="tangent"``) or ``N`` (``"normal"``)."""
    n, d = inst.means_star.shape
    proj = (tangent_projector if space == "tangent" else normal_projector)(inst.weights, inst.assignment, d)
    v = (proj @ np.random.default_rng(seed).standard_normal(n * d)).reshape(n, d)
    return v / np.linalg.norm(v)


# ---------------------------------------------------------------------- local growth
@pytest.mark.claim("ravine.quadratic-growth")
@given(inst=exact_instances(), seed=seeds)
def test_quadratic_growth_across_ravine(inst, seed):
    obj = inst.objective(RULE)
    u = unit_direction(inst, seed, "normal")
    half_curvature = 0.5 * u.ravel() @ obj.hessian(inst.means_star) @ u.ravel()
    assert half_curvature > 0  # the Hessian is positive definite on N
    t1, t2 = 1e-2, 5e-3
    r1 = obj.loss(inst.means_star + t1 * u) / t1 ** 2
    r2 = obj.loss(inst.means_star + t2 * u) / t2 ** 2
    # Taylor: r(t) = u^T H u / 2 + O(t); relative constant measured <= 0.08
    assert abs(r2 - half_curvature) <= 0.25 * t2 * half_curvature
    # Richardson removes the O(t) term: O(t^2) remainder, relative constant measured <= 0.14
    assert abs(2 * r2 - r1 - half_curvature) <= 0.5 * t2 ** 2 * half_curvature


@pytest.mark.claim("ravine.quartic-growth")
@given(inst=exact_instances(), seed=seeds)
def test_quartic_growth_along_ravine(inst, seed):
    obj = inst.objective(RULE)
    v = unit_direction(inst, seed, "tangent")
    q = quartic_form(obj, inst.means_star, inst.assignment, v)
    assert q > 0  # Q is positive definite on T
    t1, t2 = 2e-2, 1e-2
    r1 = obj.loss(inst.means_star + t1 * v) / t1 ** 4
    r2 = obj.loss(inst.means_star + t2 * v) / t2 ** 4
    # r(t) = Q + O(t); relative constant measured <= 0.36
    assert abs(r2 - q) <= 1.0 * t2 * q
    # Richardson: O(t^2) remainder, relative constant measured <= 1.15
    assert abs(2 * r2 - r1 - q) <= 3.5 * t2 ** 2 * q
    # L / t^2 = t^2 Q (1 + O(t)) -> 0
    assert obj.loss(inst.means_star + t2 * v) / t2 ** 2 <= 2 * t2 ** 2 * q


#: Rounding model of one evaluation of a quartic form near the unit sphere: absolute error at
#: most ``FORM_ROUNDING * eps * |value|``. The forms are sums of ~1e3-1e4 non-negative node
#: terms, each the square of a sum of ``m d^2`` products (pairwise summation: ~log2(N) eps; the
#: cancellation inside ``c_2`` enters relative to ``sqrt(Q)``, as O(1) eps); the largest error
#: measured over 300 instances of the strategy below was 0.16 of this bound (2.5 eps |value|).
FORM_ROUNDING = 16
#: Step of the five-point stencil, for unit directions: the stencil is exact for quartics, so a
#: long step costs no truncation error and divides the rounding by less.
FD_STEP = 0.25
EPS = np.finfo(float).eps


def five_point_derivatives(form, v, directions, h=FD_STEP):
    """Directional derivatives of ``form`` at ``v`` along unit ``directions``, with their error bounds.

    ``(f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / (12 h)`` is exact for polynomials of degree at most
    four (its truncation error is ``h^4 f^(5)(xi) / 30 = 0``), so for a quartic form the only
    error is the rounding of the four values: at most ``(1 + 8 + 8 + 1) / 12 * delta / h`` with
    ``delta = FORM_ROUNDING * eps * max |f|`` over the stencil. The check therefore also fails if
    the form is not a quartic.
    """
    derivs, bounds = [], []
    for e in directions:
        values = [form(v + k * h * e) for k in (-2, -1, 1, 2)]
        derivs.append((values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h))
        bounds.append(1.5 * FORM_ROUNDING * EPS * max(abs(x) for x in values) / h)
    return np.array(derivs), np.array(bounds)


def coordinate_directions(shape):
    """The unit coordinate vectors of ``R^shape``."""
    return [np.eye(int(np.prod(shape)))[k].reshape(shape) for k in range(int(np.prod(shape)))]


def gradient_error_and_bound(form, gradient, v, directions):
    """``max_k |fd_k - <g, e_k>|`` and the bound it must respect (stencil rounding plus the
    rounding of the analytic gradient, ``FORM_ROUNDING * eps * max |g|``)."""
    g = gradient(v)
    fd, bounds = five_point_derivatives(form, v, directions)
    exact = np.array([float(np.sum(g * e)) for e in directions])
    error = np.abs(fd - exact)
    return error, bounds + FORM_ROUNDING * EPS * np.abs(g).max()


#: The example the former check (fixed step 1e-4 on an unnormalised direction, here of length
#: 0.12) failed when this file ran alone under CI=true: its truncation error, (h / |v|)^2
#: relative, exceeded the tolerance.
SHORT_DIRECTION_EXAMPLE = make_instance(Mixture(np.array([1.0]), np.zeros((1, 1))), [0.77125491, 0.22874509], [0, 0])


@pytest.mark.claim("ravine.quartic-growth", "ravine.quartic-gradient")
@given(inst=exact_instances(max_n=5), seed=seeds)
@example(inst=SHORT_DIRECTION_EXAMPLE, seed=6629)
def test_quartic_gradient_matches_finite_differences(inst, seed):
    model = QuarticModel(inst.objective(RULE), inst.means_star, inst.assignment)
    v = np.random.default_rng(seed).standard_normal(inst.means_star.shape)
    v /= np.linalg.norm(v)  # any unit direction: Q is a homogeneous quartic on all of R^{nd}
    directions = coordinate_directions(v.shape)
    error, bound = gradient_error_and_bound(model.form, model.gradient, v, directions)
    assert np.all(error <= bound)
    # the module-level function is the same formula
    assert np.array_equal(quartic_gradient(model.objective, inst.means_star, inst.assignment, v), model.gradient(v))
    # and the well separated limit's gradient, by the same finite differences
    args = (inst.teacher, inst.weights, inst.assignment)
    error, bound = gradient_error_and_bound(
        lambda x: separated_limit(*args, x), lambda x: separated_limit_gradient(*args, x), v, directions
    )
    assert np.all(error <= bound)


@pytest.mark.claim("ravine.quartic-gradient")
def test_finite_difference_check_detects_a_relative_gradient_error_of_1e_9():
    # the check can fail: a gradient off by a relative 1e-9 is caught
    teacher = Mixture(np.array([0.6, 0.4]), np.array([[-2.0, 0.0], [2.0, 0.5]]))
    inst = make_instance(teacher, [0.35, 0.25, 0.4], [0, 0, 1])
    model = QuarticModel(inst.objective(RULE), inst.means_star, inst.assignment)
    v = np.random.default_rng(0).standard_normal(inst.means_star.shape)
    v /= np.linalg.norm(v)
    directions = coordinate_directions(v.shape)
    error, bound = gradient_error_and_bound(model.form, model.gradient, v, directions)
    assert np.all(error <= bound)
    error, bound = gradient_error_and_bound(model.form, lambda x: (1 + 1e-9) * model.gradient(x), v, directions)
    assert not np.all(error <= bound)


@given(inst=exact_instances(min_m=2, max_n=5), seed=seeds)
def test_ravine_quartic_gradient_is_tangent_gradient_of_ravine_form(inst, seed):
    obj = inst.objective(RULE)
    model = QuarticModel(obj, inst.means_star, inst.assignment)
    v = unit_direction(inst, seed, "tangent")
    g = model.ravine_gradient(v)
    basis = tangent_basis(inst.weights, inst.assignment, inst.d)
    h = 1e-4
    fd = np.zeros(basis.shape[1])
    for k in range(basis.shape[1]):
        e = basis[:, k].reshape(v.shape) * h
        fd[k] = (model.ravine_form(v + e) - model.ravine_form(v - e)) / (2 * h)
    # envelope theorem: the optimal centre shift is stationary; same FD accuracy as above
    assert np.abs(fd - basis.T @ g.ravel()).max() <= 1e-6 * (np.abs(g).max() + model.ravine_form(v))
    assert model.ravine_form(v) <= model.form(v) * (1 + 1e-12)  # Q_M <= Q
    assert ravine_quartic_form(obj, inst.means_star, inst.assignment, v) == model.ravine_form(v)


@pytest.mark.claim("ravine.separated-limit")
@given(inst=exact_instances(max_m=1), seed=seeds, order=st.integers(3, 8))
def test_separated_limit_exact_for_one_component(inst, seed, order):
    # for m = 1, Q(v) = ||sum_i pi_i v_i v_i^T||_F^2 / 4 exactly; Gauss-Hermite with >= 3 nodes
    # integrates the degree-4 polynomial c_2^2 exactly, so only rounding separates them
    obj = inst.objective(GaussHermiteRule(order))
    v = unit_direction(inst, seed, "tangent")
    q = quartic_form(obj, inst.means_star, inst.assignment, v)
    assert q == pytest.approx(separated_limit(inst.teacher, inst.weights, inst.assignment, v), rel=1e-12)
    # the gradients agree as well (the closed form's gradient is exact for m = 1)
    g = quartic_gradient(obj, inst.means_star, inst.assignment, v)
    g_closed = separated_limit_gradient(inst.teacher, inst.weights, inst.assignment, v)
    assert np.abs(g - g_closed).max() <= 1e-12 * np.abs(g).max()
    # and the ravine does not bend at second order (parity): Q_M = Q
    assert ravine_quartic_form(obj, inst.means_star, inst.assignment, v) == pytest.approx(q, rel=1e-10)


# ---------------------------------------------------------------------- Polyak
@pytest.mark.claim("polyak.ravine-contraction")
@settings(max_examples=15)  # each example projects to the ravine (Newton) and takes a step
@given(inst=exact_instances(), seed=seeds, t=st.floats(0.02, 0.08))
def test_polyak_contraction_on_ravine(inst, seed, t):
    obj = inst.objective(RULE)
    model = QuarticModel(obj, inst.means_star, inst.assignment)
    v = unit_direction(inst, seed, "tangent")
    theta = project_to_ravine(obj, inst.means_star + t * v, inst.means_star, inst.assignment, tol=ravine_gradient_tolerance(t))
    step = polyak_step(obj, theta)
    distance = np.linalg.norm(theta - inst.means_star)
    factor = np.linalg.norm(step.means - inst.means_star) / distance
    n, d = inst.means_star.shape
    vt = (tangent_projector(inst.weights, inst.assignment, d) @ (theta - inst.means_star).ravel()).reshape(n, d)
    predicted = polyak_quartic_factor(model.ravine_form(vt), model.ravine_gradient(vt), vt)
    # model error O(|v|): measured |factor - predicted| <= 0.047 t and 0.75 - factor <= 0.047 t
    assert factor >= 0.75 - 0.15 * distance
    assert factor < 1.0
    assert abs(factor - predicted) <= 0.15 * distance
    assert obj.loss(step.means) < step.loss


@pytest.mark.claim("polyak.three-quarters")
@given(weights=st.lists(st.floats(1.0, 10.0), min_size=2, max_size=6), dim=st.sampled_from([1, 2]), seed=seeds)
def test_polyak_quartic_factor_bounds(weights, dim, seed):
    w = np.array(weights) / sum(weights)
    form, gradient, proj = one_component_model(w, dim)
    n = w.shape[0]
    v = (proj @ np.random.default_rng(seed).standard_normal(n * dim)).reshape(n, dim)
    g = gradient(v)
    # the factor measured from the step itself (gmmlit.optim.steps.polyak_from_evaluation)
    measured = np.linalg.norm(quartic_polyak_step(form(v), g, v)) / np.linalg.norm(v)
    # Cauchy-Schwarz with Euler's identity: 3/4 <= factor (rounding 1e-12), and < 1 since Q > 0
    assert 0.75 - 1e-12 <= measured < 1.0
    # the formula (unclipped) is the measured factor (exact identity for a quartic)
    assert polyak_quartic_factor(form(v), g, v) == pytest.approx(measured, rel=1e-10)
    # a radial direction (an eigenvector of the compressed diag(pi), d = 1) gives exactly 3/4
    if dim == 1:
        basis = tangent_basis(w, np.zeros(n, int), 1)
        vals, vecs = np.linalg.eigh(basis.T @ np.diag(w) @ basis)
        u = (basis @ vecs[:, 0]).reshape(n, 1)
        radial = np.linalg.norm(quartic_polyak_step(form(u), gradient(u), u)) / np.linalg.norm(u)
        assert radial == pytest.approx(0.75, abs=1e-10)
        assert polyak_quartic_factor(form(u), gradient(u), u) == pytest.approx(0.75, abs=1e-10)


@pytest.mark.claim("polyak.iterates-align")
@settings(max_examples=15)
@given(weights=st.lists(st.floats(1.0, 3.0), min_size=3, max_size=6), dim=st.sampled_from([1, 2]), seed=seeds)
def test_polyak_iterates_align(weights, dim, seed):
    """Along Polyak iterates the direction of v converges to a minimiser of Q on the sphere,
    where grad Q is parallel to v and the factor is 3/4 (see gmmlit.theory.quartic)."""
    w = np.array(weights) / sum(weights)
    form, gradient, proj = one_component_model(w, dim)
    n = w.shape[0]
    start = (proj @ np.random.default_rng(seed).standard_normal(n * dim)).reshape(n, dim)
    trace = quartic_polyak_iterates(form, gradient, start, 250, proj)
    # weights within a factor 3: the minimiser is stable; convergence is geometric with the
    # direction-map multipliers (worst measured after 200 steps: factor 0.75005, angle 0.75 deg)
    assert trace.factors[-1] <= 0.7505
    assert trace.angles[-1] <= 2.0
    # descent on q = Q restricted to the unit sphere: the direction map is a gradient step on
    # the sphere (step 1/(12 q)), so q decreases at every step (to rounding: 1e-12 relative)
    assert np.all(np.diff(trace.sphere_values) <= 1e-12 * trace.sphere_values[:-1])
    # and the end direction is not an unstable fixed point of the map (no multiplier below -1;
    # multipliers >= 1 belong to flat directions: rotations of R^d, or a nearly constant q)
    basis = tangent_basis(w, np.zeros(n, int), dim)
    multipliers = direction_map_multipliers(form, gradient, trace.direction, basis)
    assert np.all(multipliers > -1)


@given(weights=st.lists(st.floats(1.0, 10.0), min_size=2, max_size=6), dim=st.sampled_from([1, 2]), seed=seeds)
def test_direction_map_is_a_sphere_gradient_step(weights, dim, seed):
    """The Polyak direction map of a homogeneous quartic is exactly
    ``u+ ~ (3 + 4 rho^2) u - x`` with ``x = grad_S q(u) / (4 q)``, ``rho = |x|``; hence
    ``u+ = normalise(u - grad_S q / (12 q))`` up to an angle ``atan(rho/3) - atan(rho/(3 + 4 rho^2)) <= 4 rho^3 / 9``:
    a Riemannian gradient step on q with step 1/(12 q) (gmmlit.theory.quartic docstring)."""
    w = np.array(weights) / sum(weights)
    form, gradient, proj = one_component_model(w, dim)
    n = w.shape[0]
    u = (proj @ np.random.default_rng(seed).standard_normal(n * dim)).reshape(n, dim)
    u /= np.linalg.norm(u)
    q, g = form(u), gradient(u)
    x = (g - np.sum(g * u) * u) / (4 * q)
    rho = np.linalg.norm(x)
    exact = quartic_polyak_step(q, g, u)
    exact /= np.linalg.norm(exact)
    closed = (3 + 4 * rho ** 2) * u - x
    closed /= np.linalg.norm(closed)
    assert np.linalg.norm(exact - closed) <= 1e-12  # an identity: rounding only
    step = u - x / 3  # u - grad_S q / (12 q)
    step /= np.linalg.norm(step)
    gap = math.atan(rho / 3) - math.atan(rho / (3 + 4 * rho ** 2))
    assert angle_degrees(exact, step) == pytest.approx(math.degrees(gap), abs=1e-6)
    assert gap <= 4 * rho ** 3 / 9 + 1e-15


# ---------------------------------------------------------------------- Bregman exactness
rules = st.one_of(
    st.builds(TrapezoidRule, h=st.sampled_from([0.3, 0.5, 0.8]), radius=st.sampled_from([4.0, 6.0])),
    st.builds(GaussHermiteRule, order=st.integers(2, 10)),
    st.builds(SobolRule, n_points=st.sampled_from([2 ** 6, 2 ** 8, 2 ** 10]), seed=st.integers(0, 100)),
    st.builds(ProductRule, h=st.just(0.5), radius=st.just(6.0), n_orth=st.integers(1, 4)),
)


@pytest.mark.claim("computing.bregman-exact")
@given(inst=exact_instances(), rule=rules, seed=seeds, scale=st.floats(0.0, 3.0))
def test_bregman_nonnegative_any_rule(inst, rule, seed, scale):
    obj = inst.objective(rule)
    theta = inst.means_star + scale * np.random.default_rng(seed).standard_normal(inst.means_star.shape)
    assert obj.loss(theta) >= 0.0  # e^s - 1 - s >= 0 at every node, weights > 0: no tolerance


@pytest.mark.claim("computing.bregman-exact")
@given(inst=exact_instances(), rule=rules)
def test_bregman_exact_at_minimiser(inst, rule):
    loss, grad = inst.objective(rule).loss_and_grad(inst.means_star)
    # s = 0 up to the rounding of two log-sum-exps (~1e-16): L ~ s^2 ~ 1e-32, grad ~ 1e-16
    assert 0.0 <= loss <= 1e-15
    assert np.abs(grad).max() <= 1e-15


# ---------------------------------------------------------------------- invariances
def _point(inst, seed, scale=0.5):
    return inst.means_star + scale * np.random.default_rng(seed).standard_normal(inst.means_star.shape)


@pytest.mark.claim("setting.invariances")
@given(inst=exact_instances(), seed=seeds, rule=rules)
def test_permutation_invariance(inst, seed, rule):
    theta = _point(inst, seed)
    perm = np.random.default_rng(seed + 1).permutation(inst.n)
    original = inst.objective(rule).loss(theta)
    permuted = PopulationKL(inst.teacher, inst.weights[perm], rule).loss(theta[perm])
    # the same sums in another order: rounding only
    assert abs(permuted - original) <= 1e-13 + 1e-12 * original


@pytest.mark.claim("setting.invariances")
@given(inst=exact_instances(), seed=seeds, rule=rules, shift=st.lists(st.floats(-10, 10), min_size=2, max_size=2))
def test_translation_invariance(inst, seed, rule, shift):
    c = np.array(shift[: inst.d])
    theta = _point(inst, seed)
    original = inst.objective(rule).loss(theta)
    moved_teacher = Mixture(inst.teacher.weights, inst.teacher.means + c)
    moved = PopulationKL(moved_teacher, inst.weights, rule).loss(theta + c)
    # every rule is centred at the teacher means, so the nodes move with them; the only change
    # is the rounding of (mu_i + c) - (mu*_j + c) (~1e-15 for |c| <= 10), times |grad L| = O(1)
    assert abs(moved - original) <= 1e-12 * (1.0 + original)


#: The symmetries of the square (rotations by multiples of 90 degrees, reflections): exact
#: integer matrices that map every tensor rule (trapezoid, Gauss-Hermite) onto itself.
SQUARE_GROUP = [
    np.array(m, dtype=float)
    for m in ([[1, 0], [0, 1]], [[0, -1], [1, 0]], [[-1, 0], [0, -1]], [[0, 1], [-1, 0]],
              [[1, 0], [0, -1]], [[-1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1], [-1, 0]])
]

tensor_rules = st.one_of(
    st.builds(TrapezoidRule, h=st.sampled_from([0.3, 0.5]), radius=st.sampled_from([4.0, 6.0])),
    st.builds(GaussHermiteRule, order=st.integers(2, 10)),
)


@pytest.mark.claim("setting.invariances")
@given(inst=exact_instances(), seed=seeds, rule=tensor_rules, element=st.integers(0, 7))
def test_rotation_invariance_equivariant_rules(inst, seed, rule, element):
    """Tensor rules are invariant under the symmetries of the cube (here: of the square in d = 2,
    the reflection in d = 1), so for those orthogonal maps the loss is invariant to rounding.
    Sobol points are not (their rotated image is another point set)."""
    rot = SQUARE_GROUP[element] if inst.d == 2 else np.array([[-1.0 if element % 2 else 1.0]])
    theta = _point(inst, seed)
    original = inst.objective(rule).loss(theta)
    rotated_teacher = Mixture(inst.teacher.weights, inst.teacher.means @ rot.T)
    rotated = PopulationKL(rotated_teacher, inst.weights, rule).loss(theta @ rot.T)
    # integer matrices: the rotated means are exact; the node set maps onto itself, so only the
    # order of summation changes
    assert abs(rotated - original) <= 1e-13 + 1e-12 * original


@pytest.mark.claim("setting.invariances")
@settings(max_examples=10)  # the fine rule has ~14000 nodes per teacher component
@given(inst=exact_instances(dims=(2,)), seed=seeds, angle=st.floats(0.0, 2 * math.pi))
def test_rotation_invariance_any_angle(inst, seed, angle):
    """For an arbitrary rotation no tensor rule is equivariant: the two losses are two
    discretisations of the same integral and agree to the rule's accuracy. The default
    trapezoid rule (h = 0.15, radius 10) has relative error below 1e-10 for teacher
    separations up to 10 (quadrature module); allow 1e-9 relative."""
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    fine = TrapezoidRule(0.15, 10.0)
    theta = _point(inst, seed)
    original = inst.objective(fine).loss(theta)
    rotated = PopulationKL(Mixture(inst.teacher.weights, inst.teacher.means @ rot.T), inst.weights, fine).loss(theta @ rot.T)
    assert abs(rotated - original) <= 1e-9 * original + 1e-14
    # the coarse rule, by contrast, is visibly not rotation invariant for most angles: not
    # asserted (it can be invariant by accident, e.g. at multiples of 90 degrees)


# ---------------------------------------------------------------------- exact Fisher identity
@pytest.mark.claim("gradient-hessian.hessian-is-fisher")
@given(inst=exact_instances())
def test_bregman_hessian_is_the_teacher_fisher_at_minimiser(inst):
    """At theta* the exact Hessian equals the Fisher information written from the *teacher*
    responsibilities (tests/claim_support.py, teacher_fisher: an independent
    formula, not the Hessian's code), and its null space is T."""
    obj = inst.objective(RULE)
    fisher = teacher_fisher(obj, inst.means_star, inst.assignment)
    hessian = obj.hessian(inst.means_star)
    # sums of ~1e4 terms of size <= 1: rounding only
    assert np.abs(hessian - fisher).max() <= 1e-12 * np.abs(fisher).max()
    n, d = inst.means_star.shape
    basis = tangent_basis(inst.weights, inst.assignment, d)
    assert np.abs(hessian @ basis).max() <= 1e-12 * np.abs(fisher).max()


@pytest.mark.claim("gradient-hessian.hessian-is-fisher")
@settings(max_examples=10)  # 2 n d gradient evaluations per example
@given(inst=exact_instances(), seed=seeds)
def test_hessian_matches_finite_differences_away_from_minimiser(inst, seed):
    """Away from theta* the exact Hessian has a second term (E[expm1(s) ...]); central
    differences of the gradient see it. A Gauss-Newton Hessian fails here (test_claims)."""
    obj = inst.objective(RULE)
    rng = np.random.default_rng(seed)
    theta = inst.means_star + 0.4 * rng.standard_normal(inst.means_star.shape)
    fd = finite_difference_hessian(obj, theta)
    # step 1e-5: truncation ~1e-10 and cancellation ~1e-11 relative (measured <= 3e-11)
    assert np.abs(obj.hessian(theta) - fd).max() <= 1e-9 * np.abs(fd).max()


# ---------------------------------------------------------------------- argument checks
def test_quartic_argument_checks():
    inst = make_instance(Mixture(np.array([0.5, 0.5]), np.array([[-2.0], [2.0]])), np.array([0.25, 0.25, 0.5]), np.array([0, 0, 1]))
    obj = inst.objective(RULE)
    v = np.array([[1.0], [-1.0], [0.0]])
    with pytest.raises(TypeError, match="objective"):
        quartic_form("not an objective", inst.means_star, inst.assignment, v)
    with pytest.raises(ValueError, match="means_star"):
        quartic_form(obj, inst.means_star + 0.1, inst.assignment, v)
    with pytest.raises(ValueError, match="v must have 3 rows"):
        quartic_form(obj, inst.means_star, inst.assignment, v[:2])
    uneven = PopulationKL(inst.teacher, np.array([0.2, 0.2, 0.6]), RULE)
    with pytest.raises(ValueError, match="Delta_pi = 0"):
        quartic_form(uneven, inst.means_star, inst.assignment, v)
    with pytest.raises(ValueError, match="Euler"):
        polyak_quartic_factor(1.0, np.array([1.0, 0.0]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="q must be >= 0"):
        polyak_quartic_factor(-1.0, np.array([1.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="nonzero"):
        polyak_quartic_factor(0.0, np.zeros(2), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="overshoots"):
        from gmmlit.theory.quartic_descent import gradient_descent_on_quartic

        gradient_descent_on_quartic(1.0, 1.0, 1.0, 10)
    assert angle_degrees(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(90.0)
    g = ravine_quartic_gradient(obj, inst.means_star, inst.assignment, v)
    assert abs(np.sum(inst.weights[:2, None] * g[:2])) < 1e-14  # tangent: cluster-weighted sum 0

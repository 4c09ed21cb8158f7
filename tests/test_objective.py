"""PopulationKL: exactness at the minimiser, derivatives, counting, chunking, validation.

Rounding allowances: at theta* the Bregman integrand vanishes node by node, so loss and
gradient are 0 up to the rounding of s = log p_theta - log p* (~1e-16 per node): bound 1e-15;
the Hessian's product with the tangent projector is 1e-14 relative to its largest entry (a
matrix product of size 12); the integrand against exact rationals (Decimal) to 4e-16
relative, two ulps.
"""

import numpy as np
import pytest

import gmmlit
from gmmlit import GaussHermiteRule, Mixture, PopulationKL, ProductRule, SobolRule, TrapezoidRule
from gmmlit.core.objective import bregman_integrand


@pytest.fixture(scope="module")
def inst():
    return gmmlit.triangle_instance(n=6, side=6.0, seed=0)


def test_bregman_integrand_relative_accuracy():
    # Reference: exact rational arithmetic through Python's decimal at 50 digits.
    from decimal import Decimal, getcontext

    getcontext().prec = 50
    for s in [1e-12, -3e-9, 1e-5, -0.3, 0.99, -1.0, 1.0, 1.5, -7.0, 30.0]:
        ds = Decimal(s)
        exact = ds.exp() - 1 - ds
        got = bregman_integrand(np.array([s]))[0]
        assert abs(Decimal(got) - exact) <= abs(exact) * Decimal(4e-16), s
    assert bregman_integrand(np.array([0.0]))[0] == 0.0


@pytest.mark.parametrize(
    "rule",
    [None, TrapezoidRule(0.3, 8.0), GaussHermiteRule(12), SobolRule(2 ** 10, 1)],
    ids=["default", "trapezoid", "gauss-hermite", "sobol"],
)
def test_zero_loss_and_gradient_at_minimiser(inst, rule):
    f = inst.objective(rule)
    loss, grad = f.loss_and_grad(inst.means_star)
    # s = log p_theta - log p* differs from 0 only by rounding (~1e-16), so the
    # Bregman integrand is ~1e-32 and the gradient ~1e-16 * |psi r|.
    assert 0.0 <= loss <= 1e-15
    assert np.abs(grad).max() <= 1e-15


def test_product_rule_zero_at_minimiser_in_higher_dimension():
    inst = gmmlit.figure1_instance(seed=0)
    f = inst.objective(ProductRule(0.5, 7.0, 2))
    loss, grad = f.loss_and_grad(inst.means_star)
    assert 0.0 <= loss <= 1e-15 and np.abs(grad).max() <= 1e-15


def test_gradient_matches_finite_differences(inst):
    f = inst.objective(TrapezoidRule(0.25, 9.0))
    x = inst.start(0.5, seed=2)
    g = f.grad(x)
    eps = 1e-6
    fd = np.zeros_like(x)
    for i in range(x.shape[0]):
        for a in range(x.shape[1]):
            e = np.zeros_like(x)
            e[i, a] = eps
            fd[i, a] = (f.loss(x + e) - f.loss(x - e)) / (2 * eps)
    # central differences: truncation ~eps^2 * |L'''| ~ 1e-12, rounding ~1e-16/eps = 1e-10
    np.testing.assert_allclose(g, fd, atol=1e-9)


@pytest.mark.parametrize("form", ["bregman", "naive"])
def test_hessian_is_exact_derivative_of_gradient(inst, form):
    f = inst.objective(TrapezoidRule(0.3, 8.0), form=form)
    x = inst.start(0.4, seed=5)
    h = f.hessian(x)
    n, d = x.shape
    eps = 1e-5
    fd = np.zeros((n * d, n * d))
    for k in range(n * d):
        e = np.zeros(n * d)
        e[k] = eps
        e = e.reshape(n, d)
        fd[:, k] = ((f.grad(x + e) - f.grad(x - e)) / (2 * eps)).ravel()
    # truncation eps^2 |grad'''| ~ 1e-10, rounding 1e-16 / eps ~ 1e-11
    np.testing.assert_allclose(h, fd, atol=1e-8)
    np.testing.assert_allclose(h, h.T, atol=1e-15)


def test_hessian_at_minimiser_has_the_tangent_null_space(inst):
    f = inst.objective()
    h = f.hessian(inst.means_star)
    p_t = gmmlit.tangent_projector(inst.weights, inst.assignment, inst.d)
    scale = np.abs(h).max()
    assert np.abs(h @ p_t).max() <= 1e-14 * max(scale, 1.0)
    vals = np.linalg.eigvalsh(h)
    n_zero = int(np.sum(np.abs(vals) <= 1e-12 * vals.max()))
    assert n_zero == inst.d * (inst.n - inst.m)
    assert vals.min() >= -1e-14 * vals.max()  # PSD at the minimiser (discrete Fisher matrix)


def test_bregman_and_naive_forms_agree_away_from_minimiser(inst):
    x = inst.start(0.8, seed=9)
    fb = inst.objective(form="bregman")
    fn = inst.objective(form="naive")
    lb, gb = fb.loss_and_grad(x)
    ln, gn = fn.loss_and_grad(x)
    # both discretise the same integral with the default rule (error < 1e-10 relative)
    assert abs(lb - ln) <= 1e-9 * lb
    np.testing.assert_allclose(gb, gn, atol=1e-9 * np.abs(gb).max())


def test_naive_form_is_not_exact_with_a_coarse_rule(inst):
    # With a coarse QMC rule, the naive discretised gradient at theta* is not zero,
    # while the Bregman one is: the point of the Bregman form.
    fn = inst.objective(SobolRule(2 ** 8, 0), form="naive")
    fb = inst.objective(SobolRule(2 ** 8, 0), form="bregman")
    assert np.abs(fn.grad(inst.means_star)).max() > 1e-6
    assert np.abs(fb.grad(inst.means_star)).max() <= 1e-15


def test_em_statistics(inst):
    f = inst.objective()
    x = inst.start(0.3, seed=1)
    mass, moment = f.em_statistics(x)
    # sum_i E[psi_i] = 1 and sum_i E[psi_i x] = E[x] = teacher mean, for any rule that
    # integrates constants and linear functions exactly (symmetric trapezoid does).
    assert abs(mass.sum() - 1.0) <= 1e-13
    np.testing.assert_allclose(moment.sum(axis=0), inst.teacher.weights @ inst.teacher.means, atol=1e-12)
    # at theta*, E[psi_i] = pi_i
    mass_star, _ = f.em_statistics(inst.means_star)
    np.testing.assert_allclose(mass_star, inst.weights, atol=1e-14)


def test_chunking_does_not_change_results(inst):
    x = inst.start(0.3, seed=4)
    a = inst.objective(chunk_size=7).evaluate(x)
    b = inst.objective(chunk_size=100_000).evaluate(x)
    assert abs(a.loss - b.loss) <= 1e-15 * max(1.0, abs(b.loss)) + 1e-18
    np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-17)
    np.testing.assert_allclose(a.moment, b.moment, rtol=1e-12, atol=1e-15)


def test_counts_evaluations(inst):
    f = inst.objective()
    x = inst.start(0.3, seed=4)
    f.loss(x)
    f.loss_and_grad(x)
    f.grad(x)
    f.evaluate(x)
    f.hessian(x)
    assert f.n_evals == 4
    assert f.counts["loss"] == 1 and f.counts["hessian"] == 1
    f.reset_counter()
    assert f.n_evals == 0


def test_far_from_origin_translation_invariance():
    base = gmmlit.triangle_instance(n=5, seed=1)
    shift = np.array([1e6, -1e6])
    t2 = Mixture(base.teacher.weights, base.teacher.means + shift)
    f1 = base.objective()
    f2 = PopulationKL(t2, base.weights)
    x = base.start(0.3, seed=0)
    l1, g1 = f1.loss_and_grad(x)
    l2, g2 = f2.loss_and_grad(x + shift)
    assert np.isfinite(l2)
    # nodes are offsets from each teacher mean, so the shift cancels up to the rounding
    # of x + shift (1e6 * 1e-16 = 1e-10 absolute in the means)
    assert abs(l1 - l2) <= 1e-8 * l1
    np.testing.assert_allclose(g1, g2, atol=1e-8 * np.abs(g1).max())


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(weights=[0.5, 0.6]), ValueError, "sum to 1"),
        (dict(weights=[0.5, -0.1, 0.6]), ValueError, "positive"),
        (dict(weights=[0.5, np.nan, 0.5]), ValueError, "finite"),
        (dict(rule="trapezoid"), TypeError, "rule"),
        (dict(form="exact"), ValueError, "form"),
        (dict(teacher="p*"), TypeError, "teacher"),
        (dict(chunk_size=0), ValueError, "chunk_size"),
    ],
)
def test_constructor_validation(kwargs, exc, words):
    args = dict(teacher=Mixture([0.5, 0.5], [[0.0], [3.0]]), weights=[0.25, 0.25, 0.5])
    args.update(kwargs)
    with pytest.raises(exc) as info:
        PopulationKL(args.pop("teacher"), args.pop("weights"), **args)
    assert words in str(info.value)


@pytest.mark.parametrize(
    "means, words",
    [
        (np.zeros((3, 2)), "1 columns"),
        (np.zeros((2, 1)), "3 rows"),
        (np.zeros(3), "2-D"),
        (np.array([[0.0], [np.nan], [1.0]]), "finite"),
    ],
)
def test_means_validation(means, words):
    f = PopulationKL(Mixture([0.5, 0.5], [[0.0], [3.0]]), [0.25, 0.25, 0.5])
    with pytest.raises(ValueError) as info:
        f.loss(means)
    assert words in str(info.value) and "means" in str(info.value)


def test_dimension_mismatch_between_teacher_and_student():
    f = PopulationKL(Mixture([0.5, 0.5], [[0.0, 0.0], [3.0, 0.0]]), [0.5, 0.5])
    with pytest.raises(ValueError, match="means must have 2 columns"):
        f.grad(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: TrapezoidRule(h=-0.1), "h"),
        (lambda: TrapezoidRule(h=0.2, radius=1.0), "radius"),
        (lambda: TrapezoidRule(h=np.nan), "h"),
        (lambda: GaussHermiteRule(order=0), "order"),
        (lambda: GaussHermiteRule(order=2.5), "order"),
        (lambda: ProductRule(n_orth=0), "n_orth"),
        (lambda: SobolRule(n_points=1000), "power of two"),
        (lambda: SobolRule(seed=-1), "seed"),
    ],
)
def test_rule_parameters_validated(make, words):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    assert words in str(info.value)


def test_rule_size_guard():
    t = Mixture([1.0], np.zeros((1, 6)))
    with pytest.raises(ValueError, match="nodes"):
        PopulationKL(t, [1.0], TrapezoidRule(0.05, 10.0))


def test_bregman_integrand_with_fewer_terms_matches_the_full_series():
    # the number of Taylor terms adapts to the largest |s|; against the full 18-term sum
    # (and against decimal arithmetic) nothing changes beyond an ulp or two
    from decimal import Decimal, getcontext

    from gmmlit.core.objective import series_terms

    getcontext().prec = 50
    rng = np.random.default_rng(3)
    assert [series_terms(x) for x in (1.0, 1e-3, 1e-6, 0.0)] == [18, 5, 3, 1]
    for scale in (1.0, 1e-1, 1e-3, 1e-6, 1e-10):
        s = scale * rng.uniform(-1.0, 1.0, 200)
        got = bregman_integrand(s)
        for x, g in zip(s[:40], got[:40]):
            exact = Decimal(float(x)).exp() - 1 - Decimal(float(x))
            assert abs(Decimal(float(g)) - exact) <= abs(exact) * Decimal(4e-16), (scale, x)
    # a mixed array (some |s| > 1) takes both branches
    mixed = np.array([1e-9, -2.5, 0.3, 4.0])
    np.testing.assert_allclose(bregman_integrand(mixed)[[1, 3]], np.expm1(mixed[[1, 3]]) - mixed[[1, 3]], rtol=1e-15)

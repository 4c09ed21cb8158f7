"""Tests of gmmlit.theory.symbolic: every derivation passes, and a wrong formula is rejected.

The symbolic checks compare exact expressions, so there is no tolerance: a residual is
either identically zero or not. Each check that takes a candidate formula is also fed a
wrong one, to show that it can fail.
"""

import numpy as np
import pytest
import sympy as sp

from gmmlit.theory import symbolic as S


# ---------------------------------------------------------------------- pointwise derivatives
@pytest.mark.claim("gradient-hessian.pointwise-gradient", kind="sympy")
@pytest.mark.parametrize("n, d", [(2, 1), (3, 1), (2, 2), (3, 2)])
def test_pointwise_gradient(n, d):
    result = S.check_pointwise_gradient(n, d)
    assert result.passed, result.to_markdown()


@pytest.mark.claim("gradient-hessian.pointwise-gradient", kind="sympy")
def test_wrong_gradient_is_rejected():
    def plus_sign(sym, i):  # the sign of the derived gradient flipped
        return -S.gradient_formula(sym, i)

    assert not S.check_pointwise_gradient(2, 1, formula=plus_sign).passed


@pytest.mark.claim("gradient-hessian.pointwise-hessian", kind="sympy")
@pytest.mark.parametrize("n, d", [(2, 1), (3, 1), (2, 2)])
def test_pointwise_hessian(n, d):
    result = S.check_pointwise_hessian(n, d)
    assert result.passed, result.to_markdown()


@pytest.mark.claim("gradient-hessian.pointwise-hessian", kind="sympy")
def test_wrong_hessian_is_rejected():
    def without_identity(sym, i, k):  # forgets the "- I" inside the diagonal blocks
        ri, rk = sym.offset(i), sym.offset(k)
        block = -sym.responsibility(i) * sym.responsibility(k) * ri * rk.T
        if i == k:
            block += sym.responsibility(i) * ri * ri.T
        return -block

    assert not S.check_pointwise_hessian(2, 1, formula=without_identity).passed

    def indexed_zero(psi, r, delta, a, b):  # any wrong block
        return sp.Integer(0)

    assert not S.check_indexed_derivatives(1, hessian_formula=indexed_zero).passed


@pytest.mark.claim("gradient-hessian.pointwise-gradient", "gradient-hessian.pointwise-hessian", kind="sympy")
@pytest.mark.parametrize("d", [1, 2])
def test_indexed_derivatives_symbolic_n(d):
    result = S.check_indexed_derivatives(d)
    assert result.passed, result.to_markdown()


# ---------------------------------------------------------------------- Gaussian integrals
def test_gaussian_expectation_matches_direct_integration():
    z = sp.Symbol("z", real=True)
    density = sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)
    for k in range(7):
        direct = sp.integrate(z ** k * density, (z, -sp.oo, sp.oo))
        assert sp.simplify(S.gaussian_expectation(z ** k, [z]) - direct) == 0
    # correlated pair: a = z1, b = c z1 + s z2 with c^2 + s^2 = 1 has covariance [[1, c], [c, 1]]
    z1, z2, a, b = sp.symbols("z1 z2 a b", real=True)
    c = sp.Rational(3, 5)
    s = sp.Rational(4, 5)
    cov = sp.Matrix([[1, c], [c, 1]])
    for poly in (a * b, a ** 2 * b ** 2, a ** 3 * b, a * b ** 3 + 2 * a ** 2):
        via_cov = S.gaussian_expectation(poly, [a, b], cov)
        substituted = sp.expand(poly.subs({a: z1, b: c * z1 + s * z2}))
        via_independent = S.gaussian_expectation(substituted, [z1, z2])
        assert sp.simplify(via_cov - via_independent) == 0


def test_gaussian_expectation_rejects_wrong_covariance_shape():
    a, b = sp.symbols("a b")
    with pytest.raises(ValueError, match="covariance"):
        S.gaussian_expectation(a * b, [a, b], sp.eye(3))


# ---------------------------------------------------------------------- m = 1 expansions
@pytest.mark.claim("ravine.quartic-growth-one-component", kind="sympy")
@pytest.mark.parametrize("n, d", [(2, 1), (3, 1), (2, 2), (3, 2), (2, None), (3, None)])
def test_m1_quartic_expansion(n, d):
    result = S.check_m1_quartic_expansion(n, d)
    assert result.passed, result.to_markdown()


@pytest.mark.claim("ravine.quartic-growth-one-component", kind="sympy")
def test_wrong_quartic_constant_is_rejected():
    def eighth(weights, gram):  # 1/8 instead of 1/4
        return S.m1_quartic_closed_form(weights, gram) * sp.Rational(1, 2)

    assert not S.check_m1_quartic_expansion(2, 1, quartic=eighth).passed


@pytest.mark.claim("ravine.quartic-growth-one-component", kind="sympy")
def test_m1_loss_coefficients_vanish_at_odd_orders_for_any_direction():
    # not only on T: for m = 1 every odd-order term vanishes by parity
    series = S.m1_loss_coefficients(3, 2, tangent=False, order=5)
    for k in (0, 1, 3, 5):
        assert series.coefficients[k] == 0
    assert series.coefficients[2] != 0  # the quadratic term does not vanish off T


@pytest.mark.claim("ravine.quadratic-growth", kind="sympy")
@pytest.mark.parametrize("n, d", [(2, 1), (3, 2)])
def test_m1_quadratic_growth(n, d):
    assert S.check_m1_quadratic_growth(n, d).passed


@pytest.mark.claim("gradient-hessian.hessian-is-fisher", "ravine.tangent-null-space", kind="sympy")
@pytest.mark.parametrize("n, d", [(2, 1), (2, 2), (3, 1)])
def test_m1_hessian_is_fisher(n, d):
    result = S.check_m1_hessian_is_fisher(n, d)
    assert result.passed, result.to_markdown()


# ---------------------------------------------------------------------- any m
@pytest.mark.claim("ravine.quartic-growth", kind="sympy")
def test_density_ratio_identity():
    assert S.check_density_ratio_identity().passed


@pytest.mark.claim("ravine.quartic-growth", kind="sympy")
@pytest.mark.parametrize("sizes, d", [((2, 1), 1), ((2, 2), 1), ((1, 3), 1), ((2, 1), 2)])
def test_density_ratio_expansion(sizes, d):
    result = S.check_density_ratio_expansion(sizes, d)
    assert result.passed, result.to_markdown()


@pytest.mark.claim("ravine.separated-limit", kind="sympy")
@pytest.mark.parametrize("d", [1, 2, 3])
def test_separated_limit(d):
    assert S.check_separated_limit(d).passed


# ---------------------------------------------------------------------- Polyak and GD on quartics
@pytest.mark.claim("polyak.quartic-step", "polyak.three-quarters", kind="sympy")
@pytest.mark.parametrize("k", [2, 3])
def test_polyak_quartic_step(k):
    result = S.check_polyak_quartic_step(k)
    assert result.passed, result.to_markdown()
    assert result.expressions["radial factor"] == sp.Rational(3, 4)


@pytest.mark.claim("slowdown.gd-quartic-sublinear", kind="sympy")
def test_gd_quartic_asymptotics():
    result = S.check_gd_quartic_asymptotics()
    assert result.passed, result.detail


@pytest.mark.claim("slowdown.gd-quartic-sublinear", kind="sympy")
def test_gd_quartic_increment_series():
    series, (x, a, eta) = S.gd_quartic_increment_series(4)
    assert sp.expand(series - (8 * a * eta + 48 * a ** 2 * eta ** 2 * x ** 2)) == 0


# ---------------------------------------------------------------------- the implementation against sympy
@pytest.mark.claim("gradient-hessian.pointwise-gradient", kind="sympy")
@pytest.mark.parametrize("dim", [1, 2])
def test_gradient_implementation(dim):
    from gmmlit.core.instances import sympy_check_instance as default_instance

    result = S.check_gradient_implementation(default_instance(dim))
    assert result.passed, result.detail


@pytest.mark.claim("gradient-hessian.pointwise-hessian", kind="sympy")
@pytest.mark.parametrize("dim", [1, 2])
def test_hessian_implementation(dim):
    from gmmlit.core.instances import sympy_check_instance as default_instance

    result = S.check_hessian_implementation(default_instance(dim))
    assert result.passed, result.detail


@pytest.mark.claim("gradient-hessian.pointwise-hessian", "gradient-hessian.hessian-is-fisher", kind="sympy")
def test_hessian_implementation_rejects_gauss_newton():
    from gmmlit.theory.quartic import fisher_information

    assert not S.check_hessian_implementation(hessian=fisher_information).passed


@pytest.mark.claim("ravine.quartic-growth", kind="sympy")
def test_quartic_implementation():
    result = S.check_quartic_implementation()
    assert result.passed, result.detail


@pytest.mark.claim("ravine.quartic-growth", kind="sympy")
def test_quartic_implementation_rejects_a_wrong_constant(monkeypatch):
    from gmmlit.theory import quartic

    monkeypatch.setattr(quartic.QuarticModel, "form", lambda self, v: 0.5 * float(
        self.nodes.w @ self.curvature(v) ** 2) * 1.001)
    assert not S.check_quartic_implementation().passed


@pytest.mark.claim("computing.bregman-exact", kind="sympy")
def test_bregman_integrand():
    result = S.check_bregman_integrand()
    assert result.passed, result.detail


# ---------------------------------------------------------------------- display and validation
def test_to_markdown_shows_status_and_latex():
    result = S.check_polyak_quartic_step(2)
    text = result.to_markdown()
    assert text.startswith("**Polyak step")
    assert "passed" in text and "\\frac{3}{4}" in text
    assert "&lt;" in text or "<" not in text.split("\n", 1)[1]  # labels are escaped for markdown


def test_argument_checks():
    with pytest.raises(ValueError, match="d must be"):
        S.check_pointwise_gradient(2, 4)
    with pytest.raises(ValueError, match="n must be"):
        S.check_pointwise_hessian(9, 1)
    with pytest.raises(TypeError, match="n must be an integer"):
        S.check_pointwise_gradient(2.0, 1)
    with pytest.raises(ValueError, match="n must be >= 2"):
        S.check_m1_quartic_expansion(1, 1)
    with pytest.raises(ValueError, match="at most 6 students"):
        S.check_density_ratio_expansion((3, 4), 1)
    with pytest.raises(ValueError, match="n_vars"):
        S.check_polyak_quartic_step(7)


def test_wick_moment_counts_pairings():
    # E[a^4] = 3 C^2; E[a^2 b^2] = C_aa C_bb + 2 C_ab^2
    c = [[2, 1], [1, 3]]
    assert S.wick_moment((4, 0), c, 1) == 3 * 4
    assert S.wick_moment((2, 2), c, 1) == 2 * 3 + 2 * 1
    assert S.wick_moment((3, 0), c, 1) == 0
    assert np.isclose(float(S.wick_moment((0, 0), c, 1)), 1.0)

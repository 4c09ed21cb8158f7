"""Claims of the gradient-hessian chapter checked numerically: at theta* the Bregman Hessian
is the Fisher information written independently from the teacher's responsibilities; away
from theta* it is the derivative of the gradient (which a Gauss-Newton Hessian is not); the
naive form's Hessian differs from the Fisher information by the rule's error only."""

import numpy as np
import pytest

from gmmlit.core.quadrature import TrapezoidRule
from gmmlit.theory.quartic import fisher_information
from tests.claim_support import (
    RULE, finite_difference_hessian, node_count, small_instances, summation_bound, teacher_fisher,
)

#: Step of the central differences, and the distance from theta* where they are compared.
FD_STEP = 1e-5
AWAY = 0.4


def fisher_gap(objective, means_star, assignment, hessian):
    """``(gap, tolerance)``: the largest entry of ``hessian(theta*) - F`` relative to ``max|F|``,
    ``F`` the teacher Fisher information, and the rounding bound it must stay below.

    Both sides are sums over the ``N`` rule nodes of terms whose absolute values sum to at
    most ``max|F|`` entrywise (Cauchy-Schwarz: ``sum_k w_k |g_i g_j| <= sqrt(F_ii F_jj)``), so
    each is within ``gamma_N max|F|`` of the exact discrete sum; a factor 4 covers both sides
    and forming each term (a few roundings).
    """
    fisher = teacher_fisher(objective, means_star, assignment)
    gap = np.abs(hessian(means_star) - fisher).max() / np.abs(fisher).max()
    return float(gap), 4 * summation_bound(node_count(objective))


def finite_difference_gap(objective, away, hessian):
    """``(gap, tolerance)``: the largest entry of ``hessian(away)`` minus central differences
    of the gradient with step ``FD_STEP``, relative to their largest entry, and its bound.

    The bound is the difference between the central differences with steps ``h`` and ``2h``:
    their truncation errors are ``c h^2`` and ``4 c h^2``, so that difference is three times
    the truncation error at ``h`` (margin 3), and it also carries the rounding noise of the
    differences (``~ u |grad| / h``, twice as large at ``h`` as at ``2h``).
    """
    fd = finite_difference_hessian(objective, away, FD_STEP)
    fd2 = finite_difference_hessian(objective, away, 2 * FD_STEP)
    scale = np.abs(fd).max()
    return float(np.abs(hessian(away) - fd).max() / scale), float(np.abs(fd - fd2).max() / scale)


def _away_point(inst):
    rng = np.random.default_rng(11)
    return inst.means_star + AWAY * rng.standard_normal(inst.means_star.shape)


@pytest.mark.claim("gradient-hessian.hessian-is-fisher")
def test_bregman_hessian_is_the_fisher_at_the_minimiser_and_the_derivative_away(record_property):
    tri, _ = small_instances()
    obj = tri.objective(RULE)
    at_star, star_tol = fisher_gap(obj, tri.means_star, tri.assignment, obj.hessian)
    away, away_tol = finite_difference_gap(obj, _away_point(tri), obj.hessian)
    record_property("measured", f"at theta*: {at_star:.1e} (bound {star_tol:.0e}); at distance {AWAY}: "
                                f"{away:.1e} to finite differences (bound {away_tol:.0e})")
    assert at_star <= star_tol
    assert away <= away_tol


@pytest.mark.claim("gradient-hessian.hessian-is-fisher")
def test_gauss_newton_hessian_passes_at_the_minimiser_and_fails_away():
    """The outer-product term alone (Gauss-Newton) equals the Fisher information at theta*,
    so only the comparison away from theta* tells it from the Hessian: there it must fail."""
    tri, _ = small_instances()
    obj = tri.objective(RULE)

    def gauss_newton(means):
        return fisher_information(obj, means)

    at_star, star_tol = fisher_gap(obj, tri.means_star, tri.assignment, gauss_newton)
    away, away_tol = finite_difference_gap(obj, _away_point(tri), gauss_newton)
    assert at_star <= star_tol
    assert away > away_tol


@pytest.mark.claim("gradient-hessian.hessian-is-fisher")
def test_naive_hessian_differs_from_the_fisher_by_the_rules_error(record_property):
    """The naive form's Hessian at theta* minus the Fisher information, on the same rule,
    is the rule's error: on the fine rule (h = 0.15) it is within the rounding bound of
    :func:`fisher_gap`; on the coarse one (h = 0.3) within twice the change of the two
    matrices from the coarse to the fine rule (the coarse rule's error, up to the fine
    rule's: margin 2)."""
    tri, _ = small_instances()
    naive, fisher, count = {}, {}, {}
    for h in (0.3, 0.15):
        rule = TrapezoidRule(h=h)
        obj = tri.objective(rule)
        fisher[h] = teacher_fisher(obj, tri.means_star, tri.assignment)
        naive[h] = tri.objective(rule, form="naive").hessian(tri.means_star)
        count[h] = node_count(obj)
    scale = np.abs(fisher[0.15]).max()
    gap = {h: np.abs(naive[h] - fisher[h]).max() / scale for h in naive}
    rule_error = (np.abs(naive[0.3] - naive[0.15]).max() + np.abs(fisher[0.3] - fisher[0.15]).max()) / scale
    fine_tol = 4 * summation_bound(count[0.15])
    record_property("measured", f"naive - Fisher: {gap[0.3]:.1e} (h=0.3; rule error {rule_error:.1e}), "
                                f"{gap[0.15]:.1e} (h=0.15; rounding bound {fine_tol:.0e})")
    assert gap[0.15] <= fine_tol
    assert gap[0.3] <= 2 * rule_error + 4 * summation_bound(count[0.3])

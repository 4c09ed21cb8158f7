"""Callable checks of the gradient and the Hessian (chapter gradient-hessian)."""

from __future__ import annotations

import numpy as np

from ..model import CheckResult
from ._common import from_symbolic, rule, small_instances


def gradient_sympy():
    """sympy's gradient of -log p_theta against the written formula (n=2, d=1; n=3, d=2)."""
    from ...theory.symbolic import check_pointwise_gradient

    return from_symbolic(check_pointwise_gradient(2, 1), check_pointwise_gradient(3, 2))


def indexed_sympy():
    """Gradient and Hessian for a symbolic number of components (indexed sums), d = 1, 2."""
    from ...theory.symbolic import check_indexed_derivatives

    return from_symbolic(check_indexed_derivatives(1), check_indexed_derivatives(2))


def hessian_sympy():
    """sympy's Hessian blocks of -log p_theta against the written formula (n=2, d=1; n=3, d=2)."""
    from ...theory.symbolic import check_pointwise_hessian

    return from_symbolic(check_pointwise_hessian(2, 1), check_pointwise_hessian(3, 2))


def m1_hessian_fisher_sympy():
    """m = 1: Hessian at theta* = Fisher information = (pi pi^T) x I, null space T (exact integrals)."""
    from ...theory.symbolic import check_m1_hessian_is_fisher

    return from_symbolic(check_m1_hessian_is_fisher(2, 1), check_m1_hessian_is_fisher(3, 2))


def teacher_fisher(objective, means_star, assignment):
    """Fisher information at ``theta*`` from the *teacher's* responsibilities, on the rule nodes.

    Written independently of :meth:`PopulationKL.hessian` and of
    :func:`gmmlit.theory.quartic.fisher_information`: at ``theta*`` the student score is
    ``g_i(x) = (pi_i / pi*_j) psi*_j(x) (x - mu*_j)`` with ``j = sigma(i)``, and
    ``F = E_{p*}[g g^T]`` (index ``i*d + a``). The responsibilities ``psi*_j`` are a
    log-sum-exp written here.
    """
    teacher = objective.teacher
    x, w = objective.nodes()
    a = np.asarray(assignment)
    r = x[:, None, :] - teacher.means[None, :, :]  # (N, m, d)
    log_k = np.log(teacher.weights)[None, :] - 0.5 * np.sum(r * r, axis=2)
    log_k -= log_k.max(axis=1, keepdims=True)
    psi_star = np.exp(log_k)
    psi_star /= psi_star.sum(axis=1, keepdims=True)
    ratio = objective.weights / teacher.weights[a]
    g = (ratio[None, :, None] * psi_star[:, a, None] * r[:, a, :]).reshape(x.shape[0], -1)
    return g.T @ (g * w[:, None])


def finite_difference_hessian(objective, means, step=1e-5):
    """Central differences of ``objective.grad``, symmetrised; shape ``(n d, n d)``."""
    theta = np.asarray(means, dtype=float)
    k = theta.size
    out = np.empty((k, k))
    for col in range(k):
        e = np.zeros(k)
        e[col] = step
        plus = objective.grad(theta + e.reshape(theta.shape)).ravel()
        minus = objective.grad(theta - e.reshape(theta.shape)).ravel()
        out[:, col] = (plus - minus) / (2 * step)
    return 0.5 * (out + out.T)


def hessian_gaps(objective, means_star, assignment, away, hessian=None):
    """Relative gaps of a Hessian: at ``theta*`` to :func:`teacher_fisher`, and at ``away``
    to :func:`finite_difference_hessian`. ``hessian(means)`` defaults to ``objective.hessian``
    (a test hands in a Gauss-Newton Hessian to see the check fail)."""
    hessian = objective.hessian if hessian is None else hessian
    fisher = teacher_fisher(objective, means_star, assignment)
    at_star = np.abs(hessian(means_star) - fisher).max() / np.abs(fisher).max()
    fd = finite_difference_hessian(objective, away)
    off_star = np.abs(hessian(away) - fd).max() / np.abs(fd).max()
    return float(at_star), float(off_star)


#: Tolerances of :func:`hessian_fisher_numeric`. At ``theta*`` the two sides are sums of
#: ~1e4 terms of size <= 1 (rounding ~1e-15 relative); the central difference with step
#: 1e-5 has truncation error ~1e-10 and cancellation ~1e-16 / 1e-5 relative.
FISHER_TOL = 1e-12
FINITE_DIFFERENCE_TOL = 1e-9


def hessian_fisher_numeric(hessian_of=None):
    """The Bregman Hessian at theta* equals an independently written Fisher information;
    away from theta* it matches finite differences of the gradient (a Gauss-Newton Hessian,
    the outer-product term only, passes the first comparison and fails the second); the
    naive form's Hessian equals the Fisher information up to the rule's error.

    ``hessian_of(objective)`` returns the Hessian callable to test (default: the objective's).
    """
    from ...core.quadrature import TrapezoidRule

    tri, _ = small_instances()
    rng = np.random.default_rng(11)
    away = tri.means_star + 0.4 * rng.standard_normal(tri.means_star.shape)
    obj = tri.objective(rule())
    at_star, off_star = hessian_gaps(obj, tri.means_star, tri.assignment, away,
                                     None if hessian_of is None else hessian_of(obj))
    naive = {}
    for h in (0.3, 0.15):
        r = TrapezoidRule(h=h)
        fisher = teacher_fisher(tri.objective(r), tri.means_star, tri.assignment)
        naive[h] = np.abs(tri.objective(r, form="naive").hessian(tri.means_star) - fisher).max() / np.abs(fisher).max()
    # Naive: the trapezoid error exp(-2 pi a / h) with a = pi / D, D = 4 the teacher separation:
    # ~7e-8 at h = 0.3, ~5e-15 at h = 0.15, so below 1e-10 (the default rule's accuracy) there.
    passed = at_star <= FISHER_TOL and off_star <= FINITE_DIFFERENCE_TOL and naive[0.15] <= 1e-10 and naive[0.3] <= 1e-6
    return CheckResult(
        passed,
        f"at theta*: {at_star:.1e} to the teacher Fisher; at distance 0.4: {off_star:.1e} to finite differences; "
        f"naive {naive[0.3]:.1e} (h=0.3), {naive[0.15]:.1e} (h=0.15)",
        f"max relative entry differences; triangle, n=6; tolerances {FISHER_TOL:g} and {FINITE_DIFFERENCE_TOL:g}",
    )


def gradient_implementation_sympy():
    """``PopulationKL.grad`` against sympy's gradient of the integrand, on and off the ravine."""
    from ...theory.symbolic import check_gradient_implementation
    from ...theory.symbolic._instance import default_instance

    return from_symbolic(check_gradient_implementation(), check_gradient_implementation(default_instance(1)))


def hessian_implementation_sympy():
    """``PopulationKL.hessian`` against sympy's Hessian of the integrand, on and off the ravine."""
    from ...theory.symbolic import check_hessian_implementation
    from ...theory.symbolic._instance import default_instance

    return from_symbolic(check_hessian_implementation(), check_hessian_implementation(default_instance(1)))

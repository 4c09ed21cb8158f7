"""Callable checks of the discretised Bregman loss (chapter computing)."""

from __future__ import annotations

import numpy as np

from ..model import CheckResult
from ._common import from_symbolic, small_instances


def bregman_numeric():
    """Bregman loss >= 0 with any rule (Sobol included) and 0 with zero gradient at theta*."""
    from ...core.quadrature import GaussHermiteRule, SobolRule, TrapezoidRule

    tri, _ = small_instances()
    rng = np.random.default_rng(7)
    worst_neg, worst_star, worst_grad = 0.0, 0.0, 0.0
    for rule in (SobolRule(2 ** 8, seed=1), GaussHermiteRule(5), TrapezoidRule(0.5, 6.0)):
        obj = tri.objective(rule)
        for _ in range(5):
            worst_neg = min(worst_neg, obj.loss(tri.means_star + rng.normal(scale=1.0, size=tri.means_star.shape)))
        loss, grad = obj.loss_and_grad(tri.means_star)
        worst_star = max(worst_star, abs(loss))
        worst_grad = max(worst_grad, np.abs(grad).max())
    passed = worst_neg >= 0 and worst_star <= 1e-15 and worst_grad <= 1e-15
    return CheckResult(passed, f"min loss {worst_neg:.1e}; at theta*: |L| {worst_star:.1e}, |grad| {worst_grad:.1e}", "Sobol 2^8, Gauss-Hermite 5, trapezoid 0.5")



def bregman_integrand_sympy():
    """The implementation of ``e^s - 1 - s`` against its exact value (:func:`gmmlit.theory.symbolic.check_bregman_integrand`)."""
    from ...theory.symbolic import check_bregman_integrand

    return from_symbolic(check_bregman_integrand())

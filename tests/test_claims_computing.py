"""Claims of the computing chapter checked numerically: the discretised Bregman loss is
nonnegative with every rule and exactly zero, with zero gradient, at theta*; a wrong
Bregman integrand is caught."""

import numpy as np
import pytest

from gmmlit.core.quadrature import GaussHermiteRule, SobolRule, TrapezoidRule
from gmmlit.theory.symbolic import check_bregman_integrand
from tests.claim_support import UNIT_ROUNDOFF, small_instances


def rounding_at_the_minimiser(objective, means_star):
    """Bounds on ``|L|`` and ``max|grad|`` at theta* from the rounding of ``s`` alone.

    At theta* ``s = log p_theta - log p*`` is 0 in exact arithmetic; computed, each log-sum-
    exp of ``n`` (or ``m``) terms of size up to ``E = max_i (|x - mu_i|^2 / 2 + |log pi_i|)``
    errs by at most ``(n + 4) u (E + 1)`` (a few roundings per term and the final log), so
    ``|s_k| <= sigma_k := (n + m + 8) u (E_k + 1)``. Then ``0 <= e^s - 1 - s <= s^2 e^|s| / 2``
    bounds the loss by ``sum_k w_k sigma_k^2 e^sigma_k / 2``, and each gradient entry
    ``sum_k w_k psi_i (e^s - 1) (x - mu_i)`` by ``sum_k w_k sigma_k e^sigma_k max_i|x_k - mu_i|``;
    a factor 2 covers the rounding of the sums themselves (each below its bound's size).
    """
    x, w = objective.nodes()
    teacher, weights = objective.teacher, objective.weights
    dist2 = np.sum((x[:, None, :] - means_star[None, :, :]) ** 2, axis=2)
    energy = 0.5 * dist2.max(axis=1) + max(np.abs(np.log(weights)).max(), np.abs(np.log(teacher.weights)).max())
    sigma = (len(weights) + len(teacher.weights) + 8) * UNIT_ROUNDOFF * (energy + 1)
    loss_bound = 2 * float(np.sum(w * sigma ** 2 * np.exp(sigma)) / 2)
    grad_bound = 2 * float(np.sum(w * sigma * np.exp(sigma) * np.sqrt(dist2.max(axis=1))))
    return loss_bound, grad_bound


@pytest.mark.claim("computing.bregman-exact")
def test_bregman_loss_is_nonnegative_and_exact_at_the_minimiser_with_any_rule(record_property):
    """``e^s - 1 - s >= 0`` termwise with positive weights, so the loss is ``>= 0`` exactly;
    at theta* every ``s`` is 0 and every term of the loss and of the gradient vanishes, so
    both are 0 up to the rounding of ``s`` itself (:func:`rounding_at_the_minimiser`)."""
    tri, _ = small_instances()
    rng = np.random.default_rng(7)
    worst_neg, worst_star, worst_grad, excess = 0.0, 0.0, 0.0, 0.0
    for rule in (SobolRule(2 ** 8, seed=1), GaussHermiteRule(5), TrapezoidRule(0.5, 6.0)):
        obj = tri.objective(rule)
        for _ in range(5):
            worst_neg = min(worst_neg, obj.loss(tri.means_star + rng.normal(scale=1.0, size=tri.means_star.shape)))
        loss, grad = obj.loss_and_grad(tri.means_star)
        loss_bound, grad_bound = rounding_at_the_minimiser(obj, tri.means_star)
        worst_star = max(worst_star, abs(loss))
        worst_grad = max(worst_grad, np.abs(grad).max())
        excess = max(excess, abs(loss) / loss_bound, np.abs(grad).max() / grad_bound)
    record_property("measured", f"min loss {worst_neg:.1e}; at theta*: |L| {worst_star:.1e}, |grad| {worst_grad:.1e} "
                                f"(at most {excess:.1e} of their rounding bounds)")
    assert worst_neg >= 0
    assert excess <= 1


@pytest.mark.claim("computing.bregman-exact")
def test_wrong_bregman_integrand_is_rejected():
    assert check_bregman_integrand().passed
    assert not check_bregman_integrand(integrand=lambda s: np.expm1(s) - s).passed  # cancellation for small s
    assert not check_bregman_integrand(integrand=lambda s: 0.5 * np.asarray(s) ** 2).passed

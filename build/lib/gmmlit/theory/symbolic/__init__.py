"""Symbolic derivations (sympy) behind the local theory, each packaged as a check.

Every ``check_*`` function derives or verifies one formula with sympy and returns a
:class:`SymbolicCheck`: ``passed`` plus the symbolic expressions involved (derived
formula, sympy's own result, their difference), so that a chapter can display them
with :meth:`SymbolicCheck.to_markdown`. Candidate formulas are arguments where that makes
sense, so that a test can hand in a wrong formula and see the check fail.

Contents
--------
* Pointwise derivatives of ``-log p_theta(x)`` in the means, for explicit ``n`` and
  ``d in {1, 2}`` and for a symbolic number of components ``n`` (indexed sums):
  :func:`check_pointwise_gradient`, :func:`check_pointwise_hessian`,
  :func:`check_indexed_derivatives`.
* Exact Gaussian integrals (:func:`gaussian_expectation`, :func:`wick_moment`: Isserlis'
  theorem) and, for a one-component teacher, the Hessian at ``theta*`` (equal to the
  Fisher information, ``u^T H u = |sum_i pi_i u_i|^2``, null space ``T``):
  :func:`check_m1_hessian_is_fisher`.
* The Taylor expansion of the population loss for ``m = 1`` to fifth order, with
  symbolic weights: :func:`m1_loss_coefficients`, :func:`check_m1_quartic_expansion`
  (explicit coordinates in ``d = 1, 2``, or any dimension through the Gram matrix of the
  directions) and :func:`check_m1_quadratic_growth`.
* For any ``m``, the pointwise expansion of ``p_theta / p*`` and of the Bregman
  integrand that gives the quartic form ``Q``: :func:`check_density_ratio_identity`,
  :func:`check_density_ratio_expansion`; its well separated limit:
  :func:`check_separated_limit`.
* The Polyak step on a homogeneous quartic: :func:`check_polyak_quartic_step`.
* Gradient descent on ``a x^4``: :func:`check_gd_quartic_asymptotics`.
* The implementation against sympy, at points near ``theta*`` and on the tangent space:
  :func:`check_gradient_implementation`, :func:`check_hessian_implementation`,
  :func:`check_quartic_implementation`, :func:`check_bregman_integrand`.

Modules (every name is importable from ``gmmlit.theory.symbolic`` itself): ``base`` (the
result object, the symbols of a mixture), ``gaussian`` (exact Gaussian integrals, series),
``gradient``, ``hessian``, ``quartic``, ``bregman``, ``polyak``, ``gradient_descent``.
"""

from .base import MixtureSymbols, SymbolicCheck, mixture_symbols
from .bregman import check_bregman_integrand
from .gaussian import gaussian_expectation, wick_moment
from .gradient import check_gradient_implementation, check_pointwise_gradient, gradient_formula
from .gradient_descent import check_gd_quartic_asymptotics, gd_quartic_increment_series
from .hessian import check_hessian_implementation, check_indexed_derivatives, check_pointwise_hessian, hessian_block_formula
from .polyak import check_polyak_quartic_step
from .quartic import (
    M1Series,
    check_density_ratio_expansion,
    check_density_ratio_identity,
    check_m1_hessian_is_fisher,
    check_m1_quadratic_growth,
    check_m1_quartic_expansion,
    check_quartic_implementation,
    check_separated_limit,
    free_directions,
    m1_loss_coefficients,
    m1_quartic_closed_form,
    simplex_weights,
)

__all__ = [
    "SymbolicCheck",
    "MixtureSymbols",
    "mixture_symbols",
    "gradient_formula",
    "hessian_block_formula",
    "check_pointwise_gradient",
    "check_pointwise_hessian",
    "check_indexed_derivatives",
    "wick_moment",
    "gaussian_expectation",
    "free_directions",
    "simplex_weights",
    "M1Series",
    "m1_loss_coefficients",
    "m1_quartic_closed_form",
    "check_m1_quartic_expansion",
    "check_m1_quadratic_growth",
    "check_m1_hessian_is_fisher",
    "check_density_ratio_identity",
    "check_density_ratio_expansion",
    "check_separated_limit",
    "check_polyak_quartic_step",
    "gd_quartic_increment_series",
    "check_gd_quartic_asymptotics",
    "check_gradient_implementation",
    "check_hessian_implementation",
    "check_quartic_implementation",
    "check_bregman_integrand",
]

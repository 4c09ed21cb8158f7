"""Claims of the ravine chapter checked numerically on small instances: the null space of
the Hessian is T, the loss grows quadratically across the ravine and quartically along it
(with the constants of the quartic model), the separated limit, and the curved ravine's
quartic coefficient and cluster bias. Limits are Richardson extrapolations whose error bound
comes from the extrapolations themselves (:func:`tests.claim_support.richardson_limit`)."""

import numpy as np
import pytest

from gmmlit.core.geometry import cluster_bias, project_to_ravine, tangent_basis
from gmmlit.core.instances import make_instance, split_weights, triangle_instance
from gmmlit.core.mixture import Mixture
from gmmlit.core.quadrature import GaussHermiteRule
from gmmlit.theory.quartic import QuarticModel, separated_limit
from gmmlit.theory.quartic_polyak import ravine_gradient_tolerance
from tests.claim_support import (
    RULE, node_count, richardson_limit, small_instances, summation_bound, unit_directions,
)

#: Every limit must be resolved to better than a tenth of its value, else the check
#: would prove nothing (the bounds measured are 1e-4 or smaller).
RESOLUTION = 0.1


def _assert_limit(limit, bound, expected):
    assert bound <= RESOLUTION * abs(expected)
    assert abs(limit - expected) <= bound


@pytest.mark.claim("ravine.tangent-null-space")
@pytest.mark.parametrize("which", ["triangle", "one component"])
def test_hessian_null_space_is_the_tangent_space(which, record_property):
    """The eigenvalues of ``H`` at rounding level number ``d(n - m)`` and span ``T``.

    ``H`` is a sum over ``N`` nodes: each entry is within ``gamma_N max|H|`` of the exact
    discrete sum (as the Fisher information in the gradient-hessian tests), so the error
    matrix ``E`` has ``||E||_2 <= nd gamma_N max|H|`` =: ``tol``, which bounds how far a zero
    eigenvalue moves (Weyl). The sine of the largest angle between the computed null space
    and ``T`` is at most ``tol / gap`` (Davis-Kahan), ``gap`` the smallest nonzero eigenvalue.
    Principal angles do not depend on the bases of the two spaces."""
    inst = dict(zip(["triangle", "one component"], small_instances()))[which]
    obj = inst.objective(RULE)
    h = obj.hessian(inst.means_star)
    n, d = inst.means_star.shape
    tol = n * d * summation_bound(node_count(obj)) * np.abs(h).max()
    vals, vecs = np.linalg.eigh(h)
    small = np.abs(vals) <= tol
    gap = vals[~small].min()
    null = vecs[:, small]
    basis = tangent_basis(inst.weights, inst.assignment, d)
    # the sine of the largest principal angle, ||(I - P_T) N||_2 (an arccos of the cosines
    # would lose everything below ~1e-8 rad to rounding)
    sine = float(np.linalg.norm(null - basis @ (basis.T @ null), 2))
    # tol / gap, plus eigh's own backward error (a small multiple of u ||H||_2, taken as nd u ||H||_2)
    sine_bound = (tol + n * d * 2.0 ** -53 * vals.max()) / gap
    record_property("measured", f"nullity {int(small.sum())} (d(n-m) = {d * (n - inst.m)}); sine of the largest "
                                f"angle to T {sine:.1e} (bound {sine_bound:.0e}); smallest nonzero eigenvalue {gap:.3g}")
    assert int(small.sum()) == d * (n - inst.m)
    assert sine <= sine_bound


@pytest.mark.claim("ravine.quadratic-growth")
def test_loss_across_the_ravine_tends_to_half_the_curvature(record_property):
    """``L(theta* + t u) / t^2 -> u^T H u / 2`` for a normal direction ``u``."""
    tri, _ = small_instances()
    obj = tri.objective(RULE)
    _, u = unit_directions(tri, seed=1)
    half_curvature = 0.5 * u.ravel() @ obj.hessian(tri.means_star) @ u.ravel()
    limit, bound = richardson_limit(lambda t: obj.loss(tri.means_star + t * u) / t ** 2, 1e-2,
                                    rel_rounding=summation_bound(node_count(obj)))
    record_property("measured", f"L/t^2 -> {limit:.8f} (error bound {bound:.0e}), u^T H u/2 = {half_curvature:.8f}")
    _assert_limit(limit, bound, half_curvature)


@pytest.mark.claim("ravine.quartic-growth")
@pytest.mark.parametrize("which", ["triangle", "one component"])
def test_loss_along_the_ravine_tends_to_the_quartic_form(which, record_property):
    """``L(theta* + t v) / t^4 -> Q(v)`` for a tangent direction ``v`` (so ``L / t^2 -> 0``)."""
    inst = dict(zip(["triangle", "one component"], small_instances()))[which]
    obj = inst.objective(RULE)
    v, _ = unit_directions(inst, seed=2)
    q = QuarticModel(obj, inst.means_star, inst.assignment).form(v)
    limit, bound = richardson_limit(lambda t: obj.loss(inst.means_star + t * v) / t ** 4, 2e-2,
                                    rel_rounding=summation_bound(node_count(obj)))
    record_property("measured", f"L/t^4 -> {limit:.6g} (error bound {bound:.0e}), Q = {q:.6g}")
    _assert_limit(limit, bound, q)


@pytest.mark.claim("ravine.quartic-growth-one-component")
def test_two_students_at_plus_minus_t_have_loss_t4_over_4(record_property):
    """``d = 1``, ``n = 2``, equal weights, means ``+-t``: ``L = t^4/4 + O(t^6)``. The loss is
    even in ``t``, so the extrapolation is in ``t^2`` (``order=2``). Gauss-Hermite with 40
    nodes integrates the polynomial part of the integrand exactly to the degree 79."""
    inst = make_instance(Mixture(np.array([1.0]), np.zeros((1, 1))), np.array([0.5, 0.5]), np.array([0, 0]))
    obj = inst.objective(GaussHermiteRule(40))
    limit, bound = richardson_limit(lambda t: obj.loss(np.array([[t], [-t]])) / t ** 4, 2e-2, order=2,
                                    rel_rounding=summation_bound(40))
    record_property("measured", f"L/t^4 -> {limit:.10f} (error bound {bound:.0e}; 1/4 expected)")
    _assert_limit(limit, bound, 0.25)


@pytest.mark.claim("ravine.separated-limit")
def test_quartic_form_tends_to_the_separated_limit(record_property):
    """``Q / separated limit -> 1`` as the triangle grows (the gap shrinking at every side),
    and exactly 1 for ``m = 1``: Gauss-Hermite with 4 nodes integrates that degree-4
    integrand exactly, leaving the rounding of a sum of ``4^d`` terms (times 4 for forming
    them and the two sides)."""
    ratios = []
    for side in (4.0, 6.0, 8.0, 12.0):
        inst = triangle_instance(n=6, side=side, seed=0)
        v, _ = unit_directions(inst, seed=2)
        q = QuarticModel(inst.objective(RULE), inst.means_star, inst.assignment).form(v)
        ratios.append(q / separated_limit(inst.teacher, inst.weights, inst.assignment, v))
    _, one = small_instances()
    v, _ = unit_directions(one, seed=2)
    exact = QuarticModel(one.objective(GaussHermiteRule(4)), one.means_star, one.assignment).form(v)
    m1 = abs(exact / separated_limit(one.teacher, one.weights, one.assignment, v) - 1)
    gaps = np.abs(np.array(ratios) - 1)
    record_property("measured", "Q/limit at sides 4, 6, 8, 12: " + ", ".join(f"{r:.6f}" for r in ratios)
                    + f"; m=1: |Q/limit - 1| = {m1:.0e}")
    assert np.all(np.diff(gaps) < 0)
    assert m1 <= 4 * summation_bound(4 ** 2)


@pytest.mark.claim("ravine.ravine-quartic")
@pytest.mark.parametrize("which", ["two close components", "triangle", "one component"])
def test_loss_on_the_curved_ravine_tends_to_its_quartic_coefficient(which, record_property):
    """On ravine points ``L/t^4 -> Q_M <= Q`` (equal for ``m = 1``), and the cluster bias
    ``/ t^2 -> w*`` for ``m > 1``. ``Q_M <= Q`` and ``Q_M = Q`` hold to the rounding of the
    two sums over the rule's nodes (relative ``4 gamma_N``)."""
    close = make_instance(Mixture(np.array([0.6, 0.4]), np.array([[-1.0], [1.0]])), *split_weights([0.6, 0.4], [2, 2], seed=1))
    tri, one = small_instances()
    inst = {"two close components": close, "triangle": tri, "one component": one}[which]
    obj = inst.objective(RULE)
    model = QuarticModel(obj, inst.means_star, inst.assignment)
    v, _ = unit_directions(inst, seed=2)
    q, qm = model.form(v), model.ravine_form(v)
    points = {}

    def on_ravine(t):
        if t not in points:
            points[t] = project_to_ravine(obj, inst.means_star + t * v, inst.means_star, inst.assignment,
                                          tol=ravine_gradient_tolerance(t))
        return points[t]

    rounding = 4 * summation_bound(node_count(obj))
    limit, bound = richardson_limit(lambda t: obj.loss(on_ravine(t)) / t ** 4, 2e-2, rel_rounding=rounding)
    measured = f"Q_M/Q = {qm / q:.4f}; ravine L/t^4 -> {limit:.6g} (error bound {bound:.0e}), Q_M = {qm:.6g}"
    if inst.m > 1:
        w_star = model.ravine_cluster_bias(v)
        k = int(np.argmax(np.abs(w_star)))  # the largest entry of w*
        bias = [richardson_limit(lambda t: cluster_bias(inst.teacher, inst.weights, on_ravine(t), inst.assignment)
                                 .ravel()[j] / t ** 2, 2e-2) for j in range(w_star.size)]
        bias_limit = np.array([b[0] for b in bias])
        bias_bound = np.array([b[1] for b in bias])
        measured += f"; bias/t^2 -> w* within {np.abs(bias_limit - w_star.ravel()).max():.0e} (bound {bias_bound.max():.0e})"
        # entrywise limits, compared in the max norm (entries of w* may vanish by symmetry)
        assert np.abs(bias_limit - w_star.ravel()).max() <= bias_bound.max() <= RESOLUTION * abs(w_star.ravel()[k])
    record_property("measured", measured)
    _assert_limit(limit, bound, qm)
    assert qm <= q * (1 + rounding)
    if inst.m == 1:
        assert abs(qm / q - 1) <= rounding

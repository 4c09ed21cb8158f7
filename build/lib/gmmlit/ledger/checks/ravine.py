"""Callable checks of the ravine: null space, quadratic and quartic growth (chapter ravine)."""

from __future__ import annotations

import numpy as np

from ..model import CheckResult
from ._common import from_symbolic, richardson, rule, small_instances, unit_directions


def tangent_null_space():
    """``null(H) = T``: eigenvalues of the Hessian at theta*, and principal angles to T."""
    from ...core.geometry import tangent_basis

    tri, one = small_instances()
    parts = []
    passed = True
    for inst in (tri, one):
        h = inst.objective(rule()).hessian(inst.means_star)
        vals, vecs = np.linalg.eigh(h)
        small = vals <= 1e-10 * vals.max()  # rounding level of a Hessian of entries O(1)
        n, d = inst.means_star.shape
        expected = d * (n - inst.m)
        basis_t = tangent_basis(inst.weights, inst.assignment, d)
        null = vecs[:, small]
        cosines = np.linalg.svd(basis_t.T @ null, compute_uv=False) if null.shape[1] else np.zeros(0)
        angle = float(np.degrees(np.arccos(np.clip(cosines.min(), -1, 1)))) if cosines.size else 90.0
        ok = int(small.sum()) == expected and angle < 1e-5
        passed &= ok
        parts.append(f"m={inst.m}: nullity {int(small.sum())} (d(n-m)={expected}), largest angle to T {angle:.1e} deg, "
                     f"smallest nonzero eigenvalue {vals[~small].min():.3g}")
    return CheckResult(passed, "; ".join(parts))


def quadratic_growth_numeric():
    """Across the ravine L(theta* + t u) / t^2 -> u^T H u / 2 (Richardson from t = 0.01, 0.005)."""
    tri, _ = small_instances()
    obj = tri.objective(rule())
    _, u = unit_directions(tri, seed=1)
    h = 0.5 * u.ravel() @ obj.hessian(tri.means_star) @ u.ravel()
    ts = (1e-2, 5e-3)
    ratios = [obj.loss(tri.means_star + t * u) / t ** 2 for t in ts]
    extrapolated = richardson(ratios)
    rel = abs(extrapolated - h) / h
    # after Richardson the remainder is O(t^2) = O(2.5e-5) times a constant of order 1
    return CheckResult(rel <= 1e-4, f"L/t^2 -> {extrapolated:.8f} vs u^T H u/2 = {h:.8f} (rel {rel:.1e})", "triangle, normal u")


def quartic_growth_numeric():
    """Along T L(theta* + t v) / t^4 -> Q(v) (Richardson from t = 0.02, 0.01), and L / t^2 -> 0."""
    from ...theory.quartic import QuarticModel

    tri, one = small_instances()
    parts, passed = [], True
    for inst in (tri, one):
        obj = inst.objective(rule())
        v, _ = unit_directions(inst, seed=2)
        q = QuarticModel(obj, inst.means_star, inst.assignment).form(v)
        ts = (2e-2, 1e-2)
        ratios = [obj.loss(inst.means_star + t * v) / t ** 4 for t in ts]
        extrapolated = richardson(ratios)
        rel = abs(extrapolated - q) / q
        small_t = obj.loss(inst.means_star + 1e-2 * v) / 1e-4
        ok = rel <= 1e-3 and small_t <= 2e-4 * q  # L/t^2 = t^2 Q (1 + O(t)) -> 0
        passed &= ok
        parts.append(f"m={inst.m}: L/t^4 -> {extrapolated:.6g}, Q = {q:.6g} (rel {rel:.1e})")
    return CheckResult(passed, "; ".join(parts), "Richardson extrapolation from t = 0.02, 0.01; L/t^2 -> 0")


def m1_two_students_numeric():
    """d = 1, n = 2, equal weights, means +-t: L = t^4/4 + O(t^6)."""
    from ...core.instances import make_instance
    from ...core.mixture import Mixture
    from ...core.quadrature import GaussHermiteRule

    inst = make_instance(Mixture(np.array([1.0]), np.zeros((1, 1))), np.array([0.5, 0.5]), np.array([0, 0]))
    obj = inst.objective(GaussHermiteRule(40))
    ts = (0.02, 0.01)
    ratios = [obj.loss(np.array([[t], [-t]])) / t ** 4 for t in ts]
    # O(t^6) remainder: ratio(t) = 1/4 + c t^2 + c' t^4; extrapolating in t^2 leaves
    # -4 c' t1^2 t2^2 / 3 ~ 1e-7 c' at these t
    extrapolated = (4 * ratios[1] - ratios[0]) / 3
    return CheckResult(abs(extrapolated - 0.25) <= 1e-6, f"L/t^4 -> {extrapolated:.9f} (1/4 expected)", "GaussHermiteRule(40)")


def m1_quartic_sympy():
    """m = 1: the loss along T is t^4 ||sum_i pi_i v_i v_i^T||^2 / 4 + O(t^6) (exact series)."""
    from ...theory.symbolic import check_m1_quartic_expansion

    return from_symbolic(
        check_m1_quartic_expansion(2, 1), check_m1_quartic_expansion(3, 1), check_m1_quartic_expansion(2, 2),
        check_m1_quartic_expansion(3, 2), check_m1_quartic_expansion(3, None),
    )


def m1_quadratic_sympy():
    """m = 1: the t^2 coefficient is |sum_i pi_i u_i|^2 / 2 (exact series)."""
    from ...theory.symbolic import check_m1_quadratic_growth

    return from_symbolic(check_m1_quadratic_growth(3, 1), check_m1_quadratic_growth(3, 2))


def density_ratio_sympy():
    """The density ratio and the Bregman integrand along T, pointwise, to order t^4."""
    from ...theory.symbolic import check_density_ratio_expansion, check_density_ratio_identity

    return from_symbolic(check_density_ratio_identity(), check_density_ratio_expansion((2, 1), 1), check_density_ratio_expansion((2, 2), 1))


def separated_sympy():
    """The well separated limit of Q, and the implementation evaluated against it."""
    from ...theory.symbolic import check_separated_limit

    return from_symbolic(check_separated_limit(1), check_separated_limit(2))


def separated_numeric():
    """``Q / separated_limit -> 1`` as the triangle grows; exact for m = 1."""
    from ...core.instances import triangle_instance
    from ...theory.quartic import QuarticModel, separated_limit

    ratios = []
    for side in (4.0, 6.0, 8.0, 12.0):
        inst = triangle_instance(n=6, side=side, seed=0)
        v, _ = unit_directions(inst, seed=2)
        q = QuarticModel(inst.objective(rule()), inst.means_star, inst.assignment).form(v)
        ratios.append(q / separated_limit(inst.teacher, inst.weights, inst.assignment, v))
    _, one = small_instances()
    v, _ = unit_directions(one, seed=2)
    from ...core.quadrature import GaussHermiteRule

    exact = QuarticModel(one.objective(GaussHermiteRule(4)), one.means_star, one.assignment).form(v)
    m1 = abs(exact / separated_limit(one.teacher, one.weights, one.assignment, v) - 1)
    gaps = np.abs(np.array(ratios) - 1)
    # Gauss-Hermite with 4 nodes integrates the degree-4 integrand exactly: rounding only
    passed = bool(np.all(np.diff(gaps) < 0)) and gaps[-1] < 1e-3 and m1 < 1e-12
    return CheckResult(
        passed,
        "Q/limit at sides 4, 6, 8, 12: " + ", ".join(f"{r:.5f}" for r in ratios) + f"; m=1 exact to {m1:.0e}",
        "the limit is sum_j ||A_j||^2/(4 pi*_j) = (1/4) sum_j pi*_j ||S_j||^2",
    )


def ravine_quartic_numeric():
    """Along the ravine ``L/t^4 -> Q_M <= Q``; cluster bias / t^2 -> w*; ``Q_M = Q`` for m = 1."""
    from ...core.geometry import cluster_bias, project_to_ravine
    from ...core.instances import make_instance, split_weights
    from ...core.mixture import Mixture
    from ...theory.quartic import QuarticModel, ravine_gradient_tolerance

    parts, passed = [], True
    close = make_instance(Mixture(np.array([0.6, 0.4]), np.array([[-1.0], [1.0]])), *split_weights([0.6, 0.4], [2, 2], seed=1))
    tri, one = small_instances()
    for inst in (close, tri, one):
        obj = inst.objective(rule())
        model = QuarticModel(obj, inst.means_star, inst.assignment)
        v, _ = unit_directions(inst, seed=2)
        q, qm = model.form(v), model.ravine_form(v)
        ts = (2e-2, 1e-2)
        points = [project_to_ravine(obj, inst.means_star + t * v, inst.means_star, inst.assignment, tol=ravine_gradient_tolerance(t))
                  for t in ts]
        ratios = [obj.loss(p) / t ** 4 for p, t in zip(points, ts)]
        extrapolated = richardson(ratios)
        rel = abs(extrapolated - qm) / qm
        bias = cluster_bias(inst.teacher, inst.weights, points[1], inst.assignment) / ts[1] ** 2
        bias_err = np.abs(bias - model.ravine_cluster_bias(v)).max() / max(np.abs(model.ravine_cluster_bias(v)).max(), 1e-300)
        ok = rel <= 1e-3 and qm <= q * (1 + 1e-12) and (inst.m > 1 or abs(qm / q - 1) < 1e-9)
        if inst.m > 1:
            ok = ok and bias_err < 0.05  # O(t) relative remainder at t = 0.01
        passed &= ok
        parts.append(f"{inst.m} comp.: Q_M/Q = {qm / q:.4f}, ravine L/t^4 -> {extrapolated:.5g} vs Q_M {qm:.5g}")
    return CheckResult(passed, "; ".join(parts), "two components at distance 2 in d=1; triangle side 4; one component")



def quartic_implementation_sympy():
    """``QuarticModel.form`` against sympy's ``t^4`` coefficient of the integrand along ``T``."""
    from ...theory.symbolic import check_quartic_implementation

    return from_symbolic(check_quartic_implementation())

"""Callable checks of the Polyak step on the ravine (chapter polyak)."""

from __future__ import annotations

import numpy as np

from ..model import CheckResult
from ._common import from_symbolic, m1_model, rule, small_instances, unit_directions


def polyak_sympy():
    """The Polyak step on a homogeneous quartic: Euler, the 7 Q^2 / |g|^2 identity, the 3/4 bound."""
    from ...theory.symbolic import check_polyak_quartic_step

    return from_symbolic(check_polyak_quartic_step(2), check_polyak_quartic_step(3))


def polyak_ravine_numeric():
    """One Polyak step at ravine points: factor vs the quartic prediction; loss decreases."""
    from ...core.geometry import project_to_ravine, tangent_projector
    from ...theory.quartic import QuarticModel, polyak_quartic_factor, ravine_gradient_tolerance
    from ...optim.steps import polyak_step

    tri, one = small_instances()
    parts, passed = [], True
    for inst in (tri, one):
        obj = inst.objective(rule())
        model = QuarticModel(obj, inst.means_star, inst.assignment)
        n, d = inst.means_star.shape
        proj = tangent_projector(inst.weights, inst.assignment, d)
        for seed in (3, 4):
            v, _ = unit_directions(inst, seed=seed)
            t = 0.02
            theta = project_to_ravine(obj, inst.means_star + t * v, inst.means_star, inst.assignment, tol=ravine_gradient_tolerance(t))
            step = polyak_step(obj, theta)
            factor = np.linalg.norm(step.means - inst.means_star) / np.linalg.norm(theta - inst.means_star)
            vt = (proj @ (theta - inst.means_star).ravel()).reshape(n, d)
            predicted = polyak_quartic_factor(model.ravine_form(vt), model.ravine_gradient(vt), vt)
            # O(t) model error; 0.05 t covers the constants measured over random instances (<= 0.047 t)
            ok = 0.75 - 0.05 * t <= factor < 1 and abs(factor - predicted) <= 0.05 * t and obj.loss(step.means) < step.loss
            passed &= ok
            parts.append(f"m={inst.m}: {factor:.5f} (model {predicted:.5f})")
    return CheckResult(passed, "; ".join(parts), "distance 0.02 from theta*")


def alignment_numeric():
    """Along Polyak iterates (model and true objective) the factor tends to 3/4 and the
    angle between grad Q and v to 0; at random ravine points the factor is spread."""
    from ...core.geometry import project_to_ravine, tangent_basis, tangent_projector
    from ...theory.quartic import (
        angle_degrees,
        direction_map_multipliers,
        polyak_quartic_factor,
        quartic_polyak_iterates,
        ravine_gradient_tolerance,
    )
    from ...optim.steps import polyak_step

    weights = np.array([0.1, 0.2, 0.3, 0.4])
    form, gradient, proj = m1_model(weights, 2)
    rng = np.random.default_rng(0)
    random_factors = []
    for _ in range(400):
        v = (proj @ rng.standard_normal(8)).reshape(4, 2)
        random_factors.append(polyak_quartic_factor(form(v), gradient(v), v))
    trace = quartic_polyak_iterates(form, gradient, (proj @ rng.standard_normal(8)).reshape(4, 2), 80, proj)
    multipliers = direction_map_multipliers(form, gradient, trace.direction, tangent_basis(weights, np.zeros(4, int), 2))
    stable = bool(np.all(np.abs(multipliers[multipliers < 1 - 1e-6]) < 1))
    # the true objective: project -> Polyak -> project from distance 0.05
    tri, one = small_instances()
    true_runs = []
    for inst, steps in ((one, 16), (tri, 12)):
        obj = inst.objective(rule())
        n, d = inst.means_star.shape
        p_true = tangent_projector(inst.weights, inst.assignment, d)
        v, _ = unit_directions(inst, seed=5)
        theta = project_to_ravine(obj, inst.means_star + 0.05 * v, inst.means_star, inst.assignment, tol=ravine_gradient_tolerance(0.05))
        factors, angles = [], []
        for _ in range(steps):
            vt = (p_true @ (theta - inst.means_star).ravel()).reshape(n, d)
            angles.append(angle_degrees(obj.grad(theta), vt))
            step = polyak_step(obj, theta)
            factors.append(np.linalg.norm(step.means - inst.means_star) / np.linalg.norm(theta - inst.means_star))
            tol = ravine_gradient_tolerance(np.linalg.norm(step.means - inst.means_star))
            theta = project_to_ravine(obj, step.means, inst.means_star, inst.assignment, tol=tol)
        true_runs.append((inst.m, factors, angles))
    q = np.quantile(random_factors, [0.0, 0.5, 1.0])
    # along the true iterates: within 2e-3 of 3/4 (an angle of ~4 degrees) after 12-16 steps
    true_ok = all(abs(f[-1] - 0.75) < 2e-3 and a[-1] < a[0] for _, f, a in true_runs)
    passed = stable and abs(trace.factors[-1] - 0.75) < 1e-6 and trace.angles[-1] < 0.1 and true_ok and q[0] >= 0.75 - 1e-12 and q[2] < 1
    runs = "; ".join(f"m={m}: factor {f[0]:.3f} -> {f[-1]:.4f}, angle {a[0]:.1f} -> {a[-1]:.2f} deg" for m, f, a in true_runs)
    return CheckResult(
        passed,
        f"random points: min {q[0]:.3f}, median {q[1]:.3f}, max {q[2]:.3f}; model iterates: factor {trace.factors[-1]:.6f}, "
        f"angle {trace.angles[-1]:.1e} deg; true iterates: {runs}",
        "m=1, d=2, weights 0.1..0.4 (model); one-component n=4 and triangle n=6 (true objective, distance 0.05)",
    )


def alignment_can_fail():
    """Very unequal weights: the minimising direction is unstable; the factor stays above 3/4."""
    from ...core.geometry import tangent_basis
    from ...theory.quartic import direction_map_multipliers, quartic_polyak_iterates

    weights = np.array([0.387, 0.197, 0.202, 0.194, 0.020])
    form, gradient, proj = m1_model(weights, 2)
    rng = np.random.default_rng(0)
    trace = quartic_polyak_iterates(form, gradient, (proj @ rng.standard_normal(10)).reshape(5, 2), 600, proj)
    # the minimiser of Q on the unit sphere of T, by BFGS in tangent coordinates
    from scipy.optimize import minimize

    basis = tangent_basis(weights, np.zeros(5, int), 2)

    def on_sphere(c):
        return form((basis @ (c / np.linalg.norm(c))).reshape(5, 2))

    best = min((minimize(on_sphere, rng.standard_normal(basis.shape[1]), method="BFGS") for _ in range(6)), key=lambda r: r.fun)
    u = (basis @ (best.x / np.linalg.norm(best.x))).reshape(5, 2)
    multipliers = direction_map_multipliers(form, gradient, u, basis)
    tail = trace.factors[-50:]
    passed = multipliers.min() < -1 and tail.min() > 0.8 and tail.max() < 1
    return CheckResult(
        passed,
        f"smallest multiplier {multipliers.min():.2f} (< -1: unstable); factor along iterates {tail[-1]:.4f}",
        "m=1, d=2, weights (0.387, 0.197, 0.202, 0.194, 0.020)",
    )



def three_quarters_numeric():
    """Polyak steps on random homogeneous quartics (``m = 1`` models, random weights and
    directions): the distance factor measured from the step itself is ``>= 3/4`` (to
    rounding) and equals the formula :func:`gmmlit.theory.quartic.polyak_quartic_factor`
    (no clip in either); radial directions give exactly ``3/4``."""
    from ...core.geometry import tangent_basis
    from ...theory.quartic import one_component_model, polyak_quartic_factor, quartic_polyak_step

    rng = np.random.default_rng(5)
    lowest, worst_formula, worst_radial = np.inf, 0.0, 0.0
    for _ in range(40):
        n, dim = int(rng.integers(3, 7)), int(rng.integers(1, 3))
        w = rng.uniform(1.0, 3.0, n)
        w /= w.sum()
        form, gradient, proj = one_component_model(w, dim)
        v = (proj @ rng.standard_normal(n * dim)).reshape(n, dim)
        q, g = form(v), gradient(v)
        measured = np.linalg.norm(quartic_polyak_step(q, g, v)) / np.linalg.norm(v)
        lowest = min(lowest, measured)
        worst_formula = max(worst_formula, abs(polyak_quartic_factor(q, g, v) - measured) / measured)
        if dim == 1:  # an eigenvector of diag(pi) compressed to T: grad Q parallel to v
            basis = tangent_basis(w, np.zeros(n, int), 1)
            u = (basis @ np.linalg.eigh(basis.T @ np.diag(w) @ basis)[1][:, 0]).reshape(n, 1)
            radial = np.linalg.norm(quartic_polyak_step(form(u), gradient(u), u)) / np.linalg.norm(u)
            worst_radial = max(worst_radial, abs(radial - 0.75))
    passed = lowest >= 0.75 - 1e-12 and worst_formula <= 1e-10 and worst_radial <= 1e-10
    return CheckResult(
        passed,
        f"smallest factor {lowest:.6f}; formula vs step {worst_formula:.1e}; radial |factor - 3/4| {worst_radial:.1e}",
        "40 random m=1 quartics, n = 3..6, d = 1, 2",
    )


def floor_estimate_numeric():
    """:func:`gmmlit.optim.steps.floor_estimate` recovers the floor of power laws
    ``L = L* + C s^p`` (with ``|g| = p C s^(p-1)``) from two points, for ``p = 2, 4, 6``."""
    from ...optim.steps import floor_estimate

    worst = 0.0
    for degree in (2.0, 4.0, 6.0):
        for floor, c, s1, shrink in ((0.0, 1.0, 0.3, 0.7), (0.02, 3.0, 0.2, 0.5), (1.5, 0.1, 0.5, 0.9)):
            loss = lambda s: floor + c * s ** degree  # noqa: E731
            grad = lambda s: degree * c * s ** (degree - 1)  # noqa: E731
            s2 = shrink * s1
            est = floor_estimate(loss(s1), grad(s1), loss(s2), grad(s2), degree)
            err = np.inf if est is None else abs(est - floor) / (c * s1 ** degree + abs(floor))
            worst = max(worst, err)
    return CheckResult(worst <= 1e-12, f"largest error {worst:.1e} (relative to L1 - L* + |L*|)",
                       "9 power laws for each p in 2, 4, 6")

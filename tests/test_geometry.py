"""Minimiser, weight mismatch, cluster statistics, tangent/normal spaces, ravine projection.

Rounding allowances: sums of at most n = 8 weights or weighted means (entries <= ~10) agree
with exact values to 1e-15..1e-12 (a few eps times the size and the count of the terms);
projectors of size <= 16 built from orthonormal columns are idempotent and complementary to
1e-14 (a product of two such matrices: ~n eps).
"""

import itertools

import numpy as np
import pytest

import gmmlit
from gmmlit import Mixture
from gmmlit.core.geometry import (
    best_assignment,
    check_assignment,
    cluster_bias,
    current_delta_pi,
    intra_cluster_dispersion,
    minimizer,
    normal_projector,
    project_to_ravine,
    tangent_basis,
    tangent_projector,
    weight_mismatch,
)


def brute_force_delta_pi(teacher_weights, weights):
    """Independent reference: enumerate every onto assignment."""
    m, n = len(teacher_weights), len(weights)
    best = np.inf
    for a in itertools.product(range(m), repeat=n):
        if len(set(a)) < m:
            continue
        sums = np.bincount(a, weights=weights, minlength=m)
        best = min(best, np.abs(sums - teacher_weights).sum())
    return best


@pytest.mark.parametrize("seed", range(5))
def test_best_assignment_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    t = Mixture(rng.dirichlet(np.ones(3)), rng.normal(size=(3, 2)))
    w = rng.dirichlet(np.ones(6))
    a, dpi = best_assignment(t, w)
    assert dpi == pytest.approx(brute_force_delta_pi(t.weights, w), abs=1e-15)
    assert dpi == pytest.approx(weight_mismatch(t.weights, w, a), abs=1e-15)


def test_minimizer_and_its_error_message():
    inst = gmmlit.triangle_instance(n=7, seed=2)
    ms, a = minimizer(inst.teacher, inst.weights)
    np.testing.assert_array_equal(ms, inst.teacher.means[a])
    assert weight_mismatch(inst.teacher.weights, inst.weights, a) <= 1e-12
    with pytest.raises(ValueError, match="Delta_pi = 0.1"):
        minimizer(inst.teacher, np.array([0.45, 0.25, 0.3]))
    with pytest.raises(ValueError, match="at least m = 3"):
        best_assignment(inst.teacher, [0.5, 0.5])


def test_cluster_statistics_split_the_error():
    inst = gmmlit.triangle_instance(n=6, seed=0)
    rng = np.random.default_rng(0)
    x = inst.start(0.2, seed=3)
    bias = cluster_bias(inst.teacher, inst.weights, x, inst.assignment)
    disp = intra_cluster_dispersion(inst.teacher, inst.weights, x, inst.assignment)
    # Pythagoras per cluster: sum_{i in S_j} pi_i |mu_i - mu*_j|^2 = w_j (|b_j|^2 + D_j)
    wj = np.bincount(inst.assignment, weights=inst.weights)
    lhs = np.bincount(inst.assignment, weights=inst.weights * ((x - inst.means_star) ** 2).sum(1))
    np.testing.assert_allclose(lhs, wj * ((bias ** 2).sum(1) + disp), rtol=1e-12)
    # A pure tangent move has no bias; a pure cluster shift has no dispersion.
    v = (tangent_projector(inst.weights, inst.assignment, 2) @ rng.normal(size=12)).reshape(6, 2)
    assert np.abs(cluster_bias(inst.teacher, inst.weights, inst.means_star + v, inst.assignment)).max() <= 1e-14
    shift = inst.means_star + np.array([0.3, -0.1])
    assert np.abs(intra_cluster_dispersion(inst.teacher, inst.weights, shift, inst.assignment)).max() <= 1e-14
    assert current_delta_pi(inst.teacher, inst.weights, x) == pytest.approx(0.0, abs=1e-12)


def test_tangent_normal_projectors():
    inst = gmmlit.triangle_instance(n=8, seed=1)
    pt = tangent_projector(inst.weights, inst.assignment, 2)
    pn = normal_projector(inst.weights, inst.assignment, 2)
    np.testing.assert_allclose(pt @ pt, pt, atol=1e-14)
    np.testing.assert_allclose(pt + pn, np.eye(16), atol=1e-15)
    assert np.trace(pt) == pytest.approx(2 * (8 - 3))
    b = tangent_basis(inst.weights, inst.assignment, 2)
    v = b.T.reshape(-1, 8, 2)
    for vk in v:  # the defining constraint sum_{i in S_j} pi_i v_i = 0
        sums = np.zeros((3, 2))
        np.add.at(sums, inst.assignment, inst.weights[:, None] * vk)
        assert np.abs(sums).max() <= 1e-14


def test_tangent_space_is_the_hessian_null_space():
    inst = gmmlit.triangle_instance(n=7, seed=3)
    f = inst.objective()
    h = f.hessian(inst.means_star)
    vals, vecs = np.linalg.eigh(h)
    null = vecs[:, np.abs(vals) <= 1e-10 * vals.max()]
    pt = tangent_projector(inst.weights, inst.assignment, 2)
    # the two subspaces coincide: projecting the null basis changes nothing and dims agree
    np.testing.assert_allclose(pt @ null, null, atol=1e-9)
    assert null.shape[1] == round(np.trace(pt))


def test_project_to_ravine_zeroes_the_normal_gradient():
    inst = gmmlit.triangle_instance(n=6, seed=0)
    f = inst.objective()
    x = inst.start(0.05, seed=7)
    r = project_to_ravine(f, x, inst.means_star, inst.assignment)
    pt = tangent_projector(inst.weights, inst.assignment, 2)
    pn = np.eye(12) - pt
    np.testing.assert_allclose(pt @ (r - inst.means_star).ravel(), pt @ (x - inst.means_star).ravel(), atol=1e-15)
    g = f.grad(r).ravel()
    # Newton on the normal part converges to rounding: ~1e-11 relative to |grad L| here
    assert np.linalg.norm(pn @ g) <= 1e-10 * np.linalg.norm(g)
    assert f.loss(r) < f.loss(x)


@pytest.mark.parametrize(
    "assignment, exc",
    [([0, 1], ValueError), ([0, 1, 3], ValueError), ([0, 0, 0], ValueError), ([0.5, 1, 2], TypeError)],
)
def test_assignment_validation(assignment, exc):
    with pytest.raises(exc, match="assignment"):
        check_assignment(assignment, 3, 3)

"""Numerical extremes: huge separations, tiny weights, high dimension, tiny losses."""

import numpy as np
import pytest

import gmmlit
from gmmlit import Mixture, PopulationKL, SobolRule
from gmmlit.core.instances import make_instance, split_weights


def test_huge_separation_decouples_the_clusters():
    # With teacher means 1e3 apart the clusters do not interact: L is the weighted sum
    # of per-cluster KLs, KL(N(mu*_j, I) || sum_{i in S_j} (pi_i / pi*_j) N(mu_i, I)).
    t = Mixture([0.6, 0.4], [[0.0, 0.0], [1e3, 0.0]])
    w, a = split_weights(t.weights, [2, 3], seed=1)
    inst = make_instance(t, w, a)
    x = inst.start(0.4, seed=2)
    total = inst.objective().loss(x)
    parts = 0.0
    for j in range(2):
        sel = a == j
        tj = Mixture([1.0], t.means[j:j + 1])
        parts += t.weights[j] * PopulationKL(tj, w[sel] / w[sel].sum()).loss(x[sel])
    assert np.isfinite(total)
    # interaction terms are ~exp(-(500)^2 / 2): zero in floating point
    assert total == pytest.approx(parts, rel=1e-12)


def test_tiny_student_weight_stays_finite():
    t = Mixture([0.5, 0.5], [[-3.0], [3.0]])
    w = np.array([1e-300, 0.5 - 1e-300, 0.5])
    f = PopulationKL(t, w)
    x = np.array([[-2.5], [-3.2], [3.1]])
    ev = f.evaluate(x)
    assert np.isfinite(ev.loss) and ev.loss > 0
    assert np.all(np.isfinite(ev.grad))
    assert 0 < ev.mass[0] < 1e-290
    em = ev.em_means()
    assert np.all(np.isfinite(em))
    # the tiny component still moves to its responsibility-weighted mean, near -3
    assert -4.0 < em[0, 0] < -2.0


def test_tiny_teacher_weight_stays_finite():
    t = Mixture([1e-300, 1.0 - 1e-300], [[-3.0], [3.0]])
    f = PopulationKL(t, [0.5, 0.5])
    loss, grad = f.loss_and_grad(np.array([[2.9], [3.1]]))
    assert np.isfinite(loss) and np.all(np.isfinite(grad))


@pytest.mark.parametrize("d", [20, 50])
def test_high_dimension_with_qmc(d):
    teacher = gmmlit.core.instances.random_teacher(m=3, dim=d, seed=0, scale=2.0)
    w, a = split_weights(teacher.weights, [2, 2, 1], seed=0)
    inst = make_instance(teacher, w, a)
    f = inst.objective()  # default rule in high dimension
    assert isinstance(f.rule, SobolRule)
    loss0, grad0 = f.loss_and_grad(inst.means_star)
    assert 0 <= loss0 <= 1e-15 and np.abs(grad0).max() <= 1e-15
    loss, grad = f.loss_and_grad(inst.start(0.2, seed=1))
    assert np.isfinite(loss) and loss > 0 and np.all(np.isfinite(grad))


def test_loss_down_to_1e_30_is_positive_and_finite():
    inst = gmmlit.triangle_instance(n=6, seed=0)
    f = inst.objective()
    pt = gmmlit.tangent_projector(inst.weights, inst.assignment, inst.d)
    v = (pt @ np.random.default_rng(0).normal(size=pt.shape[0])).reshape(inst.means_star.shape)
    v /= np.linalg.norm(v)
    for t in [1e-6, 1e-7]:
        loss, grad = f.loss_and_grad(inst.means_star + t * v)
        assert np.isfinite(loss) and loss > 0
        assert np.all(np.isfinite(grad))
    assert f.loss(inst.means_star + 1e-7 * v) < 1e-28


def test_bitwise_determinism_of_instances_and_rules():
    a = gmmlit.figure1_instance(seed=3)
    b = gmmlit.figure1_instance(seed=3)
    np.testing.assert_array_equal(a.teacher.means, b.teacher.means)
    np.testing.assert_array_equal(a.weights, b.weights)
    np.testing.assert_array_equal(a.start(0.3, 5), b.start(0.3, 5))
    za, wa = SobolRule(2 ** 8, 4).nodes(a.teacher)
    zb, wb = SobolRule(2 ** 8, 4).nodes(b.teacher)
    np.testing.assert_array_equal(za, zb)
    x = a.start(0.3, 5)
    la = a.objective(SobolRule(2 ** 8, 4)).loss(x)
    lb = b.objective(SobolRule(2 ** 8, 4)).loss(x)
    assert la == lb

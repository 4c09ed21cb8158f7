"""The faithful peers: GDPolyak as its authors run it, and Newton with the exact Hessian."""

import numpy as np
import pytest

import gmmlit
from gmmlit.core.quadrature import TrapezoidRule
from gmmlit.optim.peers import gdpolyak, gdpolyak_polyak_length, inverse_lambda_max, newton
from gmmlit.optim.results import StopReason


@pytest.fixture(scope="module")
def small():
    """Two teachers, three students, d = 1: cheap and exact (Delta_pi = 0)."""
    teacher = gmmlit.Mixture([0.6, 0.4], [[-2.0], [2.0]])
    inst = gmmlit.core.instances.make_instance(teacher, np.array([0.3, 0.3, 0.4]), np.array([0, 0, 1]))
    return inst, inst.objective(TrapezoidRule(0.1, 10.0))


@pytest.mark.claim("beyond.gdpolyak-faithful")
def test_gdpolyak_epochs_follow_the_hand_computation(small):
    inst, f = small
    x0 = inst.start(0.3, 0)
    eta, k = 0.7, 2
    r = gdpolyak(f, x0, max_evals=50, step=eta, gd_steps=k, epochs=3, record_means=True)
    # by hand: K gradient steps of length eta, then one Polyak step (L - 0) / |g|^2
    x, points, lengths = np.array(x0), [np.array(x0)], []
    for _ in range(3):
        for _ in range(k):
            x = x - eta * f.grad(x)
            points.append(x)
        loss, g = f.loss_and_grad(x)
        lengths.append(loss / np.sum(g * g))
        x = x - lengths[-1] * g
        points.append(x)
    assert r.n_evals == 3 * (k + 1) + 1  # K + 1 distinct points per epoch, and the last one
    np.testing.assert_allclose(r.means_history, np.stack(points), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(r.polyak_evals, [3, 6, 9])
    np.testing.assert_array_equal(r.polyak_base, [2, 5, 8])
    np.testing.assert_allclose(r.polyak_step_sizes, lengths, rtol=1e-12)
    assert r.extras["epochs"] == 3 and r.extras["hessians"] == 0
    assert r.stop_reason == StopReason.BUDGET


def test_gdpolyak_inverse_lambda_max_counts_its_hessian(small):
    inst, f = small
    x0 = inst.start(0.3, 1)
    before = f.counts["hessian"]
    r = gdpolyak(f, x0, max_evals=40, gd_steps=5)
    assert f.counts["hessian"] == before + 1
    assert r.extras["hessians"] == 1
    assert r.extras["step"] == pytest.approx(1.0 / np.linalg.eigvalsh(f.hessian(x0))[-1], rel=1e-12)
    assert r.extras["step"] == pytest.approx(inverse_lambda_max(f, x0), rel=1e-12)
    assert r.n_evals == 40 and r.losses[-1] < r.losses[0]


def test_gdpolyak_polyak_length_is_not_clipped():
    assert gdpolyak_polyak_length(1.0, np.array([1.0, 1.0]), 3.0) == pytest.approx(-1.0)
    assert gdpolyak_polyak_length(1.0, np.zeros(2), 0.0) is None


def test_gdpolyak_never_returns_a_non_finite_iterate(small):
    inst, f = small
    r = gdpolyak(f, inst.start(0.3, 0), max_evals=200, step=1e305, gd_steps=1)
    assert r.stop_reason == StopReason.DIVERGED
    assert np.all(np.isfinite(r.means)) and np.isfinite(r.loss)


@pytest.mark.parametrize("kwargs, err", [
    (dict(step=0.0), ValueError), (dict(step="big"), ValueError), (dict(step=True), TypeError),
    (dict(gd_steps=0), ValueError), (dict(gd_steps=2.5), TypeError), (dict(epochs=0), ValueError),
    (dict(f_star=np.nan), ValueError), (dict(max_evals=0), ValueError),
])
def test_gdpolyak_validates_its_arguments(small, kwargs, err):
    inst, f = small
    with pytest.raises(err):
        gdpolyak(f, inst.start(0.3, 0), **kwargs)


@pytest.mark.claim("beyond.newton")
def test_newton_reaches_1e_12_and_counts_its_hessians(small):
    inst, f = small
    before = f.counts["hessian"]
    r = newton(f, inst.start(0.3, 0), max_evals=100, tol=1e-12)
    assert r.stop_reason == StopReason.TOLERANCE and r.loss <= 1e-12
    assert r.extras["hessians"] == f.counts["hessian"] - before >= 1
    assert r.n_evals < 100 and np.all(np.isfinite(r.means))


def test_newton_validates_its_arguments(small):
    inst, f = small
    with pytest.raises(ValueError):
        newton(f, inst.start(0.3, 0), max_evals=0)
    with pytest.raises(ValueError):
        newton(f, np.full((3, 1), np.nan))

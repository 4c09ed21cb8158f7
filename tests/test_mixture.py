"""Mixture: validation, densities against scipy, stable responsibilities, sampling."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gmmlit import Mixture
from gmmlit.core.validation import WEIGHT_SUM_TOL


def naive_pdf(x, weights, means):
    """Independent reference: a plain sum of scipy normal densities."""
    return sum(w * multivariate_normal(mean=m, cov=np.eye(len(m))).pdf(x) for w, m in zip(weights, means))


def test_logpdf_matches_scipy():
    rng = np.random.default_rng(0)
    w = np.array([0.2, 0.5, 0.3])
    mu = rng.normal(size=(3, 2)) * 3
    mix = Mixture(w, mu)
    x = rng.normal(size=(50, 2)) * 3
    np.testing.assert_allclose(mix.pdf(x), naive_pdf(x, w, mu), rtol=1e-12)
    assert mix.n_components == 3 and mix.dim == 2


def test_responsibilities_stable_far_from_origin_and_tiny_weights():
    # Far from the origin and with a weight of 1e-300 every density underflows if
    # computed directly; log-sum-exp keeps rows finite and summing to one.
    w = np.array([1e-300, 1.0 - 1e-300])
    mu = np.array([[1e6, 0.0], [1e6 + 3.0, 0.0]])
    mix = Mixture(w, mu)
    x = np.array([[1e6 + 1.5, 0.0], [-1e6, 5.0]])
    r = mix.responsibilities(x)
    assert np.all(np.isfinite(r))
    np.testing.assert_allclose(r.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert np.all(np.isfinite(mix.logpdf(x)))
    # Equal weights, midpoint: responsibilities exactly 1/2 by symmetry.
    mix2 = Mixture([0.5, 0.5], mu)
    np.testing.assert_allclose(mix2.responsibilities(x[:1]), [[0.5, 0.5]], atol=1e-15)


def test_immutable():
    mix = Mixture([0.5, 0.5], [[0.0], [1.0]])
    with pytest.raises(ValueError):
        mix.means[0, 0] = 3.0
    with pytest.raises(Exception):
        mix.weights = np.array([1.0])


def test_sample_reproducible_and_distributed():
    mix = Mixture([0.3, 0.7], [[-5.0], [5.0]])
    x1, l1 = mix.sample(4000, rng=3)
    x2, l2 = mix.sample(4000, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(l1, l2)
    # binomial standard deviation of the fraction is sqrt(0.21/4000) ~ 0.0072: 5 sigma
    assert abs(np.mean(l1 == 1) - 0.7) < 0.037            # measured -0.0117 (1.6 sigma)
    # the mean of ~2800 unit-variance draws: standard error 0.019, allowance 0.1 = 5.2 sigma;
    # measured deviation 0.009
    np.testing.assert_allclose(x1[l1 == 1].mean(), 5.0, atol=0.1)


@pytest.mark.parametrize(
    "weights, means, exc, words",
    [
        ([0.5, 0.6], [[0.0], [1.0]], ValueError, "sum to 1"),
        ([-0.5, 1.5], [[0.0], [1.0]], ValueError, "positive"),
        ([0.0, 1.0], [[0.0], [1.0]], ValueError, "positive"),
        ([np.nan, 1.0], [[0.0], [1.0]], ValueError, "finite"),
        ([[0.5, 0.5]], [[0.0], [1.0]], ValueError, "1-D"),
        ([0.5, 0.5], [[0.0], [np.inf]], ValueError, "finite"),
        ([0.5, 0.5], [0.0, 1.0], ValueError, "2-D"),
        ([0.5, 0.5], [[0.0], [1.0], [2.0]], ValueError, "one weight per component"),
        ("ab", [[0.0]], TypeError, "weights"),
        ([1.0], None, TypeError, "means"),
    ],
)
def test_bad_input_names_the_argument(weights, means, exc, words):
    with pytest.raises(exc) as info:
        Mixture(weights, means)
    assert words in str(info.value)


def test_weight_sum_tolerance_documented():
    Mixture([0.5, 0.5 + WEIGHT_SUM_TOL / 2], [[0.0], [1.0]])
    with pytest.raises(ValueError, match="sum to 1"):
        Mixture([0.5, 0.5 + 10 * WEIGHT_SUM_TOL], [[0.0], [1.0]])


def test_points_validated():
    mix = Mixture([1.0], [[0.0, 0.0]])
    with pytest.raises(ValueError, match="x must have shape"):
        mix.logpdf(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        mix.logpdf([[np.nan, 0.0]])
    with pytest.raises(ValueError, match="size"):
        mix.sample(0)
    with pytest.raises(TypeError, match="rng"):
        mix.sample(3, rng="seed")

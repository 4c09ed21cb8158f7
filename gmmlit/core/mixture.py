"""Isotropic Gaussian mixtures with unit covariances.

The density of :class:`Mixture` is

.. math:: p(x) = \\sum_{i=1}^k \\pi_i \\, \\varphi(x - \\mu_i), \\qquad
          \\varphi(z) = (2\\pi)^{-d/2} e^{-|z|^2/2},

and everything is computed in the log domain with log-sum-exp, so that means far from
the origin and tiny weights neither underflow nor overflow.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .validation import check_means, check_points, check_positive_int, check_rng, check_weights
from .warning_types import DuplicateComponentsWarning


def log_component_densities(x, weights, means):
    """``log pi_i + log phi(x - mu_i)`` for every point and component, shape ``(N, k)``.

    Squared distances are formed from differences, not from the expansion
    ``|x|^2 - 2 x.mu + |mu|^2``, so that they keep their relative accuracy far from the
    origin.
    """
    diff = x[:, None, :] - means[None, :, :]
    sq = np.einsum("nkd,nkd->nk", diff, diff)
    d = x.shape[1]
    return np.log(weights)[None, :] - 0.5 * sq - 0.5 * d * np.log(2 * np.pi)


def logsumexp_rows(a):
    """Row-wise ``log(sum(exp(a)))``, stable for large and very negative entries."""
    top = np.max(a, axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    return top + np.log(np.sum(np.exp(a - top[:, None]), axis=1))


@dataclass(frozen=True, eq=False)
class Mixture:
    """An isotropic Gaussian mixture ``sum_i weights[i] N(means[i], I)``.

    Parameters
    ----------
    weights : array_like, shape (k,)
        Positive, finite mixing weights summing to 1 within
        :data:`gmmlit.core.validation.WEIGHT_SUM_TOL` (``1e-10``). They are stored as given.
    means : array_like, shape (k, d)
        Finite component means.

    The object is immutable: its arrays are read-only copies.
    """

    weights: np.ndarray
    means: np.ndarray

    def __post_init__(self):
        w = check_weights(self.weights, "weights")
        m = check_means(self.means, "means")
        if m.shape[0] != w.shape[0]:
            raise ValueError(
                f"weights has {w.shape[0]} entries but means has {m.shape[0]} rows; "
                f"give one weight per component"
            )
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", m)

    @property
    def n_components(self) -> int:
        """Number of components ``k``."""
        return self.weights.shape[0]

    @property
    def dim(self) -> int:
        """Dimension ``d`` of the space."""
        return self.means.shape[1]

    def log_joint(self, x):
        """``log pi_i + log phi(x - mu_i)``, shape ``(N, k)``."""
        return log_component_densities(check_points(x, self.dim), self.weights, self.means)

    def logpdf(self, x):
        """Log density at the points ``x`` of shape ``(N, d)``; returns shape ``(N,)``."""
        return logsumexp_rows(self.log_joint(x))

    def pdf(self, x):
        """Density at the points ``x``."""
        return np.exp(self.logpdf(x))

    def responsibilities(self, x):
        """Posterior component probabilities ``psi_i(x)``, shape ``(N, k)``, rows summing to 1."""
        a = self.log_joint(x)
        return np.exp(a - logsumexp_rows(a)[:, None])

    def sample(self, size, rng=None):
        """Draw ``size`` points; ``rng`` is a ``numpy.random.Generator`` or an int seed.

        Returns
        -------
        x : ndarray, shape (size, d)
        labels : ndarray of int, shape (size,)
            The component each point was drawn from.
        """
        size = check_positive_int(size, "size")
        rng = check_rng(rng)
        labels = rng.choice(self.n_components, size=size, p=self.weights / self.weights.sum())
        x = self.means[labels] + rng.standard_normal((size, self.dim))
        return x, labels

    def duplicate_labels(self) -> np.ndarray:
        """For every component, the index of the distinct mean it has, in order of first
        appearance: ``labels[i] == labels[k]`` exactly when ``means[i]`` and ``means[k]`` are
        equal (bit for bit). ``labels.max() + 1 < n_components`` means duplicated components."""
        _, first, inverse = np.unique(self.means, axis=0, return_index=True, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        order = np.argsort(first, kind="stable")  # number the distinct means by first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        return rank[inverse]

    def merge_duplicates(self) -> tuple["Mixture", np.ndarray]:
        """The same density with one component per distinct mean.

        Components with equal means are one component whose weight is the sum of theirs:
        ``sum_i pi_i N(mu_i, I)`` does not change. A mixture is allowed to repeat a mean (a
        student at a minimiser does: every student of a cluster sits on its teacher mean),
        but a *teacher* with a repeated mean has fewer components than it says, so the
        functions that take a teacher (:class:`~gmmlit.PopulationKL`,
        :func:`~gmmlit.make_instance`, :func:`~gmmlit.best_assignment`,
        :func:`~gmmlit.minimizer`) merge it with :func:`merged_teacher`.

        Returns
        -------
        merged : Mixture
            ``self`` itself when no mean is repeated.
        labels : ndarray of int, shape (n_components,)
            ``labels[i]`` is the component of ``merged`` that component ``i`` went into.
        """
        labels = self.duplicate_labels()
        k = int(labels.max()) + 1
        if k == self.n_components:
            return self, labels
        weights = np.bincount(labels, weights=self.weights, minlength=k)
        means = np.zeros((k, self.dim))
        means[labels] = self.means
        return Mixture(weights, means), labels

    def __repr__(self):
        return f"Mixture(n_components={self.n_components}, dim={self.dim})"


def merged_teacher(teacher: Mixture, name: str = "teacher") -> tuple[Mixture, np.ndarray]:
    """:meth:`Mixture.merge_duplicates`, with a
    :class:`~gmmlit.core.warning_types.DuplicateComponentsWarning` when anything was merged."""
    if not isinstance(teacher, Mixture):
        raise TypeError(f"{name} must be a gmmlit.Mixture, got {type(teacher).__name__}")
    merged, labels = teacher.merge_duplicates()
    if merged is not teacher:
        groups = [np.flatnonzero(labels == j).tolist() for j in range(merged.n_components)]
        repeated = [g for g in groups if len(g) > 1]
        warnings.warn(
            f"{name} components {repeated} have the same mean; each group is merged into one component "
            f"with the sum of their weights ({teacher.n_components} -> {merged.n_components} components, "
            f"same density)",
            DuplicateComponentsWarning,
            stacklevel=3,
        )
    return merged, labels

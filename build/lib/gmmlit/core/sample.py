"""The sample objective: the average negative log-likelihood of data under the student.

``SampleNLL(data, weights)`` is ``L_N(means) = -(1/N) sum_k log p_theta(x_k)`` for the
isotropic unit-variance student ``p_theta = sum_i pi_i N(mu_i, I)`` with fixed weights
``pi``. It is the naive form of :class:`~gmmlit.core.objective.PopulationKL` with the
teacher replaced by the empirical measure of the data, and shares its kernel
(:class:`~gmmlit.core.objective.WeightedNodeObjective`): one centre, the data mean; the
centred data as nodes with weights ``1/N``; the reference ``(d/2) log(2 pi)``, so that
``s = log p_theta`` at every point. Every driver of :mod:`gmmlit.optim` runs on it.

Unlike the population KL, the minimum is not 0: ``L_N >= (d/2) log(2 pi)`` (a
unit-variance density never exceeds ``(2 pi)^(-d/2)``), and its least value is unknown.
"""

from __future__ import annotations

import numpy as np

from .objective import WeightedNodeObjective
from .validation import _as_float_array, check_finite_float, check_weights

#: The least number of data points :class:`SampleNLL` accepts. With one point there is
#: no sample to speak of: the empirical measure is a Dirac mass, which every student with
#: all its means on the point fits best, so the objective says nothing about mixtures.
#: Two points are the least for which the data have a spread (a covariance), which
#: standardising them and every statement about fitting a mixture to them need. More
#: points than that are not required: the objective is well defined and smooth for any
#: ``N >= 1``, and its minimiser exists for every ``N`` (the loss is bounded below by
#: ``(d/2) log(2 pi)``); how many points a *good* fit needs is a statistical question
#: (the chapter "From population to samples"), not a validity one.
MIN_SAMPLES = 2


def check_data(data, name="data", *, min_samples=MIN_SAMPLES):
    """Return ``data`` as a read-only 2-D ``(N, d)`` float array of finite numbers.

    Raises
    ------
    TypeError
        If ``data`` is not array-like of real numbers (strings, objects, complex).
    ValueError
        If it is not 2-D, has no column, fewer than ``min_samples`` rows, or a NaN or
        infinite entry (the message gives the first offending row).
    """
    x = _as_float_array(data, name)
    if x.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D with shape (N, d), one row per point, got shape {x.shape}; "
            f"for one-dimensional data use data.reshape(-1, 1)"
        )
    if x.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column (d >= 1), got shape {x.shape}")
    if x.shape[0] < min_samples:
        raise ValueError(
            f"{name} must have at least {min_samples} rows (points), got {x.shape[0]}: one point has "
            f"no spread to fit a mixture to"
        )
    finite = np.isfinite(x)
    if not np.all(finite):
        row = int(np.flatnonzero(~np.all(finite, axis=1))[0])
        raise ValueError(f"{name} must be finite (no NaN or inf); row {row} is {x[row].tolist()}")
    x.setflags(write=False)
    return x


def check_sample_weights(sample_weights, n_samples, name="sample_weights"):
    """Return the weights of the data points: ``1/N`` each for ``None``, otherwise
    ``sample_weights`` (``(N,)``, non-negative, finite, positive sum) divided by their sum."""
    if sample_weights is None:
        return np.full(n_samples, 1.0 / n_samples)
    w = _as_float_array(sample_weights, name)
    if w.shape != (n_samples,):
        raise ValueError(f"{name} must have shape ({n_samples},), one weight per row of data, got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be finite and >= 0")
    total = float(np.sum(w))
    if not total > 0.0:
        raise ValueError(f"{name} must have a positive sum, got {total!r}")
    return w / total


class SampleNLL(WeightedNodeObjective):
    """Average negative log-likelihood ``-(1/N) sum_k log p_theta(x_k)`` as a function of
    the student means.

    Parameters
    ----------
    data : array_like, shape (N, d)
        The sample, one row per point; finite, at least :data:`MIN_SAMPLES` rows.
    weights : array_like, shape (n,)
        Fixed student weights (positive, summing to 1).
    sample_weights : array_like (N,) or None
        Weights of the points (normalised to sum 1); ``None``: ``1/N`` each. With a
        rule's nodes and weights as data this is the naive population objective up to
        the constant ``E[log p*]``.
    offset : float
        A constant subtracted from the loss (``0``: the NLL itself). Drivers that take the
        least value of the loss to be 0 (the ravine method's ``f_star="adaptive"`` starts
        from the target 0) then see the excess ``L_N - offset``; give a value at or
        slightly below the minimum, e.g. :func:`pilot_floor`. Gradients, Hessians and EM
        statistics do not depend on it.
    chunk_size : int or None
        Points processed at once, as for :class:`~gmmlit.core.objective.PopulationKL`.

    Notes
    -----
    Same interface as :class:`~gmmlit.core.objective.PopulationKL`: :meth:`loss`,
    :meth:`grad`, :meth:`loss_and_grad`, :meth:`evaluate` (an
    :class:`~gmmlit.core.objective.Evaluation` whose ``mass`` and ``moment`` are the
    empirical ``(1/N) sum_k psi_i(x_k)`` and ``(1/N) sum_k psi_i(x_k) x_k``),
    :meth:`hessian`, :meth:`em_statistics`, the counters ``n_evals``/``counts``. The data
    are centred at their mean inside the kernel (the exponents are computed from
    ``x - xbar`` and ``mu - xbar``), which keeps them accurate for data far from 0.
    """

    form = "naive"

    def __init__(self, data, weights, *, sample_weights=None, offset=0.0, chunk_size=None):
        x = check_data(data, "data")
        self.weights = check_weights(weights, "weights")
        self.data = x
        w = check_sample_weights(sample_weights, x.shape[0])
        center = w @ x
        self._set_nodes(x - center, w, chunk_size)
        self._centers = center[None, :]
        self._center_weights = np.ones(1)
        self.offset = check_finite_float(offset, "offset")
        # s = log p_theta + offset: the kernel's log-mixture omits the constant (d/2) log(2 pi),
        # and since the point weights sum to 1, -sum w s = L_N - offset
        self._log_ref = [np.full(x.shape[0], 0.5 * x.shape[1] * np.log(2.0 * np.pi) - self.offset)]

    @property
    def n_samples(self):
        """Number of data points ``N``."""
        return self.data.shape[0]

    @property
    def n_nodes(self):
        """Points per pass (``N``), as for :class:`~gmmlit.core.objective.PopulationKL`."""
        return self.data.shape[0]

    @property
    def lower_bound(self):
        """``(d/2) log(2 pi)``: no unit-variance student does better on any data."""
        return 0.5 * self.dim * float(np.log(2.0 * np.pi))

    def nodes(self):
        """The empirical measure: points ``(N, d)`` and weights ``(N,)``."""
        return np.array(self.data), self._w.copy()

    def log_likelihood(self, means):
        """``log p_theta(x_k)`` at every data point, shape ``(N,)`` (no evaluation counted)."""
        means = self.check_means(means)
        return np.concatenate([s for *_, s, _, _ in self._node_terms(means)])

    def __repr__(self):
        return f"SampleNLL(n={self.n_components}, N={self.n_samples}, d={self.dim})"

"""Single steps of the methods, as pure functions of the current point.

Each step takes the objective and the current means (and, to avoid a second pass over
the nodes, optionally the :class:`~gmmlit.core.objective.Evaluation` already computed there)
and returns new means. The drivers of :mod:`gmmlit.optim.first_order` and
:mod:`gmmlit.optim.ravine` compose them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.validation import check_finite_float, check_positive_float

#: Metrics accepted by :func:`polyak_step`.
POLYAK_METRICS = ("euclidean", "em")


def gradient_em_step(means, evaluation, step=1.0):
    """Gradient EM: ``mu_i + step * E[psi_i (x - mu_i)]``, i.e. ``means - step * grad L``.

    Uses ``evaluation.grad``, so with the Bregman form it is the gradient of the
    discretised Bregman objective (equal to ``-E[psi_i (x - mu_i)]`` in the continuum).
    """
    step = check_positive_float(step, "step")
    return np.asarray(means) - step * evaluation.grad


def em_step(evaluation, means=None):
    """EM with fixed weights: ``mu_i = E[psi_i x] / E[psi_i]``.

    The means come from the log domain where a mass vanished
    (:meth:`gmmlit.core.objective.Evaluation.em_means`). A row that is still not finite (an
    objective without log-domain statistics, whose mass is exactly 0) keeps its student
    in place when ``means`` is given.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        new = np.asarray(evaluation.em_means(), dtype=float)
    if means is None:
        return new
    return keep_in_place(new, means)


def keep_in_place(new, means):
    """``new`` with every row that is not finite replaced by the same row of ``means``."""
    bad = ~np.all(np.isfinite(new), axis=1)
    if not np.any(bad):
        return new
    out = np.array(new, dtype=float)
    out[bad] = np.asarray(means, dtype=float)[bad]
    return out


def vanishing_rows(evaluation):
    """Rows whose mass ``E[psi_i]`` vanished (``evaluation.vanishing``; none for an
    evaluation that does not say)."""
    flags = getattr(evaluation, "vanishing", None)
    if flags is None:
        return np.zeros(np.shape(evaluation.mass), dtype=bool)
    return np.asarray(flags, dtype=bool)


@dataclass(frozen=True)
class PolyakStep:
    """Outcome of :func:`polyak_step`.

    Attributes
    ----------
    means : ndarray
        The new point (the old one when ``zero_gradient``).
    step_size : float
        ``(L - f_star) / <g, D g>`` (0 when ``zero_gradient``).
    loss : float
        ``L`` at the old point.
    zero_gradient : bool
        True when ``<g, D g>`` is 0 (or not a positive finite number): no step is taken.
    """

    means: np.ndarray
    step_size: float
    loss: float
    zero_gradient: bool


def polyak_direction(evaluation, metric="euclidean"):
    """``D g`` with ``D = I`` (``"euclidean"``) or ``D = diag(1 / E[psi_i])`` (``"em"``)."""
    if metric == "euclidean":
        return evaluation.grad
    if metric == "em":
        gone = vanishing_rows(evaluation)
        if not np.any(gone):
            return evaluation.grad / evaluation.mass[:, None]
        # a student without mass has no gradient either: the step leaves it where it is
        out = np.zeros_like(np.asarray(evaluation.grad, dtype=float))
        out[~gone] = evaluation.grad[~gone] / evaluation.mass[~gone, None]
        return out
    raise ValueError(f"metric must be one of {POLYAK_METRICS}, got {metric!r}")


def polyak_from_evaluation(means, evaluation, f_star=0.0, metric="euclidean", multiplier=1.0):
    """Polyak step from an evaluation already computed at ``means`` (no new pass)."""
    f_star = check_finite_float(f_star, "f_star")
    multiplier = check_positive_float(multiplier, "multiplier")
    direction = polyak_direction(evaluation, metric)
    curvature = float(np.sum(evaluation.grad * direction))
    gap = evaluation.loss - f_star
    means = np.asarray(means, dtype=float)
    if not (np.isfinite(curvature) and curvature > 0.0):
        return PolyakStep(means.copy(), 0.0, evaluation.loss, True)
    step = multiplier * max(gap, 0.0) / curvature
    return PolyakStep(means - step * direction, step, evaluation.loss, False)


def polyak_step(objective, means, f_star=0.0, metric=None):
    """The Polyak step ``means - (L - f_star) / <g, D g> * D g``.

    Parameters
    ----------
    objective : PopulationKL
    means : array_like (n, d)
    f_star : float
        The target value, ``0`` when the weights group exactly.
    metric : {None, "euclidean", "em"}
        ``D = I`` (``None`` or ``"euclidean"``) or ``D = diag(1 / E[psi_i])`` (``"em"``).

    Returns
    -------
    PolyakStep
        A zero gradient is reported in ``zero_gradient`` (and the point returned
        unchanged), never divided by. When ``L < f_star`` the step length is 0.
    """
    metric = "euclidean" if metric is None else metric
    if metric not in POLYAK_METRICS:
        raise ValueError(f"metric must be None or one of {POLYAK_METRICS}, got {metric!r}")
    f_star = check_finite_float(f_star, "f_star")
    means = objective.check_means(means)
    ev = objective.evaluate(means)
    return polyak_from_evaluation(means, ev, f_star, metric)


def floor_estimate(loss_old, grad_norm_old, loss_new, grad_norm_new, degree=4.0):
    """Estimate of the least value ``L*`` from two points of a ravine.

    Along a ravine where ``L - L* = c s^p`` (``s`` the distance to the minimiser along it,
    ``p = degree``), the gradient norm is ``|g| = p c s^(p-1)``, so that
    ``L - L* = C |g|^(p / (p - 1))`` with one constant ``C`` for both points, on either
    side of the minimiser. Two points with losses ``L_1, L_2`` and gradient norms
    ``g_1, g_2`` then give, with ``rho = (g_1 / g_2)^(p / (p - 1))``,

    ``L* = (rho L_2 - L_1) / (rho - 1)``.

    Parameters
    ----------
    loss_old, grad_norm_old : float
        Loss and gradient norm at the earlier point (norm in the metric of the step).
    loss_new, grad_norm_new : float
        The same at the later point.
    degree : float > 1
        The growth degree ``p`` (4 along the ravine of an exact fit).

    Returns
    -------
    float or None
        The estimate, or ``None`` when the two points do not determine one: equal
        gradient norms (``rho = 1``), a zero or non-finite input, or an estimate not below
        both losses (the model does not fit).
    """
    degree = check_positive_float(degree, "degree")
    if degree <= 1.0:
        raise ValueError(f"degree must be > 1, got {degree}")
    values = (loss_old, grad_norm_old, loss_new, grad_norm_new)
    if not all(np.isfinite(v) for v in values) or grad_norm_new <= 0.0 or grad_norm_old <= 0.0:
        return None
    rho = (grad_norm_old / grad_norm_new) ** (degree / (degree - 1.0))
    if not (np.isfinite(rho) and abs(rho - 1.0) > 1e-12):
        return None
    estimate = (rho * loss_new - loss_old) / (rho - 1.0)
    if not (np.isfinite(estimate) and estimate < min(loss_old, loss_new)):
        return None
    return float(estimate)


#: Kinds of short step accepted by :func:`short_step` (and by the ravine method).
SHORT_STEP_KINDS = ("gem", "em", "pgem")


def short_step(means, evaluation, kind="gem", step=1.0):
    """One short step from ``means`` using the evaluation there.

    * ``kind="gem"``: gradient EM ``means - step * grad`` (:func:`gradient_em_step`).
    * ``kind="em"``: EM ``E[psi_i x] / E[psi_i]`` (:func:`em_step`; ``step`` unused).
    * ``kind="pgem"``: gradient EM in EM's metric, ``mu_i - step * grad_i / E[psi_i]``
      (the direction of :func:`polyak_direction` with ``metric="em"``).

    With ``step = 1`` the last two are the same map in the continuum, where
    ``grad_i = -E[psi_i (x - mu_i)]``. Discretised, they differ by the integration error
    of ``E_{p*}[e^s psi_i (x - mu_i)] = int p_theta psi_i (x - mu_i) = 0``: EM's fixed
    points are those of the naive discretised loss, while ``"pgem"`` (through the
    gradient of the discretised Bregman loss) stops exactly at its stationary points.
    With a coarse rule EM therefore stalls along the ravine at a distance of order
    ``(integration error)^(1/3)`` from ``theta*``, and ``"pgem"`` does not.

    Students whose mass vanished (``evaluation.vanishing``) move by EM's update from the
    log domain, ``mu_i + step (E[psi_i x] / E[psi_i] - mu_i)``, for both ``"em"`` and
    ``"pgem"`` (far from the nodes ``e^s -> 0`` and the two coincide); a row that is
    still not finite keeps its student in place (:func:`keep_in_place`).
    """
    if kind == "gem":
        return gradient_em_step(means, evaluation, step)
    if kind not in SHORT_STEP_KINDS:
        raise ValueError(f"short step kind must be one of {SHORT_STEP_KINDS}, got {kind!r}")
    means = np.asarray(means, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "em":
            return em_step(evaluation, means)
        new = means - step * polyak_direction(evaluation, "em")
        gone = vanishing_rows(evaluation)
        if np.any(gone):
            new[gone] = means[gone] + step * (np.asarray(evaluation.em_means())[gone] - means[gone])
    return keep_in_place(new, means)


def relaxation_factor(first_ratio, cap=0.8):
    """Over-relaxation ``omega = 2 / (2 - q)`` of a short step, from the contraction
    ``q = |g_1| / |g_0|`` of the first (plain) short step of the block, capped at ``cap``.

    If the short step contracts the normal error like a linear map whose rates lie in
    ``[0, q]``, the relaxed step ``theta + omega (S(theta) - theta)`` has rates in
    ``[-q / (2 - q), q / (2 - q)]``: the slowest mode contracts by ``q / (2 - q)`` instead
    of ``q`` (``0.43`` instead of ``0.6``), and the fastest one does not blow up. With
    well separated clusters ``q`` is small and ``omega`` close to 1.
    """
    q = min(max(float(first_ratio), 0.0), float(cap))
    return 2.0 / (2.0 - q)

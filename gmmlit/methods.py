"""Gradient EM, EM and the ravine method: pure steps and the drivers that run them.

Every driver has the signature

``method(objective, means0, *, max_evals=..., tol=0.0, minimizer=None, **options)``

and returns an :class:`~gmmlit.results.OptimizationResult`. The budget ``max_evals``
counts objective evaluations (passes over the integration nodes), the first one at
``means0`` included; every evaluation goes through ``objective.evaluate`` and is recorded.
The formulas of the steps live in :mod:`gmmlit.steps`; this module only composes them.

The ravine method
-----------------
After Davis, Drusvyatskiy and Jiang's GDPolyak {cite}`davis2025gradient`, it repeats

1. ``K`` *short* steps (gradient EM or EM), which bring the iterate back to the ravine
   (the manifold along which the loss grows only quartically);
2. one *long* Polyak step ``theta - (L - f*) / <g, D g> * D g`` along the ravine.

The Polyak step needs the evaluation at its base point, which is the evaluation made
after the last short step (free), and one at the trial point, which is also the first
evaluation of the next block. A block therefore costs ``K + 1`` evaluations. With the
safeguard on, a trial whose loss exceeds the base loss is rejected (recorded as a
non-accepted Polyak trial) and the method continues from the base point.
"""

from __future__ import annotations

import numbers

import numpy as np

from .results import Recorder, StopReason, check_objective
from .steps import POLYAK_METRICS, em_step, gradient_em_step, polyak_from_evaluation
from .validation import check_finite_float, check_positive_float, check_positive_int

#: Kinds of short step accepted by :func:`ravine_method`.
SHORT_STEP_KINDS = ("gem", "em")

#: The recommended configuration of :func:`ravine_method` (see the tuning study in
#: :mod:`gmmlit.studies`): EM short steps, ``K = 2`` of them, Euclidean Polyak steps of
#: full length, safeguard on.
RAVINE_DEFAULTS = dict(
    short="em",
    step=1.0,
    short_steps=2,
    max_short_steps=20,
    adaptive_ratio=0.5,
    metric="euclidean",
    multiplier=1.0,
    safeguard=True,
    max_rejections=5,
    f_star=0.0,
)


# ---------------------------------------------------------------------------- checks
def check_start(objective, means0):
    """Validate the objective and the starting means (shape ``(n, d)``, finite)."""
    check_objective(objective)
    return np.array(objective.check_means(means0, "means0"), dtype=float)


def check_choice(value, choices, name):
    """``value`` must be one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_flag(value, name):
    """``value`` must be a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return bool(value)


def check_short_steps(value):
    """``short_steps`` is a number ``K >= 1`` of short steps per block, or ``"adaptive"``."""
    if isinstance(value, str):
        if value != "adaptive":
            raise ValueError(f"short_steps (K) must be an integer >= 1 or 'adaptive', got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"short_steps (K) must be an integer >= 1 or 'adaptive', got {type(value).__name__}")
    return check_positive_int(value, "short_steps (K)")


# ---------------------------------------------------------------------------- pure steps
def short_step(means, evaluation, kind="gem", step=1.0):
    """One short step from ``means`` using the evaluation there.

    ``kind="gem"``: gradient EM ``means - step * grad`` (:func:`gmmlit.steps.gradient_em_step`);
    ``kind="em"``: EM ``E[psi_i x] / E[psi_i]`` (:func:`gmmlit.steps.em_step`; ``step`` unused).
    """
    if kind == "gem":
        return gradient_em_step(means, evaluation, step)
    if kind == "em":
        return em_step(evaluation)
    raise ValueError(f"short step kind must be one of {SHORT_STEP_KINDS}, got {kind!r}")


def accept_polyak(base_loss, trial_loss, safeguard=True):
    """Whether a Polyak trial becomes the new iterate: always without the safeguard;
    with it, only when the trial loss is finite and does not exceed the base loss."""
    if not safeguard:
        return True
    return bool(np.isfinite(trial_loss) and trial_loss <= base_loss)


def short_phase_done(block_grad_norms, short_steps, max_short_steps=20, adaptive_ratio=0.5):
    """Whether the short phase of a block is over.

    Parameters
    ----------
    block_grad_norms : sequence of float
        Gradient norms in the block so far: at its first point, then after each short
        step (so ``len - 1`` short steps were made).
    short_steps : int or "adaptive"
        Fixed ``K``: done after ``K`` short steps. ``"adaptive"``: done once the
        gradient norm stops shrinking, ``|g_k| > adaptive_ratio * |g_{k-1}|`` (after
        at least one short step), or after ``max_short_steps`` short steps.
    """
    k = len(block_grad_norms) - 1
    if short_steps != "adaptive":
        return k >= short_steps
    if k >= max_short_steps:
        return True
    return k >= 1 and block_grad_norms[-1] > adaptive_ratio * block_grad_norms[-2]


# ---------------------------------------------------------------------------- drivers
def _iterate(rec, means, ev, update):
    """Repeat ``means <- update(means, ev)`` with one recorded evaluation per step."""
    while not rec.stopped:
        new = update(means, ev)
        if not np.all(np.isfinite(new)):
            rec.stop(StopReason.NON_FINITE, "the step produced non-finite means")
            break
        ev_new = rec.evaluate(new)
        means, ev = new, ev_new
    return means, ev


def gradient_em(objective, means0, *, max_evals=1000, tol=0.0, minimizer=None, step=1.0, record_means=False):
    """Gradient EM: ``mu_i <- mu_i + step * E[psi_i (x - mu_i)]`` (gradient descent on ``L``).

    Parameters
    ----------
    objective : PopulationKL
    means0 : array_like (n, d)
    max_evals : int >= 1
        Budget of objective evaluations (one per step, plus the one at ``means0``).
    tol : float >= 0
        Stop once ``L <= tol``.
    minimizer : array_like (n, d) or None
        When given, the distance to it is recorded at every evaluation.
    step : float > 0
        Step size; ``1`` is the classical gradient EM.
    record_means : bool
        Keep every evaluated point in ``means_history``.

    Returns
    -------
    OptimizationResult
    """
    x = check_start(objective, means0)
    step = check_positive_float(step, "step")
    rec = Recorder(objective, method="gradient_em", max_evals=max_evals, tol=tol, minimizer=minimizer,
                   record_means=record_means, options=dict(step=step))
    ev = rec.evaluate(x)
    x, ev = _iterate(rec, x, ev, lambda m, e: gradient_em_step(m, e, step))
    return rec.finish(x, ev.loss)


def em(objective, means0, *, max_evals=1000, tol=0.0, minimizer=None, record_means=False):
    """EM with fixed weights: ``mu_i <- E[psi_i x] / E[psi_i]``.

    Parameters and result as in :func:`gradient_em` (no step size).
    """
    x = check_start(objective, means0)
    rec = Recorder(objective, method="em", max_evals=max_evals, tol=tol, minimizer=minimizer,
                   record_means=record_means)
    ev = rec.evaluate(x)
    x, ev = _iterate(rec, x, ev, lambda m, e: em_step(e))
    return rec.finish(x, ev.loss)


def ravine_method(
    objective,
    means0,
    *,
    max_evals=1000,
    tol=0.0,
    minimizer=None,
    short=RAVINE_DEFAULTS["short"],
    step=RAVINE_DEFAULTS["step"],
    short_steps=RAVINE_DEFAULTS["short_steps"],
    max_short_steps=RAVINE_DEFAULTS["max_short_steps"],
    adaptive_ratio=RAVINE_DEFAULTS["adaptive_ratio"],
    metric=RAVINE_DEFAULTS["metric"],
    multiplier=RAVINE_DEFAULTS["multiplier"],
    safeguard=RAVINE_DEFAULTS["safeguard"],
    max_rejections=RAVINE_DEFAULTS["max_rejections"],
    f_star=RAVINE_DEFAULTS["f_star"],
    record_means=False,
):
    """Short steps to the ravine, then one long Polyak step along it; repeat.

    The defaults (:data:`RAVINE_DEFAULTS`) are the configuration recommended by the
    tuning study of :mod:`gmmlit.studies`.

    Parameters
    ----------
    objective : PopulationKL
    means0 : array_like (n, d)
    max_evals : int >= 1
        Budget of objective evaluations, Polyak trials included.
    tol : float >= 0
        Stop once ``L <= tol``.
    minimizer : array_like (n, d) or None
        When given, the distance to it is recorded at every evaluation.
    short : {"gem", "em"}
        Kind of short step: gradient EM with step size ``step``, or EM.
    step : float > 0
        Step size of the gradient EM short steps (unused by EM).
    short_steps : int >= 1 or "adaptive"
        ``K``, the number of short steps before each Polyak step (fixed, as in GDPolyak),
        or ``"adaptive"``: short steps until the gradient norm stops shrinking by the
        factor ``adaptive_ratio``, at most ``max_short_steps``
        (see :func:`short_phase_done`).
    max_short_steps : int >= 1
        Cap on the adaptive short phase.
    adaptive_ratio : float in (0, 1]
        The adaptive short phase ends when ``|g_k| > adaptive_ratio * |g_{k-1}|``.
    metric : {"euclidean", "em"}
        Polyak metric: ``D = I`` or ``D = diag(1 / E[psi_i])``.
    multiplier : float > 0
        The Polyak step length is multiplied by it (``1``: the plain Polyak step).
    safeguard : bool
        Reject a Polyak trial whose loss exceeds the loss at its base point.
    max_rejections : int >= 1
        Stop (``StopReason.REJECTED_STEPS``) after this many consecutive rejected trials.
    f_star : float
        The target value of the Polyak step; ``0`` when the weights group exactly.
    record_means : bool
        Keep every evaluated point in ``means_history``.

    Returns
    -------
    OptimizationResult
        ``polyak_evals``/``polyak_base``/``polyak_accepted`` locate every Polyak trial.
        A Polyak step with zero gradient at its base point is not taken (the run then
        stops with ``ZERO_GRADIENT`` at the next check).
    """
    x = check_start(objective, means0)
    short = check_choice(short, SHORT_STEP_KINDS, "short")
    step = check_positive_float(step, "step")
    short_steps = check_short_steps(short_steps)
    max_short_steps = check_positive_int(max_short_steps, "max_short_steps")
    adaptive_ratio = check_positive_float(adaptive_ratio, "adaptive_ratio", maximum=1.0)
    metric = check_choice(metric, POLYAK_METRICS, "metric")
    multiplier = check_positive_float(multiplier, "multiplier")
    safeguard = check_flag(safeguard, "safeguard")
    max_rejections = check_positive_int(max_rejections, "max_rejections")
    f_star = check_finite_float(f_star, "f_star")
    options = dict(short=short, step=step, short_steps=short_steps, max_short_steps=max_short_steps,
                   adaptive_ratio=adaptive_ratio, metric=metric, multiplier=multiplier,
                   safeguard=safeguard, max_rejections=max_rejections, f_star=f_star)
    rec = Recorder(objective, method="ravine_method", max_evals=max_evals, tol=tol, minimizer=minimizer,
                   record_means=record_means, options=options)
    ev = rec.evaluate(x)
    base_index = rec.last_index
    rejections = 0
    while not rec.stopped:
        # short phase
        norms = [rec.grad_norms[base_index]]
        while not rec.stopped and not short_phase_done(norms, short_steps, max_short_steps, adaptive_ratio):
            new = short_step(x, ev, short, step)
            if not np.all(np.isfinite(new)):
                rec.stop(StopReason.NON_FINITE, "a short step produced non-finite means")
                break
            ev = rec.evaluate(new)
            x, base_index = new, rec.last_index
            norms.append(rec.grad_norms[-1])
        if rec.stopped:
            break
        # long Polyak step from the last evaluated point
        trial = polyak_from_evaluation(x, ev, f_star, metric, multiplier)
        if trial.zero_gradient:
            rec.stop(StopReason.ZERO_GRADIENT, "zero gradient at the base of a Polyak step")
            break
        if not np.all(np.isfinite(trial.means)):
            rec.stop(StopReason.NON_FINITE, "a Polyak step produced non-finite means")
            break
        ev_trial = rec.evaluate(trial.means)
        accepted = accept_polyak(ev.loss, ev_trial.loss, safeguard)
        rec.mark_polyak(rec.last_index, base_index, accepted, trial.step_size)
        if accepted:
            x, ev, base_index = trial.means, ev_trial, rec.last_index
            rejections = 0
        else:
            rejections += 1
            if rejections >= max_rejections:
                rec.stop(StopReason.REJECTED_STEPS, f"{rejections} consecutive Polyak trials raised the loss")
    return rec.finish(x, ev.loss)

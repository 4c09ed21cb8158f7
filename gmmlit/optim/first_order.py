"""First-order drivers: gradient EM and EM, and the start checks every driver shares.

Every driver of :mod:`gmmlit.optim` has the signature

``method(objective, means0, *, max_evals=..., tol=0.0, minimizer=None, **options)``

and returns an :class:`~gmmlit.optim.results.OptimizationResult`. The budget ``max_evals``
counts objective evaluations (passes over the integration nodes), the first one at
``means0`` included; every evaluation goes through ``objective.evaluate`` and is recorded.
The formulas of the steps live in :mod:`gmmlit.optim.steps`; the drivers only compose them.
The ravine method is in :mod:`gmmlit.optim.ravine`, the peers in :mod:`gmmlit.optim.peers`.
"""

from __future__ import annotations

import numpy as np

from ..core.validation import check_positive_float
from ..core.types import ArrayLike, FloatArray, Objective
from .results import OptimizationResult, Recorder, StopReason, check_objective
from .steps import gradient_em_step, short_step


# ---------------------------------------------------------------------------- checks
def check_start(objective: Objective, means0: ArrayLike) -> FloatArray:
    """Validate the objective and the starting means (shape ``(n, d)``, finite)."""
    check_objective(objective)
    return np.array(objective.check_means(means0, "means0"), dtype=float)


def check_choice(value, choices, name):
    """``value`` must be one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


# ---------------------------------------------------------------------------- drivers
def iterate_steps(rec, means, ev, update):
    """Repeat ``means <- update(means, ev)`` with one recorded evaluation per step, until
    ``rec`` stops; returns the last point with a finite loss and its evaluation."""
    while not rec.stopped:
        new = update(means, ev)
        if not np.all(np.isfinite(new)):
            rec.stop(StopReason.DIVERGED, "the step produced non-finite means")
            break
        ev_new = rec.evaluate(new)
        if rec.stop_reason in (StopReason.NON_FINITE, StopReason.DIVERGED):
            break  # keep the last point with a finite loss
        means, ev = new, ev_new
    return means, ev


def gradient_em(objective: Objective, means0: ArrayLike, *, max_evals: int = 1000, tol: float = 0.0,
                minimizer: ArrayLike | None = None, step: float = 1.0, record_means: bool = False) -> OptimizationResult:
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
    x, ev = iterate_steps(rec, x, ev, lambda m, e: gradient_em_step(m, e, step))
    return rec.finish(x, ev.loss)


def em(objective: Objective, means0: ArrayLike, *, max_evals: int = 1000, tol: float = 0.0,
       minimizer: ArrayLike | None = None, record_means: bool = False) -> OptimizationResult:
    """EM with fixed weights: ``mu_i <- E[psi_i x] / E[psi_i]``.

    Parameters and result as in :func:`gradient_em` (no step size).
    """
    x = check_start(objective, means0)
    rec = Recorder(objective, method="em", max_evals=max_evals, tol=tol, minimizer=minimizer,
                   record_means=record_means)
    ev = rec.evaluate(x)
    x, ev = iterate_steps(rec, x, ev, lambda m, e: short_step(m, e, "em"))
    return rec.finish(x, ev.loss)

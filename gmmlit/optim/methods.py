"""Gradient EM, EM and the ravine method: pure steps and the drivers that run them.

Every driver has the signature

``method(objective, means0, *, max_evals=..., tol=0.0, minimizer=None, **options)``

and returns an :class:`~gmmlit.optim.results.OptimizationResult`. The budget ``max_evals``
counts objective evaluations (passes over the integration nodes), the first one at
``means0`` included; every evaluation goes through ``objective.evaluate`` and is recorded.
The formulas of the steps live in :mod:`gmmlit.optim.steps`; this module only composes them.

The ravine method
-----------------
After Davis, Drusvyatskiy and Jiang's GDPolyak {cite}`davis2025gradient`, it repeats

1. ``K`` *short* steps (gradient EM or EM), which bring the iterate back to the ravine
   (the manifold along which the loss grows only quartically);
2. one *long* Polyak step ``theta - (L - f*) / <g, D g> * D g`` along the ravine.

The Polyak step needs the evaluation at its base point, which is the evaluation made
after the last short step (free), and one at the trial point, which is also the first
evaluation of the next block. A block therefore costs ``K + 1`` evaluations. ``K`` is
fixed (as in GDPolyak) or adaptive: short steps until the gradient norm stops shrinking.
A safeguard may reject a Polyak step that raises the loss (judged at the trial point,
or at the end of the next short phase); a rejected trial is recorded as a non-accepted
Polyak trial and the method continues from the base point of the step.

The target ``f*`` of the Polyak step is given, or estimated from the points before and
after each trial (:func:`gmmlit.optim.steps.floor_estimate`). Short steps after the first of a
block may be over-relaxed (:func:`relaxation_factor`). When Polyak steps keep being
rejected, the method stops or hands the rest of the budget over to L-BFGS
(``on_plateau``).

The defaults (:data:`RAVINE_DEFAULTS`) are the configuration found best by the tuning
study in :mod:`gmmlit.book.studies`.
"""

from __future__ import annotations

import dataclasses
import numbers
from types import MappingProxyType

import numpy as np

from .results import Recorder, StopReason, chain_results, check_objective
from .steps import (POLYAK_METRICS, em_step, floor_estimate, gradient_em_step, polyak_direction,
                    polyak_from_evaluation)
from ..core.validation import check_finite_float, check_positive_float, check_positive_int
from .presets import RAVINE_DEFAULTS

#: Kinds of short step accepted by :func:`ravine_method`.
SHORT_STEP_KINDS = ("gem", "em", "pgem")

#: Safeguards accepted by :func:`ravine_method` (``False``/``True`` mean "off"/"trial").
SAFEGUARDS = ("off", "trial", "lookahead")

#: Relaxation rules of the short steps accepted by :func:`ravine_method`.
RELAXATIONS = ("adaptive", "off")

#: What :func:`ravine_method` does when its Polyak steps keep being rejected.
ON_PLATEAU = ("stop", "lbfgs")

#: Rules resolving the short-step size from the Hessian at the start (:func:`start_curvature`).
STEP_RULES = ("inverse_lambda_max",)

#: Rules resolving the number ``K`` of short steps from the Hessian at the start.
SHORT_STEP_RULES = ("normal_condition",)

#: Memory of the L-BFGS stage of ``on_plateau="lbfgs"`` (at least the number of
#: coordinates ``n d`` of the instances of the book, so that it keeps every pair).
PLATEAU_LBFGS_MEMORY = 50



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


def check_safeguard(value):
    """``safeguard`` is one of :data:`SAFEGUARDS`; ``False`` means ``"off"``, ``True`` ``"trial"``."""
    if isinstance(value, (bool, np.bool_)):
        return "trial" if value else "off"
    return check_choice(value, SAFEGUARDS, "safeguard")


def check_f_star(value):
    """``f_star`` is a finite number or ``"adaptive"``; returns ``(mode, lower)``.

    ``mode`` is ``"fixed"`` or ``"adaptive"``; ``lower`` is the fixed target, or for
    ``"adaptive"`` the lower bound ``0`` of the estimates (a KL divergence is >= 0).
    """
    if isinstance(value, str):
        if value != "adaptive":
            raise ValueError(f"f_star must be a finite number or 'adaptive', got {value!r}")
        return "adaptive", 0.0
    return "fixed", check_finite_float(value, "f_star")


def check_short_steps(value):
    """``short_steps`` is a number ``K >= 1`` of short steps per block, ``"adaptive"``, or
    one of :data:`SHORT_STEP_RULES` (resolved at the start by :func:`start_curvature`)."""
    if isinstance(value, str):
        if value != "adaptive" and value not in SHORT_STEP_RULES:
            raise ValueError(f"short_steps (K) must be an integer >= 1, 'adaptive' or one of {SHORT_STEP_RULES}, "
                             f"got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"short_steps (K) must be an integer >= 1 or 'adaptive', got {type(value).__name__}")
    return check_positive_int(value, "short_steps (K)")


def check_step(value):
    """``step`` is a float ``> 0`` or one of :data:`STEP_RULES`."""
    if isinstance(value, str):
        return check_choice(value, STEP_RULES, "step")
    return check_positive_float(value, "step")


def check_normal_reduction(value):
    """``normal_reduction`` is a float in ``(0, 1)``."""
    value = check_positive_float(value, "normal_reduction")
    if value >= 1.0:
        raise ValueError(f"normal_reduction must be in (0, 1), got {value}")
    return value


# ---------------------------------------------------------------------------- start-resolved options
def normal_condition_steps(eigenvalues, n_normal, normal_reduction=0.01):
    """``K = ceil(kappa ln(1 / normal_reduction))`` with ``kappa = lambda_1 / lambda_{n_normal}``.

    Gradient steps of size ``1 / lambda_1`` contract the error in the span of the
    ``n_normal`` largest eigenvalues of the Hessian by at least ``1 - 1 / kappa`` per step,
    so that after ``K`` steps it has shrunk by ``(1 - 1/kappa)^K <= exp(-K / kappa) <=
    normal_reduction``.

    Parameters
    ----------
    eigenvalues : array_like
        Eigenvalues of the Hessian (any order).
    n_normal : int >= 1
        Number of normal directions, ``d m``.
    normal_reduction : float in (0, 1)

    Returns
    -------
    (int, float)
        ``K`` and ``kappa``.
    """
    n_normal = check_positive_int(n_normal, "n_normal")
    normal_reduction = check_normal_reduction(normal_reduction)
    lam = np.sort(np.asarray(eigenvalues, dtype=float))[::-1]
    if lam.size < n_normal:
        raise ValueError(f"need at least {n_normal} eigenvalues, got {lam.size}")
    if not (np.isfinite(lam[0]) and lam[n_normal - 1] > 0.0):
        raise ValueError(f"short_steps='normal_condition' needs the {n_normal} largest Hessian eigenvalues at means0 "
                         f"to be positive and finite, got lambda_1 = {lam[0]:.3e}, lambda_{n_normal} = "
                         f"{lam[n_normal - 1]:.3e} (start inside the basin of a minimiser)")
    kappa = float(lam[0] / lam[n_normal - 1])
    return max(1, int(np.ceil(kappa * np.log(1.0 / normal_reduction)))), kappa


def start_curvature(objective, means0, step, short_steps, normal_reduction=0.01):
    """Resolve ``step="inverse_lambda_max"`` and ``short_steps="normal_condition"`` from one
    Hessian of ``objective`` at ``means0``.

    ``step="inverse_lambda_max"`` becomes ``1 / lambda_max``; ``short_steps="normal_condition"``
    becomes :func:`normal_condition_steps` of the ``d m`` largest eigenvalues (``m`` the
    number of teacher components: the normal space of the ravine has dimension ``d m``).
    Other values pass through unchanged. The Hessian is not an objective evaluation: it is
    not charged to ``max_evals`` (``objective.counts["hessian"]`` counts it).

    Returns
    -------
    (step, short_steps, info)
        The resolved values and a dict for the result's ``extras`` (``hessians``,
        ``lambda_max``, ``kappa``, ``step_rule``, ``short_steps_rule``); empty when no rule
        was asked for (no Hessian computed).
    """
    wants_step = isinstance(step, str)
    wants_k = isinstance(short_steps, str) and short_steps in SHORT_STEP_RULES
    if not (wants_step or wants_k):
        return step, short_steps, {}
    if wants_k and getattr(objective, "teacher", None) is None:
        raise ValueError("short_steps='normal_condition' needs an objective with a teacher (objective.teacher."
                         "n_components gives the dimension d m of the normal space)")
    if not callable(getattr(objective, "hessian", None)):
        raise ValueError(f"step={step!r} / short_steps={short_steps!r} need objective.hessian(means)")
    n, d = np.shape(means0)
    eigenvalues = np.linalg.eigvalsh(np.asarray(objective.hessian(means0), dtype=float).reshape(n * d, n * d))
    lam_max = float(eigenvalues[-1])
    info = dict(hessians=1, lambda_max=lam_max)
    if wants_step:
        if not (np.isfinite(lam_max) and lam_max > 0.0):
            raise ValueError(f"step='inverse_lambda_max' needs a positive finite largest Hessian eigenvalue at means0, "
                             f"got {lam_max:.3e}")
        info["step_rule"] = step
        step = 1.0 / lam_max
    if wants_k:
        info["short_steps_rule"] = short_steps
        short_steps, info["kappa"] = normal_condition_steps(eigenvalues, d * objective.teacher.n_components,
                                                            normal_reduction)
    return step, short_steps, info


# ---------------------------------------------------------------------------- pure steps
def short_step(means, evaluation, kind="gem", step=1.0):
    """One short step from ``means`` using the evaluation there.

    * ``kind="gem"``: gradient EM ``means - step * grad`` (:func:`gmmlit.optim.steps.gradient_em_step`).
    * ``kind="em"``: EM ``E[psi_i x] / E[psi_i]`` (:func:`gmmlit.optim.steps.em_step`; ``step`` unused).
    * ``kind="pgem"``: gradient EM in EM's metric, ``mu_i - step * grad_i / E[psi_i]``
      (the direction of :func:`gmmlit.optim.steps.polyak_direction` with ``metric="em"``).

    With ``step = 1`` the last two are the same map in the continuum, where
    ``grad_i = -E[psi_i (x - mu_i)]``. Discretised, they differ by the integration error
    of ``E_{p*}[e^s psi_i (x - mu_i)] = int p_theta psi_i (x - mu_i) = 0``: EM's fixed
    points are those of the naive discretised loss, while ``"pgem"`` (through the
    gradient of the discretised Bregman loss) stops exactly at its stationary points.
    With a coarse rule EM therefore stalls along the ravine at a distance of order
    ``(integration error)^(1/3)`` from ``theta*``, and ``"pgem"`` does not.
    """
    if kind == "gem":
        return gradient_em_step(means, evaluation, step)
    with np.errstate(divide="ignore", invalid="ignore"):  # a vanished mass gives inf: caught by the driver
        if kind == "em":
            return em_step(evaluation)
        if kind == "pgem":
            return np.asarray(means) - step * polyak_direction(evaluation, "em")
    raise ValueError(f"short step kind must be one of {SHORT_STEP_KINDS}, got {kind!r}")


def accept_polyak(base_loss, judged_loss, safeguard="trial"):
    """Whether a Polyak trial becomes the new iterate.

    With ``safeguard="off"`` always; otherwise only when ``judged_loss`` (the loss at the
    trial point for ``"trial"``, at the end of the short phase after it for
    ``"lookahead"``) is finite and does not exceed the loss at the base point.
    """
    if check_safeguard(safeguard) == "off":
        return True
    return bool(np.isfinite(judged_loss) and judged_loss <= base_loss)


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
        if rec.stop_reason == StopReason.NON_FINITE:
            break  # keep the last point with a finite loss
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
    x, ev = _iterate(rec, x, ev, lambda m, e: short_step(m, e, "em"))
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
    relaxation=RAVINE_DEFAULTS["relaxation"],
    metric=RAVINE_DEFAULTS["metric"],
    multiplier=RAVINE_DEFAULTS["multiplier"],
    safeguard=RAVINE_DEFAULTS["safeguard"],
    max_rejections=RAVINE_DEFAULTS["max_rejections"],
    f_star=RAVINE_DEFAULTS["f_star"],
    on_plateau=RAVINE_DEFAULTS["on_plateau"],
    normal_reduction=0.01,
    record_means=False,
    _start_info=None,
):
    """Short steps to the ravine, then one long Polyak step along it; repeat.

    The defaults (:data:`RAVINE_DEFAULTS`) are the configuration recommended by the
    tuning study of :mod:`gmmlit.book.studies`.

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
    short : {"gem", "em", "pgem"}
        Kind of short step (:func:`short_step`): gradient EM with step size ``step``, EM,
        or gradient EM in EM's metric (EM written through the discretised gradient, so
        that it stops at the stationary points of the discretised loss).
    step : float > 0 or "inverse_lambda_max"
        Step size of the ``"gem"`` and ``"pgem"`` short steps (unused by EM), or
        ``"inverse_lambda_max"``: ``1 / lambda_max`` of the Hessian at ``means0``
        (:func:`start_curvature`).
    short_steps : int >= 1, "adaptive" or "normal_condition"
        ``K``, the number of short steps before each Polyak step (fixed, as in GDPolyak),
        or ``"adaptive"``: short steps until the gradient norm stops shrinking by the
        factor ``adaptive_ratio``, at most ``max_short_steps``
        (see :func:`short_phase_done`), or ``"normal_condition"``: a fixed ``K`` from the
        Hessian at ``means0``, ``K = ceil(kappa ln(1 / normal_reduction))`` with
        ``kappa = lambda_1 / lambda_{d m}`` (:func:`normal_condition_steps`; it needs
        ``objective.teacher``). One Hessian at the start serves both rules; it is not
        charged to ``max_evals``, and the result records the resolved ``step`` and
        ``short_steps`` in ``options``, and ``hessians = 1``, ``lambda_max``, ``kappa`` and
        the rules in ``extras``.
    max_short_steps : int >= 1
        Cap on the adaptive short phase.
    adaptive_ratio : float in (0, 1]
        The adaptive short phase ends when ``|g_k| > adaptive_ratio * |g_{k-1}|``.
    relaxation : {"adaptive", "off"}
        ``"adaptive"``: the second and later short steps of a block (``"gem"`` and
        ``"pgem"``) are over-relaxed, their step multiplied by
        :func:`relaxation_factor` of the first step's gradient-norm ratio (capped at
        ``adaptive_ratio``); it speeds up the short phase when clusters overlap and EM
        contracts slowly. ``"off"``: every short step has the step size ``step``.
    metric : {"euclidean", "em"}
        Polyak metric: ``D = I`` or ``D = diag(1 / E[psi_i])``.
    multiplier : float > 0
        The Polyak step length is multiplied by it (``1``: the plain Polyak step).
    safeguard : {"off", "trial", "lookahead"} or bool
        Whether and how a Polyak step that raises the loss is rejected (the method then
        continues from the base point of the step). ``"trial"`` (or ``True``) compares
        the loss at the trial point with the loss at the base point; ``"lookahead"``
        compares the loss at the end of the short phase that follows the trial (the next
        base point, back near the ravine) with the loss at the previous base point, and
        on rejection returns to that previous base point (the short phase after a
        rejected trial is then wasted; an accepted one costs nothing extra). ``"off"``
        (or ``False``) accepts every trial. Off the ravine the loss is dominated by the
        normal displacement, so ``"trial"`` rejects most useful Polyak steps (see the
        tuning study).
    max_rejections : int >= 1
        Stop (``StopReason.REJECTED_STEPS``) after this many consecutive rejected trials.
    f_star : float or "adaptive"
        The target value of the Polyak step: a number (``0`` when the weights group
        exactly, ``L*`` when the floor is known), or ``"adaptive"``: at every base point
        after an accepted Polyak step, the estimate :func:`gmmlit.optim.steps.floor_estimate`
        (quartic growth, degree 4) from that base point and the previous one, bounded
        below by 0 (a KL divergence is never negative); 0 until the first estimate, and
        the last estimate is kept when a pair gives none.
    on_plateau : {"stop", "lbfgs"}
        What to do when ``max_rejections`` consecutive Polyak steps were rejected, or
        when the estimated floor (``f_star="adaptive"``) is not below the loss: stop
        (``StopReason.REJECTED_STEPS`` or ``StopReason.AT_FLOOR``), or continue from the
        last base point with
        L-BFGS (:func:`gmmlit.optim.peers.lbfgs`, memory :data:`PLATEAU_LBFGS_MEMORY`) for the
        rest of the budget. Rejections in a row mean that the loss near the iterate is not
        a ravine with a known floor; with misspecified weights the floor is a strict
        local minimum with a few very weakly curved directions, where a quasi-Newton
        method is the better tool. The result then records both stages
        (:func:`gmmlit.optim.results.chain_results`; ``extras["switch_eval"]`` is the number of
        evaluations of the ravine stage).
    normal_reduction : float in (0, 1)
        For ``short_steps="normal_condition"``: the factor by which the normal error of
        gradient steps at ``1 / lambda_max`` shrinks at least over one short phase when
        each step contracts it by ``1 - 1 / kappa``.
    record_means : bool
        Keep every evaluated point in ``means_history``.

    Returns
    -------
    OptimizationResult
        ``polyak_evals``/``polyak_base``/``polyak_accepted`` locate every Polyak trial;
        a trial cut short by the budget before it could be judged counts as rejected.
    """
    x = check_start(objective, means0)
    short = check_choice(short, SHORT_STEP_KINDS, "short")
    step = check_step(step)
    short_steps = check_short_steps(short_steps)
    normal_reduction = check_normal_reduction(normal_reduction)
    step, short_steps, resolved = start_curvature(objective, x, step, short_steps, normal_reduction)
    start_info = dict(resolved if _start_info is None else _start_info)
    max_short_steps = check_positive_int(max_short_steps, "max_short_steps")
    adaptive_ratio = check_positive_float(adaptive_ratio, "adaptive_ratio", maximum=1.0)
    relaxation = check_choice(relaxation, RELAXATIONS, "relaxation")
    metric = check_choice(metric, POLYAK_METRICS, "metric")
    multiplier = check_positive_float(multiplier, "multiplier")
    safeguard = check_safeguard(safeguard)
    max_rejections = check_positive_int(max_rejections, "max_rejections")
    f_star_mode, f_star = check_f_star(f_star)
    on_plateau = check_choice(on_plateau, ON_PLATEAU, "on_plateau")
    options = dict(short=short, step=step, short_steps=short_steps, max_short_steps=max_short_steps,
                   adaptive_ratio=adaptive_ratio, relaxation=relaxation, metric=metric, multiplier=multiplier,
                   safeguard=safeguard, max_rejections=max_rejections,
                   f_star=f_star_mode if f_star_mode == "adaptive" else f_star)
    if "short_steps_rule" in start_info:
        options["normal_reduction"] = normal_reduction
    if on_plateau == "lbfgs":
        from .peers import lbfgs  # peers builds on this module

        first = ravine_method(objective, x, max_evals=max_evals, tol=tol, minimizer=minimizer,
                              record_means=record_means, on_plateau="stop", _start_info=start_info, **options)
        if first.stop_reason not in (StopReason.REJECTED_STEPS, StopReason.AT_FLOOR) or first.n_evals >= max_evals:
            return first
        second = lbfgs(objective, first.means, max_evals=max_evals - first.n_evals, tol=tol, minimizer=minimizer,
                       memory=PLATEAU_LBFGS_MEMORY, record_means=record_means)
        chained = chain_results(first, second, options=dict(first.options, on_plateau="lbfgs"))
        if start_info:  # the start-resolved quantities describe the whole run
            chained = dataclasses.replace(chained, extras=MappingProxyType(dict(chained.extras, **start_info)))
        return chained
    rec = Recorder(objective, method="ravine_method", max_evals=max_evals, tol=tol, minimizer=minimizer,
                   record_means=record_means, options=options)
    rec.extras.update(start_info)

    def take_short_step(means, ev):
        size = step
        if relaxation == "adaptive" and len(norms) >= 2 and norms[0] > 0.0:
            size = step * relaxation_factor(norms[1] / norms[0], adaptive_ratio)
        new = short_step(means, ev, short, size)
        if not np.all(np.isfinite(new)):
            rec.stop(StopReason.NON_FINITE, "a short step produced non-finite means")
            return None, None
        ev_new = rec.evaluate(new)
        if rec.stop_reason == StopReason.NON_FINITE:
            return None, None  # keep the last point with a finite loss
        return new, ev_new

    ev = rec.evaluate(x)
    base_index = rec.last_index
    norms = [rec.grad_norms[base_index]]  # gradient norms of the current block
    rejections = 0
    pending = None  # lookahead: (trial index, base index, step size, previous base point)
    # f_star="adaptive": (loss, metric gradient norm) at the base of the last Polyak
    # trial, and the latest estimate of L*
    this_base, floor_hat = None, None

    def metric_norm(evaluation):
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sqrt(np.sum(evaluation.grad * polyak_direction(evaluation, metric))))

    def update_floor(evaluation):
        """A new estimate from the last trial's base and ``evaluation``, the point back on
        the ravine after the trial (the next base or, with the look-ahead safeguard, the
        judged point, accepted or not)."""
        nonlocal floor_hat
        if f_star_mode != "adaptive" or this_base is None:
            return
        estimate = floor_estimate(*this_base, evaluation.loss, metric_norm(evaluation))
        if estimate is not None:
            floor_hat = max(f_star, estimate)

    def reject(reason_count):
        if reason_count >= max_rejections:
            rec.stop(StopReason.REJECTED_STEPS, f"{reason_count} consecutive Polyak steps raised the loss")

    while True:
        # short phase: back to the ravine
        while not rec.stopped and not short_phase_done(norms, short_steps, max_short_steps, adaptive_ratio):
            new, ev_new = take_short_step(x, ev)
            if new is None:
                break
            x, ev, base_index = new, ev_new, rec.last_index
            norms.append(rec.grad_norms[-1])
        if pending is not None:
            # look-ahead safeguard: judge the last Polyak step once back near the ravine
            trial_index, trial_base, trial_size, (x_prev, ev_prev, index_prev) = pending
            pending = None
            accepted = rec.stop_reason == StopReason.TOLERANCE or accept_polyak(ev_prev.loss, ev.loss, safeguard)
            rec.mark_polyak(trial_index, trial_base, accepted, trial_size)
            update_floor(ev)
            this_base = None
            if accepted:
                rejections = 0
            else:
                rejections += 1
                x, ev, base_index = x_prev, ev_prev, index_prev
                norms = [rec.grad_norms[base_index]]
                reject(rejections)
                continue  # a new short phase from the previous base point
        if rec.stopped:
            break
        # long Polyak step from the last evaluated point
        target = f_star
        if f_star_mode == "adaptive":
            if safeguard != "lookahead":
                update_floor(ev)  # this base follows the last accepted trial
            if floor_hat is not None:
                if floor_hat >= ev.loss:
                    rec.stop(StopReason.AT_FLOOR, f"the estimated floor {floor_hat:.6e} is not below the loss")
                    break
                target = floor_hat
            this_base = (ev.loss, metric_norm(ev))
        with np.errstate(divide="ignore", invalid="ignore"):  # a vanished mass in the EM metric
            trial = polyak_from_evaluation(x, ev, target, metric, multiplier)
        if trial.zero_gradient:
            if rec.grad_norms[base_index] > 0.0:
                rec.stop(StopReason.NON_FINITE, "the Polyak direction is not finite (a mass E[psi_i] vanished)")
            else:
                rec.stop(StopReason.ZERO_GRADIENT, "zero gradient at the base of a Polyak step")
            break
        if not np.all(np.isfinite(trial.means)):
            rec.stop(StopReason.NON_FINITE, "a Polyak step produced non-finite means")
            break
        ev_trial = rec.evaluate(trial.means)
        trial_index = rec.last_index
        if rec.stop_reason == StopReason.TOLERANCE:
            rec.mark_polyak(trial_index, base_index, True, trial.step_size)
            x, ev = trial.means, ev_trial
            break
        if rec.stopped:  # budget spent or non-finite before the trial could be judged
            rec.mark_polyak(trial_index, base_index, False, trial.step_size)
            break
        if safeguard == "lookahead":
            pending = (trial_index, base_index, trial.step_size, (x, ev, base_index))
            accepted = True  # provisionally: judged after the next short phase
        else:
            accepted = accept_polyak(ev.loss, ev_trial.loss, safeguard)
            rec.mark_polyak(trial_index, base_index, accepted, trial.step_size)
        if accepted:
            if safeguard != "lookahead":
                rejections = 0
            x, ev, base_index = trial.means, ev_trial, trial_index
        else:
            rejections += 1
            this_base = None  # no point back on the ravine after a rejected trial
            reject(rejections)
        norms = [rec.grad_norms[base_index]]
    return rec.finish(x, ev.loss)

"""The phases of the ravine method, as updates of an explicit state.

Each phase is a function ``phase(options, rec, state) -> state`` (:class:`RavineState` is
frozen): the only side effect is ``rec.evaluate`` (each evaluation is recorded, and the
recorder's stopping rules — tolerance, budget, non-finite loss, zero gradient — may fire).
What the method itself decides is carried in the state it returns: the Polyak trials made
(:attr:`RavineState.trials`) and a stop of its own (:attr:`RavineState.stop`: rejected
steps, at the floor, a non-finite short step). The loop of
:func:`gmmlit.optim.ravine.ravine_stage` hands both to the recorder once, at the end.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..core.objective import Evaluation
from .ravine_options import EMMetricGradientStep, LookaheadSafeguard, short_step_size
from .results import StopReason
from .steps import floor_estimate, polyak_direction, polyak_from_evaluation, short_step


# ---------------------------------------------------------------------------- state
@dataclass(frozen=True, eq=False)
class Point:
    """An evaluated point: the means, its evaluation, its index among the run's
    evaluations and its Euclidean gradient norm."""

    means: np.ndarray
    ev: Evaluation
    index: int
    grad_norm: float


class PolyakTrial(NamedTuple):
    """A Polyak trial: the evaluation index of the trial point, of its base point, whether
    it was accepted, and its step length."""

    trial: int
    base: int
    accepted: bool
    step_size: float


@dataclass(frozen=True, eq=False)
class Lookahead:
    """A Polyak trial awaiting judgement by the look-ahead safeguard: the evaluation index
    of the trial, its step size, and its base point (to return to if it is rejected)."""

    trial_index: int
    step_size: float
    previous: Point


@dataclass(frozen=True, eq=False)
class RavineState:
    """The state of a run of the ravine method between phases.

    Attributes
    ----------
    point : Point
        The current iterate (the base of the next Polyak step once the short phase is over).
    norms : tuple of float
        Gradient norms in the current block: at its first point, then after each short step.
    rejections : int
        Consecutive rejected Polyak trials.
    pending : Lookahead or None
        The trial to judge after the short phase (look-ahead safeguard).
    floor_base : (float, float) or None
        Loss and metric gradient norm at the base of the last Polyak trial, the first
        point of the next floor estimate.
    floor_hat : float or None
        The latest estimate of ``L*``.
    far : bool
        Whether the last short step found the iterate far from the ravine
        (:func:`discretisation_gap` above ``far_gap``): it was an EM step, and no Polyak
        step is taken from there.
    trials : tuple of PolyakTrial
        Every judged Polyak trial, in order.
    stop : (StopReason, str) or None
        The method's own stop, with its message.
    """

    point: Point
    norms: tuple
    rejections: int = 0
    pending: Lookahead | None = None
    floor_base: tuple | None = None
    floor_hat: float | None = None
    far: bool = False
    trials: tuple = ()
    stop: tuple | None = None


def observe(rec, means):
    """Evaluate ``means`` through the recorder: the new :class:`Point`."""
    ev = rec.evaluate(means)
    return Point(means, ev, rec.last_index, rec.grad_norms[rec.last_index])


def stopped(rec, state):
    """Whether the recorder or the method stopped the run."""
    return rec.stopped or state.stop is not None


def with_stop(state, reason, message):
    """``state`` with the method's stop (the first one wins)."""
    if state.stop is not None:
        return state
    return dataclasses.replace(state, stop=(StopReason(reason), message))


def with_trial(state, trial, base, accepted, step_size):
    """``state`` with one more judged Polyak trial."""
    return dataclasses.replace(state, trials=state.trials + (PolyakTrial(trial, base, bool(accepted), step_size),))


def new_block(state, point):
    """``state`` at ``point`` with a new block of short steps."""
    return dataclasses.replace(state, point=point, norms=(point.grad_norm,))


# ---------------------------------------------------------------------------- pieces
def metric_norm(evaluation, metric):
    """``sqrt(<g, D g>)``: the gradient norm in the metric of the Polyak step."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sqrt(np.sum(evaluation.grad * polyak_direction(evaluation, metric))))


def discretisation_gap(means, evaluation):
    """``max_i |S_i - em_i|``: the distance between the EM update and gradient EM in EM's
    metric ``S`` (step 1), ``|E[e^s psi_i (x - mu_i)]| / E[psi_i]``; returns the gap and
    both updates.

    In the continuum the two updates coincide (``E_{p*}[e^s psi_i (x - mu_i)] =
    int p_theta psi_i (x - mu_i) = 0``); discretised they differ by the integration error,
    which stays small (``1e-12`` to ``1e-2`` near the minimiser with the rules of the
    book) while the students' mass lies where the nodes are, and becomes of order one when
    students sit far from every node: then the discretised gradient no longer follows the
    loss, and the EM update (exact for the student's tilted mass, computed in the log
    domain) is the step to trust. Students whose mass vanished do not count (both updates
    are EM's for them).
    """
    em_means = short_step(means, evaluation, "em")
    metric_gradient = short_step(means, evaluation, "em_metric_gradient")
    return float(np.max(np.linalg.norm(metric_gradient - em_means, axis=1))), em_means, metric_gradient


def far_short_step(step, point, size):
    """The short step of :func:`short_phase` and whether the iterate is far from the ravine.

    With an :class:`EMMetricGradientStep` whose ``far_gap`` is set, the step is EM's when
    :func:`discretisation_gap` exceeds ``far_gap`` (the iterate is then *far*); otherwise it
    is :func:`gmmlit.optim.steps.short_step` of the step's kind.
    """
    if not isinstance(step, EMMetricGradientStep) or step.far_gap is None:
        return short_step(point.means, point.ev, step.kind, size), False
    gap, em_means, metric_gradient = discretisation_gap(point.means, point.ev)
    if gap > step.far_gap:
        return em_means, True
    if size == 1.0:
        return metric_gradient, False
    return short_step(point.means, point.ev, step.kind, size), False


def rejected(opts, state):
    """``state`` after one more rejected trial; the method stops at ``max_rejections``."""
    rejections = state.rejections + 1
    state = dataclasses.replace(state, rejections=rejections)
    if rejections >= opts.safeguard.max_rejections:
        state = with_stop(state, StopReason.REJECTED_STEPS, f"{rejections} consecutive Polyak steps raised the loss")
    return state


def update_floor(opts, state, evaluation):
    """A new estimate of ``L*`` from the last trial's base and ``evaluation``, the point
    back on the ravine after the trial (the next base or, with the look-ahead safeguard,
    the judged point, accepted or not); bounded below, the old one kept when the pair gives
    none."""
    if not opts.polyak.estimated or state.floor_base is None:
        return state
    estimate = floor_estimate(*state.floor_base, evaluation.loss, metric_norm(evaluation, opts.polyak.metric))
    if estimate is None:
        return state
    return dataclasses.replace(state, floor_hat=max(opts.polyak.lower, estimate))


# ---------------------------------------------------------------------------- phases
def short_phase(opts, rec, state):
    """Short steps from ``state.point`` until the short phase is done (or a stop)."""
    point, norms, far = state.point, list(state.norms), state.far
    while not stopped(rec, state) and not opts.short_phase.done(norms):
        new, far = far_short_step(opts.short_step, point, short_step_size(opts.short_step, norms))
        if not np.all(np.isfinite(new)):
            state = with_stop(state, StopReason.NON_FINITE, "a short step produced non-finite means")
            break
        candidate = observe(rec, new)
        if rec.stop_reason == StopReason.NON_FINITE:
            break  # keep the last point with a finite loss
        point = candidate
        norms.append(point.grad_norm)
    return dataclasses.replace(state, point=point, norms=tuple(norms), far=far)


def judge_lookahead(opts, rec, state):
    """Judge the pending Polyak trial at the end of the short phase after it.

    Returns ``(state, accepted)``; on rejection the state is back at the trial's base
    point with a new block.
    """
    pending, previous = state.pending, state.pending.previous
    accepted = (rec.stop_reason == StopReason.TOLERANCE
                or opts.safeguard.accepts(previous.ev.loss, state.point.ev.loss))
    state = with_trial(state, pending.trial_index, previous.index, accepted, pending.step_size)
    state = dataclasses.replace(update_floor(opts, state, state.point.ev), pending=None, floor_base=None)
    if accepted:
        return dataclasses.replace(state, rejections=0), True
    return new_block(rejected(opts, state), previous), False


def polyak_target(opts, state):
    """The target of the next Polyak step and the state with its floor-estimate
    bookkeeping; ``(None, state)`` with an ``AT_FLOOR`` stop when the estimate is not below
    the loss."""
    if not opts.polyak.estimated:
        return opts.polyak.target, state
    ev = state.point.ev
    if not isinstance(opts.safeguard, LookaheadSafeguard):
        state = update_floor(opts, state, ev)  # this base follows the last accepted trial
    target = opts.polyak.lower
    if state.floor_hat is not None:
        if state.floor_hat >= ev.loss:
            return None, with_stop(state, StopReason.AT_FLOOR,
                                   f"the estimated floor {state.floor_hat:.6e} is not below the loss")
        target = state.floor_hat
    return target, dataclasses.replace(state, floor_base=(ev.loss, metric_norm(ev, opts.polyak.metric)))


def polyak_trial(opts, rec, state):
    """One long Polyak step from ``state.point``, evaluated and (unless the look-ahead
    safeguard defers it) judged."""
    target, state = polyak_target(opts, state)
    if state.stop is not None:
        return state
    base = state.point
    with np.errstate(divide="ignore", invalid="ignore"):  # a vanished mass in the EM metric
        trial = polyak_from_evaluation(base.means, base.ev, target, opts.polyak.metric, opts.polyak.multiplier)
    if trial.zero_gradient and base.grad_norm == 0.0:
        return with_stop(state, StopReason.ZERO_GRADIENT, "zero gradient at the base of a Polyak step")
    if trial.zero_gradient or not np.all(np.isfinite(trial.means)):
        # no usable long step (its direction or its point is not finite): the safe step
        # is the short one, so a new block of short steps starts from the base point
        return dataclasses.replace(new_block(state, base), floor_base=None)
    new = observe(rec, trial.means)
    if rec.stop_reason == StopReason.TOLERANCE:
        return dataclasses.replace(with_trial(state, new.index, base.index, True, trial.step_size), point=new)
    if rec.stopped:  # budget spent or non-finite before the trial could be judged
        return with_trial(state, new.index, base.index, False, trial.step_size)
    if isinstance(opts.safeguard, LookaheadSafeguard):  # judged after the next short phase
        return dataclasses.replace(new_block(state, new), pending=Lookahead(new.index, trial.step_size, base))
    accepted = opts.safeguard.accepts(base.ev.loss, new.ev.loss)
    state = with_trial(state, new.index, base.index, accepted, trial.step_size)
    if accepted:
        return dataclasses.replace(new_block(state, new), rejections=0)
    # no point back on the ravine after a rejected trial: no floor estimate from its base
    return dataclasses.replace(new_block(rejected(opts, state), base), floor_base=None)

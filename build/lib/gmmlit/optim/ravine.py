"""The ravine method: short steps to the ravine, then one long Polyak step along it.

After Davis, Drusvyatskiy and Jiang's GDPolyak {cite}`davis2025gradient`, it repeats

1. ``K`` *short* steps (gradient EM or EM), which bring the iterate back to the ravine
   (the manifold along which the loss grows only quartically);
2. one *long* Polyak step ``theta - (L - f*) / <g, D g> * D g`` along the ravine.

The Polyak step needs the evaluation at its base point, which is the evaluation made
after the last short step (free), and one at the trial point, which is also the first
evaluation of the next block. A block therefore costs ``K + 1`` evaluations. ``K`` is
fixed (as in GDPolyak), resolved from the Hessian at the start, or adaptive: short steps
until the gradient norm stops shrinking. A safeguard may reject a Polyak step that raises
the loss (judged at the trial point, or at the end of the next short phase); a rejected
trial is recorded as a non-accepted Polyak trial and the method continues from the base
point of the step.

The target ``f*`` of the Polyak step is given, or estimated from the points before and
after each trial (:func:`gmmlit.optim.steps.floor_estimate`). Short steps after the first of
a block may be over-relaxed (:func:`gmmlit.optim.steps.relaxation_factor`). When Polyak steps
keep being rejected, the method stops or hands the rest of the budget over to L-BFGS
(``on_plateau``; the hand-over is the composition
:func:`gmmlit.optim.compose.then_on_plateau`).

Far from the ravine (``far_gap``), from an ordinary start, the discretised gradient no
longer follows the loss and a Polyak step assumes a ravine that is not there: while the
``"pgem"`` short step and EM's update differ by more than ``far_gap``
(:func:`discretisation_gap`), the short steps are EM's (computed in the log domain where
masses vanish) and no Polyak step is taken. A Polyak step whose direction or point is
not finite is not evaluated: a new block of short steps starts instead.

How the code is organised
-------------------------
In the style of optax's ``init``/``update`` pairs: the configuration is a frozen
:class:`RavineOptions` that validates itself (each parameter's check is declared once, in
:data:`OPTION_CHECKS`); the run's state is an explicit frozen :class:`RavineState`; the
phases are small functions of ``(options, recorder, state)`` that return the next state
(:func:`short_phase`, :func:`judge_lookahead`, :func:`polyak_target`,
:func:`polyak_trial`, :func:`update_floor`), and :func:`ravine_stage` is the loop
``state = init(...); while not stopped: state = update(...)`` with the recorder's single
stopping test (pymanopt's style). The recorder holds every evaluation and the stop.

The defaults (:data:`gmmlit.optim.presets.RAVINE_DEFAULTS`) are the configuration found best
by the tuning study in :mod:`gmmlit.book.studies`.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..core.objective import Evaluation
from ..core.validation import check_finite_float, check_positive_float, check_positive_int
from .compose import then_on_plateau, with_extras
from .first_order import check_choice, check_start
from .peers import lbfgs
from .presets import RAVINE_DEFAULTS
from .results import Recorder, StopReason
from .steps import (POLYAK_METRICS, SHORT_STEP_KINDS, floor_estimate, polyak_direction, polyak_from_evaluation,
                    relaxation_factor, short_step)

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


def _check_f_star_value(value):
    mode, lower = check_f_star(value)
    return "adaptive" if mode == "adaptive" else lower


#: Every option of :class:`RavineOptions` and its check, declared once (in the order the
#: checks run). Each check returns the normalised value or raises naming the option.
OPTION_CHECKS = {
    "short": lambda v: check_choice(v, SHORT_STEP_KINDS, "short"),
    "step": check_step,
    "short_steps": check_short_steps,
    "normal_reduction": check_normal_reduction,
    "max_short_steps": lambda v: check_positive_int(v, "max_short_steps"),
    "adaptive_ratio": lambda v: check_positive_float(v, "adaptive_ratio", maximum=1.0),
    "relaxation": lambda v: check_choice(v, RELAXATIONS, "relaxation"),
    "metric": lambda v: check_choice(v, POLYAK_METRICS, "metric"),
    "multiplier": lambda v: check_positive_float(v, "multiplier"),
    "safeguard": check_safeguard,
    "max_rejections": lambda v: check_positive_int(v, "max_rejections"),
    "f_star": _check_f_star_value,
    "on_plateau": lambda v: check_choice(v, ON_PLATEAU, "on_plateau"),
    "far_gap": lambda v: None if v is None else check_positive_float(v, "far_gap"),
}


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


# ---------------------------------------------------------------------------- options
@dataclass(frozen=True)
class RavineOptions:
    """The configuration of :func:`ravine_method`, validated on construction.

    Each field is one keyword argument of :func:`ravine_method` (documented there) and is
    checked by its entry of :data:`OPTION_CHECKS`; the defaults are
    :data:`gmmlit.optim.presets.RAVINE_DEFAULTS`. ``f_star`` is stored as ``"adaptive"`` or
    a float, ``safeguard`` as one of :data:`SAFEGUARDS`.
    """

    short: str = RAVINE_DEFAULTS["short"]
    step: float | str = RAVINE_DEFAULTS["step"]
    short_steps: int | str = RAVINE_DEFAULTS["short_steps"]
    normal_reduction: float = 0.01
    max_short_steps: int = RAVINE_DEFAULTS["max_short_steps"]
    adaptive_ratio: float = RAVINE_DEFAULTS["adaptive_ratio"]
    relaxation: str = RAVINE_DEFAULTS["relaxation"]
    metric: str = RAVINE_DEFAULTS["metric"]
    multiplier: float = RAVINE_DEFAULTS["multiplier"]
    safeguard: str | bool = RAVINE_DEFAULTS["safeguard"]
    max_rejections: int = RAVINE_DEFAULTS["max_rejections"]
    f_star: float | str = RAVINE_DEFAULTS["f_star"]
    on_plateau: str = RAVINE_DEFAULTS["on_plateau"]
    far_gap: float | None = RAVINE_DEFAULTS["far_gap"]

    def __post_init__(self):
        for name, check in OPTION_CHECKS.items():
            object.__setattr__(self, name, check(getattr(self, name)))

    @classmethod
    def from_kwargs(cls, **kwargs):
        """The options from keyword arguments; an unknown keyword raises ``TypeError``."""
        unknown = sorted(set(kwargs) - set(OPTION_CHECKS))
        if unknown:
            raise TypeError(f"unknown ravine_method option(s) {unknown}; known: {tuple(OPTION_CHECKS)}")
        return cls(**kwargs)

    @property
    def adaptive_target(self):
        """Whether the Polyak target is estimated (``f_star="adaptive"``)."""
        return self.f_star == "adaptive"

    @property
    def target_lower(self):
        """The fixed target, or the lower bound 0 of the estimates."""
        return 0.0 if self.adaptive_target else self.f_star

    @property
    def at_start(self):
        """Whether an option is resolved from the Hessian at the start (:meth:`resolve`)."""
        return isinstance(self.step, str) or self.short_steps in SHORT_STEP_RULES

    def resolve(self, objective, means0):
        """``(options, info)``: the options with the start-resolved rules replaced by their
        values (:func:`start_curvature`), and what to record in the result's ``extras``."""
        if not self.at_start:
            return self, {}
        step, k, info = start_curvature(objective, means0, self.step, self.short_steps, self.normal_reduction)
        return dataclasses.replace(self, step=step, short_steps=k), info

    def record(self):
        """The options as stored in a result's ``options``: every field."""
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------- state
@dataclass(frozen=True, eq=False)
class Point:
    """An evaluated point: means, their :class:`~gmmlit.core.objective.Evaluation`, and the
    index of that evaluation in the recorder."""

    means: np.ndarray
    ev: Evaluation
    index: int


@dataclass(frozen=True, eq=False)
class Lookahead:
    """A Polyak trial awaiting judgement by the look-ahead safeguard: the evaluation index
    of the trial, of its base point, its step size, and the base point to return to if the
    trial is rejected."""

    trial_index: int
    base_index: int
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
        point of the next floor estimate (``f_star="adaptive"``).
    floor_hat : float or None
        The latest estimate of ``L*``.
    far : bool
        Whether the last short step found the iterate far from the ravine
        (:func:`discretisation_gap` above ``far_gap``): it was an EM step, and no Polyak
        step is taken from there.
    """

    point: Point
    norms: tuple
    rejections: int = 0
    pending: Lookahead | None = None
    floor_base: tuple | None = None
    floor_hat: float | None = None
    far: bool = False


def metric_norm(evaluation, metric):
    """``sqrt(<g, D g>)``: the gradient norm in the metric of the Polyak step."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sqrt(np.sum(evaluation.grad * polyak_direction(evaluation, metric))))


def accept_polyak(base_loss, judged_loss, safeguard="trial"):
    """Whether a Polyak trial becomes the new iterate.

    With ``safeguard="off"`` always; otherwise only when ``judged_loss`` (the loss at the
    trial point for ``"trial"``, at the end of the short phase after it for
    ``"lookahead"``) is finite and does not exceed the loss at the base point.
    """
    if check_safeguard(safeguard) == "off":
        return True
    return bool(np.isfinite(judged_loss) and judged_loss <= base_loss)


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


def short_step_size(opts, norms):
    """The size of the next short step: ``step``, over-relaxed after the first short step
    of a block when ``relaxation="adaptive"``."""
    if opts.relaxation == "adaptive" and len(norms) >= 2 and norms[0] > 0.0:
        return opts.step * relaxation_factor(norms[1] / norms[0], opts.adaptive_ratio)
    return opts.step


def discretisation_gap(means, evaluation):
    """``max_i |pgem_i - em_i|``: the distance between the EM update and gradient EM in
    EM's metric (step 1), ``|E[e^s psi_i (x - mu_i)]| / E[psi_i]``.

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
    pgem = short_step(means, evaluation, "pgem")
    return float(np.max(np.linalg.norm(pgem - em_means, axis=1))), em_means, pgem


def far_short_step(opts, point, size):
    """The short step of :func:`short_phase` and whether the iterate is far from the ravine.

    With ``short="pgem"`` and ``far_gap`` set, the step is EM's when
    :func:`discretisation_gap` exceeds ``far_gap`` (the iterate is then *far*); otherwise it
    is :func:`gmmlit.optim.steps.short_step` of kind ``short``.
    """
    if opts.short != "pgem" or opts.far_gap is None:
        return short_step(point.means, point.ev, opts.short, size), False
    gap, em_means, pgem = discretisation_gap(point.means, point.ev)
    if gap > opts.far_gap:
        return em_means, True
    if size == 1.0:
        return pgem, False
    return short_step(point.means, point.ev, "pgem", size), False


def count_rejection(opts, rec, rejections):
    """Stop the run once ``rejections`` reaches ``max_rejections``."""
    if rejections >= opts.max_rejections:
        rec.stop(StopReason.REJECTED_STEPS, f"{rejections} consecutive Polyak steps raised the loss")


# ---------------------------------------------------------------------------- phases
def init(opts, rec, means0):
    """The first state: ``means0`` evaluated, an empty block."""
    ev = rec.evaluate(means0)
    return RavineState(point=Point(means0, ev, rec.last_index), norms=(rec.grad_norms[rec.last_index],))


def short_phase(opts, rec, state):
    """Short steps from ``state.point`` until :func:`short_phase_done` (or a stop)."""
    point, norms, far = state.point, list(state.norms), state.far
    while not rec.stopped and not short_phase_done(norms, opts.short_steps, opts.max_short_steps,
                                                   opts.adaptive_ratio):
        new, far = far_short_step(opts, point, short_step_size(opts, norms))
        if not np.all(np.isfinite(new)):
            rec.stop(StopReason.NON_FINITE, "a short step produced non-finite means")
            break
        ev = rec.evaluate(new)
        if rec.stop_reason == StopReason.NON_FINITE:
            break  # keep the last point with a finite loss
        point = Point(new, ev, rec.last_index)
        norms.append(rec.grad_norms[-1])
    return dataclasses.replace(state, point=point, norms=tuple(norms), far=far)


def update_floor(opts, state, evaluation):
    """A new estimate of ``L*`` from the last trial's base and ``evaluation``, the point
    back on the ravine after the trial (the next base or, with the look-ahead safeguard,
    the judged point, accepted or not); bounded below by 0, the old one kept when the
    pair gives none."""
    if not opts.adaptive_target or state.floor_base is None:
        return state
    estimate = floor_estimate(*state.floor_base, evaluation.loss, metric_norm(evaluation, opts.metric))
    if estimate is None:
        return state
    return dataclasses.replace(state, floor_hat=max(opts.target_lower, estimate))


def judge_lookahead(opts, rec, state):
    """Judge the pending Polyak trial at the end of the short phase after it.

    Returns ``(state, accepted)``; on rejection the state is back at the trial's base
    point with a new block.
    """
    pending, prev = state.pending, state.pending.previous
    accepted = rec.stop_reason == StopReason.TOLERANCE or accept_polyak(prev.ev.loss, state.point.ev.loss,
                                                                       opts.safeguard)
    rec.mark_polyak(pending.trial_index, pending.base_index, accepted, pending.step_size)
    state = dataclasses.replace(update_floor(opts, state, state.point.ev), pending=None, floor_base=None)
    if accepted:
        return dataclasses.replace(state, rejections=0), True
    rejections = state.rejections + 1
    count_rejection(opts, rec, rejections)
    return dataclasses.replace(state, point=prev, norms=(rec.grad_norms[prev.index],), rejections=rejections), False


def polyak_target(opts, rec, state):
    """The target ``f*`` of the next Polyak step and the state with its floor-estimate
    bookkeeping; ``(None, state)`` after an ``AT_FLOOR`` stop."""
    if not opts.adaptive_target:
        return opts.f_star, state
    ev = state.point.ev
    if opts.safeguard != "lookahead":
        state = update_floor(opts, state, ev)  # this base follows the last accepted trial
    target = opts.target_lower
    if state.floor_hat is not None:
        if state.floor_hat >= ev.loss:
            rec.stop(StopReason.AT_FLOOR, f"the estimated floor {state.floor_hat:.6e} is not below the loss")
            return None, state
        target = state.floor_hat
    return target, dataclasses.replace(state, floor_base=(ev.loss, metric_norm(ev, opts.metric)))


def polyak_trial(opts, rec, state):
    """One long Polyak step from ``state.point``, evaluated and (unless the look-ahead
    safeguard defers it) judged."""
    target, state = polyak_target(opts, rec, state)
    if rec.stopped:
        return state
    base = state.point
    with np.errstate(divide="ignore", invalid="ignore"):  # a vanished mass in the EM metric
        trial = polyak_from_evaluation(base.means, base.ev, target, opts.metric, opts.multiplier)
    if trial.zero_gradient and rec.grad_norms[base.index] == 0.0:
        rec.stop(StopReason.ZERO_GRADIENT, "zero gradient at the base of a Polyak step")
        return state
    if trial.zero_gradient or not np.all(np.isfinite(trial.means)):
        # no usable long step (its direction or its point is not finite): the safe step
        # is the short one, so a new block of short steps starts from the base point
        return dataclasses.replace(state, norms=(rec.grad_norms[base.index],), floor_base=None)
    ev_trial = rec.evaluate(trial.means)
    new = Point(trial.means, ev_trial, rec.last_index)
    if rec.stop_reason == StopReason.TOLERANCE:
        rec.mark_polyak(new.index, base.index, True, trial.step_size)
        return dataclasses.replace(state, point=new)
    if rec.stopped:  # budget spent or non-finite before the trial could be judged
        rec.mark_polyak(new.index, base.index, False, trial.step_size)
        return state
    if opts.safeguard == "lookahead":  # provisionally accepted: judged after the next short phase
        pending = Lookahead(new.index, base.index, trial.step_size, base)
        return dataclasses.replace(state, point=new, norms=(rec.grad_norms[new.index],), pending=pending)
    accepted = accept_polyak(base.ev.loss, ev_trial.loss, opts.safeguard)
    rec.mark_polyak(new.index, base.index, accepted, trial.step_size)
    if accepted:
        return dataclasses.replace(state, point=new, norms=(rec.grad_norms[new.index],), rejections=0)
    rejections = state.rejections + 1
    count_rejection(opts, rec, rejections)
    # no point back on the ravine after a rejected trial: no floor estimate from its base
    return dataclasses.replace(state, norms=(rec.grad_norms[base.index],), rejections=rejections, floor_base=None)


def update(opts, rec, state):
    """One block: the short phase, the judgement of a pending trial, the next Polyak trial."""
    state = short_phase(opts, rec, state)
    if state.pending is not None:
        state, accepted = judge_lookahead(opts, rec, state)
        if not accepted:
            return state  # a new block from the previous base point
    if rec.stopped:
        return state
    if state.far:  # no long step far from the ravine: a new block of short steps
        return dataclasses.replace(state, norms=(rec.grad_norms[state.point.index],))
    return polyak_trial(opts, rec, state)


# ---------------------------------------------------------------------------- drivers
def ravine_stage(objective, means0, *, options, max_evals=1000, tol=0.0, minimizer=None, record_means=False):
    """The ravine method without hand-over: blocks until a stopping rule fires.

    ``options`` is a :class:`RavineOptions` whose start-resolved rules are already resolved
    (:meth:`RavineOptions.resolve`); ``on_plateau`` is only recorded.
    """
    if not isinstance(options, RavineOptions) or options.at_start:
        raise TypeError("options must be a resolved RavineOptions (RavineOptions(...).resolve(objective, means0))")
    x = check_start(objective, means0)
    rec = Recorder(objective, method="ravine_method", max_evals=max_evals, tol=tol, minimizer=minimizer,
                   record_means=record_means, options=options.record())
    state = init(options, rec, x)
    while not rec.stopped:
        state = update(options, rec, state)
    return rec.finish(state.point.means, state.point.ev.loss)


# Long only by its docstring: the parameters are documented here, where users look.
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
    far_gap=RAVINE_DEFAULTS["far_gap"],
    record_means=False,
):
    """Short steps to the ravine, then one long Polyak step along it; repeat.

    The defaults (:data:`gmmlit.optim.presets.RAVINE_DEFAULTS`) are the configuration
    recommended by the tuning study of :mod:`gmmlit.book.studies`.

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
        Kind of short step (:func:`gmmlit.optim.steps.short_step`): gradient EM with step
        size ``step``, EM, or gradient EM in EM's metric (EM written through the
        discretised gradient, so that it stops at the stationary points of the
        discretised loss).
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
        :func:`gmmlit.optim.steps.relaxation_factor` of the first step's gradient-norm
        ratio (capped at ``adaptive_ratio``); it speeds up the short phase when clusters
        overlap and EM contracts slowly. ``"off"``: every short step has the step size
        ``step``.
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
        last base point with L-BFGS (:func:`gmmlit.optim.peers.lbfgs`, memory
        :data:`PLATEAU_LBFGS_MEMORY`) for the rest of the budget
        (:func:`gmmlit.optim.compose.then_on_plateau`). Rejections in a row mean that the
        loss near the iterate is not a ravine with a known floor; with misspecified weights
        the floor is a strict local minimum with a few very weakly curved directions, where
        a quasi-Newton method is the better tool. The result then records both stages
        (:func:`gmmlit.optim.results.chain_results`; ``extras["switch_eval"]`` is the number
        of evaluations of the ravine stage).
    normal_reduction : float in (0, 1)
        For ``short_steps="normal_condition"``: the factor by which the normal error of
        gradient steps at ``1 / lambda_max`` shrinks at least over one short phase when
        each step contracts it by ``1 - 1 / kappa``.
    far_gap : float > 0 or None
        Far-from-the-ravine test of the ``"pgem"`` short steps: when EM's update and
        ``"pgem"`` differ by more than ``far_gap`` for some student
        (:func:`discretisation_gap`: the students' mass lies outside the integration
        nodes, where the discretised gradient no longer follows the loss), the short step
        is EM's and no Polyak step is taken until the test passes again. ``None``: no test.
    record_means : bool
        Keep every evaluated point in ``means_history``.

    Returns
    -------
    OptimizationResult
        ``polyak_evals``/``polyak_base``/``polyak_accepted`` locate every Polyak trial;
        a trial cut short by the budget before it could be judged counts as rejected.
    """
    x = check_start(objective, means0)
    opts = RavineOptions(short=short, step=step, short_steps=short_steps, normal_reduction=normal_reduction,
                         max_short_steps=max_short_steps, adaptive_ratio=adaptive_ratio, relaxation=relaxation,
                         metric=metric, multiplier=multiplier, safeguard=safeguard, max_rejections=max_rejections,
                         f_star=f_star, on_plateau=on_plateau, far_gap=far_gap)
    return run_ravine(objective, x, opts, max_evals=max_evals, tol=tol, minimizer=minimizer,
                      record_means=record_means)


def run_ravine(objective, means0, options, *, max_evals=1000, tol=0.0, minimizer=None, record_means=False):
    """:func:`ravine_method` with its configuration as a :class:`RavineOptions`."""
    if not isinstance(options, RavineOptions):
        raise TypeError(f"options must be a RavineOptions, got {type(options).__name__}")
    x = check_start(objective, means0)
    resolved, info = options.resolve(objective, x)
    driver = partial(ravine_stage, options=resolved)
    if resolved.on_plateau == "lbfgs":
        driver = then_on_plateau(driver, partial(lbfgs, memory=PLATEAU_LBFGS_MEMORY))
    result = driver(objective, x, max_evals=max_evals, tol=tol, minimizer=minimizer, record_means=record_means)
    return with_extras(result, info)

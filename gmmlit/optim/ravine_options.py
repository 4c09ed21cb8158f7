"""The configuration of the ravine method: a few small policies, each validating itself.

A run of :func:`gmmlit.optim.ravine.ravine_method` is configured by one frozen
:class:`RavineOptions` made of five policies, each a frozen dataclass whose fields matter
in its mode:

* the **short step** (:class:`GradientStep`, :class:`EMStep`, :class:`EMMetricGradientStep`):
  which map brings the iterate back to the ravine, with its size and over-relaxation;
* the **short phase** (:class:`FixedShortSteps`, :class:`UntilGradientStalls`,
  :class:`FromNormalCondition`): how many short steps precede each Polyak step;
* the **Polyak step** (:class:`PolyakRule`): its metric, multiplier and target, a number or
  the floor estimate (:class:`FloorEstimate`);
* the **safeguard** (:class:`NoSafeguard`, :class:`TrialSafeguard`,
  :class:`LookaheadSafeguard`): whether and when a Polyak trial is judged;
* the **hand-over** (:class:`LbfgsHandOver` or ``None``): the driver composed after the
  ravine stage when it stops on a plateau (:func:`gmmlit.optim.compose.then_on_plateau`).

``RavineOptions()`` is the default method; each default is written once, in its policy's
fields. The rules resolved from the Hessian at the start (``size="inverse_lambda_max"``,
:class:`FromNormalCondition`) are resolved by :meth:`RavineOptions.resolve`
(:func:`start_curvature`).
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..core.validation import check_finite_float, check_positive_float, check_positive_int
from .first_order import check_choice
from .steps import POLYAK_METRICS, relaxation_factor

#: Rules resolving the size of a short step from the Hessian at the start.
STEP_RULES = ("inverse_lambda_max",)


def check_policy(value, kinds, name):
    """``value`` is an instance of one of the classes ``kinds``; a ``TypeError`` names ``name``."""
    if not isinstance(value, kinds):
        names = ", ".join(k.__name__ for k in kinds)
        raise TypeError(f"{name} must be one of {names}, got {type(value).__name__}")
    return value


def check_step_size(value, name="size"):
    """A short-step size: a float ``> 0`` or one of :data:`STEP_RULES`."""
    if isinstance(value, str):
        return check_choice(value, STEP_RULES, name)
    return check_positive_float(value, name)


def check_relaxation_cap(value):
    """``relaxation_cap`` is ``None`` (no over-relaxation) or a float in ``(0, 1]``."""
    return None if value is None else check_positive_float(value, "relaxation_cap", maximum=1.0)


def check_fraction(value, name):
    """A float in ``(0, 1)``."""
    value = check_positive_float(value, name)
    if value >= 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {value}")
    return value


def _set(obj, name, value):
    object.__setattr__(obj, name, value)


# ---------------------------------------------------------------------------- short steps
@dataclass(frozen=True)
class GradientStep:
    """Gradient EM, ``theta - size * grad L``.

    ``size`` is a float ``> 0`` or ``"inverse_lambda_max"`` (``1 / lambda_max`` of the
    Hessian at the start, :func:`start_curvature`). ``relaxation_cap``: the second and later
    short steps of a block are over-relaxed by :func:`gmmlit.optim.steps.relaxation_factor`
    of the first step's gradient-norm ratio capped at it; ``None``: no over-relaxation.
    """

    kind: ClassVar[str] = "gradient"
    size: float | str = 1.0
    relaxation_cap: float | None = None

    def __post_init__(self):
        _set(self, "size", check_step_size(self.size))
        _set(self, "relaxation_cap", check_relaxation_cap(self.relaxation_cap))


@dataclass(frozen=True)
class EMStep:
    """EM's update ``mu_i = E[psi_i x] / E[psi_i]`` (no size, no over-relaxation)."""

    kind: ClassVar[str] = "em"
    size: ClassVar[float] = 1.0
    relaxation_cap: ClassVar[None] = None


@dataclass(frozen=True)
class EMMetricGradientStep:
    """Gradient EM in EM's metric, ``mu_i - size * grad_i L / E[psi_i]``: EM's update
    written through the gradient of the discretised loss, whose fixed points are that
    loss's stationary points.

    ``size`` and ``relaxation_cap`` as for :class:`GradientStep`. ``far_gap``: while EM's
    update and this step differ by more than it for some student
    (:func:`gmmlit.optim.ravine_phases.discretisation_gap`), the iterate is *far* from the
    ravine: the short step is EM's and no Polyak step is taken; ``None``: no such test.
    """

    kind: ClassVar[str] = "em_metric_gradient"
    size: float | str = 1.0
    relaxation_cap: float | None = 0.8
    far_gap: float | None = 0.1

    def __post_init__(self):
        _set(self, "size", check_step_size(self.size))
        _set(self, "relaxation_cap", check_relaxation_cap(self.relaxation_cap))
        _set(self, "far_gap", None if self.far_gap is None else check_positive_float(self.far_gap, "far_gap"))


SHORT_STEPS = (GradientStep, EMStep, EMMetricGradientStep)


def short_step_size(short_step, block_grad_norms):
    """The size of the next short step: ``short_step.size``, over-relaxed after the first
    short step of a block when ``short_step.relaxation_cap`` is set."""
    norms = block_grad_norms
    if short_step.relaxation_cap is not None and len(norms) >= 2 and norms[0] > 0.0:
        return short_step.size * relaxation_factor(norms[1] / norms[0], short_step.relaxation_cap)
    return short_step.size


# ---------------------------------------------------------------------------- short phases
@dataclass(frozen=True)
class FixedShortSteps:
    """``count`` short steps before each Polyak step (as in GDPolyak)."""

    count: int

    def __post_init__(self):
        if isinstance(self.count, bool) or not isinstance(self.count, numbers.Integral):
            raise TypeError(f"count must be an integer >= 1, got {type(self.count).__name__}")
        _set(self, "count", check_positive_int(self.count, "count"))

    def done(self, block_grad_norms):
        """Whether the phase is over: ``len(block_grad_norms) - 1`` short steps were made."""
        return len(block_grad_norms) - 1 >= self.count


@dataclass(frozen=True)
class UntilGradientStalls:
    """Short steps until the gradient norm stops shrinking, ``|g_k| > ratio |g_{k-1}|``
    (after at least one short step), or ``max_steps`` short steps."""

    ratio: float = 0.8
    max_steps: int = 20

    def __post_init__(self):
        _set(self, "ratio", check_positive_float(self.ratio, "ratio", maximum=1.0))
        _set(self, "max_steps", check_positive_int(self.max_steps, "max_steps"))

    def done(self, block_grad_norms):
        """Whether the phase is over, from the gradient norms of the block (at its first
        point, then after each short step)."""
        k = len(block_grad_norms) - 1
        if k >= self.max_steps:
            return True
        return k >= 1 and block_grad_norms[-1] > self.ratio * block_grad_norms[-2]


@dataclass(frozen=True)
class FromNormalCondition:
    """A fixed number of short steps read from the Hessian at the start,
    ``K = ceil(kappa ln(1 / reduction))`` with ``kappa = lambda_1 / lambda_{d m}``
    (:func:`normal_condition_steps`; it needs ``objective.teacher``). Resolved into a
    :class:`FixedShortSteps` by :meth:`RavineOptions.resolve`."""

    reduction: float = 0.01

    def __post_init__(self):
        _set(self, "reduction", check_fraction(self.reduction, "reduction"))


SHORT_PHASES = (FixedShortSteps, UntilGradientStalls, FromNormalCondition)


# ---------------------------------------------------------------------------- Polyak step
@dataclass(frozen=True)
class FloorEstimate:
    """The target of the Polyak step estimated from the iterates: at each base point after
    a judged trial, :func:`gmmlit.optim.steps.floor_estimate` from that trial's base point
    and the point back on the ravine after it, at least ``lower`` (a KL divergence is never
    negative), ``lower`` until the first estimate; the last estimate is kept when a pair
    gives none."""

    lower: ClassVar[float] = 0.0


@dataclass(frozen=True)
class PolyakRule:
    """The long step ``theta - multiplier (L - target) / <g, D g> D g``.

    ``metric``: ``"euclidean"`` (``D = I``) or ``"em"`` (``D = diag(1 / E[psi_i])``);
    ``multiplier > 0`` (1: the plain Polyak step; 4: the degree of the quartic growth along
    the ravine); ``target``: a finite number (0 when the weights group exactly) or a
    :class:`FloorEstimate`.
    """

    metric: str = "em"
    multiplier: float = 4.0
    target: float | FloorEstimate = FloorEstimate()

    def __post_init__(self):
        _set(self, "metric", check_choice(self.metric, POLYAK_METRICS, "metric"))
        _set(self, "multiplier", check_positive_float(self.multiplier, "multiplier"))
        if not isinstance(self.target, FloorEstimate):
            if isinstance(self.target, (str, bool)):
                raise TypeError(f"target must be a finite number or a FloorEstimate, got {self.target!r}")
            _set(self, "target", check_finite_float(self.target, "target"))

    @property
    def estimated(self):
        """Whether the target is the floor estimate."""
        return isinstance(self.target, FloorEstimate)

    @property
    def lower(self):
        """The fixed target, or the lower bound of the estimates."""
        return self.target.lower if self.estimated else self.target


# ---------------------------------------------------------------------------- safeguards
@dataclass(frozen=True)
class NoSafeguard:
    """Every Polyak trial is accepted."""

    def accepts(self, base_loss, judged_loss):
        """Always ``True``."""
        return True


@dataclass(frozen=True)
class TrialSafeguard:
    """A trial is accepted when the loss at the trial point is finite and at most the loss
    at its base point; the run stops after ``max_rejections`` consecutive rejections."""

    max_rejections: int = 2

    def __post_init__(self):
        _set(self, "max_rejections", check_positive_int(self.max_rejections, "max_rejections"))

    def accepts(self, base_loss, judged_loss):
        """Whether ``judged_loss`` is finite and ``<= base_loss``."""
        return bool(np.isfinite(judged_loss) and judged_loss <= base_loss)


@dataclass(frozen=True)
class LookaheadSafeguard(TrialSafeguard):
    """As :class:`TrialSafeguard`, but the trial is judged by the loss at the end of the
    short phase after it (the next base point, back near the ravine); on rejection the run
    returns to the trial's base point."""


SAFEGUARDS = (NoSafeguard, TrialSafeguard, LookaheadSafeguard)


# ---------------------------------------------------------------------------- hand-over
@dataclass(frozen=True)
class LbfgsHandOver:
    """When the ravine stage stops on a plateau (``REJECTED_STEPS`` or ``AT_FLOOR``) with
    budget left, L-BFGS (:func:`gmmlit.optim.peers.lbfgs`) continues from its point for the
    rest of the budget. ``memory`` 50 is at least the number of coordinates ``n d`` of the
    instances of the book, so that L-BFGS keeps every pair."""

    memory: int = 50

    def __post_init__(self):
        _set(self, "memory", check_positive_int(self.memory, "memory"))


# ---------------------------------------------------------------------------- options
@dataclass(frozen=True)
class RavineOptions:
    """The configuration of the ravine method; ``RavineOptions()`` is the default method.

    The defaults (the defaults of each policy's fields) are the configuration found best by
    the tuning study of :mod:`gmmlit.book.polyak.studies` and the benchmark of the chapter "Beyond
    the paper": EM's update through the discretised gradient as the short step,
    over-relaxed, until the gradient norm stalls; Polyak steps in EM's metric aimed at the
    floor estimate; the look-ahead safeguard; the hand-over to L-BFGS on a plateau.

    Attributes
    ----------
    short_step : GradientStep, EMStep or EMMetricGradientStep
    short_phase : FixedShortSteps, UntilGradientStalls or FromNormalCondition
    polyak : PolyakRule
    safeguard : NoSafeguard, TrialSafeguard or LookaheadSafeguard
    hand_over : LbfgsHandOver or None
    """

    short_step: GradientStep | EMStep | EMMetricGradientStep = EMMetricGradientStep()
    short_phase: FixedShortSteps | UntilGradientStalls | FromNormalCondition = UntilGradientStalls()
    polyak: PolyakRule = PolyakRule()
    safeguard: NoSafeguard | TrialSafeguard | LookaheadSafeguard = LookaheadSafeguard()
    hand_over: LbfgsHandOver | None = LbfgsHandOver()

    def __post_init__(self):
        check_policy(self.short_step, SHORT_STEPS, "short_step")
        check_policy(self.short_phase, SHORT_PHASES, "short_phase")
        check_policy(self.polyak, (PolyakRule,), "polyak")
        check_policy(self.safeguard, SAFEGUARDS, "safeguard")
        if self.hand_over is not None:
            check_policy(self.hand_over, (LbfgsHandOver,), "hand_over")

    def replace(self, **changes):
        """A copy with some policies replaced (:func:`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)

    @property
    def at_start(self):
        """Whether a rule is resolved from the Hessian at the start (:meth:`resolve`)."""
        return isinstance(self.short_step.size, str) or isinstance(self.short_phase, FromNormalCondition)

    def resolve(self, objective, means0):
        """``(options, info)``: the options with the start-resolved rules replaced by their
        values (:func:`start_curvature`), and what to record in the result's ``extras``."""
        if not self.at_start:
            return self, {}
        size, count, info = start_curvature(objective, means0, self.short_step.size, self.short_phase)
        short_step = self.short_step if size is None else dataclasses.replace(self.short_step, size=size)
        short_phase = self.short_phase if count is None else FixedShortSteps(count)
        return dataclasses.replace(self, short_step=short_step, short_phase=short_phase), info

    def record(self):
        """The options as stored in a result's ``options``: each policy by its name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


# ---------------------------------------------------------------------------- start-resolved rules
def normal_condition_steps(eigenvalues, n_normal, reduction=0.01):
    """``K = ceil(kappa ln(1 / reduction))`` with ``kappa = lambda_1 / lambda_{n_normal}``.

    Gradient steps of size ``1 / lambda_1`` contract the error in the span of the
    ``n_normal`` largest eigenvalues of the Hessian by at least ``1 - 1 / kappa`` per step,
    so that after ``K`` steps it has shrunk by ``(1 - 1/kappa)^K <= exp(-K / kappa) <=
    reduction``.

    Parameters
    ----------
    eigenvalues : array_like
        Eigenvalues of the Hessian (any order).
    n_normal : int >= 1
        Number of normal directions, ``d m``.
    reduction : float in (0, 1)

    Returns
    -------
    (int, float)
        ``K`` and ``kappa``.
    """
    n_normal = check_positive_int(n_normal, "n_normal")
    reduction = check_fraction(reduction, "reduction")
    lam = np.sort(np.asarray(eigenvalues, dtype=float))[::-1]
    if lam.size < n_normal:
        raise ValueError(f"need at least {n_normal} eigenvalues, got {lam.size}")
    if not (np.isfinite(lam[0]) and lam[n_normal - 1] > 0.0):
        raise ValueError(f"FromNormalCondition needs the {n_normal} largest Hessian eigenvalues at means0 "
                         f"to be positive and finite, got lambda_1 = {lam[0]:.3e}, lambda_{n_normal} = "
                         f"{lam[n_normal - 1]:.3e} (start inside the basin of a minimiser)")
    kappa = float(lam[0] / lam[n_normal - 1])
    return max(1, int(np.ceil(kappa * np.log(1.0 / reduction)))), kappa


def start_curvature(objective, means0, size, short_phase):
    """Resolve ``size="inverse_lambda_max"`` and a :class:`FromNormalCondition` short phase
    from one Hessian of ``objective`` at ``means0``.

    ``"inverse_lambda_max"`` becomes ``1 / lambda_max``; :class:`FromNormalCondition` becomes
    the ``K`` of :func:`normal_condition_steps` of the ``d m`` largest eigenvalues (``m`` the
    number of teacher components: the normal space of the ravine has dimension ``d m``).
    The Hessian is not an objective evaluation: it is not charged to ``max_evals``
    (``objective.counts["hessian"]`` counts it).

    Returns
    -------
    (size, count, info)
        The resolved size (``None`` when ``size`` is not a rule), the resolved ``K``
        (``None`` when ``short_phase`` is not :class:`FromNormalCondition`), and a dict for
        the result's ``extras`` (``hessians``, ``lambda_max``, ``kappa``, ``step_rule``,
        ``short_steps_rule``); empty when no rule was asked for (no Hessian computed).
    """
    wants_size = isinstance(size, str)
    wants_k = isinstance(short_phase, FromNormalCondition)
    if not (wants_size or wants_k):
        return None, None, {}
    if wants_k and getattr(objective, "teacher", None) is None:
        raise ValueError("short_phase=FromNormalCondition needs an objective with a teacher (objective.teacher."
                         "n_components gives the dimension d m of the normal space)")
    if not callable(getattr(objective, "hessian", None)):
        raise ValueError(f"size={size!r} / short_phase={short_phase!r} need objective.hessian(means)")
    n, d = np.shape(means0)
    eigenvalues = np.linalg.eigvalsh(np.asarray(objective.hessian(means0), dtype=float).reshape(n * d, n * d))
    lam_max = float(eigenvalues[-1])
    info = dict(hessians=1, lambda_max=lam_max)
    new_size = new_count = None
    if wants_size:
        if not (np.isfinite(lam_max) and lam_max > 0.0):
            raise ValueError(f"size='inverse_lambda_max' needs a positive finite largest Hessian eigenvalue at "
                             f"means0, got {lam_max:.3e}")
        info["step_rule"] = size
        new_size = 1.0 / lam_max
    if wants_k:
        info["short_steps_rule"] = "normal_condition"
        new_count, info["kappa"] = normal_condition_steps(eigenvalues, d * objective.teacher.n_components,
                                                          short_phase.reduction)
    return new_size, new_count, info

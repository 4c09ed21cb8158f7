"""What an optimisation run returns, and the recorder that builds it.

Every driver in :mod:`gmmlit.optim.first_order`, :mod:`gmmlit.optim.ravine` and
:mod:`gmmlit.optim.peers` evaluates the objective only through a :class:`Recorder`, which
calls ``objective.evaluate`` (one pass over the integration nodes gives the loss, the
gradient and the EM statistics), appends the loss
(and, when asked, the distance to a known minimiser and the means) to the history, and
decides whether the run must stop. The driver then hands its current point to
:meth:`Recorder.finish`, which freezes everything into an :class:`OptimizationResult`.

In the style of pymanopt's optimisers, a result records *why* the run stopped
(:class:`StopReason`) next to *where* it stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

import numpy as np

from ..core.geometry import distance
from ..core.types import ArrayLike, Objective
from ..core.validation import check_means, check_positive_float, check_positive_int


#: A run whose loss exceeds ``DIVERGENCE_FACTOR * max(L(means0), DIVERGENCE_FLOOR)`` has
#: diverged: six orders of magnitude above its start, or above one nat for a start that is
#: already close to a minimum. It cannot fire on a converging run: the population KL and
#: the sample NLL are 1-smooth in the means (their Hessian is ``diag(E psi_i) - Cov <= I``),
#: so for ``L >= 0`` a point of loss ``l`` has ``|g|^2 <= 2 l`` and a step of length ``s``
#: from it reaches at most ``(sqrt(l) + s / sqrt(2))^2``. From a point below
#: ``R = max(L(means0), 1)`` the loss can pass ``1e6 R`` only by a step longer than
#: ``sqrt(2) (1000 - 1) sqrt(R) >= 1413``: a thousand gradient lengths (gradient EM's step is
#: one gradient, Polyak multipliers are at most 4) or 1413 units of length (a scipy line
#: search starts with a unit step). The floor matters: from a start with ``L = 1e-8``
#: L-BFGS's first unit-length trial reaches ``L ~ 0.1``, ten million times the start.
DIVERGENCE_FACTOR = 1e6

#: See :data:`DIVERGENCE_FACTOR` (nats).
DIVERGENCE_FLOOR = 1.0

#: Consecutive evaluations above the divergence threshold before a run is stopped as
#: ``DIVERGED``. A safeguarded driver may evaluate one look-ahead point far out and come back
#: (the ravine method's ``safeguard="lookahead"`` judges a Polyak trial by the short steps
#: after it, and on a non-smooth objective one of them can blow up before the trial is
#: rejected); a diverging run stays above. A non-finite loss after a finite start stops the
#: run at once.
DIVERGENCE_PATIENCE = 3


class StopReason(str, Enum):
    """Why a run stopped. The members compare equal to their string values."""

    #: The loss reached the tolerance: ``L <= tol``.
    TOLERANCE = "tolerance"
    #: ``max_evals`` objective evaluations were spent.
    BUDGET = "budget"
    #: The gradient at the current point is exactly zero (or its squared norm is not a
    #: positive finite number): no step can move.
    ZERO_GRADIENT = "zero_gradient"
    #: The loss (or a step) was not finite at the start, or a step proposed non-finite means.
    NON_FINITE = "non_finite"
    #: The loss stayed above ``DIVERGENCE_FACTOR * max(L(start), 1)`` for
    #: ``DIVERGENCE_PATIENCE`` evaluations, or turned
    #: non-finite after a finite start: the run diverged and returns its best point.
    DIVERGED = "diverged"
    #: Too many consecutive trial steps were rejected: the Polyak safeguard of
    #: :func:`gmmlit.optim.ravine.ravine_method`, or the line search of a scipy method.
    REJECTED_STEPS = "rejected_steps"
    #: The estimated floor of :func:`gmmlit.optim.ravine.ravine_method` (a Polyak target
    #: ``FloorEstimate()``) is not below the loss: no Polyak step is left to take.
    AT_FLOOR = "at_floor"

    def __str__(self):
        return self.value


def _frozen(array, dtype=float):
    a = np.array(array, dtype=dtype, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class PolyakTrials:
    """The Polyak trials of a run (the ravine method, GDPolyak), in order; empty for the
    methods that take none.

    Attributes
    ----------
    evals : ndarray of int (n_polyak,)
        Indices into the run's ``losses`` of the evaluations at the trial points.
    base : ndarray of int (n_polyak,)
        For each trial, the index of the evaluation at the point the step started from.
    accepted : ndarray of bool (n_polyak,)
        Whether the trial point became the new iterate.
    step_sizes : ndarray (n_polyak,)
        The Polyak step length ``(L - f*) / <g, D g>`` (times the multiplier).
    """

    evals: np.ndarray
    base: np.ndarray
    accepted: np.ndarray
    step_sizes: np.ndarray

    @classmethod
    def of(cls, evals=(), base=(), accepted=(), step_sizes=()):
        """The record from sequences (frozen copies); no arguments: no trials."""
        return cls(_frozen(evals, int), _frozen(base, int), _frozen(accepted, bool), _frozen(step_sizes))

    def __len__(self):
        return int(self.evals.shape[0])

    @property
    def n_accepted(self):
        """Number of accepted trials."""
        return int(np.sum(self.accepted))

    def then(self, later, shift):
        """These trials followed by ``later``'s, whose indices are shifted by ``shift``
        (the evaluations made before them)."""
        return PolyakTrials.of(np.concatenate([self.evals, later.evals + shift]),
                               np.concatenate([self.base, later.base + shift]),
                               np.concatenate([self.accepted, later.accepted]),
                               np.concatenate([self.step_sizes, later.step_sizes]))

    def as_structured(self):
        """One structured array with fields ``eval``, ``base``, ``accepted`` and ``step_size``."""
        out = np.zeros(len(self), dtype=[("eval", int), ("base", int), ("accepted", bool), ("step_size", float)])
        out["eval"], out["base"], out["accepted"], out["step_size"] = (self.evals, self.base, self.accepted,
                                                                       self.step_sizes)
        return out


@dataclass(frozen=True, eq=False)
class OptimizationResult:
    """The record of one run of a method.

    Attributes
    ----------
    method : str
        Name of the driver (``"gradient_em"``, ``"ravine_method"``, ...).
    means : ndarray (n, d)
        The final point: the method's current iterate when it stopped. It is always an
        evaluated point; ``loss`` is its loss.
    loss : float
        ``L(means)``.
    losses : ndarray (n_evals,)
        The loss of every objective evaluation, in order (rejected trial points included).
    distances : ndarray (n_evals,) or None
        ``|theta_k - theta*|`` for every evaluation, when a ``minimizer`` was given.
    grad_norms : ndarray (n_evals,)
        Euclidean norm of the gradient at every evaluation.
    n_evals : int
        Number of objective evaluations (``len(losses)``).
    wall_time : float
        Seconds spent in the driver.
    stop_reason : StopReason
    message : str
        A human-readable account of the stop (scipy's message for scipy methods).
    options : mapping
        The configuration of the run (step, K, metric, ...).
    means_history : ndarray (n_evals, n, d) or None
        The evaluated points, when the driver was called with ``record_means=True``.
    extras : mapping
        Method-specific information (for example scipy's iteration count).
    polyak_trials : PolyakTrials
        The Polyak trials of the run (none for methods without Polyak steps); their arrays
        are also read as ``polyak_evals``, ``polyak_base``, ``polyak_accepted`` and
        ``polyak_step_sizes``.
    """

    method: str
    means: np.ndarray
    loss: float
    losses: np.ndarray
    distances: np.ndarray | None
    grad_norms: np.ndarray
    n_evals: int
    wall_time: float
    stop_reason: StopReason
    message: str = ""
    options: dict = field(default_factory=dict)
    means_history: np.ndarray | None = None
    extras: dict = field(default_factory=dict)
    polyak_trials: PolyakTrials = field(default_factory=PolyakTrials.of)

    @property
    def converged(self):
        """True when the run stopped because ``L <= tol``."""
        return self.stop_reason == StopReason.TOLERANCE

    @property
    def polyak_evals(self):
        """:attr:`PolyakTrials.evals` of :attr:`polyak_trials`."""
        return self.polyak_trials.evals

    @property
    def polyak_base(self):
        """:attr:`PolyakTrials.base` of :attr:`polyak_trials`."""
        return self.polyak_trials.base

    @property
    def polyak_accepted(self):
        """:attr:`PolyakTrials.accepted` of :attr:`polyak_trials`."""
        return self.polyak_trials.accepted

    @property
    def polyak_step_sizes(self):
        """:attr:`PolyakTrials.step_sizes` of :attr:`polyak_trials`."""
        return self.polyak_trials.step_sizes

    @property
    def polyak(self):
        """The Polyak trials as one structured array (:meth:`PolyakTrials.as_structured`)."""
        return self.polyak_trials.as_structured()

    @property
    def n_polyak_accepted(self):
        """Number of accepted Polyak steps."""
        return self.polyak_trials.n_accepted

    def evals_to(self, level):
        """Number of evaluations until the first loss ``<= level`` (``None`` if never):
        :func:`first_crossing` of the recorded losses."""
        return first_crossing(self.losses, level)

    def best_loss_after(self, n_evals):
        """The smallest loss among the first ``n_evals`` evaluations."""
        n_evals = check_positive_int(n_evals, "n_evals")
        return float(np.min(self.losses[:n_evals]))

    def __repr__(self):
        return (
            f"OptimizationResult(method={self.method!r}, loss={self.loss:.3e}, n_evals={self.n_evals}, "
            f"polyak={len(self.polyak_trials)} ({self.n_polyak_accepted} accepted), "
            f"stop_reason={self.stop_reason.value!r}, wall_time={self.wall_time:.2f}s)"
        )


def first_crossing(losses: ArrayLike, level: float, floor: float = 0.0) -> int | None:
    """Evaluations until the first ``loss - floor <= level`` (1-based count), ``None`` if never.

    The one definition of "evaluations to a level" of the package
    (:meth:`OptimizationResult.evals_to`, the benchmarks and the figures use it).

    Parameters
    ----------
    losses : array_like (k,)
        Loss of every evaluation, in order.
    level : float >= 0
    floor : float
        ``L*``, subtracted from every loss (0 when the weights group exactly).
    """
    level = check_positive_float(level, "level", allow_zero=True)
    losses = np.asarray(losses, dtype=float)
    if losses.ndim != 1:
        raise ValueError(f"losses must be one-dimensional, got shape {losses.shape}")
    hit = np.flatnonzero(losses - float(floor) <= level)
    return int(hit[0]) + 1 if hit.size else None


def diverged(loss: float, start_loss: float) -> bool:
    """``loss > DIVERGENCE_FACTOR * max(start_loss, DIVERGENCE_FLOOR)``: the run diverged."""
    return bool(loss > DIVERGENCE_FACTOR * max(start_loss, DIVERGENCE_FLOOR))


def check_objective(objective: Objective, name: str = "objective") -> Objective:
    """The objective must offer ``evaluate(means) -> Evaluation`` and ``check_means``, as
    :class:`~gmmlit.core.objective.PopulationKL` and :class:`~gmmlit.core.sample.SampleNLL` do."""
    for attr in ("evaluate", "check_means"):
        if not callable(getattr(objective, attr, None)):
            raise TypeError(
                f"{name} must be a gmmlit.PopulationKL or gmmlit.SampleNLL (or offer evaluate() and check_means()), "
                f"got {type(objective).__name__}"
            )
    return objective


class Recorder:
    """Evaluates the objective for a driver, records every evaluation and checks the
    stopping rules.

    After each :meth:`evaluate`, ``stop_reason`` is set (and the driver must stop) when,
    in this order of precedence, the loss or gradient is not finite (``NON_FINITE`` at the
    first evaluation, ``DIVERGED`` later), the loss exceeded ``DIVERGENCE_FACTOR`` times the
    first one or one nat (:func:`diverged`) at ``DIVERGENCE_PATIENCE`` evaluations in a row
    (``DIVERGED``), ``L <= tol``, the gradient is zero, or ``max_evals``
    evaluations were spent. The recorder keeps the evaluated point of least loss; a
    ``DIVERGED`` run returns it from :meth:`finish`, whatever point the driver hands in.

    Parameters
    ----------
    objective : PopulationKL
    method : str
    max_evals : int >= 1
    tol : float >= 0
    minimizer : array_like (n, d) or None
        When given, the distance of every evaluated point to it is recorded.
    record_means : bool
        Keep a copy of every evaluated point.
    options : dict
        The driver's configuration, stored in the result.
    """

    def __init__(self, objective, *, method, max_evals, tol, minimizer=None, record_means=False, options=None):
        self.objective = check_objective(objective)
        self.method = method
        self.max_evals = check_positive_int(max_evals, "max_evals")
        self.tol = check_positive_float(tol, "tol", allow_zero=True)
        if not isinstance(record_means, (bool, np.bool_)):
            raise TypeError(f"record_means must be a bool, got {type(record_means).__name__}")
        self.record_means = bool(record_means)
        self.minimizer = None if minimizer is None else objective.check_means(minimizer, "minimizer")
        self.options = dict(options or {})
        self.losses, self.distances, self.grad_norms, self.history = [], [], [], []
        self.polyak_evals, self.polyak_base, self.polyak_accepted, self.polyak_sizes = [], [], [], []
        self.stop_reason = None
        self.message = ""
        self.extras = {}
        self.best_loss, self.best_means = np.inf, None
        self.evals_above = 0  # consecutive evaluations above the divergence threshold
        self._start = time.perf_counter()

    @property
    def n_evals(self):
        """Evaluations recorded so far."""
        return len(self.losses)

    @property
    def last_index(self):
        """Index of the latest evaluation."""
        return len(self.losses) - 1

    @property
    def stopped(self):
        """True once a stopping rule fired."""
        return self.stop_reason is not None

    def evaluate(self, means):
        """``objective.evaluate(means)``, recorded; sets :attr:`stop_reason` if a rule fires."""
        if self.stopped:
            raise RuntimeError("the run has already stopped; no further evaluation is allowed")
        ev = self.objective.evaluate(means)
        loss = float(ev.loss)
        gnorm = float(np.linalg.norm(ev.grad))
        self.losses.append(loss)
        self.grad_norms.append(gnorm)
        if self.minimizer is not None:
            self.distances.append(distance(means, self.minimizer))
        if self.record_means:
            self.history.append(np.array(means, dtype=float, copy=True))
        finite = np.isfinite(loss) and np.isfinite(gnorm)
        if finite and loss < self.best_loss:
            self.best_loss, self.best_means = loss, np.array(means, dtype=float, copy=True)
        self.evals_above = self.evals_above + 1 if diverged(loss, self.losses[0]) else 0
        if not finite:
            what = "loss" if not np.isfinite(loss) else "gradient"
            reason = StopReason.NON_FINITE if self.best_means is None else StopReason.DIVERGED
            self.stop(reason, f"the objective returned a non-finite {what} at evaluation "
                              f"{self.last_index} (L = {loss}, |g| = {gnorm})")
        elif self.evals_above >= DIVERGENCE_PATIENCE:
            self.stop(StopReason.DIVERGED, f"L = {loss:.3e} at evaluation {self.last_index}: "
                                           f"{DIVERGENCE_PATIENCE} evaluations in a row above "
                                           f"{DIVERGENCE_FACTOR:g} max(L(start) = {self.losses[0]:.3e}, "
                                           f"{DIVERGENCE_FLOOR:g})")
        elif loss <= self.tol:
            self.stop(StopReason.TOLERANCE, f"L = {loss:.3e} <= tol = {self.tol:.3e}")
        elif gnorm == 0.0:
            self.stop(StopReason.ZERO_GRADIENT, f"zero gradient at evaluation {self.last_index}")
        elif self.n_evals >= self.max_evals:
            self.stop(StopReason.BUDGET, f"max_evals = {self.max_evals} evaluations spent")
        return ev

    def stop(self, reason, message=""):
        """Record a stopping reason (the first one wins)."""
        if self.stop_reason is None:
            self.stop_reason = StopReason(reason)
            self.message = message

    def mark_polyak(self, trial_index, base_index, accepted, step_size):
        """Record that evaluation ``trial_index`` was a Polyak trial from ``base_index``."""
        self.polyak_evals.append(int(trial_index))
        self.polyak_base.append(int(base_index))
        self.polyak_accepted.append(bool(accepted))
        self.polyak_sizes.append(float(step_size))

    def finish(self, means, loss):
        """Freeze the record into an :class:`OptimizationResult` with final point ``means``
        (for a ``DIVERGED`` run, the evaluated point of least loss instead)."""
        if self.stop_reason is None:
            raise RuntimeError("finish() called before any stopping rule fired")
        if self.stop_reason == StopReason.DIVERGED and self.best_means is not None:
            means, loss = self.best_means, self.best_loss
        dist = _frozen(self.distances) if self.minimizer is not None else None
        hist = _frozen(np.stack(self.history)) if self.record_means and self.history else None
        return OptimizationResult(
            method=self.method,
            means=_frozen(check_means(means, "means")),
            loss=float(loss),
            losses=_frozen(self.losses),
            distances=dist,
            grad_norms=_frozen(self.grad_norms),
            n_evals=self.n_evals,
            wall_time=time.perf_counter() - self._start,
            stop_reason=self.stop_reason,
            message=self.message,
            options=MappingProxyType(dict(self.options)),
            means_history=hist,
            extras=MappingProxyType(dict(self.extras)),
            polyak_trials=PolyakTrials.of(self.polyak_evals, self.polyak_base, self.polyak_accepted, self.polyak_sizes),
        )


def chain_results(first: OptimizationResult, second: OptimizationResult, *, method: str | None = None,
                  options: dict | None = None) -> OptimizationResult:
    """One record of a run made of two stages: ``second`` started where ``first`` stopped.

    Evaluations, losses, gradient norms (and distances and evaluated points, when both
    stages recorded them) are concatenated; Polyak trial indices of ``second`` are shifted
    by ``first.n_evals``. The final point, loss and stop reason are those of ``second``;
    ``extras`` holds both stages' extras, ``switch_eval`` (the number of evaluations of
    the first stage) and ``first_stop_reason``.
    """
    for name, r in (("first", first), ("second", second)):
        if not isinstance(r, OptimizationResult):
            raise TypeError(f"{name} must be an OptimizationResult, got {type(r).__name__}")
    shift = first.n_evals

    def cat(a, b, dtype=float):
        return _frozen(np.concatenate([np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)]), dtype)

    distances = None
    if first.distances is not None and second.distances is not None:
        distances = cat(first.distances, second.distances)
    history = None
    if first.means_history is not None and second.means_history is not None:
        history = _frozen(np.concatenate([first.means_history, second.means_history]))
    extras = {f"first_{k}": v for k, v in first.extras.items()}
    extras.update(second.extras)
    extras.update(switch_eval=shift, first_stop_reason=first.stop_reason.value, second_method=second.method)
    return OptimizationResult(
        method=first.method if method is None else method,
        means=second.means,
        loss=float(second.loss),
        losses=cat(first.losses, second.losses),
        distances=distances,
        grad_norms=cat(first.grad_norms, second.grad_norms),
        n_evals=first.n_evals + second.n_evals,
        wall_time=first.wall_time + second.wall_time,
        stop_reason=second.stop_reason,
        message=f"{first.message}; then {second.method}: {second.message}",
        options=MappingProxyType(dict(first.options if options is None else options)),
        means_history=history,
        extras=MappingProxyType(extras),
        polyak_trials=first.polyak_trials.then(second.polyak_trials, shift),
    )

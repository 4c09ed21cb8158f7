"""The global phase: EM (or gradient EM) that also fits the weights, with pruning.

From a random initialisation the student weights are not yet grouped to the teacher's.
The global phase updates them with the means, ``pi_i <- E_{p*}[psi_i]`` (the EM update
of the weights), and removes components whose weight falls under a threshold, so that
the run ends near a point where the local analysis (fixed weights, ``Delta_pi`` small)
applies. It records the number of active components and the current weight mismatch
``Delta_pi`` (students hard-assigned to the nearest teacher mean,
:func:`gmmlit.core.geometry.current_delta_pi`) at every iteration.

Initialisation (documented choice): the ``n`` means are ``n`` points drawn from the
teacher (``teacher.sample(n, rng=seed)``), the weights are equal, ``1 / n``.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..core.geometry import current_delta_pi
from .first_order import check_choice
from ..core.mixture import Mixture
from ..core.objective import PopulationKL
from ..core.quadrature import IntegrationRule
from ..core.types import SeedLike
from .results import DIVERGENCE_PATIENCE, StopReason, diverged
from .steps import em_step, gradient_em_step
from ..core.validation import check_positive_float, check_positive_int, check_rng, check_weights

#: Mean updates accepted by :func:`global_phase`.
GLOBAL_UPDATES = ("em", "gem")


@dataclass(frozen=True, eq=False)
class GlobalPhaseResult:
    """The record of a global phase run.

    Attributes
    ----------
    means : ndarray (k, d)
        Final means of the ``k`` surviving components.
    weights : ndarray (k,)
        Their weights (sum 1).
    component_ids : ndarray of int (k,)
        Index of each survivor in the initialisation (``0..n-1``).
    losses : ndarray (n_iters,)
        ``L`` at the iterate of every iteration (before its update), for the weights of
        that iteration.
    n_active : ndarray of int (n_iters,)
        Components alive at every iteration.
    delta_pi : ndarray (n_iters,)
        The current weight mismatch at every iteration.
    pruned : tuple of (int, int)
        ``(iteration, component_id)`` of every pruned component.
    means0, weights0 : ndarray
        The initialisation.
    n_iters : int
        Iterations made (one objective evaluation each).
    wall_time : float
    stop_reason : StopReason
        ``BUDGET`` (``max_iters`` reached), ``TOLERANCE``, ``NON_FINITE`` (at the start) or
        ``DIVERGED`` (the loss turned non-finite, or stayed above
        :data:`~gmmlit.optim.results.DIVERGENCE_FACTOR` times the first one for
        ``DIVERGENCE_PATIENCE`` iterations; the state of least loss is returned).
    message : str
    options : mapping
    means_history : tuple of ndarray or None
        The means of every iteration (shapes shrink when components are pruned), when
        ``record_means=True``.
    """

    means: np.ndarray
    weights: np.ndarray
    component_ids: np.ndarray
    losses: np.ndarray
    n_active: np.ndarray
    delta_pi: np.ndarray
    pruned: tuple
    means0: np.ndarray
    weights0: np.ndarray
    n_iters: int
    wall_time: float
    stop_reason: StopReason
    message: str = ""
    options: dict = field(default_factory=dict)
    means_history: tuple | None = None

    @property
    def n_components(self):
        """Number of surviving components."""
        return int(self.weights.shape[0])

    def __repr__(self):
        return (
            f"GlobalPhaseResult(active={self.n_components}, loss={self.losses[-1]:.3e}, "
            f"delta_pi={self.delta_pi[-1]:.3g}, n_iters={self.n_iters}, stop_reason={self.stop_reason.value!r})"
        )


def objective_with_weights(objective, weights):
    """A copy of ``objective`` with other student weights (possibly fewer components).

    The integration nodes and the teacher's log-density at them depend on the teacher
    alone, so the copy shares them; only ``weights`` (which fixes ``n``) changes and the
    evaluation counters start at zero. The kernel is the same code.
    """
    if not isinstance(objective, PopulationKL):
        raise TypeError(f"objective must be a gmmlit.PopulationKL, got {type(objective).__name__}")
    new = copy.copy(objective)
    new.weights = check_weights(weights, "weights")
    new.reset_counter()
    return new


def reestimate_weights(evaluation):
    """The EM update of the weights, ``pi_i = E[psi_i]``, renormalised to sum 1."""
    mass = np.asarray(evaluation.mass, dtype=float)
    return mass / mass.sum()


def prune(weights, means, ids, threshold):
    """Drop components with weight ``< threshold`` (the heaviest always stays) and
    renormalise. Returns ``(weights, means, ids, dropped_ids)``."""
    keep = weights >= threshold
    if not np.any(keep):
        keep[np.argmax(weights)] = True
    w = weights[keep]
    return w / w.sum(), means[keep], ids[keep], ids[~keep]


def initial_state(teacher, n, seed):
    """Means: ``n`` points drawn from the teacher; weights: ``1 / n`` each."""
    x, _ = teacher.sample(n, rng=check_rng(seed, "seed"))
    return np.full(n, 1.0 / n), x


# Over 80 lines only with its docstring (about 30 lines of parameters); the body is ~55.
def global_phase(teacher: Mixture, n: int, *, seed: SeedLike, max_iters: int = 200, prune_threshold: float = 1e-3,
                 rule: IntegrationRule | None = None, update: str = "em", step: float = 1.0, tol: float = 0.0,
                 record_means: bool = False) -> GlobalPhaseResult:
    """EM or gradient EM on means *and* weights from a random start, with pruning.

    Parameters
    ----------
    teacher : Mixture
    n : int >= 1
        Number of student components at the start.
    seed : int or numpy Generator
        Seeds the initialisation (see the module docstring).
    max_iters : int >= 1
        Number of iterations (one objective evaluation each).
    prune_threshold : float in [0, 1)
        Components whose weight falls under it are removed after the weight update.
    rule : IntegrationRule or None
        Integration rule for the population expectations (``None``: the default rule).
    update : {"em", "gem"}
        Mean update: EM ``E[psi_i x] / E[psi_i]`` or gradient EM with step ``step``.
    step : float > 0
        Step size of gradient EM.
    tol : float >= 0
        Stop once ``L <= tol``.
    record_means : bool
        Keep the means of every iteration.

    Returns
    -------
    GlobalPhaseResult
    """
    if not isinstance(teacher, Mixture):
        raise TypeError(f"teacher must be a gmmlit.Mixture, got {type(teacher).__name__}")
    n = check_positive_int(n, "n")
    max_iters = check_positive_int(max_iters, "max_iters")
    prune_threshold = check_positive_float(prune_threshold, "prune_threshold", allow_zero=True)
    if prune_threshold >= 1.0:
        raise ValueError(f"prune_threshold must be < 1, got {prune_threshold}")
    update = check_choice(update, GLOBAL_UPDATES, "update")
    step = check_positive_float(step, "step")
    tol = check_positive_float(tol, "tol", allow_zero=True)
    start = time.perf_counter()
    weights, means = initial_state(teacher, n, seed)
    weights0, means0 = weights.copy(), means.copy()
    ids = np.arange(n)
    base = PopulationKL(teacher, weights, rule)
    losses, n_active, delta_pi, pruned, history = [], [], [], [], []
    stop, message = StopReason.BUDGET, f"max_iters = {max_iters} iterations done"
    best, above = (np.inf, weights, means, ids), 0
    for it in range(max_iters):
        ev = objective_with_weights(base, weights).evaluate(means)
        losses.append(float(ev.loss))
        n_active.append(weights.shape[0])
        delta_pi.append(current_delta_pi(teacher, weights, means))
        if record_means:
            history.append(means.copy())
        if np.isfinite(ev.loss) and ev.loss < best[0]:
            best = (float(ev.loss), weights, means, ids)
        above = above + 1 if diverged(ev.loss, losses[0]) else 0
        if it > 0 and (not np.isfinite(ev.loss) or above >= DIVERGENCE_PATIENCE):
            stop, message = StopReason.DIVERGED, (f"L = {ev.loss:.3e} at iteration {it} (start: {losses[0]:.3e}); "
                                                  f"the state of least loss is returned")
            _, weights, means, ids = best
            break
        if not np.isfinite(ev.loss):
            stop, message = StopReason.NON_FINITE, f"non-finite loss at iteration {it}"
            break
        if ev.loss <= tol:
            stop, message = StopReason.TOLERANCE, f"L = {ev.loss:.3e} <= tol = {tol:.3e}"
            break
        new_means = em_step(means, ev) if update == "em" else gradient_em_step(means, ev, step)
        new_weights = reestimate_weights(ev)
        if not (np.all(np.isfinite(new_means)) and np.all(np.isfinite(new_weights))):
            stop, message = StopReason.DIVERGED, (f"the update at iteration {it} is not finite; the state of "
                                                  f"least loss is returned")
            _, weights, means, ids = best
            break
        if it == max_iters - 1:
            break  # keep the evaluated state as the final one
        weights, means, ids, dropped = prune(new_weights, np.asarray(new_means), ids, prune_threshold)
        pruned.extend((it, int(i)) for i in dropped)

    def frozen(a, dtype=float):
        a = np.array(a, dtype=dtype)
        a.setflags(write=False)
        return a

    return GlobalPhaseResult(
        means=frozen(means), weights=frozen(weights), component_ids=frozen(ids, int),
        losses=frozen(losses), n_active=frozen(n_active, int), delta_pi=frozen(delta_pi),
        pruned=tuple(pruned), means0=frozen(means0), weights0=frozen(weights0), n_iters=len(losses),
        wall_time=time.perf_counter() - start, stop_reason=stop, message=message,
        options=MappingProxyType(dict(max_iters=max_iters, prune_threshold=prune_threshold, update=update,
                                      step=step, tol=tol, n=n)),
        means_history=tuple(history) if record_means else None,
    )

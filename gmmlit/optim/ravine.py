"""The ravine method: short steps to the ravine, then one long Polyak step along it.

After Davis, Drusvyatskiy and Jiang's GDPolyak {cite}`davis2025gradient`, it repeats

1. *short* steps (gradient EM, EM, or EM's update through the discretised gradient), which
   bring the iterate back to the ravine (the manifold along which the loss grows only
   quartically);
2. one *long* Polyak step ``theta - c (L - f*) / <g, D g> * D g`` along the ravine.

A block of ``K`` short steps costs ``K + 1`` evaluations (the Polyak step's base point is
the last short step's point; its trial point is the first point of the next block). The
configuration is a :class:`~gmmlit.optim.ravine_options.RavineOptions` of a few policies
(short step, short phase, Polyak step, safeguard, hand-over); ``RavineOptions()`` is the
default method, the algorithm block ``alg-ravine`` of the book. The phases live in
:mod:`gmmlit.optim.ravine_phases`, as updates of an explicit state; this module is the loop.
"""

from __future__ import annotations

from functools import partial

from .compose import then_on_plateau, with_extras
from .first_order import check_start
from .peers import lbfgs
from .ravine_options import RavineOptions
from .ravine_phases import (RavineState, judge_lookahead, new_block, observe, polyak_trial, short_phase,
                            stopped)
from .results import Recorder


def update(opts, rec, state):
    """One block: the short phase, the judgement of a pending trial, the next Polyak trial."""
    state = short_phase(opts, rec, state)                  # 1. back to the ravine (EM's steps while far)
    if state.pending is not None:                           # 4. look-ahead: judge the last trial here
        state, accepted = judge_lookahead(opts, rec, state)
        if not accepted:
            return state                                    #    a new block from the trial's base point
    if stopped(rec, state):
        return state
    if state.far:                                           # 0. far from the ravine: no long step
        return new_block(state, state.point)
    return polyak_trial(opts, rec, state)                   # 2.-3. target, then the Polyak trial


def ravine_stage(objective, means0, *, options, max_evals=1000, tol=0.0, minimizer=None, record_means=False):
    """The ravine method without hand-over: blocks until a stopping rule fires.

    ``options`` is a :class:`RavineOptions` whose start-resolved rules are already resolved
    (:meth:`RavineOptions.resolve`); its ``hand_over`` is only recorded.
    """
    if not isinstance(options, RavineOptions) or options.at_start:
        raise TypeError("options must be a resolved RavineOptions (RavineOptions(...).resolve(objective, means0))")
    x = check_start(objective, means0)
    rec = Recorder(objective, method="ravine_method", max_evals=max_evals, tol=tol, minimizer=minimizer,
                   record_means=record_means, options=options.record())
    start = observe(rec, x)
    state = RavineState(point=start, norms=(start.grad_norm,))
    while not stopped(rec, state):
        state = update(options, rec, state)
    for trial in state.trials:
        rec.mark_polyak(*trial)
    if state.stop is not None:
        rec.stop(*state.stop)
    return rec.finish(state.point.means, state.point.ev.loss)


def ravine_method(objective, means0, options=None, *, max_evals=1000, tol=0.0, minimizer=None,
                  record_means=False):
    """Short steps to the ravine, then one long Polyak step along it; repeat.

    Parameters
    ----------
    objective : PopulationKL
    means0 : array_like (n, d)
    options : RavineOptions or None
        The configuration (:mod:`gmmlit.optim.ravine_options`); ``None``: ``RavineOptions()``,
        the default method. Rules read from the Hessian at the start (a short step of size
        ``"inverse_lambda_max"``, a ``FromNormalCondition`` short phase) are resolved from
        one Hessian at ``means0``, not charged to ``max_evals``; the result records the
        resolved policies in ``options`` and ``hessians = 1``, ``lambda_max``, ``kappa``
        and the rules in ``extras``.
    max_evals : int >= 1
        Budget of objective evaluations, Polyak trials included.
    tol : float >= 0
        Stop once ``L <= tol``.
    minimizer : array_like (n, d) or None
        When given, the distance to it is recorded at every evaluation.
    record_means : bool
        Keep every evaluated point in ``means_history``.

    Returns
    -------
    OptimizationResult
        ``polyak_evals``/``polyak_base``/``polyak_accepted`` locate every Polyak trial;
        a trial cut short by the budget before it could be judged counts as rejected. With
        a hand-over that happened, both stages in one record
        (:func:`gmmlit.optim.results.chain_results`; ``extras["switch_eval"]`` is the number
        of evaluations of the ravine stage).
    """
    options = RavineOptions() if options is None else options
    if not isinstance(options, RavineOptions):
        raise TypeError(f"options must be a RavineOptions or None, got {type(options).__name__}")
    x = check_start(objective, means0)
    resolved, info = options.resolve(objective, x)
    driver = partial(ravine_stage, options=resolved)
    if resolved.hand_over is not None:
        driver = then_on_plateau(driver, partial(lbfgs, memory=resolved.hand_over.memory))
    result = driver(objective, x, max_evals=max_evals, tol=tol, minimizer=minimizer, record_means=record_means)
    return with_extras(result, info)

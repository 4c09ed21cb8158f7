"""Composing drivers: one driver, then another from where the first stopped.

A *driver* is any callable ``driver(objective, means0, *, max_evals, tol, minimizer,
record_means)`` returning an :class:`~gmmlit.optim.results.OptimizationResult` (the
methods of :mod:`gmmlit.optim.first_order`, :mod:`gmmlit.optim.ravine` and
:mod:`gmmlit.optim.peers`, with their options bound by :func:`functools.partial`).
:func:`then_on_plateau` builds a new driver out of two, in the spirit of optax's
``chain``: the ravine method's hand-over to L-BFGS is
``then_on_plateau(ravine_stage, lbfgs)``.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from .results import OptimizationResult, StopReason, chain_results

#: The stop reasons after which :func:`then_on_plateau` hands over by default: the first
#: driver could not make progress, although budget is left.
PLATEAU_REASONS = (StopReason.REJECTED_STEPS, StopReason.AT_FLOOR)


def then_on_plateau(first, second, reasons=PLATEAU_REASONS):
    """The driver "run ``first``; if it stopped for one of ``reasons`` with budget left,
    run ``second`` from its final point for the rest of the budget".

    Parameters
    ----------
    first, second : callable
        Drivers (see the module docstring).
    reasons : tuple of StopReason
        The stops of ``first`` that hand over to ``second``.

    Returns
    -------
    callable
        A driver. Its result is ``first``'s when there was no hand-over, otherwise the
        two stages in one record (:func:`gmmlit.optim.results.chain_results`, with
        ``first``'s options; ``extras["switch_eval"]`` is the number of evaluations of
        the first stage).
    """
    for name, f in (("first", first), ("second", second)):
        if not callable(f):
            raise TypeError(f"{name} must be a driver (callable), got {type(f).__name__}")
    reasons = tuple(StopReason(r) for r in reasons)

    def driver(objective, means0, *, max_evals=1000, tol=0.0, minimizer=None, record_means=False):
        common = dict(tol=tol, minimizer=minimizer, record_means=record_means)
        head = first(objective, means0, max_evals=max_evals, **common)
        if head.stop_reason not in reasons or head.n_evals >= max_evals:
            return head
        tail = second(objective, head.means, max_evals=max_evals - head.n_evals, **common)
        return chain_results(head, tail)

    return driver


def with_extras(result, extras):
    """``result`` with the entries of ``extras`` added to its ``extras`` (a new record)."""
    if not isinstance(result, OptimizationResult):
        raise TypeError(f"result must be an OptimizationResult, got {type(result).__name__}")
    if not extras:
        return result
    return dataclasses.replace(result, extras=MappingProxyType(dict(result.extras, **extras)))

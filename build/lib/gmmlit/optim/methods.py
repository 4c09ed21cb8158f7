"""Thin re-export module, kept for one release: the drivers moved.

* gradient EM, EM and the shared start checks: :mod:`gmmlit.optim.first_order`;
* the ravine method (:class:`~gmmlit.optim.ravine.RavineOptions`, its state and phases):
  :mod:`gmmlit.optim.ravine`;
* the pure steps (:func:`short_step`, :func:`relaxation_factor`, ...): :mod:`gmmlit.optim.steps`.

Every name this module had still imports from here; new code imports from the modules
above.
"""

from ..core.validation import check_finite_float, check_positive_float, check_positive_int
from .first_order import check_choice, check_start, em, gradient_em
from .first_order import iterate_steps as _iterate
from .presets import RAVINE_DEFAULTS
from .ravine import (
    ON_PLATEAU,
    PLATEAU_LBFGS_MEMORY,
    RELAXATIONS,
    SAFEGUARDS,
    SHORT_STEP_RULES,
    STEP_RULES,
    accept_polyak,
    check_f_star,
    check_normal_reduction,
    check_safeguard,
    check_short_steps,
    check_step,
    normal_condition_steps,
    ravine_method,
    short_phase_done,
    start_curvature,
)
from .results import Recorder, StopReason, chain_results, check_objective
from .steps import (
    POLYAK_METRICS,
    SHORT_STEP_KINDS,
    em_step,
    floor_estimate,
    gradient_em_step,
    polyak_direction,
    polyak_from_evaluation,
    relaxation_factor,
    short_step,
)

__all__ = [
    "ON_PLATEAU", "PLATEAU_LBFGS_MEMORY", "POLYAK_METRICS", "RAVINE_DEFAULTS", "RELAXATIONS", "Recorder",
    "SAFEGUARDS", "SHORT_STEP_KINDS", "SHORT_STEP_RULES", "STEP_RULES", "StopReason", "accept_polyak",
    "chain_results", "check_choice", "check_f_star", "check_finite_float", "check_normal_reduction",
    "check_objective", "check_positive_float", "check_positive_int", "check_safeguard", "check_short_steps",
    "check_start", "check_step", "em", "em_step", "floor_estimate", "gradient_em", "gradient_em_step",
    "normal_condition_steps", "polyak_direction", "polyak_from_evaluation", "ravine_method", "relaxation_factor",
    "short_phase_done", "short_step", "start_curvature",
]

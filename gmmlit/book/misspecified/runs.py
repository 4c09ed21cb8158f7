"""The runs of the chapter "Arbitrary weights: the misspecification floor": the numbers of a
run that the figures keep (:func:`run_record`), and the ravine variants that show the Polyak
steps alone (:data:`RAVINE_VARIANTS`, :func:`ravine_variant`, :func:`method_runs`)."""

from __future__ import annotations

import numpy as np

from ...core.validation import _as_float_array
from ...optim.first_order import em, gradient_em
from ...optim.presets import POLYAK_ALONE
from ...optim.ravine_options import NoSafeguard, PolyakRule
from ...optim.ravine import ravine_method
from ...optim.results import StopReason, first_crossing

#: Relative accuracy asked of the runs with ``f* = L*``: ``L <= L* (1 + FSTAR_TARGET)``.
FSTAR_TARGET = 1e-6

#: Stop reasons in the order of their integer codes in the figure data.
STOP_CODES = tuple(r.value for r in StopReason)


# ---------------------------------------------------------------------------- run records
def running_minimum(losses):
    """The least loss so far at every evaluation (non-finite losses are skipped)."""
    x = _as_float_array(losses, "losses")
    return np.minimum.accumulate(np.where(np.isfinite(x), x, np.inf))


def run_record(result):
    """The numbers of an :class:`~gmmlit.optim.results.OptimizationResult` that the figures use."""
    return dict(
        losses=np.array(result.losses),
        polyak_evals=np.array(result.polyak_evals),
        polyak_accepted=np.array(result.polyak_accepted),
        n_evals=int(result.n_evals),
        stop_code=STOP_CODES.index(result.stop_reason.value),
        final_loss=float(result.loss),
    )


def stop_reason_of(record):
    """The stop reason (a string) of a :func:`run_record`."""
    return STOP_CODES[int(record["stop_code"])]


def evals_to(losses, level):
    """:func:`gmmlit.optim.results.first_crossing` as an integer for the figure's arrays
    (``-1`` if never)."""
    k = first_crossing(_as_float_array(losses, "losses"), level)
    return -1 if k is None else k


#: The ravine-method runs of the chapter: name -> the options as a function of the measured
#: floor ``L*``, the default method with a fixed Polyak target. They show the Polyak steps
#: alone (:data:`gmmlit.optim.presets.POLYAK_ALONE`): a plateau stops the run (after 5
#: consecutive rejections) instead of handing over to L-BFGS. Figure 5 adds the default
#: method (:func:`method_runs`).
RAVINE_VARIANTS = {
    "ravine_f0": lambda l_star: POLYAK_ALONE.replace(polyak=PolyakRule(target=0.0)),
    "ravine_f0_off": lambda l_star: POLYAK_ALONE.replace(polyak=PolyakRule(target=0.0), safeguard=NoSafeguard()),
    "ravine_fstar_off": lambda l_star: POLYAK_ALONE.replace(polyak=PolyakRule(target=l_star),
                                                            safeguard=NoSafeguard()),
}


def ravine_variant(objective, means0, variant, l_star, max_evals, record_means=False):
    """Run the ravine method in one of :data:`RAVINE_VARIANTS` (with the floor ``l_star``)."""
    if variant not in RAVINE_VARIANTS:
        raise ValueError(f"variant must be one of {tuple(RAVINE_VARIANTS)}, got {variant!r}")
    options = RAVINE_VARIANTS[variant](l_star)
    return ravine_method(objective, means0, options, max_evals=max_evals, record_means=record_means)


def method_runs(objective, means0, l_star, max_evals):
    """Gradient EM, EM, the default ravine method and every ravine variant of
    :data:`RAVINE_VARIANTS` from one start.

    Returns a dict of :func:`run_record`, keyed ``gradient_em``, ``em``,
    ``ravine_default`` (``RavineOptions()``: estimated target,
    hand-over to L-BFGS on a plateau) and the variant names.
    """
    runs = dict(
        gradient_em=run_record(gradient_em(objective, means0, max_evals=max_evals)),
        em=run_record(em(objective, means0, max_evals=max_evals)),
        ravine_default=run_record(ravine_method(objective, means0, max_evals=max_evals)),
    )
    for variant in RAVINE_VARIANTS:
        runs[variant] = run_record(ravine_variant(objective, means0, variant, l_star, max_evals))
    return runs

"""Named configurations of :func:`gmmlit.optim.ravine.ravine_method`, in one place.

Each preset is a :class:`~gmmlit.optim.ravine_options.RavineOptions`; vary one with
``PRESET.replace(policy=...)``. The default method is ``RavineOptions()`` itself.

* :data:`PLAIN_POLYAK`: the plain Polyak step of the theory (Euclidean metric, multiplier 1,
  target 0), short steps not over-relaxed, no hand-over, the default short phase and
  safeguard.
* :data:`POLYAK_ALONE`: the default method without the hand-over to L-BFGS and with five
  rejections before stopping, so that a run shows what the Polyak steps alone do.
* :data:`PAPER_METHOD`: the paper's scheme (plain gradient steps at ``1 / lambda_max``, a fixed
  number of them from the normal condition number at the start, plain Polyak steps with
  target 0).
"""

from .ravine_options import (EMMetricGradientStep, FromNormalCondition, GradientStep, LookaheadSafeguard,
                             NoSafeguard, PolyakRule, RavineOptions)

#: The plain Polyak step of the theory: Euclidean metric, multiplier 1, target 0, no
#: over-relaxation of the short steps, no hand-over.
PLAIN_POLYAK = RavineOptions(short_step=EMMetricGradientStep(relaxation_cap=None),
                             polyak=PolyakRule(metric="euclidean", multiplier=1.0, target=0.0), hand_over=None)

#: The Polyak steps alone: a plateau stops the run (after five rejections) instead of
#: handing over to L-BFGS.
POLYAK_ALONE = RavineOptions(safeguard=LookaheadSafeguard(max_rejections=5), hand_over=None)

#: The paper's method: ``K`` plain gradient steps of size ``1 / lambda_max`` (both read from the
#: Hessian at the start), then one plain Polyak step with target 0 (Euclidean metric,
#: multiplier 1), every trial accepted, no over-relaxation, no hand-over. ``K = ceil(kappa
#: ln(1 / reduction))`` with ``kappa = lambda_1 / lambda_{d m}``: the short steps shrink
#: the normal error by at least ``reduction`` per block. The local-linear theorem of the
#: book (theorem ``thm-local-linear``) guarantees the contraction down to
#: ``|v|^2 ~ lambda_1 reduction / (c_* q)``, i.e. a loss of order ``reduction^2`` times an
#: instance constant; ``1e-8`` puts that level below the book's target ``L = 1e-12`` on its
#: instances (the chapter computes the constant).
PAPER_METHOD = RavineOptions(short_step=GradientStep(size="inverse_lambda_max"),
                             short_phase=FromNormalCondition(reduction=1e-8),
                             polyak=PolyakRule(metric="euclidean", multiplier=1.0, target=0.0),
                             safeguard=NoSafeguard(), hand_over=None)

"""Named configurations of :func:`gmmlit.optim.ravine.ravine_method`, in one place.

Each preset is a dict of keyword arguments; combine them with ``dict(PRESET, key=value)``.

* :data:`RAVINE_DEFAULTS`: the recommended configuration (the defaults of the driver).
* :data:`PLAIN_POLYAK`: the plain Polyak step of the theory (Euclidean metric, multiplier 1,
  target ``f* = 0``, no over-relaxation), with the default short steps.
* :data:`POLYAK_ALONE`: no hand-over to L-BFGS and five rejections before stopping, so that a
  run shows what the Polyak steps alone do.
* :data:`PAPER_METHOD`: the paper's scheme (plain gradient steps at ``1 / lambda_max``, a fixed
  number of them from the normal condition number at the start, plain Polyak steps with
  ``f* = 0``).
"""

#: The recommended configuration of :func:`ravine_method`, from the tuning study of
#: :mod:`gmmlit.book.studies`: EM-like short steps (``"pgem"``: EM's update through the
#: discretised gradient, which unlike EM itself has the discretised loss's stationary
#: points as fixed points) until the gradient norm stops shrinking by the factor 0.8
#: (the number needed grows slowly as the iterate approaches theta*: a fixed K
#: eventually leaves a normal residual that spoils the Polyak direction; the ratio 0.5
#: ends the phase too early on overlapping clusters); Polyak steps in the EM metric
#: ``D = diag(1 / E[psi_i])`` with multiplier 4, the degree of the quartic growth along
#: the ravine (on a radial quartic the step lands at the minimiser; in the EM metric the
#: quartic of a well separated cluster with collinear displacements is radial); the
#: look-ahead safeguard, which costs nothing when steps are accepted and stops runs
#: at a misspecification floor instead of letting them diverge; the target ``f_star``
#: estimated from the last two base points (:func:`gmmlit.optim.steps.floor_estimate`, at
#: least 0), which is 0 up to rounding when the weights group exactly and tracks the
#: floor ``L* > 0`` when they do not.
RAVINE_DEFAULTS = dict(
    short="pgem",
    step=1.0,
    short_steps="adaptive",
    max_short_steps=20,
    adaptive_ratio=0.8,
    relaxation="adaptive",
    metric="em",
    multiplier=4.0,
    safeguard="lookahead",
    max_rejections=2,
    f_star="adaptive",
    on_plateau="lbfgs",
    far_gap=0.1,  # far from the ravine (pgem and EM differ by more): EM short steps, no Polyak step
)


#: The plain Polyak step of the theory: Euclidean metric, multiplier 1, target 0, no
#: over-relaxation of the short steps, no hand-over.
PLAIN_POLYAK = dict(metric="euclidean", multiplier=1.0, f_star=0.0, on_plateau="stop", relaxation="off")

#: The Polyak steps alone: a plateau stops the run instead of handing over to L-BFGS.
POLYAK_ALONE = dict(on_plateau="stop", max_rejections=5)


#: The paper's method: ``K`` plain gradient steps of size ``1 / lambda_max`` (both read from the
#: Hessian at the start), then one plain Polyak step with target ``f* = 0`` (Euclidean metric,
#: multiplier 1), every trial accepted, no over-relaxation, no hand-over. ``K = ceil(kappa
#: ln(1 / normal_reduction))`` with ``kappa = lambda_1 / lambda_{d m}``: the short steps shrink
#: the normal error by at least ``normal_reduction`` per block. The local-linear theorem of the
#: book (theorem ``thm-local-linear``) guarantees the contraction down to
#: ``|v|^2 ~ lambda_1 normal_reduction / (c_* q)``, i.e. a loss of order
#: ``normal_reduction^2`` times an instance constant; ``1e-8`` puts that level below the
#: book's target ``L = 1e-12`` on its instances (the chapter computes the constant).
PAPER_METHOD = dict(
    short="gem",
    step="inverse_lambda_max",
    short_steps="normal_condition",
    normal_reduction=1e-8,
    relaxation="off",
    metric="euclidean",
    multiplier=1.0,
    safeguard="off",
    f_star=0.0,
    on_plateau="stop",
)

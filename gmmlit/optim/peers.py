"""Peer methods for comparison: accelerated gradient with adaptive restart, and scipy's
quasi-Newton methods (L-BFGS and BFGS), all with the driver signature and the result
object of :mod:`gmmlit.optim.first_order`.

Every objective evaluation, including those a scipy line search makes, goes through
``objective.evaluate`` and is recorded, so evaluation counts are comparable across
methods.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from .first_order import check_choice, check_start
from ..core.types import ArrayLike, Objective
from .results import OptimizationResult, Recorder, StopReason
from .steps import gradient_em_step
from ..core.validation import check_positive_float, check_positive_int

#: Restart rules accepted by :func:`nesterov`.
RESTARTS = ("gradient", "function", "none")


# ---------------------------------------------------------------------------- Nesterov
def momentum_sequence_next(t):
    """``t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2`` of the accelerated gradient method."""
    return 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))


def extrapolate(x_new, x_old, t, t_new):
    """``y = x_new + ((t - 1) / t_new) (x_new - x_old)``: the momentum point."""
    return x_new + ((t - 1.0) / t_new) * (x_new - x_old)


def gradient_restart_needed(grad_y, x_new, x_old):
    """O'Donoghue and Candes' gradient scheme: restart when ``<grad f(y), x_new - x_old> > 0``,
    i.e. when the momentum points uphill."""
    return float(np.sum(grad_y * (x_new - x_old))) > 0.0


def function_restart_needed(loss_y, loss_y_previous):
    """Function scheme, evaluated at the points where the method evaluates ``f``: restart
    when the loss rose, ``f(y_k) > f(y_{k-1})``."""
    return loss_y > loss_y_previous


def nesterov(objective: Objective, means0: ArrayLike, *, max_evals: int = 1000, tol: float = 0.0,
             minimizer: ArrayLike | None = None, step: float = 1.0, restart: str = "gradient",
             record_means: bool = False) -> OptimizationResult:
    """Nesterov's accelerated gradient {cite}`nesterov1983method` with adaptive restart
    {cite}`odonoghue2015adaptive`.

    Iterates ``x_{k+1} = y_k - step * grad L(y_k)`` (a gradient EM step from ``y_k``),
    ``y_{k+1} = x_{k+1} + ((t_k - 1) / t_{k+1}) (x_{k+1} - x_k)``; one evaluation (at
    ``y_k``) per iteration. A restart sets ``t = 1`` and ``y = x``.

    Parameters
    ----------
    objective, means0, max_evals, tol, minimizer, record_means
        As in :func:`gmmlit.optim.first_order.gradient_em`.
    step : float > 0
        Gradient step size.
    restart : {"gradient", "function", "none"}
        ``"gradient"``: restart when ``<grad L(y_k), x_{k+1} - x_k> > 0`` (free);
        ``"function"``: restart when ``L(y_{k+1}) > L(y_k)`` (the loss at the evaluated
        points); the method then moves to ``y = x_{k+1}``, which costs one evaluation
        more per restart; ``"none"``: plain accelerated gradient.

    Returns
    -------
    OptimizationResult
        ``means`` is the last evaluated point ``y_k``; ``extras["restarts"]`` counts restarts.
    """
    x = check_start(objective, means0)
    step = check_positive_float(step, "step")
    restart = check_choice(restart, RESTARTS, "restart")
    rec = Recorder(objective, method="nesterov", max_evals=max_evals, tol=tol, minimizer=minimizer,
                   record_means=record_means, options=dict(step=step, restart=restart))
    y, t = x.copy(), 1.0
    ev = rec.evaluate(y)
    restarts = 0
    while not rec.stopped:
        x_new = gradient_em_step(y, ev, step)
        if not np.all(np.isfinite(x_new)):
            rec.stop(StopReason.DIVERGED, "the step produced non-finite means")
            break
        t_new = momentum_sequence_next(t)
        y_new = extrapolate(x_new, x, t, t_new)
        restart_now = restart == "gradient" and gradient_restart_needed(ev.grad, x_new, x)
        if restart_now:
            t_new, y_new = 1.0, x_new
        ev_new = rec.evaluate(y_new)
        if rec.stop_reason in (StopReason.NON_FINITE, StopReason.DIVERGED):
            break  # keep the last point with a finite loss
        if restart == "function" and function_restart_needed(ev_new.loss, ev.loss) and not rec.stopped:
            # the momentum overshot: restart from x_{k+1} (one evaluation there)
            restarts += 1
            t_new, y_new = 1.0, x_new
            ev_new = rec.evaluate(y_new)
            if rec.stop_reason in (StopReason.NON_FINITE, StopReason.DIVERGED):
                break
        restarts += int(restart_now)
        x, y, t, ev = x_new, y_new, t_new, ev_new
    rec.extras["restarts"] = restarts
    return rec.finish(y, ev.loss)


# ---------------------------------------------------------------------------- scipy
class _StopRun(Exception):
    """Raised from the objective wrapper to end a scipy run once a stopping rule fired."""


def _scipy_run(objective, means0, *, method, max_evals, tol, minimizer, record_means, options, name,
               extra_options, hessian=False):
    """One run of ``scipy.optimize.minimize(method=method)`` with every evaluation recorded.

    With ``hessian=True`` scipy also gets the exact Hessian (:meth:`PopulationKL.hessian`);
    the Hessians are counted in ``extras["hessians"]`` (not evaluations: they do not count
    towards ``max_evals``), and a non-finite Hessian stops the run (``NON_FINITE``, the
    objective's own value). A non-finite point proposed by scipy is the method's own step,
    not the objective's: it ends the run with ``REJECTED_STEPS``.
    """
    x0 = check_start(objective, means0)
    shape = x0.shape
    rec = Recorder(objective, method=name, max_evals=max_evals, tol=tol, minimizer=minimizer,
                   record_means=record_means, options=options)
    best = {"loss": np.inf, "means": x0}
    if hessian:
        rec.extras["hessians"] = 0

    def fun(flat):
        means = flat.reshape(shape)
        if not np.all(np.isfinite(means)):  # the method's own step, not the objective: its line search failed
            rec.stop(StopReason.REJECTED_STEPS, "scipy proposed a non-finite point (line search failure)")
            raise _StopRun
        ev = rec.evaluate(means)
        if ev.loss < best["loss"]:
            best["loss"], best["means"] = float(ev.loss), means.copy()
        if rec.stopped:
            raise _StopRun
        return float(ev.loss), np.asarray(ev.grad, dtype=float).ravel()

    def hess(flat):
        rec.extras["hessians"] += 1
        h = objective.hessian(flat.reshape(shape))
        if not np.all(np.isfinite(h)):
            rec.stop(StopReason.NON_FINITE, "the objective returned a non-finite Hessian")
            raise _StopRun
        return h

    scipy_result = None
    try:
        # maxiter/maxfun: the budget is enforced by the recorder; these only keep scipy
        # from stopping earlier for its own reasons
        scipy_result = minimize(fun, x0.ravel(), jac=True, hess=hess if hessian else None, method=method,
                                options=extra_options)
    except _StopRun:
        pass
    except np.linalg.LinAlgError as err:
        rec.stop(StopReason.REJECTED_STEPS, f"scipy {method}: {err}")
    if not rec.stopped:
        rec.stop(_scipy_stop_reason(scipy_result), f"scipy: {scipy_result.message}")
    if scipy_result is not None:
        rec.extras["scipy_status"] = int(scipy_result.status)
        rec.extras["scipy_message"] = str(scipy_result.message)
        rec.extras["scipy_nit"] = int(getattr(scipy_result, "nit", -1))
    return rec.finish(best["means"], best["loss"])


def _scipy_stop_reason(result):
    """Map scipy's termination (when it stopped on its own) to a :class:`StopReason`.

    With ``gtol = ftol = 0`` scipy stops by itself only when the gradient is exactly
    zero, when its iteration or evaluation limit is hit, or when its line search finds
    no acceptable step (L-BFGS-B status 2 "ABNORMAL", its relative-reduction test with
    no decrease at all, BFGS status 2 "precision loss").
    """
    msg = str(result.message).upper()
    if "PROJECTED GRADIENT" in msg or (result.status == 0 and np.all(result.jac == 0)):
        return StopReason.ZERO_GRADIENT
    if result.status == 1:
        return StopReason.BUDGET
    if "NAN" in msg or "INF" in msg or result.status == 3:
        return StopReason.NON_FINITE
    return StopReason.REJECTED_STEPS


def lbfgs(objective: Objective, means0: ArrayLike, *, max_evals: int = 1000, tol: float = 0.0,
          minimizer: ArrayLike | None = None, memory: int = 10, record_means: bool = False) -> OptimizationResult:
    """L-BFGS {cite}`liu1989limited` through ``scipy.optimize.minimize(method="L-BFGS-B")``
    (no bounds), on the same objective and with the same result object.

    Parameters
    ----------
    objective, means0, max_evals, tol, minimizer, record_means
        As in :func:`gmmlit.optim.first_order.gradient_em`. Every function evaluation scipy asks
        for is recorded (line-search trials included); the run is ended from inside the
        objective wrapper once ``L <= tol`` or ``max_evals`` evaluations are spent.
        scipy's own tests are disabled (``gtol = ftol = 0``).
    memory : int >= 1
        Number of correction pairs (``maxcor``).

    Returns
    -------
    OptimizationResult
        ``means`` is the evaluated point of least loss; scipy's status, message and
        iteration count are in ``extras``. When scipy stops by itself (line search
        failure, no decrease) ``stop_reason`` is ``REJECTED_STEPS``.
    """
    memory = check_positive_int(memory, "memory")
    big = 10 * check_positive_int(max_evals, "max_evals") + 10
    return _scipy_run(
        objective, means0, method="L-BFGS-B", max_evals=max_evals, tol=tol, minimizer=minimizer,
        record_means=record_means, options=dict(memory=memory), name="lbfgs",
        extra_options=dict(maxcor=memory, gtol=0.0, ftol=0.0, maxiter=big, maxfun=big, maxls=50),
    )


def bfgs(objective: Objective, means0: ArrayLike, *, max_evals: int = 1000, tol: float = 0.0,
         minimizer: ArrayLike | None = None, record_means: bool = False) -> OptimizationResult:
    """BFGS {cite}`nocedal2006numerical` through ``scipy.optimize.minimize(method="BFGS")``;
    as :func:`lbfgs` with a dense inverse-Hessian approximation (``gtol = 0``,
    ``xrtol = 0``)."""
    big = 10 * check_positive_int(max_evals, "max_evals") + 10
    return _scipy_run(
        objective, means0, method="BFGS", max_evals=max_evals, tol=tol, minimizer=minimizer,
        record_means=record_means, options={}, name="bfgs",
        extra_options=dict(gtol=0.0, maxiter=big, xrtol=0.0),
    )


# ---------------------------------------------------------------------------- GDPolyak
from ..core.validation import check_finite_float  # noqa: E402  (appended section; imports above are shared)

#: Step choices of :func:`gdpolyak` besides a positive number.
GD_STEP_RULES = ("inverse_lambda_max",)


def inverse_lambda_max(objective, means):
    """``1 / lambda_max``: the reciprocal of the largest eigenvalue of the exact Hessian at
    ``means`` (one Hessian), the longest gradient step that is stable for the local
    quadratic model. Raises ``ValueError`` if the Hessian is not finite or has no
    positive eigenvalue."""
    h = objective.hessian(means)
    if not np.all(np.isfinite(h)):
        raise ValueError("the Hessian at means0 is not finite: step='inverse_lambda_max' is undefined")
    top = float(np.linalg.eigvalsh(h)[-1])
    if not top > 0.0:
        raise ValueError(f"the Hessian at means0 has no positive eigenvalue (largest {top:.3e})")
    return 1.0 / top


def gdpolyak_polyak_length(loss, grad, f_star):
    """Length ``(L - f*) / |grad L|^2`` of GDPolyak's Polyak step along ``-grad L``, as in
    the authors' code: no clipping at 0, no multiplier. ``None`` for a zero gradient."""
    gg = float(np.sum(np.asarray(grad) ** 2))
    if gg == 0.0:
        return None
    return (float(loss) - float(f_star)) / gg


def _check_gd_step(step):
    if isinstance(step, str):
        return check_choice(step, GD_STEP_RULES, "step")
    return check_positive_float(step, "step")


def gdpolyak(objective: Objective, means0: ArrayLike, *, max_evals: int = 1000, tol: float = 0.0,
             minimizer: ArrayLike | None = None, step: float | str = "inverse_lambda_max", gd_steps: int = 100,
             epochs: int | None = None, f_star: float = 0.0, record_means: bool = False) -> OptimizationResult:
    """GDPolyak {cite}`davis2025gradient` as its authors implement it (``damek/GDPolyak``).

    An *epoch* is ``gd_steps`` plain gradient steps ``x <- x - step * grad L(x)`` followed
    by one Polyak step ``x <- x - (L(x) - f*) / |grad L(x)|^2 * grad L(x)`` from the point
    reached. Epochs repeat until ``epochs`` (or the budget, or ``tol``) is reached. There
    is no line search, no safeguard and no acceptance test (one restart, so the Polyak
    steps are not halved and ``f*`` is not updated). Every distinct point is evaluated
    once, so an epoch costs ``gd_steps + 1`` evaluations.

    Parameters
    ----------
    objective, means0, max_evals, tol, minimizer, record_means
        As in :func:`gmmlit.optim.first_order.gradient_em`.
    step : float > 0 or "inverse_lambda_max"
        The gradient step ``eta``. ``"inverse_lambda_max"``: ``1 / lambda_max`` of the
        Hessian at ``means0`` (:func:`inverse_lambda_max`); that Hessian is counted in
        ``extras["hessians"]``, not in ``max_evals``.
    gd_steps : int >= 1
        ``K``, gradient steps per epoch (the authors' notebook uses 100).
    epochs : int >= 1 or None
        Number of epochs; ``None``: until the budget or ``tol`` stops the run.
    f_star : float
        The target value of the Polyak steps (the authors pass the known optimum, 0 here).

    Returns
    -------
    OptimizationResult
        ``means`` is the last point with a finite loss (the point of least loss when the run
        diverged); the Polyak steps are recorded
        (``polyak_evals``: the evaluation at the point they lead to, all accepted).
        ``extras``: ``hessians`` (0 or 1), ``step`` (``eta``), ``epochs`` (completed).
        A non-finite loss or point after the start stops the run (``DIVERGED``, with the
        point of least loss), as NaN aborts the authors' loop; a zero gradient ends it
        (``ZERO_GRADIENT``).
    """
    x = check_start(objective, means0)
    rule = _check_gd_step(step)
    k_steps = check_positive_int(gd_steps, "gd_steps")
    n_epochs = None if epochs is None else check_positive_int(epochs, "epochs")
    f_star = check_finite_float(f_star, "f_star")
    hessians = 0
    if isinstance(rule, str):
        eta, hessians = inverse_lambda_max(objective, x), 1
    else:
        eta = rule
    rec = Recorder(objective, method="gdpolyak", max_evals=max_evals, tol=tol, minimizer=minimizer,
                   record_means=record_means,
                   options=dict(step=step, gd_steps=k_steps, epochs=epochs, f_star=f_star))
    rec.extras.update(hessians=hessians, step=eta)
    ev, done = rec.evaluate(x), 0
    while not rec.stopped:
        for _ in range(k_steps):
            x, ev = _gdpolyak_move(rec, x, ev, eta)
            if rec.stopped:
                break
        if rec.stopped:
            break
        length = gdpolyak_polyak_length(ev.loss, ev.grad, f_star)
        x, ev = _gdpolyak_move(rec, x, ev, length, polyak_base=rec.last_index)
        done += 1
        if n_epochs is not None and done >= n_epochs and not rec.stopped:
            rec.stop(StopReason.BUDGET, f"{n_epochs} epochs done")
    rec.extras["epochs"] = done
    return rec.finish(x, ev.loss)


def _gdpolyak_move(rec, x, ev, length, polyak_base=None):
    """One step ``x - length * grad`` of :func:`gdpolyak`, evaluated; returns the new
    ``(x, ev)``, or the old ones when the new point or its loss is not finite.
    ``polyak_base`` (an evaluation index) marks the step as a Polyak step from there."""
    new = x - length * ev.grad
    if not np.all(np.isfinite(new)):
        rec.stop(StopReason.DIVERGED, "the step produced non-finite means")
        return x, ev
    new_ev = rec.evaluate(new)
    if polyak_base is not None:
        rec.mark_polyak(rec.last_index, polyak_base, True, length)
    if rec.stop_reason in (StopReason.NON_FINITE, StopReason.DIVERGED):
        return x, ev  # keep the last point with a finite loss
    return new, new_ev


# ---------------------------------------------------------------------------- Newton
def newton(objective: Objective, means0: ArrayLike, *, max_evals: int = 1000, tol: float = 0.0,
           minimizer: ArrayLike | None = None, record_means: bool = False) -> OptimizationResult:
    """Newton's method with the exact Hessian in a trust region, through
    ``scipy.optimize.minimize(method="trust-exact")`` with :meth:`PopulationKL.hessian`.

    Every function evaluation scipy asks for is recorded, as in :func:`lbfgs`; scipy's
    own gradient test is disabled (``gtol = 0``). Hessians are not evaluations: their
    number is ``extras["hessians"]`` and does not count towards ``max_evals``; compare
    runs in seconds, or charge each Hessian at its measured cost in evaluations
    (:func:`gmmlit.bench.methods.hessian_cost`).

    Parameters
    ----------
    objective, means0, max_evals, tol, minimizer, record_means
        As in :func:`gmmlit.optim.first_order.gradient_em`.

    Returns
    -------
    OptimizationResult
        ``means`` is the evaluated point of least loss; ``extras``: ``hessians``, scipy's
        status, message and iteration count. A non-finite Hessian stops the run
        (``NON_FINITE``).
    """
    big = 10 * check_positive_int(max_evals, "max_evals") + 10
    return _scipy_run(objective, means0, method="trust-exact", max_evals=max_evals, tol=tol, minimizer=minimizer,
                      record_means=record_means, options={}, name="newton",
                      extra_options=dict(gtol=0.0, maxiter=big), hessian=True)

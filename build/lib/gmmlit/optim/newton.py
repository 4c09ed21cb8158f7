"""Newton's method with the exact Hessian, as a measuring instrument: the local minimum
near a point and its value (the floor ``L*`` of a misspecified instance, the minimiser of a
sample objective). The evaluations go straight to the objective: these are measurements,
not methods of the comparison (the Newton peer of the comparison is
:func:`gmmlit.optim.peers.newton`, if present, which counts its Hessians).

* :func:`local_minimum`: saddle-free Newton steps (eigenvalues replaced by their absolute
  values) with halving, from any point of the basin;
* :func:`local_floor`: scipy's trust-region method with the exact Hessian, then
  :func:`newton_polish`, with the Hessian spectrum at the end;
* :func:`newton_polish`: plain Newton steps, quadratically convergent near a strict local
  minimum.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ..core.validation import check_positive_int


def local_minimum(objective, means, *, max_iter=40):
    """Newton's method with the exact Hessian from ``means``: the local minimum of its basin.

    Each step solves ``H p = -g`` in the eigenbasis of ``H`` with the eigenvalues replaced
    by their absolute values (at least ``1e-14``), and halves the step until the loss does
    not increase; the iteration stops when a step no longer lowers the loss or after
    ``max_iter`` steps. Near a strict local minimum the convergence is quadratic.

    Returns
    -------
    dict
        ``means``, ``loss``, ``grad_norm``, ``min_eigenvalue`` (of the Hessian at the
        end: positive at a strict local minimum) and ``iterations``.
    """
    max_iter = check_positive_int(max_iter, "max_iter")
    x = np.array(objective.check_means(means), dtype=float)
    n, d = x.shape
    ev = objective.evaluate(x)
    it = 0
    for it in range(1, max_iter + 1):
        w, v = np.linalg.eigh(objective.hessian(x).reshape(n * d, n * d))
        g = ev.grad.ravel()
        step = -(v @ ((v.T @ g) / np.maximum(np.abs(w), 1e-14))).reshape(n, d)
        size, moved = 1.0, False
        while size > 1e-12:
            trial = objective.evaluate(x + size * step)
            if trial.loss <= ev.loss:
                moved = trial.loss < ev.loss
                x, ev = x + size * step, trial
                break
            size /= 2.0
        if not moved:
            break
    w = np.linalg.eigvalsh(objective.hessian(x).reshape(n * d, n * d))
    return dict(means=x, loss=float(ev.loss), grad_norm=float(np.linalg.norm(ev.grad)),
                min_eigenvalue=float(w[0]), iterations=it)


def newton_polish(objective, means, *, steps=10):
    """``steps`` Newton steps ``theta - H^{-1} grad L`` with the exact Hessian of the
    discretised objective (stops early at an exactly zero gradient).

    Converges quadratically to the stationary point whose basin of attraction holds
    ``means``; whether it is a minimum is for the caller to check (Hessian eigenvalues).
    """
    x = np.array(objective.check_means(means), dtype=float)
    steps = check_positive_int(steps, "steps")
    for _ in range(steps):
        g = objective.grad(x)
        if not np.any(g):
            break
        x = x - np.linalg.solve(objective.hessian(x), g.ravel()).reshape(x.shape)
    return x


def local_floor(objective, means0, *, max_iter=200, newton_steps=3):
    """The local minimum reached from ``means0`` and its value, the floor ``L*``.

    scipy's trust-region method with the exact Hessian (``method="trust-exact"``), which
    converges to a local minimum rather than a saddle, then :func:`newton_polish`. The
    evaluations go straight to the objective (this is a measurement, not a method of the
    comparison).

    Returns
    -------
    dict
        ``L_star`` (the loss at the polished point), ``means``, ``grad_norm``,
        ``hessian_eigenvalues`` (ascending; all positive at a strict local minimum) and
        ``iterations`` (of the trust-region method).
    """
    x0 = np.array(objective.check_means(means0, "means0"), dtype=float)
    max_iter = check_positive_int(max_iter, "max_iter")
    shape = x0.shape

    def fun(v):
        loss, grad = objective.loss_and_grad(v.reshape(shape))
        return loss, grad.ravel()

    res = minimize(fun, x0.ravel(), jac=True, method="trust-exact",
                   hess=lambda v: objective.hessian(v.reshape(shape)), options=dict(gtol=1e-14, maxiter=max_iter))
    x = newton_polish(objective, res.x.reshape(shape), steps=newton_steps)
    ev = objective.evaluate(x)
    return dict(
        L_star=float(ev.loss),
        means=x,
        grad_norm=float(np.linalg.norm(ev.grad)),
        hessian_eigenvalues=np.linalg.eigvalsh(objective.hessian(x)),
        iterations=int(res.nit),
    )

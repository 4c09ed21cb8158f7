"""A small explicit instance and its sympy loss integrand, shared by the checks of the
implementation against sympy (gradient, Hessian, quartic form)."""

from __future__ import annotations

import numpy as np
import sympy as sp


def default_instance(dim=2):
    """Two teacher components (weights 0.4, 0.6) at distance about 3, three students
    (weights 0.25, 0.15, 0.6; the first two on the first component), in dimension ``dim``."""
    from ...core.instances import make_instance
    from ...core.mixture import Mixture

    means = np.array([[-1.5, 0.0], [1.5, 0.5]])[:, :dim] if dim <= 2 else None
    if means is None:
        raise ValueError(f"dim must be 1 or 2, got {dim}")
    return make_instance(Mixture(np.array([0.4, 0.6]), means), np.array([0.25, 0.15, 0.6]), np.array([0, 0, 1]))


def bregman_integrand_expression(teacher_weights, teacher_means, weights, x, mu):
    """``e^s - 1 - s`` with ``s = log p_theta(x) - log p*(x)`` as a sympy expression in the
    point ``x`` (symbols, length ``d``) and the means ``mu`` (``n`` rows of ``d`` sympy
    expressions); the weights and the teacher are numbers."""
    d = len(x)

    def density(ws, ms):
        return sum(sp.nsimplify(float(w)) * sp.exp(-sum((x[a] - ms[i][a]) ** 2 for a in range(d)) / 2)
                   for i, w in enumerate(ws))

    star = [[sp.nsimplify(float(c)) for c in row] for row in np.asarray(teacher_means)]
    s = sp.log(density(weights, mu)) - sp.log(density(teacher_weights, star))
    return sp.exp(s) - 1 - s


def integrate_on_nodes(func, objective, *args):
    """``sum_k w_k func(x_k, *args)`` over the objective's nodes (``func`` from ``sp.lambdify``)."""
    x, w = objective.nodes()
    values = np.asarray(func(*x.T, *args), dtype=float)
    values = np.broadcast_to(values, (x.shape[0],)) if values.ndim == 0 else values
    return float(w @ values)


def sample_points(instance, objective, seed=0):
    """Points near ``theta*``: one on the ravine (the ravine point over ``theta* + 0.15 v``,
    ``v`` tangent) and one off it (``theta* + 0.3 u``, ``u`` random), labelled."""
    from ...core.geometry import project_to_ravine, tangent_projector

    rng = np.random.default_rng(seed)
    n, d = instance.means_star.shape
    v = (tangent_projector(instance.weights, instance.assignment, d) @ rng.standard_normal(n * d)).reshape(n, d)
    v /= np.linalg.norm(v)
    on_ravine = project_to_ravine(objective, instance.means_star + 0.15 * v, instance.means_star, instance.assignment)
    off = instance.means_star + 0.3 * rng.standard_normal((n, d)) / np.sqrt(n * d)
    return {"on the ravine": on_ravine, "off the ravine": off}

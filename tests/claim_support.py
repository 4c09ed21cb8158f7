"""What the claim tests share: computations they compare the library against, written
independently of its code (the Fisher information from the teacher's responsibilities,
central differences of a gradient, Richardson extrapolation with its own error estimate,
float64 rounding bounds), and their small instances."""

import numpy as np

from gmmlit.core.geometry import normal_projector, tangent_projector
from gmmlit.core.instances import make_instance, split_weights, triangle_instance
from gmmlit.core.mixture import Mixture
from gmmlit.core.quadrature import TrapezoidRule

#: The cheap rule of the claim tests. Both sides of every comparison are computed on the
#: same discretised objective, so the rule's own error does not enter them.
RULE = TrapezoidRule(h=0.3)


def small_instances():
    """The triangle (m = 3, d = 2, n = 6, side 4) and a one-component teacher in d = 2 with
    n = 4 students."""
    tri = triangle_instance(n=6, side=4.0, seed=0)
    w, a = split_weights([1.0], [4], seed=3)
    one = make_instance(Mixture(np.array([1.0]), np.zeros((1, 2))), w, a, name="one component, n=4, d=2")
    return tri, one


def unit_directions(inst, seed):
    """A random unit tangent direction ``v`` (in T) and a random unit normal one ``u``."""
    rng = np.random.default_rng(seed)
    n, d = inst.means_star.shape
    v = (tangent_projector(inst.weights, inst.assignment, d) @ rng.standard_normal(n * d)).reshape(n, d)
    u = (normal_projector(inst.weights, inst.assignment, d) @ rng.standard_normal(n * d)).reshape(n, d)
    return v / np.linalg.norm(v), u / np.linalg.norm(u)


def node_count(objective):
    """The number of nodes of the objective's rule (the length of its sums)."""
    return objective.nodes()[1].size


def teacher_fisher(objective, means_star, assignment):
    """Fisher information at ``theta*`` from the *teacher's* responsibilities, on the rule nodes.

    Written independently of :meth:`PopulationKL.hessian` and of
    :func:`gmmlit.theory.quartic.fisher_information`: at ``theta*`` the student score is
    ``g_i(x) = (pi_i / pi*_j) psi*_j(x) (x - mu*_j)`` with ``j = sigma(i)``, and
    ``F = E_{p*}[g g^T]`` (index ``i*d + a``). The responsibilities ``psi*_j`` are a
    log-sum-exp written here.
    """
    teacher = objective.teacher
    x, w = objective.nodes()
    a = np.asarray(assignment)
    r = x[:, None, :] - teacher.means[None, :, :]  # (N, m, d)
    log_k = np.log(teacher.weights)[None, :] - 0.5 * np.sum(r * r, axis=2)
    log_k -= log_k.max(axis=1, keepdims=True)
    psi_star = np.exp(log_k)
    psi_star /= psi_star.sum(axis=1, keepdims=True)
    ratio = objective.weights / teacher.weights[a]
    g = (ratio[None, :, None] * psi_star[:, a, None] * r[:, a, :]).reshape(x.shape[0], -1)
    return g.T @ (g * w[:, None])


def finite_difference_hessian(objective, means, step=1e-5):
    """Central differences of ``objective.grad``, symmetrised; shape ``(n d, n d)``."""
    theta = np.asarray(means, dtype=float)
    k = theta.size
    out = np.empty((k, k))
    for col in range(k):
        e = np.zeros(k)
        e[col] = step
        plus = objective.grad(theta + e.reshape(theta.shape)).ravel()
        minus = objective.grad(theta - e.reshape(theta.shape)).ravel()
        out[:, col] = (plus - minus) / (2 * step)
    return 0.5 * (out + out.T)


def richardson_limit(ratio, t, order=1, rel_rounding=0.0):
    """The limit ``a`` of ``ratio(s) = a + b s^order + c s^(order+1) + ...`` as ``s -> 0``, from
    ``s = t, t/2, t/4``, with a bound on the error.

    Richardson's step ``R(s) = (2^order ratio(s/2) - ratio(s)) / (2^order - 1)`` removes the
    ``s^order`` term: ``R(s) = a + c' s^(order+1) + ...``. The two extrapolations ``R(t)`` and
    ``R(t/2)`` differ by ``c' t^(order+1) (1 - 2^-(order+1))``, so the leading error of
    ``R(t/2)``, ``c' (t/2)^(order+1)``, is ``|R(t) - R(t/2)| / (2^(order+1) - 1)``. The bound
    returned is ``|R(t) - R(t/2)|``: that estimate with a margin of ``2^(order+1) - 1``
    (3 for ``order=1``; more when the next term is of higher order) for the higher-order
    terms. ``rel_rounding`` is a bound on the relative rounding error of each ``ratio(s)``;
    through the two Richardson steps and their difference it adds at most
    ``2 (2^order + 1) / (2^order - 1) rel_rounding max|ratio|`` to the bound.

    Returns
    -------
    limit, bound : float
        ``R(t/2)`` and ``|R(t) - R(t/2)|``.
    """
    r = [ratio(t / 2 ** k) for k in range(3)]
    scale = 2.0 ** order
    extrapolated = [(scale * r[k + 1] - r[k]) / (scale - 1) for k in range(2)]
    rounding = 2 * (scale + 1) / (scale - 1) * rel_rounding * max(abs(v) for v in r)
    return extrapolated[1], abs(extrapolated[0] - extrapolated[1]) + rounding


#: Unit roundoff of float64.
UNIT_ROUNDOFF = 2.0 ** -53


def summation_bound(n_terms):
    """Relative error bound ``n u / (1 - n u)`` of a sum of ``n_terms`` floats (Higham's
    gamma_n), relative to the sum of the terms' absolute values."""
    nu = n_terms * UNIT_ROUNDOFF
    return nu / (1 - nu)

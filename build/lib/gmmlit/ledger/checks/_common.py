"""Helpers shared by the callable checks: small instances, unit directions, the cheap rule."""

from __future__ import annotations

import numpy as np

from ..model import CheckResult


def from_symbolic(*symbolic_checks):
    """A CheckResult from one or more :class:`gmmlit.theory.symbolic.SymbolicCheck` objects."""
    passed = all(s.passed for s in symbolic_checks)
    failed = [s.name for s in symbolic_checks if not s.passed]
    if failed:
        measured = "nonzero residual: " + "; ".join(failed)
    else:
        measured = f"residual identically 0 ({len(symbolic_checks)} case{'s' if len(symbolic_checks) > 1 else ''})"
    return CheckResult(passed, measured, " | ".join(f"{s.name}: {s.detail}" for s in symbolic_checks))


def small_instances():
    """The instances the numerical checks use: the triangle (m = 3, d = 2, n = 6, side 4)
    and a one-component teacher in d = 2 with n = 4 students."""
    from ...core.instances import make_instance, split_weights, triangle_instance
    from ...core.mixture import Mixture

    tri = triangle_instance(n=6, side=4.0, seed=0)
    w, a = split_weights([1.0], [4], seed=3)
    one = make_instance(Mixture(np.array([1.0]), np.zeros((1, 2))), w, a, name="one component, n=4, d=2")
    return tri, one


def unit_directions(inst, seed):
    from ...core.geometry import normal_projector, tangent_projector

    rng = np.random.default_rng(seed)
    n, d = inst.means_star.shape
    v = (tangent_projector(inst.weights, inst.assignment, d) @ rng.standard_normal(n * d)).reshape(n, d)
    u = (normal_projector(inst.weights, inst.assignment, d) @ rng.standard_normal(n * d)).reshape(n, d)
    return v / np.linalg.norm(v), u / np.linalg.norm(u)


def rule():
    from ...core.quadrature import TrapezoidRule

    return TrapezoidRule(h=0.3)


def richardson(values):
    """``2 f(t/2) - f(t)`` from ``values = (f(t), f(t/2))``: removes the O(t) term of
    ``f(t) = f0 + c t + O(t^2)``."""
    return 2 * values[1] - values[0]


def m1_model(weights, dim):
    from ...theory.quartic import one_component_model

    return one_component_model(weights, dim)


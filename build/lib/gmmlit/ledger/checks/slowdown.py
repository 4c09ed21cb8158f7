"""Callable checks of gradient descent on a quartic (chapter slowdown)."""

from __future__ import annotations

from ._common import from_symbolic


def gd_sympy():
    """Gradient descent on a x^4: the sublinear asymptotics (series and iteration)."""
    from ...theory.symbolic import check_gd_quartic_asymptotics

    return from_symbolic(check_gd_quartic_asymptotics())

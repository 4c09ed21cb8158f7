"""The warnings gmmlit issues, one family: ``warnings.filterwarnings("error", category=GmmlitWarning)``
turns every one of them into an error, and ``"ignore"`` silences them all.

Each class also derives from the standard category it refines (``RuntimeWarning`` or
``UserWarning``), so that filters written for those keep working.
"""

from __future__ import annotations


class GmmlitWarning(UserWarning):
    """Base class of every warning gmmlit issues."""


class NotCertifiedWarning(GmmlitWarning, RuntimeWarning):
    """:func:`gmmlit.best_assignment` returns a grouping it could not prove optimal in the time
    it was given; the message states the gap between its answer and the proved lower bound."""


class DuplicateComponentsWarning(GmmlitWarning):
    """A teacher has two or more components with the same mean; they are merged into one
    component carrying the sum of their weights (the density is unchanged)."""

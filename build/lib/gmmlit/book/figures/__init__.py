"""Figures of the book, one module per topic, all in one style (:mod:`gmmlit.book.figures.style`).

Every function takes its data or computes it from seeded ``gmmlit`` code and returns a
matplotlib ``Figure``; nothing here keeps state.
"""

from .style import COLORS, apply_style, new_figure

__all__ = ["COLORS", "apply_style", "new_figure"]

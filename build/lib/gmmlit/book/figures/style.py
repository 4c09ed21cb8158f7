"""The one plotting style of the book."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.text import Text

#: Colours by role, used consistently across chapters.
COLORS = {
    "teacher": "#222222",
    "student": "#1f77b4",
    "gradient_em": "#d62728",
    "em": "#ff7f0e",
    "ravine": "#2ca02c",
    "polyak": "#9467bd",
    "nesterov": "#8c564b",
    "lbfgs": "#7f7f7f",
    "normal": "#17becf",
    "tangent": "#bcbd22",
}

#: Marker for Polyak iterates in every convergence plot.
POLYAK_MARKER = dict(marker="s", s=28, facecolors="none", edgecolors=COLORS["polyak"], linewidths=1.2, zorder=5)

#: Resolution of every figure, in the book and in a notebook (PNG pixels per inch).
DPI = 150

#: Width in CSS pixels of the book's text column in a 1280-pixel-wide window (688 measured, less a margin); a figure wider
#: than that (at :data:`DPI`) is shown scaled down to it.
PAGE_WIDTH_PX = 680

#: Size of the body text in CSS pixels: the smallest text of a figure is at least this big
#: when the figure is shown at the page width.
BODY_TEXT_PX = 16

#: Font size of a figure up to about 6.4 inches wide, in points.
BASE_FONT_PT = 10.0

_FONT_KEYS = ("font.size", "axes.titlesize", "axes.labelsize", "legend.fontsize", "legend.title_fontsize",
              "xtick.labelsize", "ytick.labelsize", "figure.titlesize")

_RC = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.6,
}


def font_size(width):
    """Font size in points for a figure ``width`` inches wide: the larger of
    :data:`BASE_FONT_PT` and the size shown as :data:`BODY_TEXT_PX` once the figure is
    scaled to :data:`PAGE_WIDTH_PX` (a wide figure, shrunk more, gets larger type)."""
    width = float(width)
    if not width > 0:
        raise ValueError(f"width must be a positive number of inches, got {width!r}")
    return max(BASE_FONT_PT, BODY_TEXT_PX * 72.0 * width / PAGE_WIDTH_PX)


def apply_style(width=6.4):
    """Set the book's matplotlib defaults for a figure ``width`` inches wide (idempotent)."""
    size = font_size(width)
    mpl.rcParams.update(_RC)
    mpl.rcParams.update({key: size for key in _FONT_KEYS})
    mpl.rcParams["lines.linewidth"] = 1.6 * max(1.0, size / 12.0)


class BookFigure(Figure):
    """A figure whose text is never smaller than :func:`font_size` of its width when drawn.

    Legends and annotations given a small ``fontsize`` by a figure function are raised
    to that size at draw time (before the layout is computed), so every figure stays
    legible at the page width whatever its functions ask for.
    """

    def enforce_min_font_size(self):
        """Raise every text of the figure to at least :func:`font_size` of its width."""
        smallest = font_size(self.get_figwidth())
        for text in self.findobj(Text):
            if text.get_fontsize() < smallest:
                text.set_fontsize(smallest)

    def draw(self, renderer):
        self.enforce_min_font_size()
        return super().draw(renderer)


#: At most this many panels side by side: at the page width a panel gets about
#: ``PAGE_WIDTH_PX / MAX_PANELS_PER_ROW`` pixels, enough for labels at the body text size.
MAX_PANELS_PER_ROW = 2

#: A row of panels wider than this (inches) is stacked into a column: its type, sized for
#: the page width, would crowd the panels.
MAX_ROW_WIDTH = 8.0

#: Width in inches of a figure whose panels are stacked (one per row).
STACKED_WIDTH = 6.4

#: Least height over width of one panel, so that larger type leaves room for the plot.
MIN_PANEL_ASPECT = 0.55


def _stacks(ncols, nrows, width):
    return nrows == 1 and ncols > 1 and (ncols > MAX_PANELS_PER_ROW or width > MAX_ROW_WIDTH)


def figure_layout(ncols, nrows, width, height):
    """``(ncols, nrows, width, height)`` as the book draws them: a single row of more than
    :data:`MAX_PANELS_PER_ROW` panels, or wider than :data:`MAX_ROW_WIDTH`, is stacked into
    a column :data:`STACKED_WIDTH` wide (each panel keeping the requested height), and every
    panel is at least :data:`MIN_PANEL_ASPECT` as high as wide."""
    if _stacks(ncols, nrows, width):
        ncols, nrows, width, height = 1, ncols, STACKED_WIDTH, height * ncols
    height = max(height, MIN_PANEL_ASPECT * nrows * width / ncols)
    return ncols, nrows, width, height


def new_figure(ncols=1, nrows=1, width=6.4, height=3.6, **kwargs):
    """A figure with the book style applied: returns ``(fig, axes)``.

    The layout follows :func:`figure_layout` (a wide row of panels becomes a column;
    ``axes`` keeps its length, so ``fig, (a, b, c) = new_figure(ncols=3)`` still works;
    ``width_ratios`` then no longer apply) and the type is sized for the width
    (:func:`font_size`, enforced when drawn by :class:`BookFigure`).
    """
    stacked = _stacks(ncols, nrows, width)
    ncols, nrows, width, height = figure_layout(ncols, nrows, width, height)
    if stacked and "gridspec_kw" in kwargs:
        gridspec_kw = {k: v for k, v in (kwargs.pop("gridspec_kw") or {}).items() if k != "width_ratios"}
        if gridspec_kw:
            kwargs["gridspec_kw"] = gridspec_kw
    apply_style(width)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), dpi=DPI, constrained_layout=True,
                             FigureClass=BookFigure, **kwargs)
    return fig, axes

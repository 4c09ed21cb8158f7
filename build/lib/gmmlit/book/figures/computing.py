"""Figures of the chapter "Computing population quantities".

Each function takes data computed by :mod:`gmmlit.book.accuracy` and returns a matplotlib
``Figure``.
"""

from __future__ import annotations

import numpy as np

from .style import POLYAK_MARKER, new_figure

#: Smallest error drawn on a log axis (exact zeros are drawn there).
ERROR_FLOOR = 1e-17

#: One colour per quantity compared inside this chapter's figures (matplotlib's cycle).
SERIES_COLORS = ["C0", "C1", "C2", "C3", "C4", "C5"]


def _clip(values):
    return np.maximum(np.asarray(values, dtype=float), ERROR_FLOOR)


def quadrature_convergence_figure(data):
    """Relative error against nodes per teacher component, trapezoid (solid) and Gauss-Hermite (dashed).

    ``data`` is the output of :func:`gmmlit.book.accuracy.quadrature_convergence_1d`.
    """
    fig, ax = new_figure(width=6.4, height=3.8)
    for color, (sep, res) in zip(SERIES_COLORS, data.items()):
        ax.semilogy(res["trapezoid_nodes"], _clip(res["trapezoid_error"]), "-o", ms=3, color=color,
                    label=f"trapezoid, $D={sep:g}$")
        ax.semilogy(res["gauss_hermite_nodes"], _clip(res["gauss_hermite_error"]), "--s", ms=3, color=color,
                    label=f"Gauss–Hermite, $D={sep:g}$")
    ax.set_xlabel("nodes per teacher component")
    ax.set_ylabel("relative error (max of loss, gradient)")
    ax.legend(ncol=2, fontsize=7, loc="upper right")
    return fig


def bregman_evaluation_figure(data):
    """Relative error of three evaluations of ``e^s - 1 - s`` against ``s > 0``.

    ``data`` is the output of :func:`gmmlit.book.accuracy.bregman_evaluation_errors` (positive
    ``s`` only are drawn).
    """
    s = np.asarray(data["s"])
    keep = s > 0
    order = np.argsort(s[keep])
    fig, ax = new_figure(width=5.6, height=3.4)
    labels = {"exp": r"$\exp(s)-1-s$", "expm1": r"$\mathrm{expm1}(s)-s$", "series": "Taylor series (Horner)"}
    for color, (key, label) in zip(SERIES_COLORS, labels.items()):
        ax.loglog(s[keep][order], _clip(np.asarray(data[key])[keep][order]), "-o", ms=3, color=color, label=label)
    ax.axhline(np.finfo(float).eps, color="0.5", lw=0.8, ls=":", label="machine epsilon")
    ax.set_xlabel("$s$")
    ax.set_ylabel("relative error")
    ax.legend(fontsize=8)
    return fig


def naive_minimiser_figure(sizes, studies, predicted_sizes, predicted):
    """Distance of the naive discrete minimiser from ``theta*`` against the number of nodes.

    Parameters
    ----------
    sizes : array_like
        ``N`` of the measured minimisers.
    studies : dict label -> dict
        Outputs of :func:`gmmlit.book.accuracy.naive_minimiser_study` with ``minimise=True``
        (medians over seeds drawn as filled markers, the medians of their predictions as
        hollow ones).
    predicted_sizes : array_like
    predicted : dict label -> dict
        Outputs with ``minimise=False`` over ``predicted_sizes`` (medians drawn as lines).
    """
    fig, ax = new_figure(width=6.0, height=3.8)
    for color, label in zip(SERIES_COLORS, studies):
        ax.loglog(sizes, np.median(studies[label]["distance"], axis=1), "o", color=color,
                  label=f"{label}: discrete minimiser (median)")
        ax.loglog(sizes, np.median(studies[label]["predicted"], axis=1), "o", mfc="none", ms=10, color=color,
                  label=f"{label}: prediction, same seeds")
        ax.loglog(predicted_sizes, np.median(predicted[label]["predicted"], axis=1), "-", color=color, lw=1.0,
                  label=f"{label}: prediction, more seeds")
    n = np.asarray(predicted_sizes, dtype=float)
    anchor = np.median(predicted[next(iter(predicted))]["predicted"], axis=1)[0]
    for power, style, label in [(1 / 6, ":", "$N^{-1/6}$"), (1 / 4, "--", "$N^{-1/4}$")]:
        ax.loglog(n, anchor * (n / n[0]) ** (-power), style, color="0.4", lw=0.9, label=label)
    ax.set_xlabel("number of nodes $N$")
    ax.set_ylabel(r"$|\hat\theta_N-\theta^*|$")
    ax.legend(fontsize=7, ncol=1, loc="lower left")
    return fig


def loss_floor_figure(ts, losses, reference_name):
    """``|L(theta* + t v)|`` against ``t`` for several discretisations; negative values hollow.

    ``losses`` is a dict name -> array (output of
    :func:`gmmlit.book.accuracy.loss_floor_along_path`); ``reference_name`` names the accurate one.
    """
    ts = np.asarray(ts)
    fig, ax = new_figure(width=6.0, height=3.8)
    for color, (name, values) in zip(SERIES_COLORS, losses.items()):
        v = np.asarray(values)
        style = "-" if name == reference_name else "--"
        ax.loglog(ts, np.maximum(np.abs(v), 1e-40), style, color=color, lw=1.2 if name == reference_name else 1.0,
                  label=name)
        neg = v < 0
        if np.any(neg):
            ax.loglog(ts[neg], np.abs(v[neg]), "o", mfc="none", color=color, ms=5, label=f"{name}: $L<0$ (|L| drawn)")
    ax.set_xlabel("distance $t$ from $\\theta^*$ along a tangent direction")
    ax.set_ylabel("$|L(\\theta^*+tv)|$")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def run_floor_figure(runs):
    """Accurately judged loss and distance to ``theta*`` along runs driven by different discretisations.

    ``runs`` is the output of :func:`gmmlit.book.accuracy.run_floor_study`; Polyak iterates
    carry the book's Polyak marker. Runs are drawn solid, dashed, dotted in turn, so that
    coinciding runs stay visible.
    """
    fig, (ax_l, ax_d) = new_figure(ncols=2, width=8.8, height=3.6)
    styles = ["-", "--", ":", "-."]
    for color, style, (name, r) in zip(SERIES_COLORS, styles, runs.items()):
        k = np.arange(len(r["loss"]))
        loss = np.maximum(r["loss"], 1e-40)
        ax_l.semilogy(k, loss, style, color=color, label=name)
        ax_d.semilogy(k, np.maximum(r["distance"], 1e-40), style, color=color, label=name)
        p = np.asarray(r["polyak"], dtype=bool)
        ax_l.scatter(k[p], loss[p], **POLYAK_MARKER)
        ax_d.scatter(k[p], np.maximum(r["distance"][p], 1e-40), **POLYAK_MARKER)
    ax_l.set_xlabel("iteration")
    ax_l.set_ylabel("loss $L$ (accurate rule)")
    ax_d.set_xlabel("iteration")
    ax_d.set_ylabel(r"$|\theta-\theta^*|$")
    ax_l.legend(fontsize=7)
    ax_l.scatter([], [], label="Polyak step", **POLYAK_MARKER)
    ax_d.scatter([], [], label="Polyak step", **POLYAK_MARKER)
    ax_d.legend(fontsize=7, handles=ax_d.collections[-1:], loc="upper right")
    return fig


def cost_accuracy_figure(rows, families):
    """Largest relative error (loss, gradient) against seconds per evaluation, one marker per rule.

    ``rows`` from :func:`gmmlit.book.accuracy.rule_error_table`; ``families`` maps a label to
    a predicate on the row's ``rule`` string (e.g. ``lambda r: r.startswith("Sobol")``).
    """
    fig, ax = new_figure(width=6.0, height=3.6)
    for color, (label, pick) in zip(SERIES_COLORS, families.items()):
        sel = [r for r in rows if pick(r["rule"])]
        if not sel:
            continue
        sec = [r["seconds"] for r in sel]
        ax.loglog(sec, _clip([r["loss_err"] for r in sel]), "o", color=color, label=f"{label}: loss")
        ax.loglog(sec, _clip([r["grad_err"] for r in sel]), "^", mfc="none", color=color, label=f"{label}: gradient")
    ax.set_xlabel("seconds per loss-and-gradient evaluation")
    ax.set_ylabel("relative error (worst point)")
    ax.legend(fontsize=7)
    return fig


__all__ = [
    "quadrature_convergence_figure",
    "bregman_evaluation_figure",
    "naive_minimiser_figure",
    "loss_floor_figure",
    "run_floor_figure",
    "cost_accuracy_figure",
]

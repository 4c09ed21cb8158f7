"""The far-from-the-ravine test of the ravine method (chapter "The Polyak step and the
alternating method", last section): the discretisation gap along runs from ordinary
starts, and what the test changes against EM.

* :func:`far_rule_study`: from ``c + 3 N(0, I)`` starts on the ``d = 3, m = 3, n = 7``
  instance of the random-start benchmark, the default ravine method, the same without the
  test (``far_gap=None``) and EM with the same budget; the gap
  :func:`gmmlit.optim.ravine.discretisation_gap` at every point of one run.
* :func:`plot_far_rule`: (a) the gap along the evaluations with the threshold, (b) the
  losses of the three runs from that start.
"""

from __future__ import annotations

import numpy as np

from ...bench.starts import random_start, three_cluster_instance
from ...core.quadrature import ProductRule
from ...optim.first_order import em
from ...optim.presets import RAVINE_DEFAULTS
from ...optim.ravine import discretisation_gap, ravine_method
from .style import COLORS, new_figure

#: Rule of the study (as the random-start benchmark's in ``d = 3``).
FAR_RULE = ProductRule(0.7, 5.0, 3)

#: Seeds of the starts and the budget of every run.
FAR_SEEDS = tuple(range(100, 108))
FAR_BUDGET = 300


def far_rule_study(seeds=FAR_SEEDS, budget=FAR_BUDGET, shown=None):
    """Runs from every start; returns a dict with the final losses (``"default"``,
    ``"no_test"``, ``"em"``), and for the start ``shown`` (default: the first where the
    run without the test ends worse than EM) the loss curves and the gap at every point
    of the default run."""
    inst = three_cluster_instance()
    obj = inst.objective(FAR_RULE)
    finals = {"default": [], "no_test": [], "em": []}
    runs = []
    for seed in seeds:
        x0 = random_start(inst, seed)
        r = ravine_method(obj, x0, max_evals=budget, record_means=True)
        plain = ravine_method(obj, x0, max_evals=budget, far_gap=None)
        e = em(obj, x0, max_evals=budget)
        for key, res in (("default", r), ("no_test", plain), ("em", e)):
            finals[key].append(float(res.loss))
        runs.append((r, plain, e))
    finals = {k: np.array(v) for k, v in finals.items()}
    worse = finals["no_test"] > 1.05 * finals["em"] + 1e-12
    k = int(np.argmax(worse)) if shown is None and np.any(worse) else (0 if shown is None else int(shown))
    r, plain, e = runs[k]
    gaps = np.array([discretisation_gap(x, obj.evaluate(x))[0] for x in r.means_history])
    return dict(finals=finals, seeds=np.array(seeds), shown=k, gaps=gaps, threshold=RAVINE_DEFAULTS["far_gap"],
                losses=dict(default=np.asarray(r.losses), no_test=np.asarray(plain.losses), em=np.asarray(e.losses)))


def plot_far_rule(data):
    """Draw the figure from :func:`far_rule_study`'s dictionary."""
    fig, (ax, bx) = new_figure(ncols=2, width=12.0, height=3.8)
    g = data["gaps"]
    ax.semilogy(np.arange(1, g.size + 1), np.maximum(g, 1e-17), ".-", color=COLORS["ravine"], ms=3,
                label="default ravine method")
    ax.axhline(data["threshold"], color="k", ls="--", lw=1, label=f"far_gap = {data['threshold']:g}")
    ax.set_xlabel("evaluation")
    ax.set_ylabel(r"$\max_i |\mathrm{pgem}_i - \mathrm{em}_i|$")
    ax.set_title("(a) discretisation gap along the run")
    ax.legend(fontsize=8)
    for key, color, label in (("default", COLORS["ravine"], "ravine method (default)"),
                              ("no_test", COLORS["polyak"], "ravine method, far_gap=None"),
                              ("em", COLORS["em"], "EM")):
        loss = data["losses"][key]
        bx.semilogy(np.arange(1, loss.size + 1), loss, color=color, label=label)
    bx.set_xlabel("evaluation")
    bx.set_ylabel(r"$L$")
    bx.set_title("(b) loss from the same start")
    bx.legend(fontsize=8)
    return fig

"""The structure of the ravine method (issue 11): self-validating frozen options, the
explicit state machine, the hand-over as a composition, the thin re-export module."""

import dataclasses

import numpy as np
import pytest

from gmmlit.core.objective import Evaluation
from gmmlit.core.validation import check_means
from gmmlit.optim.compose import then_on_plateau
from gmmlit.optim.first_order import gradient_em
from gmmlit.optim.peers import lbfgs
from gmmlit.optim.presets import RAVINE_DEFAULTS
from gmmlit.optim.ravine import OPTION_CHECKS, RavineOptions, ravine_stage, run_ravine
from gmmlit.optim.results import StopReason


class Quartic:
    """``L = x^2 + t^4 + 1`` on means ``(2, 1)``: the Polyak step with ``f* = 0`` overshoots."""

    def check_means(self, means, name="means"):
        return check_means(means, name, n_rows=2, dim=1)

    def evaluate(self, means):
        means = self.check_means(means)
        x, t = means[0, 0], means[1, 0]
        grad = np.array([[2 * x], [4 * t ** 3]])
        return Evaluation(float(x * x + t ** 4 + 1.0), grad, np.ones(2), means - grad)


def test_options_default_to_the_presets_and_are_frozen():
    opts = RavineOptions()
    for key, value in RAVINE_DEFAULTS.items():
        assert getattr(opts, key) == value, key
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.multiplier = 2.0
    assert set(OPTION_CHECKS) == {f.name for f in dataclasses.fields(RavineOptions)}


@pytest.mark.parametrize("key, value, exc", [("multiplier", -1.0, ValueError), ("short", "newton", ValueError),
                                             ("short_steps", 2.5, TypeError), ("far_gap", 0.0, ValueError),
                                             ("safeguard", "maybe", ValueError), ("f_star", "guess", ValueError)])
def test_options_validate_themselves(key, value, exc):
    with pytest.raises(exc, match=key.split("_")[0]):
        RavineOptions.from_kwargs(**{key: value})


def test_from_kwargs_rejects_unknown_options_and_normalises():
    with pytest.raises(TypeError, match="polyak_every"):
        RavineOptions.from_kwargs(polyak_every=3)
    opts = RavineOptions.from_kwargs(safeguard=True, f_star=0)
    assert opts.safeguard == "trial" and opts.f_star == 0.0 and not opts.adaptive_target


def test_stage_needs_resolved_options():
    with pytest.raises(TypeError, match="resolved"):
        ravine_stage(Quartic(), [[0.0], [0.5]], options=RavineOptions(short_steps="normal_condition"))


def test_then_on_plateau_composes_two_drivers():
    common = dict(short="gem", step=0.01, short_steps=1, safeguard="trial", max_rejections=2, f_star=0.0,
                  on_plateau="stop")
    first = lambda o, x, **kw: run_ravine(o, x, RavineOptions(**common), **kw)  # noqa: E731
    both = then_on_plateau(first, lbfgs)(Quartic(), [[0.0], [0.5]], max_evals=80)
    alone = first(Quartic(), [[0.0], [0.5]], max_evals=80)
    assert alone.stop_reason == StopReason.REJECTED_STEPS
    assert both.extras["switch_eval"] == alone.n_evals and both.extras["second_method"] == "lbfgs"
    assert both.loss < alone.loss and both.n_evals <= 80
    # no hand-over when the first driver stops for another reason
    budget = then_on_plateau(gradient_em, lbfgs)(Quartic(), [[0.3], [0.4]], max_evals=5)
    assert budget.stop_reason == StopReason.BUDGET and "switch_eval" not in budget.extras
    with pytest.raises(TypeError, match="second"):
        then_on_plateau(first, "lbfgs")

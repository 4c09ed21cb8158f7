"""The structure of the ravine method (issues 11 and 22): a few frozen policies that validate
themselves, ``RavineOptions()`` as the one default, the hand-over as a composition, the
phases as updates of an explicit state, and the algorithm in one short module."""

import dataclasses
import inspect
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from gmmlit.core.objective import Evaluation
from gmmlit.core.validation import check_means
from gmmlit.optim import ravine
from gmmlit.optim import ravine_options as ro
from gmmlit.optim.compose import then_on_plateau
from gmmlit.optim.first_order import gradient_em
from gmmlit.optim.peers import lbfgs
from gmmlit.optim.ravine import ravine_method, ravine_stage, update
from gmmlit.optim.ravine_phases import RavineState, observe
from gmmlit.optim.results import Recorder, StopReason
from gmmlit.optim.steps import SHORT_STEP_KINDS, short_step


class Quartic:
    """``L = x^2 + t^4 + 1`` on means ``(2, 1)``: the Polyak step with ``f* = 0`` overshoots."""

    def check_means(self, means, name="means"):
        return check_means(means, name, n_rows=2, dim=1)

    def evaluate(self, means):
        means = self.check_means(means)
        x, t = means[0, 0], means[1, 0]
        grad = np.array([[2 * x], [4 * t ** 3]])
        return Evaluation(float(x * x + t ** 4 + 1.0), grad, np.ones(2), means - grad)


#: Plain gradient short steps with a fixed K and the trial safeguard: on the quartic every
#: Polyak trial aimed at 0 overshoots and is rejected.
OVERSHOOTING = ro.RavineOptions(short_step=ro.GradientStep(size=0.01), short_phase=ro.FixedShortSteps(1),
                                polyak=ro.PolyakRule(target=0.0), safeguard=ro.TrialSafeguard(max_rejections=2),
                                hand_over=None)

POLICIES = (ro.GradientStep, ro.EMStep, ro.EMMetricGradientStep, ro.FixedShortSteps, ro.UntilGradientStalls,
            ro.FromNormalCondition, ro.FloorEstimate, ro.PolyakRule, ro.NoSafeguard, ro.TrialSafeguard,
            ro.LookaheadSafeguard, ro.LbfgsHandOver, ro.RavineOptions)


def test_the_defaults_are_one_instance_of_the_policies_defaults():
    opts = ro.RavineOptions()
    assert opts == ro.RavineOptions()
    assert opts.short_step == ro.EMMetricGradientStep(size=1.0, relaxation_cap=0.8, far_gap=0.1)
    assert opts.short_phase == ro.UntilGradientStalls(ratio=0.8, max_steps=20)
    assert opts.polyak == ro.PolyakRule(metric="em", multiplier=4.0, target=ro.FloorEstimate())
    assert opts.safeguard == ro.LookaheadSafeguard(max_rejections=2)
    assert opts.hand_over == ro.LbfgsHandOver(memory=50)
    # each option is written once: ravine_method takes the options object, not the options
    params = inspect.signature(ravine_method).parameters
    assert set(params) == {"objective", "means0", "options", "max_evals", "tol", "minimizer", "record_means"}
    assert params["options"].default is None
    none = ravine_method(Quartic(), [[0.3], [0.4]], max_evals=30)
    default = ravine_method(Quartic(), [[0.3], [0.4]], ro.RavineOptions(), max_evals=30)
    np.testing.assert_array_equal(none.losses, default.losses)
    assert none.options == default.options == opts.record()


@pytest.mark.parametrize("policy", POLICIES)
def test_policies_are_frozen(policy):
    instance = policy(3) if policy is ro.FixedShortSteps else policy()
    for field in dataclasses.fields(instance):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(instance, field.name, None)


@pytest.mark.parametrize("policy, fields, exc, name", [
    (ro.GradientStep, dict(size=-1.0), ValueError, "size"),
    (ro.GradientStep, dict(size="lambda_max"), ValueError, "size"),
    (ro.GradientStep, dict(relaxation_cap=1.5), ValueError, "relaxation_cap"),
    (ro.EMMetricGradientStep, dict(far_gap=0.0), ValueError, "far_gap"),
    (ro.EMMetricGradientStep, dict(relaxation_cap=0.0), ValueError, "relaxation_cap"),
    (ro.FixedShortSteps, dict(count=0), ValueError, "count"),
    (ro.FixedShortSteps, dict(count=2.5), TypeError, "count"),
    (ro.FixedShortSteps, dict(count=True), TypeError, "count"),
    (ro.UntilGradientStalls, dict(ratio=1.5), ValueError, "ratio"),
    (ro.UntilGradientStalls, dict(max_steps=0), ValueError, "max_steps"),
    (ro.FromNormalCondition, dict(reduction=1.0), ValueError, "reduction"),
    (ro.PolyakRule, dict(metric="manhattan"), ValueError, "metric"),
    (ro.PolyakRule, dict(multiplier=0.0), ValueError, "multiplier"),
    (ro.PolyakRule, dict(target=np.inf), ValueError, "target"),
    (ro.PolyakRule, dict(target="adaptive"), TypeError, "target"),
    (ro.TrialSafeguard, dict(max_rejections=0), ValueError, "max_rejections"),
    (ro.LookaheadSafeguard, dict(max_rejections=-1), ValueError, "max_rejections"),
    (ro.LbfgsHandOver, dict(memory=0), ValueError, "memory"),
    (ro.RavineOptions, dict(short_step="em"), TypeError, "short_step"),
    (ro.RavineOptions, dict(short_phase=3), TypeError, "short_phase"),
    (ro.RavineOptions, dict(polyak=dict(metric="em")), TypeError, "polyak"),
    (ro.RavineOptions, dict(safeguard="lookahead"), TypeError, "safeguard"),
    (ro.RavineOptions, dict(hand_over="lbfgs"), TypeError, "hand_over"),
])
def test_each_policy_validates_its_fields_with_a_named_error(policy, fields, exc, name):
    with pytest.raises(exc, match=name):
        policy(**fields)


def test_options_are_one_typed_object_and_old_names_are_gone():
    with pytest.raises(TypeError, match="options"):
        ravine_method(Quartic(), [[0.3], [0.4]], dict(short="pgem"))
    with pytest.raises(TypeError):
        ravine_method(Quartic(), [[0.3], [0.4]], short_steps=3)  # no keyword options any more
    assert SHORT_STEP_KINDS == ("gradient", "em", "em_metric_gradient")
    ev = Quartic().evaluate([[0.3], [0.4]])
    for old in ("gem", "pgem"):
        with pytest.raises(ValueError, match="kind"):
            short_step([[0.3], [0.4]], ev, old)


def test_the_lookahead_safeguard_is_a_trial_safeguard_judged_later():
    # the same acceptance rule, and equal fields do not make them equal policies
    assert ro.LookaheadSafeguard().accepts(1.0, 1.0) and not ro.LookaheadSafeguard().accepts(1.0, 1.0 + 1e-15)
    assert ro.LookaheadSafeguard(2) != ro.TrialSafeguard(2)


def test_stage_needs_resolved_options():
    with pytest.raises(TypeError, match="resolved"):
        ravine_stage(Quartic(), [[0.0], [0.5]], options=ro.RavineOptions(short_phase=ro.FromNormalCondition()))


def test_the_hand_over_is_the_composition_of_the_stage_and_lbfgs():
    options = OVERSHOOTING.replace(hand_over=ro.LbfgsHandOver(memory=7))
    composed = then_on_plateau(partial(ravine_stage, options=options), partial(lbfgs, memory=7))
    a = composed(Quartic(), [[0.0], [0.5]], max_evals=80)
    b = ravine_method(Quartic(), [[0.0], [0.5]], options, max_evals=80)
    assert a.extras["second_method"] == b.extras["second_method"] == "lbfgs"
    assert a.extras["switch_eval"] == b.extras["switch_eval"]
    np.testing.assert_array_equal(a.losses, b.losses)
    # without the hand-over policy the run stops at the plateau
    alone = ravine_method(Quartic(), [[0.0], [0.5]], OVERSHOOTING, max_evals=80)
    assert alone.stop_reason == StopReason.REJECTED_STEPS and alone.n_evals == b.extras["switch_eval"]


def test_then_on_plateau_composes_two_drivers():
    first = partial(ravine_method, options=OVERSHOOTING)
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


def test_a_block_is_an_update_of_an_explicit_state():
    rec = Recorder(Quartic(), method="ravine_method", max_evals=50, tol=0.0)
    start = observe(rec, np.array([[0.0], [0.5]]))
    state = RavineState(point=start, norms=(start.grad_norm,))
    after = update(OVERSHOOTING, rec, state)
    # the old state is untouched; the trial and the rejection are in the new one
    assert state.trials == () and state.rejections == 0 and state.stop is None
    assert len(after.trials) == 1 and not after.trials[0].accepted and after.rejections == 1
    # the recorder only recorded the evaluations (start, short step, trial)
    assert rec.n_evals == 3 and rec.polyak_evals == [] and not rec.stopped
    final = update(OVERSHOOTING, rec, after)
    assert final.stop[0] == StopReason.REJECTED_STEPS and not rec.stopped


def test_the_algorithm_module_is_short():
    lines = Path(ravine.__file__).read_text().splitlines()
    assert len(lines) < 350
    # one block of the method reads in one screen
    assert len(inspect.getsource(update).splitlines()) <= 15


def test_polyak_trials_are_one_record_of_the_result():
    from gmmlit.optim.results import OptimizationResult, PolyakTrials

    names = {f.name for f in dataclasses.fields(OptimizationResult)}
    assert "polyak_trials" in names
    assert not names & {"polyak_evals", "polyak_base", "polyak_accepted", "polyak_step_sizes"}
    plain = gradient_em(Quartic(), [[0.3], [0.4]], max_evals=3)
    assert isinstance(plain.polyak_trials, PolyakTrials) and len(plain.polyak_trials) == 0
    options = OVERSHOOTING.replace(hand_over=ro.LbfgsHandOver())
    both = ravine_method(Quartic(), [[0.0], [0.5]], options, max_evals=80)
    trials = both.polyak_trials
    assert len(trials) == 2 and trials.n_accepted == 0 == both.n_polyak_accepted
    assert both.polyak_evals is trials.evals and both.polyak_base is trials.base
    np.testing.assert_array_equal(both.polyak["eval"], trials.evals)
    np.testing.assert_array_equal(trials.base, trials.evals - 1)  # K = 1: the base is just before


def test_chained_results_shift_the_later_trials():
    from gmmlit.optim.results import chain_results

    first = ravine_method(Quartic(), [[0.0], [0.5]], OVERSHOOTING, max_evals=80)
    second = ravine_method(Quartic(), first.means, OVERSHOOTING, max_evals=80)
    both = chain_results(first, second)
    n = first.n_evals
    np.testing.assert_array_equal(both.polyak_evals, np.concatenate([first.polyak_evals, second.polyak_evals + n]))
    np.testing.assert_array_equal(both.polyak_base, np.concatenate([first.polyak_base, second.polyak_base + n]))
    assert len(both.polyak_trials) == len(first.polyak_trials) + len(second.polyak_trials) == 4
    # every trial's base is an evaluation before it, in the same stage
    assert np.all(both.polyak_base < both.polyak_evals)

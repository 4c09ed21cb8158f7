"""The start-resolved rules of ``ravine_method``: a short step of size ``"inverse_lambda_max"``
and the ``FromNormalCondition`` short phase, both from one Hessian at ``means0``."""

import numpy as np
import pytest

import gmmlit
from gmmlit.core.quadrature import TrapezoidRule
from gmmlit.optim.ravine import ravine_method
from gmmlit.optim.ravine_options import (FixedShortSteps, FromNormalCondition, GradientStep, LbfgsHandOver,
                                         NoSafeguard, PolyakRule, RavineOptions, TrialSafeguard,
                                         normal_condition_steps)

#: The paper's scheme with a fixed K and step (replaced by the rules in the tests).
PAPER_LIKE = RavineOptions(short_step=GradientStep(size=1.0), short_phase=FixedShortSteps(1),
                           polyak=PolyakRule(metric="euclidean", multiplier=1.0, target=0.0), safeguard=NoSafeguard(),
                           hand_over=None)
BOTH_RULES = dict(short_step=GradientStep(size="inverse_lambda_max"), short_phase=FromNormalCondition(0.01))


@pytest.fixture(scope="module")
def case():
    inst = gmmlit.triangle_instance(n=6, side=6, seed=0)
    return inst, inst.objective(TrapezoidRule(0.4, 7.0)), inst.start(0.3, 1)


def direct_values(objective, means0, m, reduction):
    n, d = means0.shape
    lam = np.sort(np.linalg.eigvalsh(objective.hessian(means0).reshape(n * d, n * d)))[::-1]
    kappa = lam[0] / lam[d * m - 1]
    return 1.0 / lam[0], int(np.ceil(kappa * np.log(1.0 / reduction))), kappa


@pytest.mark.claim("polyak.start-resolved")
@pytest.mark.parametrize("reduction", [0.01, 0.3])
def test_resolved_step_and_k_match_an_eigendecomposition(case, reduction):
    inst, objective, x0 = case
    step, k, kappa = direct_values(objective, x0, inst.m, reduction)
    before = objective.n_evals
    hessians = objective.counts["hessian"]
    options = PAPER_LIKE.replace(short_step=GradientStep(size="inverse_lambda_max"),
                                 short_phase=FromNormalCondition(reduction))
    res = ravine_method(objective, x0, options, max_evals=12)
    assert res.options["short_step"].size == pytest.approx(step, rel=1e-12)
    assert res.options["short_phase"] == FixedShortSteps(k)
    assert res.extras["hessians"] == 1 and res.extras["kappa"] == pytest.approx(kappa, rel=1e-12)
    assert res.extras["step_rule"] == "inverse_lambda_max" and res.extras["short_steps_rule"] == "normal_condition"
    # one Hessian computed by the driver (plus the one of direct_values), not charged to the budget
    assert objective.counts["hessian"] == hessians + 1
    assert res.n_evals == objective.n_evals - before <= 12
    # the same run with the resolved numbers given explicitly is the same run
    again = ravine_method(objective, x0, PAPER_LIKE.replace(short_step=res.options["short_step"],
                                                            short_phase=FixedShortSteps(k)), max_evals=12)
    np.testing.assert_array_equal(again.losses, res.losses)
    assert "hessians" not in again.extras


def test_lower_reduction_needs_more_steps(case):
    inst, objective, x0 = case
    ks = [ravine_method(objective, x0, PAPER_LIKE.replace(short_phase=FromNormalCondition(r)),
                        max_evals=2).options["short_phase"].count for r in (0.5, 0.01, 1e-6)]
    assert ks[0] < ks[1] < ks[2]


def test_the_hand_over_keeps_the_resolved_values(case):
    inst, objective, x0 = case
    options = RavineOptions(polyak=PolyakRule(multiplier=1e3), safeguard=TrialSafeguard(max_rejections=1),
                            hand_over=LbfgsHandOver(), **BOTH_RULES)
    res = ravine_method(objective, x0, options, max_evals=30)
    assert res.extras["hessians"] == 1
    assert isinstance(res.options["short_phase"], FixedShortSteps)


def test_normal_condition_steps_formula():
    k, kappa = normal_condition_steps([1.0, 4.0, 0.001, 2.0], 3, 0.01)
    assert kappa == pytest.approx(4.0)
    assert k == int(np.ceil(4.0 * np.log(100.0)))
    # the contraction (1 - 1/kappa)^K reaches the reduction
    assert (1 - 1 / kappa) ** k <= 0.01


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 2.0, np.nan])
def test_bad_normal_reduction_rejected(case, bad):
    _, objective, x0 = case
    with pytest.raises(ValueError, match="reduction"):
        FromNormalCondition(bad)
    with pytest.raises(ValueError, match="reduction"):
        normal_condition_steps([3.0, 2.0, 1.0], 3, bad)


@pytest.mark.parametrize("bad", ["inverse_lambda", "lambda_max", ""])
def test_bad_step_rule_rejected(case, bad):
    _, objective, x0 = case
    with pytest.raises(ValueError, match="size"):
        GradientStep(size=bad)


def test_bad_short_phase_rejected(case):
    with pytest.raises(TypeError, match="short_phase"):
        RavineOptions(short_phase="normal_condition")


def test_non_positive_normal_eigenvalue_rejected():
    with pytest.raises(ValueError, match="positive"):
        normal_condition_steps([3.0, 1.0, -0.5], 3)


def test_objective_without_teacher_rejected(case):
    _, objective, x0 = case

    class NoTeacher:
        def evaluate(self, means):
            return objective.evaluate(means)

        def check_means(self, means, name="means"):
            return objective.check_means(means, name)

        def hessian(self, means):
            return objective.hessian(means)

    with pytest.raises(ValueError, match="teacher"):
        ravine_method(NoTeacher(), x0, PAPER_LIKE.replace(short_phase=FromNormalCondition()), max_evals=3)
    # the step rule alone needs no teacher
    res = ravine_method(NoTeacher(), x0, PAPER_LIKE.replace(short_step=GradientStep(size="inverse_lambda_max")),
                        max_evals=3)
    assert res.extras["hessians"] == 1

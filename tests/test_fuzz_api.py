"""Fuzzing the public API with hypothesis: bad input fails early and clearly.

Every bad argument must raise ``ValueError`` or ``TypeError`` whose message names the
argument; no NaN result, no numpy warning, no traceback from deep inside numpy. Valid
data is drawn directly and then broken in one place, so no example is filtered away.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gmmlit
from gmmlit import GaussHermiteRule, Mixture, PopulationKL, ProductRule, SobolRule, TrapezoidRule
from gmmlit.optim import ravine_options as ro

finite = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False)
bad_values = st.sampled_from([np.nan, np.inf, -np.inf])


def raises_clearly(func, names):
    """Call ``func``; it must raise ValueError/TypeError naming one of ``names``, silently."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises((ValueError, TypeError)) as info:
            func()
    message = str(info.value)
    assert any(name in message for name in names), message
    # the error is raised by gmmlit's own argument checks, not from inside numpy
    assert "/gmmlit/" in str(info.traceback[-1].path), str(info.traceback[-1].path)


@st.composite
def valid_mixture_data(draw, max_k=4, max_d=3):
    k = draw(st.integers(1, max_k))
    d = draw(st.integers(1, max_d))
    raw = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k)))
    means = np.array(draw(st.lists(st.lists(finite, min_size=d, max_size=d), min_size=k, max_size=k)))
    return raw / raw.sum(), means


@given(valid_mixture_data(), st.data())
def test_bad_weights(data, draw):
    weights, means = data
    kind = draw.draw(st.sampled_from(["negative", "zero", "nonfinite", "sum", "length", "2d"]))
    w = weights.copy()
    i = draw.draw(st.integers(0, len(w) - 1))
    if kind == "negative":
        w[i] = -draw.draw(st.floats(1e-6, 10.0))
    elif kind == "zero":
        w[i] = 0.0
    elif kind == "nonfinite":
        w[i] = draw.draw(bad_values)
    elif kind == "sum":
        w = w * draw.draw(st.sampled_from([0.5, 0.9, 1.01, 2.0]))
    elif kind == "length":
        w = np.append(w, 0.0) if draw.draw(st.booleans()) else w[:-1]
        if w.size == 0:
            w = np.array([0.5, 0.5])
    else:
        w = w[None, :]
    raises_clearly(lambda: Mixture(w, means), ["weights", "one weight per component"])


@given(valid_mixture_data(), st.data())
def test_bad_means(data, draw):
    weights, means = data
    kind = draw.draw(st.sampled_from(["nonfinite", "1d", "3d", "empty"]))
    m = means.copy()
    if kind == "nonfinite":
        m[draw.draw(st.integers(0, m.shape[0] - 1)), 0] = draw.draw(bad_values)
    elif kind == "1d":
        m = m[:, 0]
    elif kind == "3d":
        m = m[None]
    else:
        m = np.zeros((len(weights), 0))
    raises_clearly(lambda: Mixture(weights, m), ["means"])


@given(st.integers(1, 3), st.integers(1, 3), st.integers(2, 5))
def test_dimension_mismatch_between_teacher_and_student(d_teacher, shift, n):
    teacher = Mixture([0.5, 0.5], np.zeros((2, d_teacher)) + np.arange(2)[:, None] * 3.0)
    f = PopulationKL(teacher, np.full(n, 1.0 / n), TrapezoidRule(0.5, 5.0) if d_teacher <= 2 else SobolRule(64))
    bad = np.zeros((n, d_teacher + shift))
    raises_clearly(lambda: f.loss(bad), ["means"])
    raises_clearly(lambda: f.grad(np.zeros((n + shift, d_teacher))), ["means"])
    raises_clearly(lambda: PopulationKL(teacher, np.full(n + 1, 1.0 / n)), ["weights"])


@given(st.sampled_from([
    (TrapezoidRule, dict(h=0.0)), (TrapezoidRule, dict(h=-1.0)), (TrapezoidRule, dict(h=np.nan)),
    (TrapezoidRule, dict(radius=0.5)), (TrapezoidRule, dict(h="0.1")),
    (GaussHermiteRule, dict(order=0)), (GaussHermiteRule, dict(order=1000)), (GaussHermiteRule, dict(order=3.5)),
    (ProductRule, dict(n_orth=0)), (ProductRule, dict(h=5.0)),
    (SobolRule, dict(n_points=100)), (SobolRule, dict(n_points=0)), (SobolRule, dict(seed=-2)),
]))
def test_bad_rule_parameters(case):
    cls, kwargs = case
    raises_clearly(lambda: cls(**kwargs), list(kwargs))


METHODS = [gmmlit.gradient_em, gmmlit.em, gmmlit.ravine_method, gmmlit.nesterov, gmmlit.lbfgs]


@pytest.fixture(scope="module")
def small():
    inst = gmmlit.triangle_instance(n=4, seed=0)
    return inst, inst.objective(TrapezoidRule(0.5, 6.0))


@given(st.sampled_from(METHODS), st.sampled_from(["shape", "nonfinite", "budget"]))
def test_bad_method_arguments(small, method, kind):
    inst, f = small
    x = inst.start(0.3, 0)
    if kind == "shape":
        raises_clearly(lambda: method(f, x[:-1], max_evals=5), ["means0"])
    elif kind == "nonfinite":
        y = x.copy()
        y[0, 0] = np.nan
        raises_clearly(lambda: method(f, y, max_evals=5), ["means0"])
    else:
        raises_clearly(lambda: method(f, x, max_evals=0), ["max_evals"])


@given(st.sampled_from([
    (ro.GradientStep, dict(size=-1.0)), (ro.GradientStep, dict(size=0.0)), (ro.FixedShortSteps, dict(count=0)),
    (ro.FixedShortSteps, dict(count="many")), (ro.PolyakRule, dict(target=np.nan)),
    (ro.PolyakRule, dict(target=np.inf)), (ro.PolyakRule, dict(metric="newton")),
    (ro.PolyakRule, dict(multiplier=-2.0)), (ro.RavineOptions, dict(short_step="sgd")),
    (ro.TrialSafeguard, dict(max_rejections=0)), (ro.UntilGradientStalls, dict(ratio=1.5)),
    (ro.FromNormalCondition, dict(reduction=1.0)), (ro.LbfgsHandOver, dict(memory=0)),
]))
def test_bad_ravine_options(small, case):
    policy, fields = case
    name = next(iter(fields))
    raises_clearly(lambda: policy(**fields), [name])
    inst, f = small
    raises_clearly(lambda: gmmlit.ravine_method(f, inst.start(0.3, 0), fields, max_evals=5), ["options"])


@given(st.sampled_from([-0.5, 0.0, np.nan]))
def test_bad_gradient_em_step(small, step):
    inst, f = small
    raises_clearly(lambda: gmmlit.gradient_em(f, inst.start(0.3, 0), max_evals=5, step=step), ["step"])


@given(valid_mixture_data(max_k=3, max_d=2), st.integers(0, 2 ** 31))
def test_valid_random_problems_give_finite_results(data, seed):
    # the positive side of the contract: valid input never yields NaN
    weights, means = data
    teacher = Mixture(weights, means)
    rng = np.random.default_rng(seed)
    n = len(weights) + 1
    sw = rng.dirichlet(np.ones(n))
    f = PopulationKL(teacher, sw, TrapezoidRule(0.5, 6.0))
    x = means[rng.integers(0, len(weights), n)] + rng.normal(size=(n, means.shape[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ev = f.evaluate(x)
    assert np.isfinite(ev.loss) and ev.loss >= 0
    assert np.all(np.isfinite(ev.grad)) and np.all(np.isfinite(ev.em_means()))

"""Fast tests of the helpers of the methods benchmark (no optimisation runs)."""

import numpy as np
import pytest

from gmmlit.bench.methods import (
    TOLERANCES,
    first_crossing,
    gap_threshold,
    RunClock,
    headline,
    hessian_cost,
    read_methods_csv,
    result_row,
    time_ratios,
    write_methods_csv,
)


@pytest.mark.claim("beyond.headline")
def test_first_crossing_is_first_index_plus_one():
    losses = [1.0, 1e-3, 1e-7, 1e-5, 1e-9]
    assert first_crossing(losses, 1e-6) == 3  # the third evaluation is the first below 1e-6
    assert first_crossing(losses, 1e-9) == 5  # equality counts as reached
    assert first_crossing(losses, 1e-10) is None
    assert first_crossing(losses, 2.0) == 1


@pytest.mark.claim("beyond.headline")
def test_first_crossing_with_floor_measures_the_excess():
    l_star = 0.25
    losses = np.array([1.0, 0.25 + 1e-5, 0.25 + 1e-9])
    assert first_crossing(losses, 1e-6, floor=l_star) == 3
    assert first_crossing(losses, 1e-4, floor=l_star) == 2
    # without the floor the same losses never reach 1e-6
    assert first_crossing(losses, 1e-6) is None


def test_first_crossing_rejects_bad_input():
    with pytest.raises(ValueError, match="level"):
        first_crossing([1.0], -1.0)
    with pytest.raises(ValueError, match="losses"):
        first_crossing(np.ones((2, 2)), 1e-6)


def test_gap_threshold_is_relative_to_a_positive_floor_and_absolute_at_zero():
    assert gap_threshold(1e-8, 0.0) == 1e-8
    assert gap_threshold(1e-8, 0.01) == pytest.approx(1e-10, rel=1e-15)  # rounding of one product
    assert gap_threshold(1e-8, 5.0) == pytest.approx(5e-8, rel=1e-15)
    with pytest.raises(ValueError, match="tol"):
        gap_threshold(-1e-8, 0.0)
    with pytest.raises(ValueError, match="floor"):
        gap_threshold(1e-8, -1.0)


class _FakeResult:
    """The attributes of an OptimizationResult that result_row reads."""

    def __init__(self, losses, wall_time=2.0):
        self.losses = np.asarray(losses, dtype=float)
        self.n_evals = self.losses.size
        self.loss = float(self.losses[-1])
        self.wall_time = wall_time
        self.stop_reason = "budget"
        self.extras = {}


def _rows():
    fast = _FakeResult([1.0, 1e-7, 1e-9, 1e-11, 1e-13])
    slow = _FakeResult([1.0] + [1e-7] * 9 + [1e-9])
    return [result_row(fast, "ravine_default", "toy", 0), result_row(slow, "lbfgs", "toy", 0)]


def test_result_row_counts_and_times():
    fast = _rows()[0]
    assert [fast[f"evals_{t:.0e}"] for t in TOLERANCES] == [2, 3, 4, 5]
    # seconds to a tolerance: wall time times the fraction of evaluations spent
    assert fast["seconds_1e-06"] == pytest.approx(2.0 * 2 / 5, rel=1e-12)
    slow = _rows()[1]
    assert slow["evals_1e-10"] == "-" and slow["seconds_1e-10"] == "-"


def test_headline_compares_with_the_peer():
    rows = _rows()
    h = {r["tol"]: r for r in headline(rows, what="evals")}
    assert h[1e-6]["best"] == 2 and h[1e-6]["peer"] == 2 and not h[1e-6]["holds"]  # a tie fails
    assert h[1e-8]["holds"] and h[1e-8]["peer"] == 11 and h[1e-8]["ratio"] == pytest.approx(3 / 11)
    assert h[1e-12]["holds"] and h[1e-12]["peer"] is None
    # the only gmmlit row is the default: its columns agree with the best ones
    assert all(r["default"] == r["best"] and r["default_holds"] == r["holds"] for r in h.values())
    # without a default row its count is missing and it never holds
    other = [dict(r, method="ravine_f0") if r["method"] == "ravine_default" else r for r in rows]
    assert not any(r["default_holds"] for r in headline(other)) and any(r["holds"] for r in headline(other))


@pytest.mark.claim("beyond.headline")
def test_headline_against_the_best_peer_in_seconds():
    rows = _rows() + [result_row(_FakeResult([1.0, 1e-13], wall_time=0.1), "newton", "toy", 0)]
    h = {r["tol"]: r for r in headline(rows, peer=None)}
    assert all(r["peer_method"] == "newton" for r in h.values())
    assert h[1e-12]["peer"] == pytest.approx(0.1) and h[1e-12]["default"] == pytest.approx(2.0)
    assert not h[1e-12]["default_holds"] and h[1e-12]["ratio"] == pytest.approx(20.0)
    ratios = {t["instance"]: t for t in time_ratios(rows)}
    assert ratios["toy"]["best_peer"] == "newton" and ratios["toy"]["ratio"] == pytest.approx(20.0)
    with pytest.raises(ValueError, match="what"):
        headline(rows, what="minutes")


@pytest.mark.claim("beyond.newton")
def test_run_clock_times_evaluations_and_places_hessians():
    from gmmlit.core.instances import triangle_instance
    from gmmlit.core.quadrature import TrapezoidRule

    inst = triangle_instance(n=4)
    obj = inst.objective(TrapezoidRule(0.5, 6.0))
    clock = RunClock()
    clock.attach(obj)
    x = inst.start(0.3, 0)
    obj.evaluate(x)
    obj.hessian(x)
    obj.evaluate(x)
    assert len(clock.evals) == 2 and clock.evals[0] <= clock.evals[1]
    assert clock.hessian_at == [1] and clock.hessians_before(1) == 0 and clock.hessians_before(2) == 1
    assert clock.seconds_to(None) == "-" and clock.seconds_to(2) == pytest.approx(clock.evals[1], abs=1e-4)
    # equivalents: evaluations plus the Hessians before the crossing at their price
    res = _FakeResult([1.0, 1e-13])
    row = result_row(res, "newton", "toy", 0, clock=clock, hessian_ratio=7.5)
    assert row["evals_1e-12"] == 2 and row["equiv_1e-12"] == pytest.approx(9.5)
    assert row["equiv_1e-06"] == pytest.approx(9.5)
    cost = hessian_cost(inst.objective(TrapezoidRule(0.5, 6.0)), x, repeats=2)
    assert cost["ratio"] == pytest.approx(cost["hessian_seconds"] / cost["eval_seconds"]) and cost["ratio"] > 0
    with pytest.raises(ValueError, match="repeats"):
        hessian_cost(obj, x, repeats=0)


def test_peers_and_gdpolyak_sweep_are_in_the_benchmark():
    from gmmlit.bench.methods import GDPOLYAK_K, METHODS, PEER_METHODS

    assert "ravine_gem_K3" not in METHODS
    assert {"newton", "lbfgs", "bfgs"} <= set(PEER_METHODS) and 100 in GDPOLYAK_K
    assert all(f"gdpolyak_K{k}" in PEER_METHODS for k in GDPOLYAK_K)
    assert METHODS["gdpolyak_K100"][1] == dict(gd_steps=100, step="inverse_lambda_max", f_star=0.0)


def test_hessian_costs_round_trip(tmp_path):
    from gmmlit.bench.methods import read_hessian_costs

    costs = dict(toy=dict(ratio=12.345, eval_seconds=1.0, hessian_seconds=12.345), other=dict(ratio=3.0))
    path = write_methods_csv(_rows(), tmp_path / "m.csv", command="x", costs=costs)
    assert read_hessian_costs(path) == {"toy": 12.35, "other": 3.0}
    assert read_hessian_costs(write_methods_csv(_rows(), tmp_path / "n.csv", command="x")) == {}


def test_csv_round_trip(tmp_path):
    rows = _rows()
    path = write_methods_csv(rows, tmp_path / "sub" / "methods.csv", command="python -m gmmlit bench methods")
    back, command = read_methods_csv(path)
    assert command == "python -m gmmlit bench methods"
    assert len(back) == len(rows)
    for a, b in zip(rows, back):
        assert set(a) == set(b)
        for k in a:
            if isinstance(a[k], float):
                assert b[k] == pytest.approx(a[k], rel=1e-15)  # repr of a float round-trips exactly
            else:
                assert b[k] == a[k]


def test_local_minimum_finds_a_strict_local_minimum_of_the_misspecified_floor():
    from gmmlit.core.instances import misspecified_instance
    from gmmlit.optim.newton import local_minimum
    from gmmlit.core.quadrature import TrapezoidRule

    inst = misspecified_instance(0.02)
    obj = inst.objective(TrapezoidRule(0.3, 8.0))
    x0 = inst.start(0.05, 0)
    out = local_minimum(obj, x0)
    assert out["loss"] < obj.loss(x0)
    assert out["grad_norm"] < 1e-10 * max(1.0, out["loss"]) + 1e-12
    assert out["min_eigenvalue"] > 0.0  # strict: no flat direction left
    assert out["loss"] > 0.0  # the weights do not group: the floor is positive
    # a second call from its own output does not move (Newton's fixed point)
    again = local_minimum(obj, out["means"])
    assert again["loss"] == pytest.approx(out["loss"], rel=1e-12)
    with pytest.raises(ValueError, match="max_iter"):
        local_minimum(obj, x0, max_iter=0)


def test_format_methods_table_prints_evaluations_or_seconds():
    from gmmlit.bench.methods import format_methods_table

    rows = _rows()
    evals = format_methods_table(rows, "evals")
    seconds = format_methods_table(rows)
    assert "evals_1e-06" in evals.splitlines()[0] and "seconds_1e-06" in seconds.splitlines()[0]
    assert "0.8" in seconds.splitlines()[1]  # 2 s * 2/5 evaluations to 1e-6
    with pytest.raises(ValueError, match="what"):
        format_methods_table(rows, "minutes")

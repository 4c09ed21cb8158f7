"""The claims ledger: the claim data and the registry are consistent, every callable check
passes, every referenced test exists; test-backed rows report what the test run reported
(pass, fail, or not run without results); the checks that used to hold by construction
now fail on a planted wrong formula."""

from pathlib import Path

import numpy as np
import pytest

from gmmlit.ledger import junit, registry, runner, table
from gmmlit.ledger.model import Check, CheckResult, Claim, parse_test_reference

ROOT = Path(__file__).resolve().parents[1]
ALL_CLAIMS = registry.load_claims()
CALLABLE = [(c.id, check) for c in ALL_CLAIMS for check in c.checks if check.run is not None]
REFERENCED = [(c.id, check.test) for c in ALL_CLAIMS for check in c.checks if check.test is not None]


def test_registry_is_not_empty_and_every_callable_is_used():
    assert len(ALL_CLAIMS) >= 10
    assert CALLABLE and REFERENCED
    assert registry.unused_checks(ALL_CLAIMS) == []


@pytest.mark.parametrize("claim_id, check", CALLABLE, ids=[f"{cid}[{c.name}]" for cid, c in CALLABLE])
def test_callable_check_passes(claim_id, check):
    result = runner.run_callable(check)
    assert result.passed, f"{claim_id}: {result.measured} {result.detail}"


@pytest.mark.parametrize("claim_id, reference", REFERENCED, ids=[f"{cid}->{ref}" for cid, ref in REFERENCED])
def test_referenced_test_exists(claim_id, reference):
    assert runner.referenced_test_exists(reference, ROOT), f"{claim_id} refers to {reference}, not defined in tests/"


@pytest.mark.parametrize("claim", ALL_CLAIMS, ids=[c.id for c in ALL_CLAIMS])
def test_claim_has_a_check_and_a_known_chapter(claim):
    assert claim.checks, f"claim {claim.id} has no check"
    exists = (ROOT / f"{claim.chapter}.md").is_file()
    assert claim.chapter in registry.CHAPTERS or exists, f"claim {claim.id} is stated in unknown chapter {claim.chapter}"


# ---------------------------------------------------------------------- the claim data
def _write(tmp_path, text):
    path = tmp_path / "claims.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
[[claim]]
id = "topic.name"
chapter = "book/ravine"
statement = '''A statement with $\\alpha$.'''
[[claim.check]]
kind = "numerical"
run = "ok"
[[claim.check]]
kind = "property-test"
test = "test_fake::test_passes"
"""


def test_load_claims_from_data(tmp_path):
    claims = registry.load_claims(_write(tmp_path, GOOD), checks={"ok": _ok})
    assert [c.id for c in claims] == ["topic.name"]
    assert claims[0].statement == "A statement with $\\alpha$."
    assert claims[0].checks[0].run is _ok and claims[0].checks[0].label == "ok"
    assert claims[0].checks[1].test == "test_fake::test_passes"
    assert registry.get_claim("topic.name", claims) is claims[0]
    with pytest.raises(KeyError, match="no claim"):
        registry.get_claim("topic.other", claims)


@pytest.mark.parametrize(
    "text, words",
    [
        (GOOD + GOOD, "appears twice"),
        (GOOD.replace('run = "ok"', 'run = "missing"'), "no callable check 'missing'"),
        (GOOD.replace('chapter = "book/ravine"', 'chapter = "book/ravine"\nauthor = "x"'), "unknown keys"),
        (GOOD.replace('kind = "numerical"', 'kind = "numerical"\nweight = 2'), "unknown check keys"),
        (GOOD.replace('kind = "numerical"', 'kind = "proof"'), "kind must be one of"),
        (GOOD.replace('id = "topic.name"', 'id = "No Dots"'), "id must be"),
        ("[[chapter]]\nname = 'x'\n", "unknown top-level keys"),
    ],
)
def test_load_claims_rejects_bad_data(tmp_path, text, words):
    with pytest.raises(ValueError, match=words):
        registry.load_claims(_write(tmp_path, text), checks={"ok": _ok})


def test_claims_file_is_package_data():
    assert registry.default_claims_file().name == "claims.toml"
    assert len(registry.claims_data()) == len(ALL_CLAIMS)


# ---------------------------------------------------------------------- the model
def _ok():
    return CheckResult(True, "1.0")


def _fails():
    return CheckResult(False, "2.0", "expected 1")


def _raises():
    raise RuntimeError("boom")


def test_validation_of_claims_and_checks():
    with pytest.raises(ValueError, match="kind"):
        Check("proof", run=_ok)
    with pytest.raises(ValueError, match="exactly one"):
        Check("numerical")
    with pytest.raises(ValueError, match="exactly one"):
        Check("numerical", run=_ok, test="test_x::test_y")
    with pytest.raises(ValueError, match="test_module::test_function"):
        Check("property-test", test="test_x.test_y")
    with pytest.raises(TypeError, match="callable"):
        Check("numerical", run=3)
    with pytest.raises(ValueError, match="id"):
        Claim("No Dots", "s", "book/ravine")
    with pytest.raises(ValueError, match="chapter"):
        Claim("topic.name", "s", "ravine")
    with pytest.raises(ValueError, match="statement"):
        Claim("topic.name", "  ", "book/ravine")
    with pytest.raises(TypeError, match="Check"):
        Claim("topic.name", "s", "book/ravine", ("not a check",))
    with pytest.raises(TypeError, match="passed"):
        CheckResult("yes", "1")
    with pytest.raises(ValueError, match="status"):
        runner.LedgerRow("a.b", "s", "book/ravine", "numerical", "-", "passed", "1")
    assert parse_test_reference("tests/test_claims.py::test_x") == ("test_claims", "test_x")


def test_run_callable_reports_failures_and_errors():
    assert runner.run_callable(Check("numerical", run=_ok)).passed
    failed = runner.run_callable(Check("numerical", run=_fails))
    assert not failed.passed and failed.measured == "2.0"
    error = runner.run_callable(Check("numerical", run=_raises))
    assert not error.passed and "RuntimeError: boom" in error.detail
    assert not runner.run_callable(Check("numerical", run=lambda: 1.0)).passed


# ---------------------------------------------------------------------- rows from a test run
FAKE_TESTS = "def test_passes():\n    pass\n\n\ndef test_fails():\n    pass\n\n\ndef test_not_in_results():\n    pass\n"

FAKE_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="1" skipped="1" tests="5" timestamp="2026-01-01T00:00:00">
<testcase classname="tests.test_fake" name="test_passes[1]" time="0.1"/>
<testcase classname="tests.test_fake" name="test_passes[2]" time="0.1"/>
<testcase classname="tests.test_fake" name="test_fails" time="0.1"><failure message="assert 1 == 2">trace</failure></testcase>
<testcase classname="tests.test_fake" name="test_skipped" time="0.0"><skipped message="no"/></testcase>
<testcase classname="book.ledger.md" name="Cell 1" time="0.1"/>
</testsuite></testsuites>
"""


@pytest.fixture
def fake_root(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_fake.py").write_text(FAKE_TESTS + "\n\ndef test_skipped():\n    pass\n")
    (tmp_path / ".test-results").mkdir()
    (tmp_path / ".test-results" / "junit.xml").write_text(FAKE_JUNIT)
    return tmp_path


def _claim(*tests):
    return Claim("topic.name", "Statement.", "book/ravine", tuple(Check("property-test", test=t) for t in tests))


def test_read_junit_aggregates_parametrised_cases(fake_root):
    results = junit.read_junit(fake_root / ".test-results" / "junit.xml")
    assert results.outcome("test_fake", "test_passes") == junit.CaseOutcome(2, 0, 0, "")
    assert results.outcome("test_fake", "test_fails").status == "fail"
    assert "assert 1 == 2" in results.outcome("test_fake", "test_fails").message
    assert results.outcome("test_fake", "test_skipped").status == "not run"
    assert results.outcome("test_fake", "test_not_in_results") is None
    assert results.timestamp == "2026-01-01T00:00:00"


def test_rows_follow_the_test_run(fake_root):
    claim = _claim("test_fake::test_passes", "test_fake::test_fails", "test_fake::test_not_in_results",
                   "test_fake::test_skipped", "test_fake::test_undefined")
    results = runner.load_results(fake_root)
    rows = runner.run_ledger([claim], root=fake_root, results=results)
    assert [r.status for r in rows] == ["pass", "fail", "not run", "not run", "fail"]
    assert rows[0].measured == "2 passed" and "test missing" in rows[4].measured
    assert runner.status_counts(rows) == {"pass": 1, "fail": 2, "not run": 2}
    with pytest.raises(runner.LedgerFailure, match="2 ledger check"):
        runner.assert_ledger(rows)


def test_without_results_no_test_row_passes(fake_root):
    (fake_root / ".test-results" / "junit.xml").unlink()
    assert runner.load_results(fake_root) is None
    with pytest.raises(FileNotFoundError):
        runner.load_results(fake_root, fake_root / "nowhere.xml")
    rows = runner.run_ledger([_claim("test_fake::test_passes", "test_fake::test_fails")], root=fake_root, results=None)
    assert [r.status for r in rows] == ["not run", "not run"]
    assert runner.assert_ledger(rows) is rows  # not run is reported, not a failure


def test_ledger_fails_on_a_failing_check_and_on_a_claim_without_checks(fake_root):
    good = Claim("topic.good", "Good.", "book/ravine", (Check("numerical", run=_ok),))
    bad = Claim("topic.bad", "Bad <b> $x<1$.", "book/polyak", (Check("numerical", run=_fails),))
    unchecked = Claim("topic.unchecked", "No check.", "book/polyak")
    rows = runner.run_ledger([good, bad, unchecked], root=fake_root)
    assert [(r.kind, r.status) for r in rows] == [("numerical", "pass"), ("numerical", "fail"), ("none", "fail")]
    html = table.ledger_html(rows, link=lambda ch: f"{ch.removeprefix('book/')}.html")
    assert html.count("<tr>") == 1 + 3 and html.count(">FAIL<") == 2 and html.count(">pass<") == 1
    assert "&lt;b&gt;" in html and r"\(x&lt;1\)" in html and 'href="polyak.html"' in html
    # the status is the first column of every row
    assert all(row.startswith("<td") and "gmmlit-status" in row.split("</td>")[0] for row in html.split("<tr>")[2:])
    text = table.ledger_text(rows)
    assert "FAIL" in text and table.summary_line(rows).endswith("1 pass, 2 fail, 0 not run")


def test_an_installed_package_needs_no_checkout(tmp_path):
    """With a root that holds no tests/, test-backed rows are not run and callables still run;
    with a tests/ folder that lacks the test, the row fails."""
    claim = Claim("topic.name", "S.", "book/ravine", (Check("numerical", run=_ok), Check("numerical", test="test_x::test_y")))
    rows = runner.run_ledger([claim], root=tmp_path)
    assert [r.status for r in rows] == ["pass", "not run"] and "not a checkout" in rows[1].detail
    (tmp_path / "tests").mkdir()
    assert [r.status for r in runner.run_ledger([claim], root=tmp_path)] == ["pass", "fail"]


# ---------------------------------------------------------------------- checks that used to hold by construction
def _gauss_newton(objective):
    """The outer-product term only: E[g g^T] with the student scores at the given means."""
    from gmmlit.theory.quartic import fisher_information

    return lambda means: fisher_information(objective, means)


def test_gauss_newton_hessian_fails_the_hessian_checks():
    from gmmlit.ledger.checks.gradient_hessian import hessian_fisher_numeric
    from gmmlit.theory.symbolic import check_hessian_implementation

    assert hessian_fisher_numeric().passed
    planted = hessian_fisher_numeric(hessian_of=_gauss_newton)
    assert not planted.passed
    # it agrees with the Fisher information at theta* (that part alone cannot tell them apart)
    assert "at theta*: " in planted.measured and float(planted.measured.split("at theta*: ")[1].split()[0]) < 1e-12
    assert not check_hessian_implementation(hessian=lambda obj, m: _gauss_newton(obj)(m)).passed


def test_wrong_bregman_integrand_is_rejected():
    from gmmlit.theory.symbolic import check_bregman_integrand

    assert check_bregman_integrand().passed
    assert not check_bregman_integrand(integrand=lambda s: np.expm1(s) - s).passed  # cancellation for small s
    assert not check_bregman_integrand(integrand=lambda s: 0.5 * np.asarray(s) ** 2).passed

"""The claims ledger: the claim data and the tests' ``claim`` markers are consistent (a
static scan of tests/), the markers reach the JUnit XML, and the ledger rows follow the test
run: pass, fail, or not run (never pass without a run)."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gmmlit import cli
from gmmlit.ledger import junit, registry, runner, table
from gmmlit.ledger.model import Claim, parse_test_reference, validate_claim_id

ROOT = Path(__file__).resolve().parents[1]
ALL_CLAIMS = registry.load_claims()


# ---------------------------------------------------------------------- markers in tests/ (static scan)
def _claim_marker(decorator):
    """The ``@pytest.mark.claim(...)`` call of a decorator node, or ``None``."""
    call = decorator if isinstance(decorator, ast.Call) else None
    target = call.func if call is not None else decorator
    if ast.unparse(target) == "pytest.mark.claim":
        return call if call is not None else decorator
    return None


def scan_markers(folder):
    """``{claim id: [module::function, ...]}`` of every ``@pytest.mark.claim`` in the test
    modules under ``folder``, and a list of markers that are not literal strings (which
    the scan could not read)."""
    found, unreadable = {}, []
    for path in sorted(Path(folder).rglob("test_*.py")):
        module = ".".join(path.relative_to(folder).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for decorator in node.decorator_list:
                mark = _claim_marker(decorator)
                if mark is None:
                    continue
                args = mark.args if isinstance(mark, ast.Call) else []
                if not args or not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
                    unreadable.append(f"{module}::{node.name}")
                for a in args:
                    if isinstance(a, ast.Constant):
                        found.setdefault(a.value, []).append(f"{module}::{node.name}")
    return found, unreadable


MARKERS, UNREADABLE = scan_markers(ROOT / "tests")


def test_every_claim_has_a_marked_test_and_every_marker_a_claim():
    ids = {c.id for c in ALL_CLAIMS}
    assert len(ids) >= 10 and not UNREADABLE, UNREADABLE
    assert sorted(ids - set(MARKERS)) == [], "claims no test is marked with"
    assert {k: v for k, v in MARKERS.items() if k not in ids} == {}, "markers naming unknown claims"


@pytest.mark.parametrize("claim", ALL_CLAIMS, ids=[c.id for c in ALL_CLAIMS])
def test_claim_is_stated_in_a_known_chapter(claim):
    exists = (ROOT / f"{claim.chapter}.md").is_file()
    assert claim.chapter in registry.CHAPTERS or exists, f"claim {claim.id} is stated in unknown chapter {claim.chapter}"


def test_the_scan_sees_markers_and_flags_unreadable_ones(tmp_path):
    (tmp_path / "test_fake.py").write_text(
        "import pytest\nIDS = ('a.b',)\n\n"
        "@pytest.mark.claim('topic.one', 'topic.two', kind='sympy')\n@pytest.mark.parametrize('x', [1])\ndef test_a(x):\n    pass\n\n"
        "@pytest.mark.claim(*IDS)\ndef test_b():\n    pass\n\n"
        "def test_c():\n    pass\n")
    found, unreadable = scan_markers(tmp_path)
    assert found == {"topic.one": ["test_fake::test_a"], "topic.two": ["test_fake::test_a"]}
    assert unreadable == ["test_fake::test_b"]


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
"""


def test_load_claims_from_data(tmp_path):
    claims = registry.load_claims(_write(tmp_path, GOOD))
    assert claims == [Claim("topic.name", "A statement with $\\alpha$.", "book/ravine")]
    assert registry.get_claim("topic.name", claims) is claims[0]
    with pytest.raises(KeyError, match="no claim"):
        registry.get_claim("topic.other", claims)


@pytest.mark.parametrize(
    "text, words",
    [
        (GOOD + GOOD, "appears twice"),
        (GOOD + "[[claim.check]]\nkind = 'numerical'\ntest = 'test_x::test_y'\n", "unknown keys"),
        (GOOD.replace('chapter = "book/ravine"', 'chapter = "book/ravine"\nauthor = "x"'), "unknown keys"),
        (GOOD.replace('id = "topic.name"', 'id = "No Dots"'), "claim id must be"),
        ("[[chapter]]\nname = 'x'\n", "unknown top-level keys"),
    ],
)
def test_load_claims_rejects_bad_data(tmp_path, text, words):
    with pytest.raises(ValueError, match=words):
        registry.load_claims(_write(tmp_path, text))


def test_claims_file_is_package_data():
    assert registry.default_claims_file().name == "claims.toml"
    assert len(registry.claims_data()) == len(ALL_CLAIMS)


def test_validation_of_claims_and_rows():
    with pytest.raises(ValueError, match="claim id"):
        Claim("No Dots", "s", "book/ravine")
    with pytest.raises(TypeError, match="claim id"):
        validate_claim_id(3)
    with pytest.raises(ValueError, match="chapter"):
        Claim("topic.name", "s", "ravine")
    with pytest.raises(ValueError, match="statement"):
        Claim("topic.name", "  ", "book/ravine")
    with pytest.raises(ValueError, match="status"):
        runner.LedgerRow("a.b", "s", "book/ravine", "numerical", "-", "passed", "1")
    assert parse_test_reference("tests/test_claims.py::test_x") == ("test_claims", "test_x")


# ---------------------------------------------------------------------- from markers to the JUnit XML
FAKE_TESTS = """import pytest
from hypothesis import given, strategies as st


@pytest.mark.claim("topic.good")
@pytest.mark.parametrize("x", [1, 2])
def test_passes(x, record_property):
    record_property("measured", f"x = {x}")


@pytest.mark.claim("topic.good", "topic.bad", kind="sympy")
def test_fails():
    assert 1 == 2


@pytest.mark.claim("topic.skipped")
@pytest.mark.skip(reason="no")
def test_skipped():
    pass


@pytest.mark.claim("topic.property")
@given(st.integers())
def test_property(n):
    pass


@pytest.mark.claim("topic.deselected")
def test_deselected():
    pass


def test_unmarked():
    pass
"""

CONFTEST = "from gmmlit.ledger.plugin import pytest_addoption, pytest_collection_modifyitems  # noqa: F401\n"


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory):
    """A test run of FAKE_TESTS in a folder of its own, with the ledger's hooks."""
    root = tmp_path_factory.mktemp("fake")
    (root / "tests").mkdir()
    (root / "tests" / "__init__.py").write_text("")
    (root / "tests" / "conftest.py").write_text(CONFTEST)
    (root / "tests" / "test_fake.py").write_text(FAKE_TESTS)
    (root / "pytest.ini").write_text("[pytest]\njunit_family = xunit1\nmarkers =\n    claim: ledger\n")
    xml = root / "junit.xml"
    res = subprocess.run([sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "-k", "not deselected",
                          f"--junitxml={xml}"], cwd=root, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": f"{ROOT}"})
    assert res.returncode == 1, res.stdout + res.stderr  # test_fails fails
    return junit.read_junit(xml)


CLAIMS = [Claim(f"topic.{name}", f"Statement {name}.", "book/ravine")
          for name in ("good", "bad", "skipped", "property", "deselected")]


def test_markers_reach_the_junit_xml(fake_run):
    passes = fake_run.outcome("test_fake", "test_passes")
    assert (passes.passed, passes.claims, passes.kind, passes.measured) == (2, ("topic.good",), "numerical", ("x = 1", "x = 2"))
    fails = fake_run.outcome("test_fake", "test_fails")
    assert (fails.status, fails.claims, fails.kind) == ("fail", ("topic.good", "topic.bad"), "sympy")
    assert "assert 1 == 2" in fails.message
    assert fake_run.outcome("test_fake", "test_property").kind == "property-test"
    assert fake_run.outcome("test_fake", "test_skipped").status == "not run"
    assert fake_run.outcome("test_fake", "test_unmarked").claims == ()
    assert fake_run.outcome("test_fake", "test_deselected") is None


def test_rows_follow_the_test_run(fake_run):
    rows = runner.run_ledger(CLAIMS, fake_run)
    assert [(r.claim_id, r.check, r.status) for r in rows] == [
        ("topic.good", "test_fake::test_passes", "pass"), ("topic.good", "test_fake::test_fails", "fail"),
        ("topic.bad", "test_fake::test_fails", "fail"), ("topic.skipped", "test_fake::test_skipped", "not run"),
        ("topic.property", "test_fake::test_property", "pass"), ("topic.deselected", "-", "not run")]
    assert rows[0].measured == "x = 1; x = 2" and rows[4].measured == "1 passed"
    assert runner.claim_statuses(rows) == {"topic.good": "fail", "topic.bad": "fail", "topic.skipped": "not run",
                                           "topic.property": "pass", "topic.deselected": "not run"}
    assert table.summary_line(rows) == "5 claims: 1 pass, 2 fail, 2 not run (5 tests)"
    with pytest.raises(runner.LedgerFailure, match="2 ledger row"):
        runner.assert_ledger(rows)


def test_an_unknown_claim_id_in_the_run_fails(fake_run):
    rows = runner.run_ledger(CLAIMS[2:], fake_run)
    assert [(r.claim_id, r.status) for r in rows if r.measured == "unknown claim id"] == [
        ("topic.bad", "fail"), ("topic.good", "fail")]
    assert all(r.measured != "unknown claim id" for r in runner.run_ledger(CLAIMS[2:], fake_run, report_unknown=False))


def test_without_results_no_row_passes(tmp_path):
    assert runner.load_results(tmp_path) is None
    with pytest.raises(FileNotFoundError):
        runner.load_results(tmp_path, tmp_path / "nowhere.xml")
    rows = runner.run_ledger(CLAIMS, None)
    assert {r.status for r in rows} == {"not run"} and len(rows) == len(CLAIMS)
    assert runner.assert_ledger(rows) is rows  # not run is reported, not a failure


def test_the_html_and_text_tables(fake_run):
    rows = runner.run_ledger([Claim("topic.good", "Good <b> $x<1$.", "book/polyak")], fake_run, report_unknown=False)
    html = table.ledger_html(rows, link=lambda ch: f"{ch.removeprefix('book/')}.html")
    assert html.count("<tr>") == 1 + 2 and html.count(">FAIL<") == 1 and html.count(">pass<") == 1
    assert "&lt;b&gt;" in html and r"\(x&lt;1\)" in html and 'href="polyak.html"' in html
    assert all(row.startswith("<td") and "gmmlit-status" in row.split("</td>")[0] for row in html.split("<tr>")[2:])
    text = table.ledger_text(rows)
    assert "FAIL" in text and "test_fake::test_passes" in text


def test_the_deselection_option_keeps_the_tests_of_a_claim(tmp_path):
    root = tmp_path
    (root / "tests").mkdir()
    (root / "tests" / "conftest.py").write_text(CONFTEST)
    (root / "tests" / "test_fake.py").write_text(FAKE_TESTS)
    res = subprocess.run([sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "--collect-only",
                          "--claims", "topic.bad,topic.prop"], cwd=root, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": f"{ROOT}"})
    collected = [line for line in res.stdout.splitlines() if "::" in line]
    assert collected == ["tests/test_fake.py::test_fails", "tests/test_fake.py::test_property"], res.stdout


# ---------------------------------------------------------------------- gmmlit check
def _junit(tmp_path, failing=()):
    """A results file in which the four tests of setting.invariances ran."""
    names = ["test_permutation_invariance", "test_translation_invariance",
             "test_rotation_invariance_equivariant_rules", "test_rotation_invariance_any_angle"]
    cases = "".join(
        f'<testcase classname="tests.test_properties" name="{name}"><properties>'
        '<property name="claim" value="setting.invariances"/><property name="kind" value="property-test"/></properties>'
        + ('<failure message="planted"/>' if name in failing else "") + "</testcase>"
        for name in names)
    path = tmp_path / "junit.xml"
    path.write_text(f'<testsuites><testsuite name="pytest" timestamp="t">{cases}</testsuite></testsuites>')
    return path


def test_check_without_results_says_so(monkeypatch, capsys):
    monkeypatch.setattr(runner, "DEFAULT_JUNIT", Path("no-such-folder") / "junit.xml")
    assert cli.main(["check", "--only", "setting.", "--root", str(ROOT)]) == 0
    out = capsys.readouterr().out
    assert "setting.invariances" in out and "0 pass, 0 fail, 1 not run" in out
    assert table.NO_RESULTS in out


def test_check_reads_the_test_results(tmp_path, capsys):
    assert cli.main(["check", "--only", "setting.", "--root", str(ROOT), "--junit", str(_junit(tmp_path))]) == 0
    assert "1 claims: 1 pass, 0 fail, 0 not run (4 tests)" in capsys.readouterr().out
    failing = _junit(tmp_path, failing={"test_translation_invariance"})
    assert cli.main(["check", "--only", "setting.", "--root", str(ROOT), "--junit", str(failing)]) == 1
    captured = capsys.readouterr()
    assert "0 pass, 1 fail, 0 not run" in captured.out and "1 of 1 claims failed" in captured.err


def test_check_rejects_a_bad_root_or_junit(tmp_path):
    assert cli.main(["check", "--root", str(tmp_path / "missing")]) == 2
    assert cli.main(["check", "--only", "setting.", "--junit", str(tmp_path / "missing.xml")]) == 2
    assert cli.main(["check", "--only", "no-such-claim"]) == 2

"""Read the outcome of the test run from the JUnit XML file pytest writes
(``pytest --junitxml=.test-results/junit.xml``, as ``make test`` does), with the claim ids,
kind and measured values each test case carries as properties (:mod:`gmmlit.ledger.plugin`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

#: Where ``make test`` writes the results, relative to the repository root (outside
#: ``_build``, which the strict book build removes).
DEFAULT_JUNIT = Path(".test-results") / "junit.xml"


@dataclass(frozen=True)
class TestOutcome:
    """The outcome of every test case of one test function (all its parametrisations).

    Attributes
    ----------
    module, function : str
        ``tests/<module>.py::<function>`` (``module`` dotted below ``tests``, e.g.
        ``"browser.test_book_in_browser"``).
    passed, failed, skipped : int
        Numbers of test cases.
    message : str
        The first failure or error message (empty when none failed).
    claims : tuple of str
        The claim ids of the test's ``claim`` markers.
    kind : str
        ``"sympy"``, ``"property-test"`` or ``"numerical"`` (empty for an unmarked test).
    measured : tuple of str
        The ``measured`` properties the cases recorded, in order, without repeats.
    """

    __test__ = False  # not a pytest test class

    module: str
    function: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    message: str = ""
    claims: tuple = ()
    kind: str = ""
    measured: tuple = ()

    @property
    def status(self):
        """``"fail"`` if a case failed or errored, else ``"pass"`` if one passed, else ``"not run"``."""
        if self.failed:
            return "fail"
        return "pass" if self.passed else "not run"

    @property
    def name(self):
        """``"<module>::<function>"``."""
        return f"{self.module}::{self.function}"

    @property
    def counts(self):
        """``"3 passed, 1 failed"`` (zeros left out but for ``passed``)."""
        parts = [f"{self.passed} passed"]
        parts += [f"{self.failed} failed"] if self.failed else []
        parts += [f"{self.skipped} skipped"] if self.skipped else []
        return ", ".join(parts)


@dataclass(frozen=True)
class JUnitResults:
    """The outcomes of a test run by ``(module, function)``, with the file and the run's timestamp."""

    path: str
    timestamp: str
    outcomes: dict = field(default_factory=dict)

    def outcome(self, module, function):
        """The :class:`TestOutcome` of ``tests/<module>.py::<function>`` (``None`` if it did not run)."""
        return self.outcomes.get((module, function))

    def tests_of(self, claim_id):
        """The outcomes of the tests marked with ``claim_id``, in the order of the run."""
        return [o for o in self.outcomes.values() if claim_id in o.claims]

    def claim_ids(self):
        """Every claim id some test of the run carries."""
        return {c for o in self.outcomes.values() for c in o.claims}


def _key(case):
    """``(module, function)`` of a ``<testcase>`` under ``tests/`` (``None`` for other cases,
    e.g. the chapters' notebook cells)."""
    parts = case.get("classname", "").split(".")
    if not parts or parts[0] != "tests":
        return None
    module = ".".join(p for p in parts[1:] if p and not p[0].isupper())  # leave out test classes
    if not module:
        return None
    return module, case.get("name", "").split("[", 1)[0]


def _properties(case):
    props = case.find("properties")
    return [] if props is None else [(p.get("name", ""), p.get("value", "")) for p in props.iter("property")]


def _merge(outcome, case):
    """``outcome`` with one more ``<testcase>`` counted."""
    passed, failed, skipped, message = outcome.passed, outcome.failed, outcome.skipped, outcome.message
    bad = case.find("failure") if case.find("failure") is not None else case.find("error")
    if bad is not None:
        failed += 1
        message = message or (bad.get("message") or bad.tag)[:200]
    elif case.find("skipped") is not None:
        skipped += 1
    else:
        passed += 1
    props = _properties(case)
    claims = tuple(dict.fromkeys([*outcome.claims, *(v for k, v in props if k == "claim")]))
    kind = outcome.kind or next((v for k, v in props if k == "kind"), "")
    measured = tuple(dict.fromkeys([*outcome.measured, *(v for k, v in props if k == "measured")]))
    return TestOutcome(outcome.module, outcome.function, passed, failed, skipped, message, claims, kind, measured)


def read_junit(path):
    """Parse a JUnit XML file into :class:`JUnitResults` (``FileNotFoundError`` if absent)."""
    path = Path(path)
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    outcomes = {}
    for case in root.iter("testcase"):
        key = _key(case)
        if key is not None:
            outcomes[key] = _merge(outcomes.get(key, TestOutcome(*key)), case)
    stamp = suites[0].get("timestamp", "") if suites else ""
    return JUnitResults(str(path), stamp, outcomes)

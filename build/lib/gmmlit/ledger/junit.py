"""Read the outcome of the test run from the JUnit XML file pytest writes
(``pytest --junitxml=.test-results/junit.xml``, as ``make test`` does)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

#: Where ``make test`` writes the results, relative to the repository root (outside
#: ``_build``, which the strict book build removes).
DEFAULT_JUNIT = Path(".test-results") / "junit.xml"


@dataclass(frozen=True)
class CaseOutcome:
    """The outcome of every test case of one test function (all its parametrisations).

    Attributes
    ----------
    passed, failed, skipped : int
        Numbers of test cases.
    message : str
        The first failure or error message (empty when none failed).
    """

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    message: str = ""

    @property
    def status(self):
        """``"fail"`` if a case failed or errored, else ``"pass"`` if one passed, else ``"not run"``."""
        if self.failed:
            return "fail"
        return "pass" if self.passed else "not run"


@dataclass(frozen=True)
class JUnitResults:
    """Test outcomes by ``(module, function)``, with the file and the run's timestamp."""

    path: str
    timestamp: str
    outcomes: dict = field(default_factory=dict)

    def outcome(self, module, function):
        """The :class:`CaseOutcome` of ``tests/<module>.py::<function>`` (``None`` if it did not run)."""
        return self.outcomes.get((module, function))


def _key(case):
    parts = case.get("classname", "").split(".")
    if parts and parts[0] == "tests":
        parts = parts[1:]
    if not parts or not parts[0]:
        return None
    return parts[0], case.get("name", "").split("[", 1)[0]


def read_junit(path):
    """Parse a JUnit XML file into :class:`JUnitResults` (``FileNotFoundError`` if absent)."""
    path = Path(path)
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    counts = {}
    for case in root.iter("testcase"):
        key = _key(case)
        if key is None:
            continue
        passed, failed, skipped, message = counts.get(key, (0, 0, 0, ""))
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        if bad is not None:
            failed += 1
            message = message or (bad.get("message") or bad.tag)[:200]
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
        counts[key] = (passed, failed, skipped, message)
    stamp = suites[0].get("timestamp", "") if suites else ""
    return JUnitResults(str(path), stamp, {k: CaseOutcome(*v) for k, v in counts.items()})

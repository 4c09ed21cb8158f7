"""Run the ledger: call every callable check, read every test-backed check's outcome from
the test run's JUnit file, and report one :class:`LedgerRow` per (claim, check).

A row's ``status`` is ``"pass"``, ``"fail"`` or ``"not run"``. A test-backed row passes or
fails only as the test run says; without a results file (or when the test is absent from
it) it is ``"not run"``, never ``"pass"``. A reference to a test that ``tests/`` does not
define fails; without a ``tests/`` folder under the root (an installed package outside a
checkout) test-backed rows are ``"not run"``.
"""

from __future__ import annotations

import ast
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .junit import DEFAULT_JUNIT, read_junit
from .model import CheckResult, parse_test_reference

#: The three statuses of a row.
STATUSES = ("pass", "fail", "not run")


@dataclass(frozen=True)
class LedgerRow:
    """One row of the ledger: a claim, one of its checks, and what came of it.

    ``ran_here`` is True for a callable check (run by :func:`run_ledger` itself) and False
    for a test-backed check (run by pytest; its outcome read from the JUnit file).
    """

    claim_id: str
    statement: str
    chapter: str
    kind: str
    check: str
    status: str
    measured: str
    detail: str = ""
    seconds: float = 0.0
    ran_here: bool = True

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    @property
    def passed(self):
        return self.status == "pass"

    @property
    def failed(self):
        return self.status == "fail"


def referenced_test_exists(reference, root="."):
    """True when ``<root>/tests/<module>.py`` defines a function (or method) of that name."""
    module, function = parse_test_reference(reference)
    path = Path(root) / "tests" / f"{module}.py"
    if not path.is_file():
        return False
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == function for n in ast.walk(tree))


def run_callable(check):
    """Call a callable check; an exception or a wrong return type is a failing :class:`CheckResult`."""
    try:
        result = check.run()
    except Exception as exc:  # noqa: BLE001 - reported as a failing row, not swallowed
        return CheckResult(False, "error", f"{type(exc).__name__}: {exc}")
    if not isinstance(result, CheckResult):
        return CheckResult(False, "error", f"check returned {type(result).__name__}, not CheckResult")
    return result


def reference_status(reference, root=".", results=None):
    """``(status, measured, detail)`` of a test-backed check from the JUnit ``results``."""
    module, function = parse_test_reference(reference)
    if not (Path(root) / "tests").is_dir():
        return "not run", "not run", f"no tests/ under {root} (not a checkout)"
    if not referenced_test_exists(reference, root):
        return "fail", "test missing", f"tests/{module}.py defines no {function}"
    outcome = None if results is None else results.outcome(module, function)
    if outcome is None:
        where = "no test results" if results is None else f"not in {results.path}"
        return "not run", "not run", where
    counts = f"{outcome.passed} passed" + (f", {outcome.failed} failed" if outcome.failed else "")
    counts += f", {outcome.skipped} skipped" if outcome.skipped else ""
    return outcome.status, counts, outcome.message


def load_results(root=".", junit=None):
    """The JUnit results: ``junit`` (a path), else ``<root>/.test-results/junit.xml`` if it
    exists; ``None`` when there is no file."""
    path = Path(junit) if junit is not None else Path(root) / DEFAULT_JUNIT
    if not path.is_file():
        if junit is not None:
            raise FileNotFoundError(f"no JUnit results file at {path}")
        return None
    return read_junit(path)


def run_ledger(claims=None, root=".", results=None, include_tests=True, include_callables=True):
    """Rows of the ledger for ``claims`` (default: :func:`gmmlit.ledger.registry.load_claims`).

    Parameters
    ----------
    root : path
        The repository root (holding ``tests/``); test references are looked up there.
    results : JUnitResults or None
        The test run's outcomes (:func:`load_results`); ``None``: every test-backed row is
        ``"not run"`` (or ``"fail"`` when the test does not exist).
    include_tests, include_callables : bool
        Leave out the test-backed or the callable rows.

    A claim without checks gives a failing row of kind ``"none"``.
    """
    if claims is None:
        from .registry import load_claims

        claims = load_claims()
    rows = []
    for c in claims:
        if not c.checks:
            rows.append(LedgerRow(c.id, c.statement, c.chapter, "none", "-", "fail", "no check",
                                  "a claim needs at least one check", 0.0, False))
        for check in c.checks:
            start = time.perf_counter()
            if check.test is not None:
                if not include_tests:
                    continue
                status, measured, detail = reference_status(check.test, root, results)
                ran_here = False
            else:
                if not include_callables:
                    continue
                res = run_callable(check)
                status, measured, detail, ran_here = ("pass" if res.passed else "fail"), res.measured, res.detail, True
            rows.append(LedgerRow(c.id, c.statement, c.chapter, check.kind, check.label, status, measured, detail,
                                  time.perf_counter() - start, ran_here))
    return rows


def status_counts(rows):
    """``{status: number of rows}`` for every status in :data:`STATUSES`."""
    return {s: sum(r.status == s for r in rows) for s in STATUSES}


class LedgerFailure(AssertionError):
    """Raised by :func:`assert_ledger` when a row fails."""


def assert_ledger(rows):
    """Raise :class:`LedgerFailure` listing every failing row; return ``rows`` otherwise
    (``"not run"`` rows do not fail, they are reported as such)."""
    bad = [r for r in rows if r.failed]
    if bad:
        lines = [f"{r.claim_id} [{r.kind}: {r.check}]: {r.measured} {r.detail}" for r in bad]
        raise LedgerFailure(f"{len(bad)} ledger check(s) failed:\n" + "\n".join(lines))
    return rows


def documents_in_toc(toc_path):
    """The document names (``"book/ravine"``, ...) listed as ``file:`` entries (and the root)
    of a Jupyter Book ``_toc.yml``; an empty set when the file does not exist."""
    path = Path(toc_path)
    if not path.is_file():
        return set()
    text = path.read_text(encoding="utf-8")
    names = re.findall(r"^\s*(?:-\s*)?(?:file|root):\s*([^\s#]+)", text, flags=re.MULTILINE)
    return {re.sub(r"\.(md|ipynb)$", "", name) for name in names}

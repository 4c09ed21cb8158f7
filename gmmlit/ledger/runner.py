"""The ledger from a test run: one :class:`LedgerRow` per (claim, test function marked with
the claim), read from the run's JUnit file.

A row's ``status`` is ``"pass"``, ``"fail"`` or ``"not run"``: a test passes or fails only
as the run says; a claim none of whose tests ran (absent from the file, deselected or
skipped) is ``"not run"``, never ``"pass"``; an id carried by a test but unknown to
``claims.toml`` fails.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from .junit import DEFAULT_JUNIT, read_junit
from .model import parse_test_reference

#: The three statuses of a row.
STATUSES = ("pass", "fail", "not run")

#: How many distinct measured values of a parametrised test a row shows.
MEASURED_SHOWN = 3


@dataclass(frozen=True)
class LedgerRow:
    """One row of the ledger: a claim, one test backing it, and what came of it.

    ``check`` is the test (``"module::function"``, ``"-"`` when no test of the claim ran),
    ``measured`` what it recorded (else its case counts), ``detail`` the case counts and the
    first failure message.
    """

    claim_id: str
    statement: str
    chapter: str
    kind: str
    check: str
    status: str
    measured: str
    detail: str = ""

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


def load_results(root=".", junit=None):
    """The JUnit results: ``junit`` (a path), else ``<root>/.test-results/junit.xml`` if it
    exists; ``None`` when there is no file (``FileNotFoundError`` for a given ``junit`` that
    does not exist)."""
    path = Path(junit) if junit is not None else Path(root) / DEFAULT_JUNIT
    if not path.is_file():
        if junit is not None:
            raise FileNotFoundError(f"no JUnit results file at {path}")
        return None
    return read_junit(path)


def _measured(outcome):
    if not outcome.measured:
        return outcome.counts
    shown = "; ".join(outcome.measured[:MEASURED_SHOWN])
    more = len(outcome.measured) - MEASURED_SHOWN
    return shown + (f"; ... ({more} more)" if more > 0 else "")


def claim_rows(claim, results):
    """The rows of one claim: one per test marked with it, or one ``"not run"`` row."""
    tests = [] if results is None else results.tests_of(claim.id)
    if not tests:
        where = "no test results" if results is None else f"no test marked {claim.id!r} in {results.path}"
        return [LedgerRow(claim.id, claim.statement, claim.chapter, "-", "-", "not run", "not run", where)]
    return [LedgerRow(claim.id, claim.statement, claim.chapter, t.kind, t.name, t.status, _measured(t),
                      t.counts + (f": {t.message}" if t.message else "")) for t in tests]


def run_ledger(claims=None, results=None, report_unknown=True):
    """Rows of the ledger for ``claims`` (default: :func:`gmmlit.ledger.registry.load_claims`)
    from ``results`` (:func:`load_results`; ``None``: every claim ``"not run"``).

    With ``report_unknown``, an id some test carries but no claim has gives a failing row.
    """
    if claims is None:
        from .registry import load_claims

        claims = load_claims()
    rows = [row for c in claims for row in claim_rows(c, results)]
    if report_unknown and results is not None:
        known = {c.id for c in claims}
        for claim_id in sorted(results.claim_ids() - known):
            names = ", ".join(t.name for t in results.tests_of(claim_id))
            rows.append(LedgerRow(claim_id, "(no such claim in claims.toml)", "book/ledger", "-", names, "fail",
                                  "unknown claim id", f"marked on {names}"))
    return rows


def claim_statuses(rows):
    """``{claim id: status}``: ``"fail"`` if a row of the claim failed, else ``"pass"`` if
    one passed, else ``"not run"``."""
    out = {}
    for r in rows:
        before = out.get(r.claim_id, "not run")
        out[r.claim_id] = "fail" if "fail" in (before, r.status) else ("pass" if "pass" in (before, r.status) else "not run")
    return out


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
        lines = [f"{r.claim_id} [{r.check}]: {r.measured} {r.detail}" for r in bad]
        raise LedgerFailure(f"{len(bad)} ledger row(s) failed:\n" + "\n".join(lines))
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

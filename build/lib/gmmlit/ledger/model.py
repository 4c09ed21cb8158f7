"""The ledger's data model: a :class:`Claim` with its :class:`Check` objects, and the
:class:`CheckResult` a callable check returns. Nothing here runs a check or reads a file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

#: Kinds of checks.
CHECK_KINDS = ("sympy", "property-test", "numerical")

_ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+$")
_CHAPTER_PATTERN = re.compile(r"^book/[a-z0-9-]+$")
_TEST_PATTERN = re.compile(
    r"^(tests/)?(?P<module>[A-Za-z_][A-Za-z0-9_]*)(\.py)?::(?P<function>[A-Za-z_][A-Za-z0-9_]*)$"
)


@dataclass(frozen=True)
class CheckResult:
    """What a callable check returns.

    Attributes
    ----------
    passed : bool
    measured : str
        The measured value(s), short (shown in the ledger table).
    detail : str
        Anything else worth knowing (tolerance, instance).
    """

    passed: bool
    measured: str
    detail: str = ""

    def __post_init__(self):
        if not isinstance(self.passed, (bool, np.bool_)):
            raise TypeError(f"passed must be a bool, got {type(self.passed).__name__}")
        object.__setattr__(self, "passed", bool(self.passed))
        if not isinstance(self.measured, str) or not isinstance(self.detail, str):
            raise TypeError("measured and detail must be strings")


def parse_test_reference(reference):
    """Split ``"module::function"`` (also ``"tests/module.py::function"``) into ``(module, function)``."""
    if not isinstance(reference, str):
        raise TypeError(f"test must be a string 'module::function', got {type(reference).__name__}")
    match = _TEST_PATTERN.match(reference.strip())
    if not match:
        raise ValueError(
            f"test must look like 'test_module::test_function' (a test in tests/), got {reference!r}"
        )
    return match.group("module"), match.group("function")


@dataclass(frozen=True)
class Check:
    """One way a claim is verified.

    Parameters
    ----------
    kind : {"sympy", "property-test", "numerical"}
    run : callable or None
        ``() -> CheckResult``, run when the ledger is built.
    test : str or None
        ``"module::function"`` naming a test in ``tests/``; its outcome is read from the
        test run's JUnit file.
    description : str
        Short text for the ledger.
    name : str
        The registry name of ``run`` (``"<topic>.<function>"``), empty for a test.

    Exactly one of ``run`` and ``test`` must be given.
    """

    kind: str
    run: Callable[[], CheckResult] | None = None
    test: str | None = None
    description: str = ""
    name: str = ""

    def __post_init__(self):
        if self.kind not in CHECK_KINDS:
            raise ValueError(f"kind must be one of {CHECK_KINDS}, got {self.kind!r}")
        if (self.run is None) == (self.test is None):
            raise ValueError("give exactly one of run (a callable) and test (a 'module::function' reference)")
        if self.run is not None and not callable(self.run):
            raise TypeError(f"run must be callable, got {type(self.run).__name__}")
        if self.test is not None:
            parse_test_reference(self.test)

    @property
    def label(self):
        """A name for the check: the test reference, the registry name or the callable's name."""
        if self.test is not None:
            return self.test
        return self.name or getattr(self.run, "__qualname__", repr(self.run))


@dataclass(frozen=True)
class Claim:
    """A claim of the book: ``id`` (``"<topic>.<name>"``), a markdown ``statement``, the
    ``chapter`` stating it (``"book/ravine"``) and a tuple of :class:`Check` objects."""

    id: str
    statement: str
    chapter: str
    checks: tuple = ()

    def __post_init__(self):
        if not isinstance(self.id, str) or not _ID_PATTERN.match(self.id):
            raise ValueError(
                f"id must be lowercase '<topic>.<name>' with words joined by '-', e.g. "
                f"'ravine.quartic-growth'; got {self.id!r}"
            )
        if not isinstance(self.statement, str) or not self.statement.strip():
            raise ValueError("statement must be a non-empty markdown string")
        if not isinstance(self.chapter, str) or not _CHAPTER_PATTERN.match(self.chapter):
            raise ValueError(f"chapter must be a document name like 'book/ravine', got {self.chapter!r}")
        checks = tuple(self.checks)
        for c in checks:
            if not isinstance(c, Check):
                raise TypeError(f"checks must hold gmmlit.ledger.model.Check objects, got {type(c).__name__}")
        object.__setattr__(self, "checks", checks)

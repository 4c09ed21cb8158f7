"""The ledger's data model: a :class:`Claim` (id, chapter, statement) and the kinds of the
tests that back claims. Nothing here runs a test or reads a file."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Kinds of the tests that back a claim (the ``kind`` of a test's ``claim`` marker).
CHECK_KINDS = ("sympy", "property-test", "numerical")

_ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+$")
_CHAPTER_PATTERN = re.compile(r"^book/[a-z0-9-]+$")
_TEST_PATTERN = re.compile(
    r"^(tests/)?(?P<module>[A-Za-z_][A-Za-z0-9_]*)(\.py)?::(?P<function>[A-Za-z_][A-Za-z0-9_]*)$"
)


def validate_claim_id(claim_id):
    """Return ``claim_id`` if it is ``"<topic>.<name>"`` in lowercase words joined by ``-``;
    ``ValueError`` (``TypeError`` for a non-string) otherwise."""
    if not isinstance(claim_id, str):
        raise TypeError(f"a claim id must be a string, got {type(claim_id).__name__}")
    if not _ID_PATTERN.match(claim_id):
        raise ValueError(
            f"a claim id must be lowercase '<topic>.<name>' with words joined by '-', e.g. "
            f"'ravine.quartic-growth'; got {claim_id!r}"
        )
    return claim_id


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
class Claim:
    """A claim of the book: ``id`` (``"<topic>.<name>"``), a markdown ``statement`` and the
    ``chapter`` stating it (``"book/ravine"``). The tests backing it carry its id in a
    ``claim`` marker (:mod:`gmmlit.ledger.plugin`)."""

    id: str
    statement: str
    chapter: str

    def __post_init__(self):
        validate_claim_id(self.id)
        if not isinstance(self.statement, str) or not self.statement.strip():
            raise ValueError("statement must be a non-empty markdown string")
        if not isinstance(self.chapter, str) or not _CHAPTER_PATTERN.match(self.chapter):
            raise ValueError(f"chapter must be a document name like 'book/ravine', got {self.chapter!r}")

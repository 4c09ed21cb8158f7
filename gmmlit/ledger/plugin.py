"""The pytest side of the ledger: the ``claim`` marker and what it writes into the JUnit XML.

A test backs a claim by carrying its id::

    @pytest.mark.claim("ravine.quartic-growth")                  # one claim
    @pytest.mark.claim("polyak.three-quarters", "polyak.quartic-step", kind="sympy")

and says what it measured with ``record_property("measured", "...")``. At collection every
marked test gets the properties ``claim`` (one per id) and ``kind`` (``"sympy"`` when the
marker says so; ``"property-test"`` for a hypothesis test; ``"numerical"`` otherwise), which
pytest writes into the JUnit XML beside the outcome; the ledger (:mod:`gmmlit.ledger.runner`)
needs nothing but that file. The option ``--claims PREFIXES`` (comma-separated) keeps only
the tests of the claims whose id starts with one of them (the mutation run uses it).

``tests/conftest.py`` imports these hooks; nothing here imports pytest at module level.
"""

from __future__ import annotations

from .model import CHECK_KINDS, validate_claim_id

#: The marker's name.
MARKER = "claim"


def marker_claims(item):
    """``(ids, kind)`` of a collected test: the claim ids of all its ``claim`` markers (in
    order, without repeats) and its kind (``kind=`` of a marker, else ``"property-test"`` for
    a hypothesis test, else ``"numerical"``). ``ValueError`` on a malformed id or kind."""
    ids, kinds = [], set()
    for mark in item.iter_markers(name=MARKER):
        if not mark.args:
            raise ValueError(f"{item.nodeid}: @pytest.mark.claim needs at least one claim id")
        unknown = set(mark.kwargs) - {"kind"}
        if unknown:
            raise ValueError(f"{item.nodeid}: @pytest.mark.claim takes only kind=, got {sorted(unknown)}")
        for claim_id in mark.args:
            validate_claim_id(claim_id)
            if claim_id not in ids:
                ids.append(claim_id)
        if "kind" in mark.kwargs:
            kinds.add(mark.kwargs["kind"])
    if len(kinds) > 1:
        raise ValueError(f"{item.nodeid}: the claim markers give several kinds {sorted(kinds)}")
    if kinds:
        kind = kinds.pop()
    else:
        kind = "property-test" if getattr(getattr(item, "obj", None), "is_hypothesis_test", False) else "numerical"
    if kind not in CHECK_KINDS:
        raise ValueError(f"{item.nodeid}: kind must be one of {CHECK_KINDS}, got {kind!r}")
    return tuple(ids), kind


def pytest_addoption(parser):
    parser.addoption("--claims", default=None, metavar="PREFIXES",
                     help="only the tests of the claims whose id starts with one of these (comma-separated)")


def pytest_collection_modifyitems(config, items):
    """Write every marked test's claim ids and kind into its JUnit properties; with
    ``--claims``, deselect the tests of other claims."""
    import pytest

    prefixes = tuple(p for p in (config.getoption("--claims", None) or "").split(",") if p)
    keep, drop = [], []
    for item in items:
        try:
            ids, kind = marker_claims(item)
        except ValueError as err:
            raise pytest.UsageError(str(err)) from None
        if ids:
            item.user_properties.extend(("claim", claim_id) for claim_id in ids)
            item.user_properties.append(("kind", kind))
        (keep if not prefixes or any(c.startswith(prefixes) for c in ids) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep

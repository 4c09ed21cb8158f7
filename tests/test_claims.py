"""The claims ledger: every callable check passes, every referenced test exists, every
claim has a check; and the registry API behaves (tested on a private copy of the registry)."""

import pytest

from gmmlit.ledger import claims as C

C.discover()
ALL_CLAIMS = C.registered_claims()
CALLABLE = [(c.id, k, check) for c in ALL_CLAIMS for k, check in enumerate(c.checks) if check.run is not None]
REFERENCED = [(c.id, check.test) for c in ALL_CLAIMS for check in c.checks if check.test is not None]


def test_registry_is_not_empty():
    assert len(ALL_CLAIMS) >= 10
    assert CALLABLE and REFERENCED


@pytest.mark.parametrize("claim_id, index, check", CALLABLE, ids=[f"{cid}[{k}]" for cid, k, _ in CALLABLE])
def test_callable_check_passes(claim_id, index, check):
    result = C.run_check(check)
    assert result.passed, f"{claim_id}: {result.measured} {result.detail}"


@pytest.mark.parametrize("claim_id, reference", REFERENCED, ids=[f"{cid}->{ref}" for cid, ref in REFERENCED])
def test_referenced_test_exists(claim_id, reference):
    assert C.referenced_test_exists(reference), f"{claim_id} refers to {reference}, which is not defined in tests/"


@pytest.mark.parametrize("claim", ALL_CLAIMS, ids=[c.id for c in ALL_CLAIMS])
def test_claim_has_a_check_and_a_known_chapter(claim):
    assert claim.checks, f"claim {claim.id} has no check"
    exists = (C.REPO_ROOT / f"{claim.chapter}.md").is_file()
    assert claim.chapter in C.CHAPTERS or exists, f"claim {claim.id} is stated in unknown chapter {claim.chapter}"


# ---------------------------------------------------------------------- the API, on a private registry
@pytest.fixture
def registry(monkeypatch):
    """An empty registry for the duration of a test (the real one is left untouched)."""
    private = {}
    monkeypatch.setattr(C, "_REGISTRY", private)
    return private


def _ok():
    return C.CheckResult(True, "1.0")


def _fails():
    return C.CheckResult(False, "2.0", "expected 1")


def _raises():
    raise RuntimeError("boom")


def test_register_and_duplicate_ids(registry):
    claim = C.Claim("topic.name", "A statement.", "book/ravine", (C.Check("numerical", run=_ok),))
    assert C.register(claim) is claim
    assert C.get_claim("topic.name") is claim
    C.register(C.Claim("topic.name", "A statement.", "book/ravine", (C.Check("numerical", run=_fails),)))  # re-import
    assert C.get_claim("topic.name").checks[0].run is _fails
    with pytest.raises(ValueError, match="already registered"):
        C.register(C.Claim("topic.name", "Another statement.", "book/ravine", (C.Check("numerical", run=_ok),)))
    with pytest.raises(KeyError, match="no claim"):
        C.get_claim("topic.other")
    with pytest.raises(TypeError, match="Claim"):
        C.register("topic.name")


def test_decorators(registry):
    @C.claim("topic.decorated", "Statement.", "book/polyak", kind="sympy")
    def first():
        return C.CheckResult(True, "0")

    @C.verifies("topic.decorated", kind="numerical")
    def second():
        return C.CheckResult(True, "1")

    claim = C.get_claim("topic.decorated")
    assert [c.kind for c in claim.checks] == ["sympy", "numerical"]
    assert first() and second()  # the decorators return the functions unchanged
    with pytest.raises(KeyError):
        C.verifies("topic.missing")(second)


def test_validation_of_claims_and_checks():
    with pytest.raises(ValueError, match="kind"):
        C.Check("proof", run=_ok)
    with pytest.raises(ValueError, match="exactly one"):
        C.Check("numerical")
    with pytest.raises(ValueError, match="exactly one"):
        C.Check("numerical", run=_ok, test="test_x::test_y")
    with pytest.raises(ValueError, match="test_module::test_function"):
        C.Check("property-test", test="test_x.test_y")
    with pytest.raises(TypeError, match="callable"):
        C.Check("numerical", run=3)
    with pytest.raises(ValueError, match="id"):
        C.Claim("No Dots", "s", "book/ravine")
    with pytest.raises(ValueError, match="chapter"):
        C.Claim("topic.name", "s", "ravine")
    with pytest.raises(ValueError, match="statement"):
        C.Claim("topic.name", "  ", "book/ravine")
    with pytest.raises(TypeError, match="Check"):
        C.Claim("topic.name", "s", "book/ravine", ("not a check",))
    with pytest.raises(TypeError, match="passed"):
        C.CheckResult("yes", "1")
    assert C.parse_test_reference("tests/test_claims.py::test_decorators") == ("test_claims", "test_decorators")


def test_run_check_reports_failures_and_errors():
    assert C.run_check(C.Check("numerical", run=_ok)).passed
    failed = C.run_check(C.Check("numerical", run=_fails))
    assert not failed.passed and failed.measured == "2.0"
    error = C.run_check(C.Check("numerical", run=_raises))
    assert not error.passed and "RuntimeError: boom" in error.detail
    wrong_type = C.run_check(C.Check("numerical", run=lambda: 1.0))
    assert not wrong_type.passed
    assert C.run_check(C.Check("property-test", test="test_claims::test_decorators")).passed
    missing = C.run_check(C.Check("property-test", test="test_claims::test_that_does_not_exist"))
    assert not missing.passed and "MISSING" in missing.measured
    assert not C.referenced_test_exists("test_no_such_module::test_x")


def test_ledger_fails_on_a_failing_check_and_on_a_claim_without_checks(registry):
    C.register(C.Claim("topic.good", "Good.", "book/ravine", (C.Check("numerical", run=_ok),)))
    rows = C.run_ledger(C.registered_claims())
    assert C.assert_ledger(rows) is rows
    C.register(C.Claim("topic.bad", "Bad | piped.", "book/polyak", (C.Check("numerical", run=_fails),)))
    C.register(C.Claim("topic.unchecked", "No check.", "book/polyak"))
    rows = C.run_ledger(C.registered_claims())
    assert [r.kind for r in rows] == ["numerical", "numerical", "none"]
    with pytest.raises(C.LedgerFailure, match="2 ledger check"):
        C.assert_ledger(rows)
    table = C.ledger_markdown(rows, link=lambda ch: f"[{ch}]")
    lines = table.splitlines()
    assert len(lines) == 2 + 3
    assert "**FAIL**" in lines[3] and "Bad \\| piped." in lines[3]
    assert "[book/polyak]" in lines[4] and "no check" in lines[4]


def test_discover_imports_package_modules():
    names = C.discover()
    assert "gmmlit.theory.quartic" in names and "gmmlit.theory.symbolic" in names
    assert not any(n.rsplit(".", 1)[-1].startswith("_") for n in names)

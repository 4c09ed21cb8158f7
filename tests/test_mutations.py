"""The mutation run's set-up (gmmlit.bench.mutations): every mutant still applies to the
current sources, names tests and claims that exist, and is planted in a copy only. The run
itself (minutes) is a benchmark: `python -m gmmlit bench mutations`."""

from pathlib import Path

import pytest

from gmmlit.bench import mutations as M
from gmmlit.ledger import registry
from gmmlit.ledger.runner import referenced_test_exists

ROOT = Path(__file__).resolve().parents[1]
CLAIM_IDS = [c.id for c in registry.load_claims()]


@pytest.mark.parametrize("mutant", M.MUTANTS, ids=[m.name for m in M.MUTANTS])
def test_mutant_applies_and_names_existing_tests_and_claims(mutant):
    source = (ROOT / mutant.path).read_text(encoding="utf-8")
    assert source.count(mutant.old) == 1 and mutant.old != mutant.new
    for test in mutant.tests:
        path, _, function = test.partition("::")
        assert (ROOT / path).is_file(), test
        if function:
            assert referenced_test_exists(f"{Path(path).stem}::{function}", ROOT), test
    for prefix in mutant.claims:
        assert any(cid.startswith(prefix) for cid in CLAIM_IDS), prefix


def test_plant_changes_the_copy_only(tmp_path):
    mutant = M.MUTANTS[0]
    before = (ROOT / mutant.path).read_text(encoding="utf-8")
    dest = M.copy_repository(ROOT, tmp_path / "copy")
    M.plant(mutant, dest)
    assert mutant.old not in (dest / mutant.path).read_text(encoding="utf-8")
    assert (ROOT / mutant.path).read_text(encoding="utf-8") == before
    assert not list((dest / "gmmlit").rglob("__pycache__"))
    with pytest.raises(ValueError, match="occurs 0 times"):
        M.plant(mutant, dest)  # already planted: the snippet is gone


def test_kill_rate_and_the_stored_table():
    from gmmlit.bench.tables import read_commented_csv

    rows, notes = read_commented_csv(ROOT / "benchmarks" / "results" / "mutations.csv")
    assert [r["mutant"] for r in rows] == [m.name for m in M.MUTANTS]
    killed, total = M.kill_rate(rows)
    assert notes["kill rate"] == f"{killed}/{total}" and notes["command"].startswith("python -m gmmlit bench mutations")
    assert set(M.COLUMNS) == set(rows[0])

"""The claims ledger: every claim the book makes, with the tests that verify it.

Layout
------
* ``claims.toml`` (package data): every claim as data: id, chapter, statement (markdown
  with LaTeX); read by :mod:`gmmlit.ledger.registry` (:func:`load_claims`).
* The tests in ``tests/`` back the claims: a test carries the ids of the claims it verifies in
  a marker, ``@pytest.mark.claim("<id>", ...)``, and records what it measured with
  ``record_property("measured", "...")``. :mod:`gmmlit.ledger.plugin` (imported by
  ``tests/conftest.py``) writes the ids and the test's kind into the JUnit XML of the run.
* :mod:`gmmlit.ledger.junit`: reads the test run's JUnit XML (``make test`` writes
  ``.test-results/junit.xml``).
* :mod:`gmmlit.ledger.runner`: one row per (claim, marked test); every row is ``pass``,
  ``fail`` or ``not run`` (a claim none of whose tests ran is ``not run``, never ``pass``).
* :mod:`gmmlit.ledger.table`: the HTML table of the book's ledger page and the text table
  of ``gmmlit check``.

How to add a claim
------------------
One entry in ``gmmlit/ledger/claims.toml``:

.. code-block:: toml

    [[claim]]
    id = "theorems.local-linear"
    chapter = "book/theorems"
    statement = '''The alternating method converges locally linearly: $L_{k+1} \\le q L_k$.'''

and the marker on each test that verifies it::

    @pytest.mark.claim("theorems.local-linear")            # kind="sympy" for a sympy derivation
    def test_local_linear_rate(record_property):
        ...
        record_property("measured", f"rate {rate:.3f}")

``tests/test_claims.py`` fails on a duplicate id, a claim no test is marked with, and a
marker naming an unknown claim.
"""

from .model import CHECK_KINDS, Claim, parse_test_reference, validate_claim_id
from .registry import CHAPTERS, get_claim, load_claims
from .runner import STATUSES, LedgerFailure, LedgerRow, assert_ledger, load_results, run_ledger, status_counts

__all__ = [
    "CHECK_KINDS", "Claim", "parse_test_reference", "validate_claim_id",
    "CHAPTERS", "get_claim", "load_claims",
    "STATUSES", "LedgerFailure", "LedgerRow", "assert_ledger", "load_results", "run_ledger", "status_counts",
]

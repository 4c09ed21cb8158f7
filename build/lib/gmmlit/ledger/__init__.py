"""The claims ledger: every claim the book makes, with the checks that verify it.

Layout
------
* :mod:`gmmlit.ledger.model`: the data model (:class:`Claim`, :class:`Check`, :class:`CheckResult`).
* ``claims.toml`` (package data): every claim as data: id, chapter, statement (markdown
  with LaTeX) and its checks, each naming a test or a callable check.
* :mod:`gmmlit.ledger.registry`: reads ``claims.toml`` (:func:`load_claims`) and holds the one
  explicit table :data:`~gmmlit.ledger.registry.CALLABLE_CHECKS` of callable checks.
* :mod:`gmmlit.ledger.checks`: the callable checks, one module per topic
  (``gradient_hessian``, ``ravine``, ``polyak``, ``slowdown``, ``computing``).
* :mod:`gmmlit.ledger.junit`: reads the test run's JUnit XML (``make test`` writes
  ``.test-results/junit.xml``).
* :mod:`gmmlit.ledger.runner`: runs the callable checks and reads the test outcomes;
  every row is ``pass``, ``fail`` or ``not run`` (a test-backed row without a results
  file is ``not run``, never ``pass``).
* :mod:`gmmlit.ledger.table`: the HTML table of the book's ledger page and the text table
  of ``gmmlit check``.

Nothing registers itself on import and nothing assumes a checkout: the repository root
(holding ``tests/``) is an argument (``gmmlit check --root PATH``, default ``.``).

How to add a claim
------------------
A claim backed by a test is one entry in ``gmmlit/ledger/claims.toml``:

.. code-block:: toml

    [[claim]]
    id = "theorems.local-linear"
    chapter = "book/theorems"
    statement = '''The alternating method converges locally linearly: $L_{k+1} \\le q L_k$.'''
    [[claim.check]]
    kind = "numerical"          # "sympy", "property-test" or "numerical"
    test = "test_theorems::test_local_linear_rate"

A callable check (run when the book is built) is a function ``() -> CheckResult`` in
``gmmlit/ledger/checks/<topic>.py``, one line in
:data:`gmmlit.ledger.registry.CALLABLE_CHECKS`::

    "theorems.rate_numeric": theorems.rate_numeric,

(and the import of the topic module at the top of ``registry.py``), and a check entry
``run = "theorems.rate_numeric"`` in the claim's table. ``tests/test_claims.py`` fails on an
unknown name, a duplicate id, a claim without a check, a referenced test that does not
exist, and a registered callable no claim uses.
"""

from .model import CHECK_KINDS, Check, CheckResult, Claim, parse_test_reference
from .registry import CALLABLE_CHECKS, CHAPTERS, get_claim, load_claims
from .runner import STATUSES, LedgerFailure, LedgerRow, assert_ledger, load_results, run_ledger, status_counts

__all__ = [
    "CHECK_KINDS", "Check", "CheckResult", "Claim", "parse_test_reference",
    "CALLABLE_CHECKS", "CHAPTERS", "get_claim", "load_claims",
    "STATUSES", "LedgerFailure", "LedgerRow", "assert_ledger", "load_results", "run_ledger", "status_counts",
]

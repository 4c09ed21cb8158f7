"""Deprecated: the ledger's former single module. Its parts now live in
:mod:`gmmlit.ledger.model`, :mod:`gmmlit.ledger.registry`, :mod:`gmmlit.ledger.runner` and
:mod:`gmmlit.ledger.table`; the claims are data (``claims.toml``) and nothing registers on
import. These names are re-exported for one release."""

import warnings

from .model import CHECK_KINDS, Check, CheckResult, Claim, parse_test_reference  # noqa: F401
from .registry import CHAPTERS, get_claim, load_claims  # noqa: F401
from .runner import (  # noqa: F401
    LedgerFailure, LedgerRow, assert_ledger, documents_in_toc, referenced_test_exists, run_ledger,
)

warnings.warn("gmmlit.ledger.claims is deprecated: use gmmlit.ledger (model, registry, runner, table)",
              DeprecationWarning, stacklevel=2)


def registered_claims():
    """All claims (:func:`gmmlit.ledger.registry.load_claims`)."""
    return load_claims()


__all__ = [
    "CHECK_KINDS", "Check", "CheckResult", "Claim", "parse_test_reference", "CHAPTERS", "get_claim", "load_claims",
    "LedgerFailure", "LedgerRow", "assert_ledger", "documents_in_toc", "referenced_test_exists", "run_ledger",
    "registered_claims",
]

"""The claims of the book, as data: ``claims.toml`` holds one ``[[claim]]`` table per claim
(``id``, ``chapter``, ``statement``). Which tests back a claim is not written here: the tests
carry the claim's id in a ``claim`` marker (:mod:`gmmlit.ledger.plugin`), and the ledger
reads the ids back from the test run's JUnit file (:mod:`gmmlit.ledger.runner`)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from .model import Claim

#: The chapters of the book a claim may be stated in (besides any ``book/<name>.md`` that
#: exists under the repository root).
CHAPTERS = (
    "book/setting",
    "book/gradient-hessian",
    "book/ravine",
    "book/slowdown",
    "book/polyak",
    "book/misspecified",
    "book/global-phase",
    "book/samples",
    "book/computing",
    "book/beyond",
    "book/theorems",
    "book/verdict",
)

_CLAIM_KEYS = {"id", "chapter", "statement"}


def default_claims_file():
    """The ``claims.toml`` shipped with the package."""
    return resources.files(__package__) / "claims.toml"


def claims_data(path=None):
    """The parsed claim tables (a list of dicts) of ``path`` (default: :func:`default_claims_file`)."""
    source = default_claims_file() if path is None else Path(path)
    with source.open("rb") as fh:
        data = tomllib.load(fh)
    unknown = set(data) - {"claim"}
    if unknown:
        raise ValueError(f"claims file {source}: unknown top-level keys {sorted(unknown)} (only [[claim]] tables)")
    return data.get("claim", [])


def load_claims(path=None):
    """The claims of ``path`` (default: the package's ``claims.toml``) as :class:`Claim`
    objects, in file order. ``ValueError`` on a duplicate id or an unknown key."""
    out, seen = [], set()
    for entry in claims_data(path):
        unknown = set(entry) - _CLAIM_KEYS
        claim_id = entry.get("id")
        if unknown:
            raise ValueError(f"claim {claim_id!r}: unknown keys {sorted(unknown)}; allowed {sorted(_CLAIM_KEYS)} "
                             "(the tests backing a claim carry its id in @pytest.mark.claim)")
        if claim_id in seen:
            raise ValueError(f"claim id {claim_id!r} appears twice")
        seen.add(claim_id)
        out.append(Claim(claim_id, entry.get("statement", ""), entry.get("chapter", "")))
    return out


def get_claim(claim_id, claims=None):
    """The claim with this id (``KeyError`` naming the known ids otherwise)."""
    claims = load_claims() if claims is None else claims
    for c in claims:
        if c.id == claim_id:
            return c
    raise KeyError(f"no claim {claim_id!r}; known: {sorted(c.id for c in claims)}")

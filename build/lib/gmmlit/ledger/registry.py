"""The explicit registry of the ledger: the claim data (``claims.toml``) and the one table
mapping check names to the callable checks.

``claims.toml`` holds every claim as a ``[[claim]]`` table (id, chapter, statement) with
``[[claim.check]]`` entries naming either a test (``test = "test_module::test_function"``)
or a callable check (``run = "<topic>.<function>"``, a key of :data:`CALLABLE_CHECKS`).
Nothing registers itself on import: a callable check enters the ledger only through a
line of :data:`CALLABLE_CHECKS`.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from .checks import computing, gradient_hessian, polyak, ravine, slowdown
from .model import Check, Claim

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

#: Registry name -> callable check (``() -> CheckResult``). One line per check.
CALLABLE_CHECKS = {
    "gradient_hessian.gradient_sympy": gradient_hessian.gradient_sympy,
    "gradient_hessian.indexed_sympy": gradient_hessian.indexed_sympy,
    "gradient_hessian.hessian_sympy": gradient_hessian.hessian_sympy,
    "gradient_hessian.m1_hessian_fisher_sympy": gradient_hessian.m1_hessian_fisher_sympy,
    "gradient_hessian.hessian_fisher_numeric": gradient_hessian.hessian_fisher_numeric,
    "gradient_hessian.gradient_implementation_sympy": gradient_hessian.gradient_implementation_sympy,
    "gradient_hessian.hessian_implementation_sympy": gradient_hessian.hessian_implementation_sympy,
    "ravine.tangent_null_space": ravine.tangent_null_space,
    "ravine.m1_quadratic_sympy": ravine.m1_quadratic_sympy,
    "ravine.quadratic_growth_numeric": ravine.quadratic_growth_numeric,
    "ravine.m1_quartic_sympy": ravine.m1_quartic_sympy,
    "ravine.m1_two_students_numeric": ravine.m1_two_students_numeric,
    "ravine.density_ratio_sympy": ravine.density_ratio_sympy,
    "ravine.quartic_growth_numeric": ravine.quartic_growth_numeric,
    "ravine.quartic_implementation_sympy": ravine.quartic_implementation_sympy,
    "ravine.separated_sympy": ravine.separated_sympy,
    "ravine.separated_numeric": ravine.separated_numeric,
    "ravine.ravine_quartic_numeric": ravine.ravine_quartic_numeric,
    "polyak.polyak_sympy": polyak.polyak_sympy,
    "polyak.three_quarters_numeric": polyak.three_quarters_numeric,
    "polyak.polyak_ravine_numeric": polyak.polyak_ravine_numeric,
    "polyak.alignment_numeric": polyak.alignment_numeric,
    "polyak.alignment_can_fail": polyak.alignment_can_fail,
    "polyak.floor_estimate_numeric": polyak.floor_estimate_numeric,
    "slowdown.gd_sympy": slowdown.gd_sympy,
    "computing.bregman_numeric": computing.bregman_numeric,
    "computing.bregman_integrand_sympy": computing.bregman_integrand_sympy,
}

_CLAIM_KEYS = {"id", "chapter", "statement", "check"}
_CHECK_KEYS = {"kind", "run", "test", "description"}


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


def _check_from_data(entry, claim_id, checks):
    unknown = set(entry) - _CHECK_KEYS
    if unknown:
        raise ValueError(f"claim {claim_id!r}: unknown check keys {sorted(unknown)}; allowed {sorted(_CHECK_KEYS)}")
    name = entry.get("run")
    if name is None:
        return Check(entry.get("kind", ""), test=entry.get("test"), description=entry.get("description", ""))
    if name not in checks:
        raise ValueError(f"claim {claim_id!r}: no callable check {name!r} in the registry (gmmlit.ledger.registry.CALLABLE_CHECKS)")
    if "test" in entry:
        raise ValueError(f"claim {claim_id!r}: a check names either run or test, not both")
    return Check(entry.get("kind", ""), run=checks[name], description=entry.get("description", ""), name=name)


def load_claims(path=None, checks=None):
    """The claims of ``path`` (default: the package's ``claims.toml``) as :class:`Claim` objects,
    in file order, their callable checks looked up in ``checks`` (default :data:`CALLABLE_CHECKS`).

    Raises ``ValueError`` on a duplicate id, an unknown key or an unknown check name.
    """
    checks = CALLABLE_CHECKS if checks is None else checks
    out, seen = [], set()
    for entry in claims_data(path):
        unknown = set(entry) - _CLAIM_KEYS
        claim_id = entry.get("id")
        if unknown:
            raise ValueError(f"claim {claim_id!r}: unknown keys {sorted(unknown)}; allowed {sorted(_CLAIM_KEYS)}")
        if claim_id in seen:
            raise ValueError(f"claim id {claim_id!r} appears twice")
        seen.add(claim_id)
        out.append(Claim(claim_id, entry.get("statement", ""), entry.get("chapter", ""),
                         tuple(_check_from_data(c, claim_id, checks) for c in entry.get("check", []))))
    return out


def get_claim(claim_id, claims=None):
    """The claim with this id (``KeyError`` naming the known ids otherwise)."""
    claims = load_claims() if claims is None else claims
    for c in claims:
        if c.id == claim_id:
            return c
    raise KeyError(f"no claim {claim_id!r}; known: {sorted(c.id for c in claims)}")


def unused_checks(claims=None, checks=None):
    """Names in ``checks`` (default :data:`CALLABLE_CHECKS`) that no claim uses."""
    claims = load_claims() if claims is None else claims
    used = {k.name for c in claims for k in c.checks if k.run is not None}
    return sorted(set(CALLABLE_CHECKS if checks is None else checks) - used)

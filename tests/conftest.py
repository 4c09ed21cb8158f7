"""Shared test configuration: the ledger's ``claim`` marker, and hypothesis profiles.

A test backing a claim of the book carries ``@pytest.mark.claim("<id>")``; the hooks of
:mod:`gmmlit.ledger.plugin` write the ids into the JUnit XML (and add ``--claims PREFIXES``).

Profiles say what they want explicitly (hypothesis loads its own CI defaults when ``CI``
is set): no deadline, since evaluation time on a shared 2-core machine is noisy; with
``CI`` set, derandomized so that a CI run is reproducible, and no example database.

Derandomized is not the same examples in every run: since 6.131 hypothesis also draws, with a
small probability, literal constants found in the source of the *local* modules already in
``sys.modules`` (``hypothesis.internal.conjecture.providers._get_local_constants``). Which
modules are imported depends on which test files are collected, so a file run alone sees
different examples than inside the full suite. Every property must therefore hold for every
example its strategy can produce; run each test file alone as well as the full suite.
"""

import os

from gmmlit.ledger.plugin import pytest_addoption, pytest_collection_modifyitems  # noqa: F401
from hypothesis import HealthCheck, Phase, settings

settings.register_profile(
    "dev",
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=25,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# The mutation run (gmmlit.bench.mutations) asks for this one with --hypothesis-profile:
# the ci profile without shrinking, since it only needs to know whether a test fails.
settings.register_profile(
    "mutation",
    parent=settings.get_profile("ci"),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

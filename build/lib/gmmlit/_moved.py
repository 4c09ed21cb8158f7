"""Old module paths, kept importable for one release.

Before 0.2 every module sat directly in :mod:`gmmlit`; they now live in the subpackages
``core``, ``optim``, ``theory``, ``ledger``, ``book`` and ``bench``. ``import gmmlit.methods``
(say) still works: it returns the module at its new path, with a :class:`DeprecationWarning`
that names the new path.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: Old module name (under ``gmmlit``) -> its new dotted path.
MOVED = {
    "validation": "gmmlit.core.validation",
    "mixture": "gmmlit.core.mixture",
    "quadrature": "gmmlit.core.quadrature",
    "objective": "gmmlit.core.objective",
    "geometry": "gmmlit.core.geometry",
    "instances": "gmmlit.core.instances",
    "reference": "gmmlit.core.reference",
    "results": "gmmlit.optim.results",
    "steps": "gmmlit.optim.steps",
    "methods": "gmmlit.optim.methods",
    "peers": "gmmlit.optim.peers",
    "global_phase": "gmmlit.optim.global_phase",
    "quartic": "gmmlit.theory.quartic",
    "landscape": "gmmlit.theory.landscape",
    "symbolic": "gmmlit.theory.symbolic",
    "claims": "gmmlit.ledger.claims",
    "chapter_claims": "gmmlit.ledger.registry",
    "figures": "gmmlit.book.figures",
    "studies": "gmmlit.book.studies",
    "accuracy": "gmmlit.book.accuracy",
    "reproduce": "gmmlit.book.reproduce",
    "benchmarks": "gmmlit.bench.kernel",
    "method_benchmarks": "gmmlit.bench.methods",
    "parallel": "gmmlit.bench.parallel",
}


def new_path(fullname):
    """The new dotted path of an old ``gmmlit.<name>[.<sub>]`` module, or ``None``."""
    parts = fullname.split(".")
    if len(parts) < 2 or parts[0] != "gmmlit" or parts[1] not in MOVED:
        return None
    return ".".join([MOVED[parts[1]], *parts[2:]])


class _Alias(importlib.abc.Loader):
    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.own_spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.own_spec  # the import system set the old name's spec on it


class MovedFinder(importlib.abc.MetaPathFinder):
    """Resolves an old module path to the module at its new path."""

    def find_spec(self, fullname, path=None, target=None):
        target_name = new_path(fullname)
        if target_name is None:
            return None
        warnings.warn(f"{fullname} moved to {target_name}; the old path goes away in the next release",
                      DeprecationWarning, stacklevel=2)
        return importlib.util.spec_from_loader(fullname, _Alias(target_name))


def install():
    """Put :class:`MovedFinder` first on ``sys.meta_path`` (once), so that an old path
    is never found as a second copy of its module under the old name."""
    if not any(isinstance(f, MovedFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedFinder())

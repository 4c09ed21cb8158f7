"""The browser tests run only when asked for by path, after the book is built.

``pytest tests`` (and a bare ``pytest``) do not collect them: they need the built HTML,
which the Makefile's strict build makes after that run. ``pytest tests/browser`` (or any
path inside this folder) collects them.
"""

from pathlib import Path

BROWSER_TESTS_DIR = Path(__file__).resolve().parent


def _requested_explicitly(config):
    """True when a command-line argument names this folder or something inside it."""
    for arg in config.args:
        path = Path(arg.split("::", 1)[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path).resolve()
        if path == BROWSER_TESTS_DIR or BROWSER_TESTS_DIR in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    """Skip collecting this folder's test modules unless the run names this folder."""
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        if not _requested_explicitly(config):
            return True
    return None

"""Root pytest configuration: nbval also executes the MyST markdown chapters in book/."""

from tests.nbval_myst import pytest_collect_file, pytest_ignore_collect  # noqa: F401

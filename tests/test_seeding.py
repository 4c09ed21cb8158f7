"""Every chapter and every gmmlit function draws random numbers only from explicit seeds.

A static check: no code cell of a chapter and no module of the package calls numpy's
global random state or an unseeded generator, so the same build gives the same numbers.
(Bitwise reproducibility of the figures' data is tested in the figure test modules;
parallel sweeps against serial ones in tests/test_parallel.py.)
"""

import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]

UNSEEDED = [
    (re.compile(r"default_rng\(\s*\)"), "numpy.random.default_rng() without a seed"),
    (re.compile(r"np\.random\.(rand|randn|randint|normal|uniform|choice|seed|random|permutation|shuffle)\("),
     "numpy's global random state"),
    (re.compile(r"(^|[^.\w])random\.(random|randint|choice|shuffle|gauss)\("), "Python's global random module"),
    (re.compile(r"SeedSequence\(\s*\)"), "an unseeded SeedSequence"),
]


def chapter_code(path):
    nb = jupytext.read(str(path))
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


CHAPTERS = sorted(p for p in (ROOT / "book").glob("*.md") if "kernelspec:" in p.read_text()[:2000])
MODULES = sorted((ROOT / "gmmlit").rglob("*.py"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_uses_only_seeded_randomness(path):
    code = chapter_code(path)
    for pattern, what in UNSEEDED:
        assert not pattern.search(code), f"{path.name} uses {what}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_uses_only_seeded_randomness(path):
    code = path.read_text()
    for pattern, what in UNSEEDED:
        assert not pattern.search(code), f"{path.relative_to(ROOT)} uses {what}"


def test_the_patterns_catch_unseeded_calls():
    bad = ["rng = np.random.default_rng()", "x = np.random.normal(size=3)", "random.random()"]
    for line in bad:
        assert any(p.search(line) for p, _ in UNSEEDED), line
    good = ["rng = np.random.default_rng(0)", "rng.normal(size=3)", "check_rng(seed)"]
    for line in good:
        assert not any(p.search(line) for p, _ in UNSEEDED), line
    assert len(CHAPTERS) >= 10

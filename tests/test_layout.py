"""The package's architecture: the library (``core``, ``optim``) stands on its own, no module
imports another in a cycle, and ``import gmmlit`` stays light.

The import graph is read from the source (every ``import`` statement, also those inside
functions), so a lazy import cannot hide a cycle or a library-to-book dependency.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import gmmlit

PACKAGE = Path(gmmlit.__file__).resolve().parent
LIBRARY = ("gmmlit.core", "gmmlit.optim")
ABOVE_THE_LIBRARY = ("gmmlit.theory", "gmmlit.ledger", "gmmlit.book", "gmmlit.bench", "gmmlit.cli")


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path):
    """Absolute names of the gmmlit modules imported anywhere in the file at ``path``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "gmmlit")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "gmmlit":
                continue
            found.add(target)
            for alias in node.names:  # "from . import x" imports the module x
                candidate = f"{target}.{alias.name}"
                if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists() or \
                        (PACKAGE.parent / candidate.replace(".", "/") / "__init__.py").exists():
                    found.add(candidate)
    return found


def import_graph():
    files = [p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts]
    modules = {module_name(p) for p in files}
    graph = {}
    for p in files:
        graph[module_name(p)] = {m for m in imported_modules(p) if m in modules and m != module_name(p)}
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def leaf_graph(graph):
    """The graph without package ``__init__`` modules (importing ``a.b`` imports ``a``
    first; that is not a dependency between the modules themselves)."""
    packages = {m for m in graph if (PACKAGE.parent / m.replace(".", "/") / "__init__.py").exists()}
    return {m: {w for w in ws if w not in packages} for m, ws in graph.items() if m not in packages}


def test_no_import_cycle():
    assert cycles(leaf_graph(import_graph())) == []


def test_the_cycle_detector_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [{"a", "b", "c"}]


def test_library_imports_nothing_above_it():
    graph = import_graph()
    offending = {m: sorted(w for w in ws if w.startswith(ABOVE_THE_LIBRARY))
                 for m, ws in graph.items() if m.startswith(LIBRARY)}
    assert {m: ws for m, ws in offending.items() if ws} == {}


def test_the_boundary_check_sees_lazy_imports(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from gmmlit.book import polyak\n    import gmmlit.bench.parallel\n")
    found = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    assert found == {"gmmlit.book", "gmmlit.bench.parallel"}


def test_import_gmmlit_is_light():
    code = ("import sys, gmmlit; heavy = {'matplotlib', 'sympy', 'joblib', 'IPython'}; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

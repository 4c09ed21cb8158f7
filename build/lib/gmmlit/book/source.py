"""The implementing code shown beside the formula it implements.

A chapter cell ``show_source(PopulationKL.hessian)`` displays the source of the function
as it is in the installed package (``inspect.getsource``), so the code the reader sees is
the code that ran and cannot drift from it. The display is a collapsible block
(``<details>``) headed by the qualified name and the file, highlighted as Python with the
classes of the book theme's Pygments style; in a notebook front end the same HTML
renders, and ``text/plain`` carries the bare source.

``follow=True`` also shows the functions the shown one calls (its helpers in the same
module, found by reading its syntax tree), so a kernel is shown with what it is made of
without naming each helper in the chapter: a helper renamed or split stays shown.
"""

from __future__ import annotations

import ast
import html
import inspect
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pygments
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

#: CSS class of the ``<details>`` element of every source block (the browser test looks for it).
SOURCE_CLASS = "gmmlit-source"


def _unwrap(obj):
    """The function behind a method, property, static/class method or ``functools.wraps``."""
    if isinstance(obj, property):
        obj = obj.fget
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    return inspect.unwrap(getattr(obj, "__func__", obj))


def qualified_name(obj):
    """``module.qualname`` of a function, method or class, e.g.
    ``gmmlit.core.objective.PopulationKL.hessian``."""
    obj = _unwrap(obj)
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname:
        raise TypeError(f"obj: expected a function, method or class, got {type(obj).__name__}")
    return f"{module}.{qualname}"


def _package_root():
    import gmmlit

    return Path(gmmlit.__file__).resolve().parent.parent


def source_location(obj):
    """``(path, first_line, last_line)`` of ``obj``'s source; ``path`` relative to the
    repository root when the file is inside it."""
    obj = _unwrap(obj)
    path = Path(inspect.getsourcefile(obj)).resolve()
    lines, first = inspect.getsourcelines(obj)
    try:
        path = path.relative_to(_package_root())
    except ValueError:
        pass
    return path.as_posix(), first, first + len(lines) - 1


def _owner_class(func):
    """The class a method is defined in (from its qualname and module), or None."""
    parts = func.__qualname__.split(".")
    if len(parts) < 2 or "<locals>" in parts:
        return None
    owner = inspect.getmodule(func)
    for part in parts[:-1]:
        owner = getattr(owner, part, None)
    return owner if inspect.isclass(owner) else None


def called_functions(obj):
    """Functions of the same module that ``obj`` calls directly, in order of first call.

    Calls ``name(...)`` resolve through the function's globals, ``self.name(...)`` and
    ``cls.name(...)`` (and ``self.name`` iterated, e.g. ``for .. in self._chunks()``)
    through its class. Builtins, numpy and other modules' functions are left out.
    """
    func = _unwrap(obj)
    if not inspect.isfunction(func):
        return []
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    owner = _owner_class(func)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = None
        if isinstance(node.func, ast.Name):
            target = func.__globals__.get(node.func.id)
        elif (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
              and node.func.value.id in ("self", "cls") and owner is not None):
            target = inspect.getattr_static(owner, node.func.attr, None)
        if target is None:
            continue
        target = _unwrap(target)
        if inspect.isfunction(target) and target.__module__ == func.__module__ and target not in found:
            found.append(target)
    return sorted(found, key=lambda f: _first_call_order(tree, f))


def _first_call_order(tree, target):
    """Line of the first call of ``target``'s name in ``tree`` (for a stable reading order)."""
    lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == target.__name__)
        or (isinstance(node.func, ast.Attribute) and node.func.attr == target.__name__))]
    return min(lines) if lines else 0


def with_callees(objs, depth=3):
    """``objs`` followed by the same-module functions they call, to ``depth`` levels,
    each once, depth first (a function, then what it calls)."""
    out = []

    def visit(obj, level):
        func = _unwrap(obj)
        if func in out:
            return
        out.append(func)
        if level < depth:
            for callee in called_functions(func):
                visit(callee, level + 1)

    for obj in objs:
        visit(obj, 0)
    return out


_DETAILS_STYLE = "border:1px solid #d0d7de;border-radius:6px;padding:0.4em 0.8em;margin:0.6em 0"
_SUMMARY_STYLE = "cursor:pointer;font-weight:600"


def _highlight(code):
    """Python highlighted with Pygments' short token classes (styled by the book theme)."""
    return pygments.highlight(code, PythonLexer(), HtmlFormatter(nowrap=True))


@dataclass(frozen=True)
class SourceBlock:
    """The source of one or more functions, displayed as a collapsible highlighted block.

    Attributes
    ----------
    entries : tuple of (str, str, int, int, str)
        ``(qualified name, path, first line, last line, source)`` per function.
    summary : str
        The line shown when the block is closed.
    open : bool
        Whether the block starts open.
    """

    entries: tuple
    summary: str
    open: bool = False

    @property
    def names(self):
        """Qualified names of the functions shown, in order."""
        return [entry[0] for entry in self.entries]

    def _repr_html_(self):
        parts = []
        for name, path, first, last, code in self.entries:
            parts.append(
                f'<p class="gmmlit-source-origin"><code>{html.escape(name)}</code>, '
                f"<code>{html.escape(path)}</code>, lines {first}&ndash;{last}</p>"
                f'<div class="highlight-python notranslate"><div class="highlight"><pre>'
                f"{_highlight(code)}</pre></div></div>")
        opened = " open" if self.open else ""
        return (f'<details class="{SOURCE_CLASS}"{opened} style="{_DETAILS_STYLE}">'
                f'<summary style="{_SUMMARY_STYLE}">{html.escape(self.summary)}</summary>'
                + "".join(parts) + "</details>")

    def __repr__(self):
        blocks = [f"# {name} ({path}, lines {first}-{last})\n{code}"
                  for name, path, first, last, code in self.entries]
        return "\n".join(blocks).rstrip("\n")

    def _repr_pretty_(self, printer, cycle):
        printer.text(repr(self))


def show_source(*objs, follow=False, depth=3, summary=None, open=False):
    """The source of ``objs`` from the installed package, as a displayable block.

    Parameters
    ----------
    *objs : function, method or class
        What to show, in order (at least one).
    follow : bool
        Also show the functions of the same module that they call, recursively
        (:func:`with_callees`).
    depth : int
        How many levels of calls ``follow`` descends.
    summary : str, optional
        The heading of the block; by default "Implementation: " and the first name.
    open : bool
        Start with the block open (default closed: a click shows the code).

    Returns
    -------
    SourceBlock
        Displayed by IPython as the last value of a cell (HTML in the book and in
        JupyterLab, plain source in a terminal).
    """
    if not objs:
        raise TypeError("show_source: expected at least one function, method or class")
    funcs = with_callees(objs, depth) if follow else [_unwrap(obj) for obj in objs]
    entries = []
    for func in funcs:
        path, first, last = source_location(func)
        entries.append((qualified_name(func), path, first, last, textwrap.dedent(inspect.getsource(func))))
    if summary is None:
        summary = f"Implementation: {entries[0][0]}"
        if len(entries) > 1:
            summary += f" and the {len(entries) - 1} function{'s' if len(entries) > 2 else ''} it uses"
    return SourceBlock(tuple(entries), str(summary), bool(open))

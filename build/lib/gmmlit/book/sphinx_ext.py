"""A small Sphinx extension for the book (listed in ``_config.yml``).

* **API links from the prose.** Inline code naming a documented ``gmmlit`` object,
  such as ``gmmlit.optim.steps.floor_estimate`` or ``gmmlit.theory.quartic``, becomes a link
  to its entry on the API page. Names re-exported elsewhere (``gmmlit.Mixture``) resolve
  through the object they name. Names that the API page does not document stay plain code,
  so nothing here can break the strict build.
* **Alt text for notebook figures.** A figure drawn by a code cell gets, as its alt text,
  the caption paragraph that follows the cell (its first sentences), or else the title of
  its section, instead of the image's file name.
* **Buttons only where they point at something real.** ``repository.url`` in
  ``_config.yml`` is the one setting: empty (the default), the page has no repository
  button and no launch (Binder) buttons; set, both appear. The notebook download of the
  MyST chapters, which the theme only prepares along with launch buttons, is prepared
  here when there are none.
* **Downloads without repeated output.** myst-nb's ``nb_merge_streams`` merges the
  stream outputs of a cell *in place*, in the notebook that is then also written for
  download, which then holds the merged text and every original piece after it. The
  merge is made on a copy here, so the page shows one merged block and the downloaded
  notebook keeps the outputs as they were produced.
"""

from __future__ import annotations

import copy
import importlib
import re
import warnings

from docutils import nodes

#: Inline code that may name a gmmlit object: dotted names starting with ``gmmlit.``,
#: optionally followed by ``()``.
NAME_PATTERN = re.compile(r"(gmmlit(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(\(\))?")

#: Longest alt text taken from a caption, in characters.
ALT_MAX_CHARS = 300


# ---------------------------------------------------------------------- API links
def _import_target(name):
    """The object a dotted ``gmmlit`` name refers to, or None."""
    parts = name.split(".")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                return None
            return obj
    return None


def canonical_names(name):
    """Names under which ``name`` may be documented: itself, then the module and
    qualified name of the object it refers to."""
    names = [name]
    obj = _import_target(name)
    if obj is None:
        return names
    if hasattr(obj, "__name__") and type(obj).__name__ == "module":
        names.append(obj.__name__)
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        names.append(f"{module}.{qualname}")
    return list(dict.fromkeys(names))


def resolve_api_target(env, name):
    """``(docname, anchor)`` of the API entry of ``name`` in the Python domain, or None."""
    domain = env.get_domain("py")
    for candidate in canonical_names(name):
        if candidate in domain.objects:
            entry = domain.objects[candidate]
            return entry.docname, entry.node_id
        if candidate in domain.modules:
            entry = domain.modules[candidate]
            return entry.docname, entry.node_id
    return None


def _ancestors(node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def link_api_names(app, doctree, docname):
    """Turn inline code naming a documented gmmlit object into a link to its API entry."""
    if app.builder.format != "html":
        return
    for literal in list(doctree.findall(nodes.literal)):
        if isinstance(literal.parent, (nodes.reference, nodes.literal_block)) or "xref" in literal["classes"]:
            continue
        if any(isinstance(a, (nodes.title, nodes.reference)) for a in _ancestors(literal)):
            continue  # no links inside headings (they are links in the table of contents) or links
        match = NAME_PATTERN.fullmatch(literal.astext().strip())
        if not match:
            continue
        target = resolve_api_target(app.env, match.group(1))
        if target is None:
            continue
        todoc, anchor = target
        uri = app.builder.get_relative_uri(docname, todoc) + "#" + anchor
        reference = nodes.reference("", "", internal=True, refuri=uri, reftitle=match.group(1),
                                    classes=["gmmlit-api-link"])
        reference += literal.deepcopy()
        literal.replace_self(reference)


# ---------------------------------------------------------------------- alt text
def _is_cell(node):
    return isinstance(node, nodes.container) and "cell" in node.get("classes", [])


def _enclosing_cell(node):
    while node is not None and not _is_cell(node):
        node = node.parent
    return node


def _caption_after(cell):
    """Text of the paragraph right after ``cell`` (skipping nothing else), or None."""
    parent = cell.parent
    if parent is None:
        return None
    siblings = parent.children
    index = siblings.index(cell)
    for follower in siblings[index + 1:]:
        if isinstance(follower, nodes.paragraph):
            return follower.astext()
        if isinstance(follower, (nodes.comment, nodes.target)):
            continue
        return None
    return None


def _section_title(node):
    while node is not None and not isinstance(node, nodes.section):
        node = node.parent
    if node is None:
        return None
    titles = [c for c in node.children if isinstance(c, nodes.title)]
    return titles[0].astext() if titles else None


def shorten(text, limit=ALT_MAX_CHARS):
    """``text`` on one line, cut after the last full sentence (or word) within ``limit``."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("; "))
    if end > limit // 3:
        return cut[:end + 1]
    return cut[:cut.rfind(" ")].rstrip(",;:") + " ..."


def figure_alt_text(image):
    """Alt text for an image drawn by a code cell: the caption after the cell, else the
    section title; None when neither is found."""
    cell = _enclosing_cell(image)
    if cell is None:
        return None
    caption = _caption_after(cell)
    if caption:
        return shorten(caption)
    title = _section_title(cell)
    return f"Figure of the section \u201c{title}\u201d" if title else None


def add_figure_alt_text(app, doctree, docname):
    """Give every notebook image without alt text the caption that follows it."""
    for image in doctree.findall(nodes.image):
        if image.get("alt"):
            continue
        alt = figure_alt_text(image)
        if alt:
            image["alt"] = alt


# ---------------------------------------------------------------------- merged streams
def merge_streams_on_a_copy():
    """Make myst-nb merge stream outputs on a copy, not in the notebook it writes out."""
    from myst_nb.core import render

    original = render.coalesce_streams
    if getattr(original, "_gmmlit_copy", False):
        return

    def coalesce_copy(outputs):
        return original(copy.deepcopy(outputs))

    coalesce_copy._gmmlit_copy = True
    render.coalesce_streams = coalesce_copy


# ---------------------------------------------------------------------- buttons
def buttons_follow_repository_url(app, config):
    """Repository and launch buttons on exactly when ``repository.url`` is set."""
    options = config.html_theme_options
    has_url = bool(str(options.get("repository_url") or "").strip())
    options["use_repository_button"] = has_url
    if not has_url:
        options["launch_buttons"] = {}


def offer_notebook_download(app, pagename, templatename, context, doctree):
    """Copy the executed notebook of a MyST chapter to ``_sources`` for the download menu
    (what the theme does only when it also draws launch buttons)."""
    from pathlib import Path
    from shutil import copy2

    if app.config.html_theme_options.get("launch_buttons") or doctree is None:
        return
    if not str(context.get("sourcename", "")).endswith((".md", ".md.txt")):
        return
    if "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    copy2(executed, target)
    context["ipynb_source"] = pagename + ".ipynb"


def setup(app):
    merge_streams_on_a_copy()
    app.connect("config-inited", buttons_follow_repository_url)
    app.connect("html-page-context", offer_notebook_download, priority=500)
    app.connect("doctree-resolved", link_api_names)
    app.connect("doctree-resolved", add_figure_alt_text)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

"""The ledger as an HTML table (for the book) and as plain text (for ``gmmlit check``)."""

from __future__ import annotations

import re
from html import escape

from .runner import status_counts

#: Colours of the status badges: text, background (distinct in colour and in wording).
STATUS_STYLE = {
    "pass": ("#0f5132", "#d1e7dd"),
    "fail": ("#ffffff", "#b02a37"),
    "not run": ("#41464b", "#e2e3e5"),
}

_STYLE = """<style>
table.gmmlit-ledger {width: 100% !important; table-layout: fixed !important; border-collapse: collapse;
  font-size: 0.85em;}
table.gmmlit-ledger th, table.gmmlit-ledger td {border-bottom: 1px solid #ddd; padding: 4px 6px;
  vertical-align: top; text-align: left; overflow-wrap: break-word; word-break: normal;}
table.gmmlit-ledger td.claim {border-top: 2px solid #aaa;}
table.gmmlit-ledger td[rowspan] {font-size: 0.95em;}
span.gmmlit-where {font-size: 0.9em; white-space: nowrap;}
table.gmmlit-ledger code {font-size: 0.95em; white-space: normal;}
table.gmmlit-ledger mjx-container {display: inline-block; max-width: 100%; overflow-x: auto; overflow-y: hidden;
  vertical-align: middle;}
span.gmmlit-status {display: inline-block; padding: 0 0.5em; border-radius: 0.3em; font-weight: 600;
  white-space: nowrap;}
</style>"""

#: Inline style of the table element (the book theme's own table rules would override a class rule).
TABLE_STYLE = "width:100%;table-layout:fixed"

#: Column widths (percent): status, claim (id, statement, where stated), check, measured.
_COLUMNS = (("status", 9), ("claim", 41), ("check", 28), ("measured", 22))


def _math_to_html(text):
    """Escape HTML, turn ``$...$`` into MathJax's inline delimiters ``\\(...\\)``, and the
    markdown of a statement (code in backquotes, ``*emphasis*``) into HTML."""
    parts = re.split(r"(\$[^$]+\$)", text)
    out = []
    for p in parts:
        if len(p) > 1 and p.startswith("$") and p.endswith("$"):
            out.append(r"\(" + escape(p[1:-1], quote=False) + r"\)")
        else:
            html = re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(p, quote=False))
            out.append(re.sub(r"\*([^*]+)\*", r"<em>\1</em>", html))
    return "".join(out)


def status_badge(status, label=None):
    """An HTML badge in the colours of a status (``pass``, ``fail``, ``not run``), reading
    ``label`` (default: the status, ``FAIL`` for a failure)."""
    fg, bg = STATUS_STYLE[status]
    label = escape(label) if label is not None else ("FAIL" if status == "fail" else status)
    return f'<span class="gmmlit-status gmmlit-{status.replace(" ", "-")}" style="color:{fg};background:{bg}">{label}</span>'


def _breakable(label):
    """A test reference or check name with break opportunities after ``::``, ``_`` and ``.``."""
    return re.sub(r"(::|_|\.)", r"\1<wbr>", escape(label))


def _claim_groups(rows):
    """Consecutive rows of the same claim, as lists."""
    groups = []
    for r in rows:
        if groups and groups[-1][0].claim_id == r.claim_id:
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def ledger_html(rows, link=None):
    """An HTML table of the ledger: status first, then the claim (id, the chapter stating it
    and the statement, in one cell spanning the claim's rows), the check (kind and name) and
    the measured value (the detail as its tooltip).

    ``link(chapter) -> str`` gives an ``href`` for the chapter's name (``None``: plain text).
    The statements' ``$...$`` are written for MathJax, inside a ``mathjax_process`` block.
    """
    head = "".join(f"<th>{escape(name)}</th>" for name, _ in _COLUMNS)
    cols = "".join(f'<col style="width:{w}%">' for _, w in _COLUMNS)
    body = []
    for group in _claim_groups(rows):
        first = group[0]
        href = link(first.chapter) if link is not None else None
        name = escape(first.chapter.removeprefix("book/"))
        where = f'<a href="{escape(href)}">{name}</a>' if href else name
        span = f' rowspan="{len(group)}" class="claim"'
        claim = (f"<td{span}><code>{escape(first.claim_id)}</code> <span class=\"gmmlit-where\">({where})</span>"
                 f"<br>{_math_to_html(first.statement)}</td>")
        for k, r in enumerate(group):
            cls = ' class="claim"' if k == 0 else ""
            title = f' title="{escape(r.detail)}"' if r.detail else ""
            body.append(f"<tr><td{cls}>{status_badge(r.status)}</td>{claim if k == 0 else ''}"
                        f"<td{cls}>{escape(r.kind)}<br><code>{_breakable(r.check)}</code></td>"
                        f"<td{cls}{title}>{escape(r.measured)}</td></tr>")
    return (f'{_STYLE}<div class="mathjax_process"><table class="gmmlit-ledger" style="{TABLE_STYLE}">'
            f"<colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def summary_line(rows):
    """``"82 checks of 39 claims: 24 pass, 0 fail, 58 not run"``."""
    counts = status_counts(rows)
    n_claims = len({r.claim_id for r in rows})
    return f"{len(rows)} checks of {n_claims} claims: " + ", ".join(f"{v} {k}" for k, v in counts.items())


def ledger_text(rows):
    """A plain-text table: claim, kind, via (``callable`` or ``test``), status, measured."""
    width = max([len("claim")] + [len(r.claim_id) for r in rows])
    lines = [f"{'claim':<{width}}  {'kind':<14} {'via':<9} {'status':<8} measured"]
    for r in rows:
        status = "FAIL" if r.failed else r.status
        via = "callable" if r.ran_here else "test"
        lines.append(f"{r.claim_id:<{width}}  {r.kind:<14} {via:<9} {status:<8} {r.measured}")
    return "\n".join(lines)

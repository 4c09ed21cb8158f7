"""Tables of the chapters as real HTML tables.

:func:`html_table` turns rows (dicts or sequences) into a displayable table: an HTML
``<table>`` in the book and in JupyterLab (headers, right-aligned numbers, optionally
collapsed under a summary line when long), and aligned plain text wherever only text is
shown (a terminal, ``nbval``'s text comparison).
"""

from __future__ import annotations

import html
import numbers
from dataclasses import dataclass

#: CSS class of every table made here (the browser test looks for it).
TABLE_CLASS = "gmmlit-table"

#: Tables with more rows than this are collapsed by default.
COLLAPSE_ROWS = 12

_STYLE = (
    "<style>"
    f"table.{TABLE_CLASS}{{border-collapse:collapse;margin:0.5em 0;font-size:0.85em;}}"
    f"table.{TABLE_CLASS} th,table.{TABLE_CLASS} td{{padding:0.15em 0.5em;border-bottom:1px solid #ddd;}}"
    f"table.{TABLE_CLASS} td{{overflow-wrap:anywhere;}}"
    f"table.{TABLE_CLASS} td.num{{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;}}"
    f"table.{TABLE_CLASS} tr.group td{{font-weight:bold;border-bottom:1px solid #999;}}"
    f"table.{TABLE_CLASS} caption{{caption-side:top;text-align:left;font-style:italic;}}"
    "</style>"
)


_DETAILS_STYLE = "border:1px solid #d0d7de;border-radius:6px;padding:0.4em 0.8em;margin:0.6em 0"
_SUMMARY_STYLE = "cursor:pointer;font-weight:600"


def _format_cell(value, fmt, float_format=None):
    """A cell as text: ``fmt`` (a format spec or a callable) for numbers, else
    ``float_format`` for floats, ``str`` otherwise."""
    if value is None:
        return ""
    if fmt is None and float_format and isinstance(value, float):
        fmt = float_format
    if callable(fmt):
        return str(fmt(value))
    if fmt and isinstance(value, numbers.Number) and not isinstance(value, bool):
        return format(value, fmt)
    return str(value)


def _is_number(value):
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


@dataclass(frozen=True)
class HtmlTable:
    """A table of text cells; displayed as HTML, printed as aligned text.

    Attributes
    ----------
    columns : tuple of str
        Column headers.
    cells : tuple of tuple of str
        The formatted cells, one tuple per row.
    numeric : tuple of bool
        Per column: right-aligned (all its values were numbers or empty).
    groups : tuple of (int, str)
        Group headings, as (index of the first row of the group, heading).
    caption : str or None
    collapsible : bool
        Put the table under a ``<details>`` summary line.
    open : bool
        Whether a collapsible table starts open.
    """

    columns: tuple
    cells: tuple
    numeric: tuple
    groups: tuple = ()
    caption: str | None = None
    collapsible: bool = False
    open: bool = False

    def _repr_html_(self):
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        starts = dict(self.groups)
        body = []
        for k, row in enumerate(self.cells):
            if k in starts:
                body.append(f'<tr class="group"><td colspan="{len(self.columns)}">'
                            f"{html.escape(starts[k])}</td></tr>")
            tds = "".join(f'<td class="num">{html.escape(v)}</td>' if num else f"<td>{html.escape(v)}</td>"
                          for v, num in zip(row, self.numeric))
            body.append(f"<tr>{tds}</tr>")
        # a collapsible table's caption is its summary line, not repeated above the table
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption and not self.collapsible else ""
        table = (f'{_STYLE}<div class="{TABLE_CLASS}-wrapper" style="overflow-x:auto">'
                 f'<table class="{TABLE_CLASS}">{caption}<thead><tr>{head}</tr></thead>'
                 f"<tbody>{''.join(body)}</tbody></table></div>")
        if not self.collapsible:
            return table
        summary = self.caption or "Table"
        summary = f"{summary} ({len(self.cells)} rows; click to show)" if not self.open else summary
        opened = " open" if self.open else ""
        return (f'<details class="{TABLE_CLASS}-details"{opened} style="{_DETAILS_STYLE}">'
                f'<summary style="{_SUMMARY_STYLE}">{html.escape(summary)}</summary>{table}</details>')

    def __repr__(self):
        widths = [max([len(c)] + [len(row[k]) for row in self.cells]) for k, c in enumerate(self.columns)]

        def line(values):
            return "  ".join(v.rjust(w) if num else v.ljust(w)
                             for v, w, num in zip(values, widths, self.numeric)).rstrip()

        out = [self.caption] if self.caption else []
        out.append(line(self.columns))
        starts = dict(self.groups)
        for k, row in enumerate(self.cells):
            if k in starts:
                out.append(starts[k])
            out.append(line(row))
        return "\n".join(out)

    def _repr_pretty_(self, printer, cycle):
        printer.text(repr(self))


def html_table(rows, columns=None, caption=None, collapsible=None, *, formats=None, float_format=None,
               group_by=None, open=False):
    """A displayable table of ``rows``.

    Parameters
    ----------
    rows : iterable of dict or of sequence
        One entry per row: dicts (keyed by column) or sequences (in column order).
    columns : sequence of str, or dict, optional
        The columns, in order; a dict maps each row key to its header. Required for
        sequence rows; for dict rows it defaults to the keys of the first row.
    caption : str, optional
        Shown above the table (and as the summary line when collapsed).
    collapsible : bool, optional
        Collapse the table under its caption; default: when it has more than
        :data:`COLLAPSE_ROWS` rows.
    formats : dict, optional
        Per column key, a format spec (``".3e"``) or a callable giving the cell text.
    float_format : str, optional
        Format spec for float cells of the other columns (``".4g"``).
    group_by : str, optional
        A column key whose value starts a new group heading row whenever it changes
        (the column itself is then left out of the table).
    open : bool
        Whether a collapsible table starts open.

    Returns
    -------
    HtmlTable
    """
    rows = list(rows)
    if columns is None:
        if not rows or not isinstance(rows[0], dict):
            raise ValueError("columns: required unless rows are dicts (and at least one is given)")
        columns = list(rows[0])
    if isinstance(columns, dict):
        keys, headers = list(columns), [str(v) for v in columns.values()]
    else:
        keys, headers = list(columns), [str(c) for c in columns]
    if not keys:
        raise ValueError("columns: at least one column is needed")
    formats = dict(formats or {})
    dict_rows = []
    for k, row in enumerate(rows):
        if isinstance(row, dict):
            dict_rows.append(row)
        else:
            row = list(row)
            if len(row) != len(keys):
                raise ValueError(f"rows: row {k} has {len(row)} cells, expected {len(keys)} (columns {keys})")
            dict_rows.append(dict(zip(keys, row)))
    groups = []
    if group_by is not None:
        if group_by not in keys and not all(group_by in r for r in dict_rows):
            raise ValueError(f"group_by: {group_by!r} is not a column of the rows")
        previous = object()
        for k, row in enumerate(dict_rows):
            if row.get(group_by) != previous:
                groups.append((k, str(row.get(group_by))))
                previous = row.get(group_by)
        kept = [(key, head) for key, head in zip(keys, headers) if key != group_by]
        keys, headers = [k for k, _ in kept], [h for _, h in kept]
    cells = tuple(tuple(_format_cell(row.get(key), formats.get(key), float_format) for key in keys)
                  for row in dict_rows)
    numeric = tuple(all(_is_number(row.get(key)) or row.get(key) in (None, "-", "") for row in dict_rows)
                    and any(_is_number(row.get(key)) for row in dict_rows) for key in keys)
    if collapsible is None:
        collapsible = len(cells) > COLLAPSE_ROWS
    return HtmlTable(tuple(headers), cells, numeric, tuple(groups), caption, bool(collapsible), bool(open))

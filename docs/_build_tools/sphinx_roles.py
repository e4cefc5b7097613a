"""Griffe extension: the reStructuredText in the docstrings reads well as Markdown.

The docstrings are written with Sphinx roles (``:class:`RunSpec```, ``:meth:`.key```) and, in a few module
docstrings, reStructuredText simple tables (columns framed by ``====`` lines). Markdown would print the roles
literally and run a table's cells together into one paragraph. Here each role becomes an inline code span of
its target (leading dot or tilde dropped), and each simple table becomes a Markdown table. No library offers this for mkdocstrings, and both are line-level rewrites of the docstring text.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const|ref|term):`~?\.?([^`]+)`")
_BORDER = re.compile(r"^(\s*)=+(?: +=+)+\s*$")


def plain_roles(text: str) -> str:
    """``text`` with every Sphinx role replaced by a Markdown code span of its target."""
    return _ROLE.sub(lambda m: f"`{m.group(1)}`", text)


def _tables(lines: list[str]) -> Iterator[tuple[int, int]]:
    """``(first, last)`` line indices of each simple table: border, header, border, rows, border."""
    i = 0
    while i < len(lines):
        if _BORDER.match(lines[i]):
            borders = [j for j in range(i, len(lines)) if _BORDER.match(lines[j])][:3]
            if len(borders) == 3:
                yield i, borders[2]
                i = borders[2] + 1
                continue
        i += 1


_CODE_OR_PIPE = re.compile(r"(``.+?``|`[^`]+`)|\|")


def _escape_pipes(cell: str) -> str:
    """A cell's ``|`` escaped, except inside code spans (the tables extension keeps those as they are)."""
    return _CODE_OR_PIPE.sub(lambda m: m.group(1) or "\\|", cell)


def _markdown_table(lines: list[str]) -> list[str]:
    """A simple table (its lines, borders included) as a Markdown table. Columns are the border's ``=`` runs
    (the last one open-ended); a row whose first cell is blank continues the row above it."""
    spans = [m.span() for m in re.finditer(r"=+", lines[0])]
    spans[-1] = (spans[-1][0], None)
    second = next(j for j in range(1, len(lines)) if _BORDER.match(lines[j]))
    rows: list[list[str]] = []
    for j, line in enumerate(lines):
        if _BORDER.match(line) or not line.strip():
            continue
        cells = [line[a:b].strip() for a, b in spans]
        if rows and not cells[0] and j > second:
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells)]
        else:
            rows.append(cells)
    indent = _BORDER.match(lines[0]).group(1)
    table = [indent + "| " + " | ".join(_escape_pipes(cell) for cell in row) + " |" for row in rows]
    return ["", table[0], indent + "|" + "---|" * len(spans), *table[1:], ""]


def markdown_friendly(text: str) -> str:
    """Simple tables as Markdown tables, then roles as code spans."""
    lines = text.splitlines()
    out: list[str] = []
    start = 0
    for first, last in _tables(lines):
        out += lines[start:first] + _markdown_table(lines[first:last + 1])
        start = last + 1
    out += lines[start:]
    return plain_roles("\n".join(out))


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring of a package when griffe has loaded it."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in [pkg, *_walk(pkg)]:
            if obj.docstring is not None:
                obj.docstring.value = markdown_friendly(obj.docstring.value)


def _walk(obj: griffe.Object) -> Iterator[griffe.Object]:
    for member in obj.members.values():
        if not member.is_alias:
            yield member
            yield from _walk(member)

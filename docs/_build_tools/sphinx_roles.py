"""Griffe extension: the reStructuredText in the docstrings reads well as Markdown.

The docstrings are written with Sphinx roles (``:class:`RunSpec```, ``:meth:`.key```) and, in a few module
docstrings, reStructuredText simple tables (columns framed by ``====`` lines). Markdown would print the roles
literally and run a table's cells together into one paragraph. Here each role becomes an inline code span of
its target (leading dot or tilde dropped), and each simple table becomes a preformatted block that keeps its
columns. No library offers this for mkdocstrings, and both are line-level rewrites of the docstring text.
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


def markdown_friendly(text: str) -> str:
    """Simple tables as preformatted blocks (roles inside them as bare names), then roles as code spans."""
    lines = text.splitlines()
    out: list[str] = []
    start = 0
    for first, last in _tables(lines):
        out += lines[start:first]
        indent = _BORDER.match(lines[first]).group(1)
        out += ["", f"{indent}```text", *(_ROLE.sub(r"\1", line) for line in lines[first:last + 1]), f"{indent}```", ""]
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

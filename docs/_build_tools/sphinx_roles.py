"""Griffe extension: Sphinx roles in the docstrings (``:class:`RunSpec```, ``:meth:`.key```) read as code.

The docstrings are written for Sphinx-style roles, which Markdown would print literally (":class:" followed by
the name); here each becomes an inline code span with the target's name, its leading dot or tilde dropped.
No library offers this for mkdocstrings, and it is a one-line rewrite of the docstring text.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const|ref|term):`~?\.?([^`]+)`")


def plain_roles(text: str) -> str:
    """``text`` with every Sphinx role replaced by a Markdown code span of its target."""
    return _ROLE.sub(lambda m: f"`{m.group(1)}`", text)


class SphinxRoles(griffe.Extension):
    """Rewrite the roles of every docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain_roles(obj.docstring.value)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        for obj in [pkg, *_walk(pkg)]:
            if obj.docstring is not None:
                obj.docstring.value = plain_roles(obj.docstring.value)


def _walk(obj: griffe.Object):
    for member in obj.members.values():
        if not member.is_alias:
            yield member
            yield from _walk(member)

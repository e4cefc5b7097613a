"""Inline SVG: one document made fit to sit inside an HTML page next to others."""

from __future__ import annotations

import re

__all__ = ["inline_svg"]


def inline_svg(svg: str, prefix: str) -> str:
    """An SVG document made fit to inline: XML prolog, doctype and comments dropped; every ``id`` and its
    references (``#id``, ``url(#id)``) prefixed with ``prefix`` so that figures cannot share ids."""
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>", "", svg, flags=re.S)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    if ids:
        def rename(match: re.Match) -> str:
            return match.group(1) + prefix + match.group(2)

        svg = re.sub(r'(\bid=")([^"]+)(?=")', lambda m: m.group(1) + prefix + m.group(2), svg)
        pattern = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        svg = re.sub(r"(#)(" + pattern + r")(?=[\"')\s])", rename, svg)
    return svg.strip()

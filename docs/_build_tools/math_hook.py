"""MkDocs hook: the pages' LaTeX (``pymdownx.arithmatex`` in generic mode) becomes MathML at build time.

The audit report renders its formulas the same way (:func:`verify.audit.mathml.latex_to_html`: latex2mathml,
already a dependency), so the site needs neither network nor JavaScript for its math and reads the same offline.
A formula latex2mathml cannot render falls back to an SVG or to its source, never to nothing.
"""

from __future__ import annotations

import html
import re

from verify.audit.mathml import latex_to_html

_INLINE = re.compile(r'<span class="arithmatex">\\\((.*?)\\\)</span>', re.S)
_BLOCK = re.compile(r'<div class="arithmatex">\\\[(.*?)\\\]</div>', re.S)


# The executed tutorial's Markdown cells (mkdocs-jupyter, via nbconvert) keep their math as ``$...$`` for a
# MathJax script; only those cells are rewritten, so a ``$`` in code or in an output is left alone.
_NOTEBOOK_MARKDOWN = re.compile(r'(<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown[^>]*>)(.*?)(</div>)', re.S)
_DOLLARS = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$]+?)\$", re.S)


def _notebook_math(cell: str) -> str:
    return _DOLLARS.sub(lambda m: latex_to_html(html.unescape(m.group(1) or m.group(2)), m.group(1) is not None),
                        cell)


def on_page_content(content: str, **_: object) -> str:
    """Replace each arithmatex span (inline) and div (display), and each ``$...$`` of a notebook's Markdown
    cells, with its MathML."""
    content = _NOTEBOOK_MARKDOWN.sub(lambda m: m.group(1) + _notebook_math(m.group(2)) + m.group(3), content)
    content = _BLOCK.sub(lambda m: f'<div class="math-display">{latex_to_html(html.unescape(m.group(1)), True)}</div>',
                         content)
    return _INLINE.sub(lambda m: latex_to_html(html.unescape(m.group(1)), False), content)


def on_page_markdown(markdown: str, page, **_: object) -> str:
    """The specification links the README as ``../README.md`` (a path in the clone); on the site it is a page."""
    return markdown.replace("](../README.md)", "](readme.md)") if page.file.src_uri == "spec.md" else markdown

"""LaTeX to something a browser shows without network or JavaScript.

First choice: MathML (``latex2mathml``, pure Python; Chromium and Firefox render MathML Core natively).
Second: an inline SVG drawn by matplotlib's mathtext (a LaTeX subset, no TeX installation needed). Last:
the LaTeX source itself in ``<code>``, so a formula is never lost. The source is always kept in the
element's ``title`` (hover) and in an ``<annotation encoding="application/x-tex">`` where MathML is used.
"""

from __future__ import annotations

import html
import io
import itertools
import re

from ._svg import inline_svg

__all__ = ["latex_to_html", "backend", "DELIMITERS"]

_SVG_IDS = itertools.count()  # mathtext SVGs repeat glyph ids: each formula gets its own prefix

# latex2mathml writes a sized delimiter (``\Big\langle``, ``\bigl\lVert``) as its raw LaTeX name inside <mo>;
# a browser then shows the text "\langle". These are the characters the names stand for.
DELIMITERS = {
    r"\langle": "\u27e8", r"\rangle": "\u27e9", r"\lVert": "\u2016", r"\rVert": "\u2016", r"\Vert": "\u2016",
    r"\|": "\u2016", r"\lvert": "|", r"\rvert": "|", r"\vert": "|", r"\{": "{", r"\}": "}", r"\lbrace": "{",
    r"\rbrace": "}", r"\lfloor": "\u230a", r"\rfloor": "\u230b", r"\lceil": "\u2308", r"\rceil": "\u2309",
    r"\lbrack": "[", r"\rbrack": "]",
}
_RAW_COMMAND = re.compile(r">([^<]*\\[A-Za-z|{}][^<]*)<")


class UnrenderedCommand(ValueError):
    """The MathML still holds a LaTeX command as text (latex2mathml passed it through)."""


def backend() -> str:
    """Which renderer is available: ``latex2mathml``, ``mathtext`` or ``code``."""
    try:
        import latex2mathml.converter  # noqa: F401

        return "latex2mathml"
    except ImportError:
        return "mathtext"


def _mathml(tex: str, display: bool) -> str:
    from latex2mathml.converter import convert

    markup = convert(tex, display="block" if display else "inline")
    markup = re.sub(r"(<mo[^>]*>)(\\(?:[A-Za-z]+|[|{}]))(</mo>)",
                    lambda m: m.group(1) + html.escape(DELIMITERS.get(m.group(2), m.group(2))) + m.group(3), markup)
    leftover = _RAW_COMMAND.search(markup)
    if leftover:
        raise UnrenderedCommand(leftover.group(1))
    # Keep the source inside the MathML (copy/paste, accessibility): <semantics> + <annotation>.
    inner = re.sub(r"^<math[^>]*>|</math>$", "", markup)
    opening = markup[: markup.index(">") + 1]
    return (f'{opening}<semantics>{inner}<annotation encoding="application/x-tex">{html.escape(tex)}'
            f"</annotation></semantics></math>")


def _mathtext_svg(tex: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(0.01, 0.01))
    fig.text(0, 0, f"${tex}$", fontsize=12)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.02, transparent=True)
    finally:
        plt.close(fig)
    return inline_svg(buf.getvalue().decode(), prefix=f"math{next(_SVG_IDS)}-")


def latex_to_html(tex: str, display: bool = True) -> str:
    """HTML for the LaTeX ``tex`` (without ``$`` delimiters); never raises."""
    tex = tex.strip().strip("$").strip()
    title = html.escape(tex, quote=True)
    try:
        if backend() == "latex2mathml":
            return f'<span class="math" title="{title}">{_mathml(tex, display)}</span>'
    except Exception:  # a construct latex2mathml does not know (or left as raw text): fall through
        pass
    try:
        return f'<span class="math svg" title="{title}">{_mathtext_svg(tex)}</span>'
    except Exception:
        return f'<code class="math tex" title="LaTeX source">{html.escape(tex)}</code>'

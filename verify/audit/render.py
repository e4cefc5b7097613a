"""Render an :class:`~verify.audit._types.AuditReport` as ``index.html`` and ``report.md`` (jinja2 templates
under ``verify/audit/templates/``, shipped as package data).

Pure presentation: nothing here decides a status or runs a stage; the templates read the report's objects
(ledger rows, stage results), not the written ``report.json``. ``index.html`` is one self-contained file:
CSS inline, figures inlined as SVG (ids prefixed per figure so that several SVGs cannot clash), mathematics as
MathML (:mod:`verify.audit.mathml`), no script and no external reference.

Layout: the ledger table, the stages, one section per claim family (its claims, then its figures), then one
section per stage showing its results (``templates/stages/<name>.html.j2`` / ``.md.j2``; a stage without a
block shows its figures and runs only), then the runs and versions.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import jinja2
from markupsafe import Markup

from solver.trajectory import json_safe

from ._svg import inline_svg
from ._types import STATUSES, AuditReport, Figure
from .ledger import FAMILIES
from . import wording
from .mathml import latex_to_html
from .titles import TITLES

__all__ = ["render_html", "render_markdown", "rerender", "inline_svg", "display_lines", "title_html", "STATUS_COLORS",
           "RENDER_STATE", "markdown_html"]

RENDER_STATE = "report.pickle"  # the pickled AuditReport the runner leaves beside report.json
STATUS_COLORS = {"verified": "#1a7f37", "supported": "#0969da", "refuted": "#cf222e", "open": "#9a6700",
                "irreproducible": "#8250df"}


@dataclass
class FigureView:
    """A figure and its inline SVG (or the reason it could not be read)."""

    figure: Figure
    svg: Markup | None
    error: str | None


def display_lines(tex: str) -> list[str]:
    """A displayed statement split at its top-level ``,\\quad`` separators (outside braces), one identity per
    line: C13's four Gram identities on one line are wider than the page."""
    parts, depth, start, i = [], 0, 0, 0
    sep = r",\quad"
    while i < len(tex):
        ch = tex[i]
        if ch == "\\" and i + 1 < len(tex) and tex[i + 1] in "{}":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and tex.startswith(sep, i) and not tex[i + len(sep):i + len(sep) + 1].isalpha():
            parts.append(tex[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(tex[start:])
    return [p.strip() for p in parts if p.strip()]


def _fmt(value, spec: str = ".3g") -> str:
    """Numbers for people (:func:`verify.audit.wording.value`): ``spec`` format, yes/no, "not measured"."""
    return wording.value(value, spec)


_INLINE_MATH = re.compile(r"\$([^$]+)\$")


def title_html(text: str) -> str:
    """A title with ``$...$`` formulas: the text escaped, each formula as inline MathML."""
    out, last = [], 0
    for m in _INLINE_MATH.finditer(text):
        out.append(html.escape(text[last:m.start()]))
        out.append(latex_to_html(m.group(1), display=False))
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_html(text: str) -> Markup:
    """Markdown (the analyses' own tables, headings, lists and paragraphs, as written for ``report.md`` and the
    README) as HTML, through Python-Markdown with its ``tables`` extension, inside ``<div class="md">`` (whose
    tables scroll sideways instead of widening the page). One source for both renderings: the HTML page shows real
    tables, not the Markdown source in a ``<pre>``."""
    import markdown

    return Markup('<div class="md">' + markdown.markdown(str(text), extensions=["tables"]) + "</div>")


def _finalize(x):
    """What every ``{{ ... }}`` prints: text and markup as they are, any other value through
    :func:`verify.audit.wording.value` (no ``True``, ``None``, ``nan`` or ``[...]`` reaches a page)."""
    if isinstance(x, (str, jinja2.Undefined)):
        return x
    if isinstance(x, float):
        return wording.value(x, ".4g")
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    return wording.value(x)


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("verify.audit", "templates"), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, finalize=_finalize)
    env.filters.update(fmt=_fmt, md=_md, lines=display_lines, reader=wording.reader, floored=wording.floored,
                       yes_no=wording.yes_no, numbers=wording.numbers, recovered=wording.recovered,
                       listing=wording.listing, markdown_html=markdown_html,
                       title_html=lambda text: Markup(title_html(text)),
                       pretty_json=lambda obj, indent=2: json.dumps(json_safe(obj), indent=indent),
                       math=lambda tex, display=True: Markup(latex_to_html(tex, display)))
    env.globals.update(STATUS_COLORS=STATUS_COLORS, STATUSES=STATUSES, TITLES=TITLES)
    return env


def _context(report: AuditReport) -> dict:
    placement: dict[str, str] = {}  # figure id -> the family section that inlines it (first listing)
    for key, family in FAMILIES.items():
        for fid in family["figures"]:
            placement.setdefault(fid, key)
    derivations = report.stage("derivations")
    return {"report": report, "families": FAMILIES, "placement": placement,
            "derivations": derivations.results.by_id() if derivations is not None and derivations.ok else {}}


def render_html(report: AuditReport, out: Path) -> str:
    """The whole ``index.html`` for ``report`` (figure SVGs are read from ``out``)."""
    figures = {}
    for fid, figure in report.figures().items():
        try:
            figures[fid] = FigureView(figure, Markup(inline_svg((Path(out) / figure.path).read_text(),
                                                                prefix=f"{fid}-")), None)
        except OSError as err:
            figures[fid] = FigureView(figure, None, str(err))
    return _environment(autoescape=True).get_template("report.html.j2").render(**_context(report), figures=figures)


def render_markdown(report: AuditReport) -> str:
    """``report.md``: the same sections as the page (LaTeX kept as ``$$...$$``, figures linked)."""
    return _environment(autoescape=False).get_template("report.md.j2").render(**_context(report),
                                                                             figures=report.figures())


def rerender(out: Path) -> AuditReport:
    """Render ``out/index.html`` and ``out/report.md`` again from ``out/report.pickle`` (the objects of a
    finished audit, written by the same code version): a template or wording change is seen in seconds
    instead of after a whole audit. Returns the report."""
    import pickle

    out = Path(out)
    report = pickle.loads((out / RENDER_STATE).read_bytes())
    (out / "index.html").write_text(render_html(report, out))
    (out / "report.md").write_text(render_markdown(report))
    return report


if __name__ == "__main__":  # python -m verify.audit.render OUT
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m verify.audit.render OUT  (a finished audit folder holding report.pickle)")
    rerender(Path(sys.argv[1]))
    print(f"rendered {Path(sys.argv[1]) / 'index.html'} and report.md again from {RENDER_STATE}")

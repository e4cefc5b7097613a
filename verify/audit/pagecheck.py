"""Checks of a rendered ``index.html`` as a reader meets it.

:func:`repr_problems` (pure HTML parsing, always available): visible text that still looks like a Python
literal (``True``, ``None``, ``nan``, ``{'``, ``[True``, an empty ``claims: ]`` slot, a negative loss of order
1e-16), from :data:`verify.audit.wording.REPR`. Code, preformatted blocks and the LaTeX source kept inside
MathML are not prose and are skipped.

:func:`layout_problems` (needs headless Chromium): at each window width, every formula box, figure, figure SVG,
table and preformatted block must fit inside its container and the window; a formula wider than its box
must scroll inside it (``overflow-x: auto``), never spill. Measured by Chromium on a copy of the page with one
measuring script appended (the report itself has none).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Sequence

from .wording import repr_fragments

__all__ = ["visible_text", "repr_problems", "markdown_repr_problems", "layout_problems", "find_chromium",
           "MEASURE_SCRIPT", "WIDTHS"]

WIDTHS = (900, 1280)
_SKIP = {"script", "style", "pre", "code", "annotation", "title", "kbd", "samp"}
_VOID = {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "param", "source", "track",
         "wbr"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.skip = 0
        self.nodes: list[tuple[str, str]] = []  # (where: nearest id, text)
        self.ids: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            return
        self.stack.append(tag)
        self.ids.append(dict(attrs).get("id"))
        if tag in _SKIP:
            self.skip += 1

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in _VOID or tag not in self.stack:
            return
        while self.stack:  # close anything left open inside it
            top = self.stack.pop()
            self.ids.pop()
            if top in _SKIP:
                self.skip -= 1
            if top == tag:
                break

    def handle_data(self, data):
        if self.skip or not data.strip():
            return
        where = next((i for i in reversed(self.ids) if i), "page")
        self.nodes.append((where, data))


def visible_text(html: str) -> list[tuple[str, str]]:
    """The page's visible text nodes as ``(nearest element id, text)``."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser.nodes


def repr_problems(html: str) -> list[str]:
    """One line per visible text node that looks like a Python repr: ``id: fragment in "text"``."""
    problems = []
    nodes = visible_text(html)
    # A literal can be split over adjacent nodes (e.g. "claims: " and "]" around markup): check each node
    # and each node joined with its successor.
    for k, (where, text) in enumerate(nodes):
        joined = text + (nodes[k + 1][1] if k + 1 < len(nodes) and nodes[k + 1][0] == where else "")
        for fragment in dict.fromkeys(repr_fragments(text) or repr_fragments(joined)):
            snippet = " ".join(joined.split())
            problems.append(f"{where}: {fragment!s} in \"{snippet[:160]}\"")
    return list(dict.fromkeys(problems))


def markdown_repr_problems(markdown: str) -> list[str]:
    """:func:`repr_problems` for ``report.md``: prose lines only (code blocks, inline code and ``$...$`` /
    ``$$...$$`` mathematics removed)."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\$[^$\n]*\$", "", text)
    return [f"line {n}: {', '.join(found)} in \"{line.strip()[:160]}\"" for n, line in enumerate(text.splitlines(), 1)
            if (found := repr_fragments(line))]


MEASURE_SCRIPT = r"""
<script>
(function () {
  var out = [];
  var win = document.documentElement.clientWidth;
  function name(el) {
    var holder = el.closest('[id]');
    var cls = el.className && el.className.baseVal === undefined ? '.' + String(el.className).split(' ')[0] : '';
    return el.tagName.toLowerCase() + cls + ' in #' + (holder ? holder.id : 'page');
  }
  if (document.documentElement.scrollWidth > win + 1) {
    out.push('page: ' + document.documentElement.scrollWidth + ' px wide in a ' + win + ' px window');
  }
  var boxes = document.querySelectorAll('.formula, figure, figure > svg, table, pre, .claim, details, figcaption');
  boxes.forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) { return; }  // inside a closed <details>
    var p = el.parentElement.getBoundingClientRect();
    if (r.right > p.right + 1 || r.left < p.left - 1) {
      out.push(name(el) + ': ' + Math.round(r.width) + ' px box in a ' + Math.round(p.width) + ' px container');
    } else if (r.right > win + 1) {
      out.push(name(el) + ': ends at ' + Math.round(r.right) + ' px in a ' + win + ' px window');
    }
  });
  document.querySelectorAll('.formula').forEach(function (el) {
    var style = getComputedStyle(el);
    var scrolls = style.overflowX === 'auto' || style.overflowX === 'scroll';
    if (el.scrollWidth > el.clientWidth + 1 && !scrolls) {
      out.push(name(el) + ': content ' + el.scrollWidth + ' px spills out of a ' + el.clientWidth + ' px box');
    }
  });
  var pre = document.createElement('pre');
  pre.id = 'layout-problems';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def find_chromium() -> str | None:
    """A headless-capable Chromium on this machine, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _offline_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def layout_problems(page: Path | str, widths: Sequence[int] = WIDTHS, chromium: str | None = None,
                    timeout: float = 120.0) -> dict[int, list[str]]:
    """For each window width, what overflows on ``page`` (a rendered ``index.html``; figures are inline, so the
    copy measured may live elsewhere). Raises ``RuntimeError`` when Chromium is missing or reports nothing."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise RuntimeError("no chromium found")
    html = Path(page).read_text()
    html = html.replace("</body>", MEASURE_SCRIPT + "</body>") if "</body>" in html else html + MEASURE_SCRIPT
    results: dict[int, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="pagecheck-") as tmp:
        probe = Path(tmp) / "measure.html"
        probe.write_text(html)
        for width in widths:
            command = _offline_prefix() + [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                "--no-first-run", f"--user-data-dir={Path(tmp) / f'profile-{width}'}",
                f"--window-size={width},2000", "--dump-dom", probe.resolve().as_uri()]
            proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
            found = re.search(r'<pre id="layout-problems">(.*?)</pre>', proc.stdout, flags=re.S)
            if not found:
                raise RuntimeError(f"chromium measured nothing at {width} px: {proc.stderr[-1500:]}")
            text = found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            results[width] = json.loads(text)
    return results

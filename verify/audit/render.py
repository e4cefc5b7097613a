"""Render a finished audit report (the ``report.json`` dict) as ``index.html`` and ``report.md``.

Pure presentation: nothing here decides a status or runs a stage. ``index.html`` is one self-contained
file: CSS inline, figures inlined as SVG (ids prefixed per figure so that several SVGs cannot clash),
mathematics as MathML (see :mod:`verify.audit.mathml`), no script and no external reference.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from .ledger import FAMILIES
from ._svg import inline_svg
from .mathml import latex_to_html

__all__ = ["render_html", "render_markdown", "inline_svg"]

_STATUS_COLORS = {"verified": "#1a7f37", "supported": "#0969da", "refuted": "#cf222e", "open": "#9a6700"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1200px; margin: 1.5em auto;
       padding: 0 1em; color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { border: 1px solid #d0d7de; padding: .35em .5em; vertical-align: top; text-align: left; }
th { background: #f6f8fa; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85em; }
pre { background: #f6f8fa; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.status { font-weight: 600; color: #fff; border-radius: 3px; padding: .05em .45em; white-space: nowrap; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { font-size: .85em; color: #57606a; }
.math svg { vertical-align: middle; } .steps li { margin: .4em 0; padding: .2em 0; overflow-x: auto; overflow-y: hidden; }
.claim { border-left: 3px solid #d0d7de; padding-left: 1em; margin: 1.2em 0; }
.failed { color: #cf222e; font-weight: 600; } .muted { color: #57606a; }
"""


def _status(status: str) -> str:
    color = _STATUS_COLORS.get(status, "#57606a")
    return f'<span class="status" style="background:{color}">{html.escape(status)}</span>'


def _esc(value) -> str:
    return html.escape(str(value))


def _figures_by_id(report: dict) -> dict[str, dict]:
    return {f["id"]: f for stage in report["stages"] for f in stage["figures"]}


def _figure_html(figure: dict, out: Path) -> str:
    path = out / figure["path"]
    try:
        svg = inline_svg(path.read_text(), prefix=f"{figure['id']}-")
    except OSError as err:
        svg = f'<p class="failed">figure file missing: {_esc(err)}</p>'
    return (f'<figure id="fig-{_esc(figure["id"])}">{svg}<figcaption><b>{_esc(figure["title"])}.</b> '
            f'{_esc(figure["caption"])} <span class="muted">[figure id: {_esc(figure["id"])}; claims: '
            f'{_esc(", ".join(figure["claims"]))}]</span></figcaption></figure>')


def _derivations(report: dict) -> dict[str, dict]:
    for stage in report["stages"]:
        if stage["name"] == "derivations" and stage["status"] == "ok":
            return {c.get("id"): c for c in stage["results"].get("claims", [])}
    return {}


def _claim_html(entry: dict, derivation: dict | None) -> str:
    parts = [f'<div class="claim" id="claim-{_esc(entry["id"])}"><h3>{_esc(entry["id"])} — {_esc(entry["title"])} '
             f'{_status(entry["status"])}</h3>',
             f'<p><b>Evidence</b> ({_esc(entry["evidence"]["kind"])}): {_esc(entry["evidence"]["summary"])}</p>']
    if entry["evidence"]["details"]:
        parts.append("<ul>" + "".join(f"<li>{_esc(d)}</li>" for d in entry["evidence"]["details"]) + "</ul>")
    if entry.get("counterexample"):
        parts.append(f"<p class='failed'>Counterexample</p><pre>{_esc(json.dumps(entry['counterexample'], indent=2))}"
                     "</pre>")
    if derivation:
        if derivation.get("statement_tex"):
            parts.append(f"<p><b>Statement.</b></p>{latex_to_html(derivation['statement_tex'])}")
        steps = derivation.get("steps") or []
        if steps:
            parts.append("<p><b>Derivation.</b></p><ol class='steps'>"
                         + "".join(f"<li>{latex_to_html(s)}</li>" for s in steps) + "</ol>")
    parts.append(f'<p><b>Reproduce:</b> <code>{_esc(entry["reproduce"])}</code></p></div>')
    return "".join(parts)


def render_html(report: dict, out: Path) -> str:
    """The whole ``index.html`` for ``report`` (figure SVGs are read from ``out``)."""
    figures = _figures_by_id(report)
    derivations = _derivations(report)
    profile = report["profile"]
    head = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>deflation-verify audit ({_esc(profile['name'])})</title><style>{_CSS}</style></head><body>")
    body = ["<h1>Audit: Understanding Deflation Process in Over-parametrized Tensor Decomposition</h1>",
            f"<p class='muted'>Ge, Ren, Wang, Zhou (NeurIPS 2021). Generated {_esc(report['generated'])} by "
            f"<code>{_esc(report['command'])}</code> in {report['wall_seconds']:.0f} s; profile "
            f"<b>{_esc(profile['name'])}</b>: {_esc(profile['description'])}.</p>"]
    counts = {s: sum(e["status"] == s for e in report["ledger"]) for s in _STATUS_COLORS}
    body.append("<h2 id='ledger'>Ledger</h2><p>" + ", ".join(f"{_status(s)} {n}" for s, n in counts.items()) + "</p>")
    rows = "".join(
        f"<tr><td><a href='#claim-{_esc(e['id'])}'>{_esc(e['id'])}</a></td><td>{_esc(e['title'])}</td>"
        f"<td>{_status(e['status'])}</td><td>{_esc(e['evidence']['summary'])}"
        + (f" <span class='muted'>(figures: {_esc(', '.join(e['evidence']['figures']))})</span>"
           if e["evidence"]["figures"] else "")
        + f"</td><td><code>{_esc(e['reproduce'])}</code></td></tr>" for e in report["ledger"])
    body.append(f"<table><thead><tr><th>id</th><th>claim</th><th>status</th><th>evidence</th><th>reproduce</th></tr>"
                f"</thead><tbody>{rows}</tbody></table>")
    body.append("<p class='muted'>verified: a symbolic derivation passed (sympy, 50-digit mpmath and the solver's own "
                "code); supported: numeric evidence agrees; refuted: a check in the claim's regime failed "
                "(counterexample shown); open: the evidence is missing or does not decide. The rule for each claim "
                "is in <code>verify/audit/ledger.py</code>.</p>")
    body.append(_stages_html(report))
    shown: set[str] = set()
    for key, family in FAMILIES.items():
        body.append(f"<h2 id='family-{key}'>{_esc(family['title'])}</h2>")
        for entry in report["ledger"]:
            if entry["family"] == key:
                body.append(_claim_html(entry, derivations.get(entry["id"])))
        for fid in family["figures"]:
            if fid in shown:  # each figure is inlined once; later sections link to it
                body.append(f"<p>See <a href='#fig-{_esc(fid)}'>figure {_esc(fid)}</a> above.</p>")
            elif fid in figures:
                shown.add(fid)
                body.append(_figure_html(figures[fid], out))
            else:
                shown.add(fid)
                body.append(f"<p class='muted' id='fig-{_esc(fid)}'>Figure <b>{_esc(fid)}</b> not produced: its "
                            "stage did not finish (see Stages).</p>")
    body.append(_runs_html(report))
    body.append("</body></html>")
    return head + "\n".join(body) + "\n"


def _stages_html(report: dict) -> str:
    rows = []
    for s in report["stages"]:
        status = s["status"] if s["status"] == "ok" else f"<span class='failed'>{_esc(s['status'])}</span>"
        extra = _esc(s["error"]) if s["error"] else "; ".join(_esc(n) for n in s["notes"])
        rows.append(f"<tr><td>{_esc(s['name'])}</td><td>{_esc(s['title'])}</td><td>{status}</td>"
                    f"<td>{s['seconds']:.1f}</td><td>{extra}</td></tr>")
    adds = report["profile"].get("adds_over_quick") or []
    full = ("<p><b>What <code>--profile full</code> adds:</b></p><ul>" + "".join(f"<li>{_esc(a)}</li>" for a in adds)
            + "</ul>") if adds else ""
    return (f"<h2 id='stages'>Stages</h2><table><thead><tr><th>stage</th><th>what</th><th>status</th><th>s</th>"
            f"<th>error / notes</th></tr></thead><tbody>{''.join(rows)}</tbody></table>{full}")


def _runs_html(report: dict) -> str:
    rows = []
    for s in report["stages"]:
        for r in s["runs"]:
            rows.append(f"<tr><td>{_esc(r['label'])}</td><td>{_esc(r['seeds'])}</td><td>{r['seconds']:.1f}</td>"
                        f"<td><code>{_esc(r['command'])}</code><details><summary>configuration</summary><pre>"
                        f"{_esc(json.dumps({'config': r['config'], 'ground_truth': r['ground_truth']}, indent=1))}"
                        f"</pre></details></td></tr>")
    versions = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in report["versions"].items())
    return (f"<h2 id='runs'>Runs and versions</h2><table><thead><tr><th>run</th><th>seeds</th><th>s</th>"
            f"<th>command and configuration</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<table style='margin-top:1em'><tbody>{versions}</tbody></table>"
            f"<p class='muted'>Machine-readable: <code>report.json</code> (schema <code>report.schema.json</code>).</p>")


def render_markdown(report: dict) -> str:
    """``report.md``: the ledger table, the stages, then one section per family (LaTeX kept as ``$$...$$``)."""
    figures = _figures_by_id(report)
    derivations = _derivations(report)
    lines = ["# Audit: Understanding Deflation Process in Over-parametrized Tensor Decomposition", "",
             f"Generated {report['generated']} by `{report['command']}` in {report['wall_seconds']:.0f} s; "
             f"profile **{report['profile']['name']}**: {report['profile']['description']}.", "", "## Ledger", "",
             "| id | claim | status | evidence | reproduce |", "|----|----|----|----|----|"]
    for e in report["ledger"]:
        lines.append(f"| {e['id']} | {_md(e['title'])} | **{e['status']}** | {_md(e['evidence']['summary'])} | "
                     f"`{e['reproduce']}` |")
    lines += ["", "## Stages", "", "| stage | status | s | error / notes |", "|----|----|----|----|"]
    for s in report["stages"]:
        lines.append(f"| {s['name']} | {s['status']} | {s['seconds']:.1f} | {_md(s['error'] or '; '.join(s['notes']))} |")
    for key, family in FAMILIES.items():
        lines += ["", f"## {family['title']}"]
        for e in report["ledger"]:
            if e["family"] != key:
                continue
            lines += ["", f"### {e['id']} — {e['title']} ({e['status']})", "", f"Evidence: {e['evidence']['summary']}"]
            lines += [f"- {d}" for d in e["evidence"]["details"]]
            if e.get("counterexample"):
                lines += ["", "Counterexample:", "", "```json", json.dumps(e["counterexample"], indent=2), "```"]
            d = derivations.get(e["id"])
            if d:
                if d.get("statement_tex"):
                    lines += ["", "$$" + d["statement_tex"] + "$$"]
                for i, step in enumerate(d.get("steps") or [], 1):
                    lines += ["", f"{i}. $${step}$$"]
            lines += ["", f"Reproduce: `{e['reproduce']}`"]
        for fid in family["figures"]:
            if fid in figures:
                f = figures[fid]
                lines += ["", f"![{f['title']}]({f['path']})", "", f"*{f['title']}.* {f['caption']}"]
    lines += ["", "## Versions", ""] + [f"- {k}: {v}" for k, v in report["versions"].items()]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")

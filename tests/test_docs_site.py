"""The documentation site builds with warnings as errors, and its API reference documents every public name.

The build runs ``mkdocs build --strict`` with the repository's own ``mkdocs.yml`` on a temporary copy of the
sources with one broken cross-reference added (the build must fail on it and only on it), with the tutorial's
execution switched off (``DOCS_EXECUTE=false``): ``tests/test_tutorial.py`` executes it once.
The public names are computed here independently of the generator (``__all__``, public subpackages that declare
one, and for a package without ``__all__`` its public submodules that declare one), so a generator that drops
a name fails this test.
"""

from __future__ import annotations

import dataclasses
import html
import importlib
import importlib.util
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("solver", "verify", "proofs_check")
GEN_REF = ROOT / "docs" / "_build_tools" / "gen_ref.py"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                                reason="mkdocs is not installed (`make install` installs the docs extra)")


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCS_EXECUTE": "false", "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          cwd=config.parent, env=env, capture_output=True, text=True, timeout=600)


BROKEN = "solver.no_such_function"


@pytest.fixture(scope="module")
def strict_build(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """One build of a copy of the site's sources with one deliberately broken cross-reference added: the build
    must fail on that warning and on nothing else (one build instead of two: the pages are still written)."""
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(ROOT / "docs", src / "docs")
    shutil.copy(ROOT / "mkdocs.yml", src / "mkdocs.yml")
    shutil.copy(ROOT / "README.md", src / "README.md")
    # The README's figures come from the evidence store (its rows are not needed to build the site).
    shutil.copytree(ROOT / "evidence", src / "evidence", ignore=shutil.ignore_patterns("runs"))
    page = src / "docs" / "how-to" / "index.md"
    page.write_text(page.read_text() + f"\nA deliberately broken reference: [`solve`][{BROKEN}].\n")
    return _build(src / "mkdocs.yml", src / "site"), src / "site"


@pytest.fixture(scope="module")
def site(strict_build) -> Path:
    return strict_build[1]


def _public(module_name: str) -> dict[str, object]:
    """``{dotted public name: object}`` under ``module_name``, recursing into exported submodules."""
    module = importlib.import_module(module_name)
    declared = getattr(module, "__all__", None)
    names = list(declared or [])
    for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
        if info.name.startswith("_") or info.name in names or (declared is not None and not info.ispkg):
            continue
        if getattr(importlib.import_module(f"{module_name}.{info.name}"), "__all__", None) is not None:
            names.append(info.name)
    found: dict[str, object] = {}
    for name in names:
        obj = getattr(module, name)
        if isinstance(obj, types.ModuleType):
            found.update(_public(obj.__name__))
        else:
            found[f"{module_name}.{name}"] = obj
    return found


def _page(site: Path, module_name: str) -> str:
    return (site / "reference" / module_name / "index.html").read_text()


def _text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def _words(text: str) -> str:
    """The plain words of ``text`` (three letters or more), markup, math and punctuation dropped."""
    return " ".join(re.findall(r"[A-Za-z]{3,}", text))


def _first_words(doc: str, n: int = 4) -> str:
    """The first ``n`` plain words of a docstring's first line (a Sphinx role's name is not shown on the page)."""
    line = re.sub(r":[a-z]+(?::[a-z]+)?:`", "`", doc.strip().splitlines()[0])
    return " ".join(_words(line).split()[:n])


def test_the_site_has_every_page_and_its_math_rendered(site: Path):
    for page in ("index.html", "getting-started/index.html", "tutorial/index.html", "spec/index.html",
                 "sweeps/index.html", "readme/index.html", "reference/index.html", "reference/cli/index.html",
                 "explanation/claims/index.html", "how-to/sweep-on-a-cluster/index.html"):
        assert (site / page).is_file(), page
    # The math is rendered at build time (MathML), not left as LaTeX for a script that may not load.
    gram = (site / "explanation" / "gram-form" / "index.html").read_text()
    assert gram.count("<math") > 10 and "\\(" not in gram


def test_every_public_name_is_in_the_reference_with_its_docstring(site: Path):
    assert _public("solver")["solver.RunSpec"].__name__ == "RunSpec"
    missing, undocumented = [], []
    for package in PACKAGES:
        for dotted, obj in _public(package).items():
            module_name, name = dotted.rsplit(".", 1)
            page = _page(site, module_name)
            if f'id="{dotted}"' not in page:
                missing.append(dotted)
                continue
            doc = obj.__doc__ if isinstance(obj, (type, types.FunctionType)) else None
            if doc and _first_words(doc) and _first_words(doc) not in _words(_text(page)):
                undocumented.append(dotted)
    assert missing == [], missing
    assert undocumented == [], undocumented


def test_the_cli_reference_shows_every_subcommand(site: Path):
    from verify.cli import COMMANDS

    text = _text((site / "reference" / "cli" / "index.html").read_text())
    for command in COMMANDS:
        assert f"deflation {command}" in text and f"usage: deflation {command}" in text, command


def _gen_ref():
    spec = importlib.util.spec_from_file_location("gen_ref", GEN_REF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines the functions; main() runs only under mkdocs-gen-files
    return module


def test_a_public_name_without_a_docstring_is_reported(monkeypatch):
    gen_ref = _gen_ref()
    fake = types.ModuleType("fake_public")

    def documented() -> None:
        """Has one."""

    def bare() -> None:
        pass

    @dataclasses.dataclass
    class Record:  # a dataclass without a docstring gets its signature as __doc__
        x: int = 0

    fake.__all__ = ["documented", "bare", "Record", "CONSTANT"]
    fake.documented, fake.bare, fake.Record, fake.CONSTANT = documented, bare, Record, 3
    monkeypatch.setitem(sys.modules, "fake_public", fake)
    assert gen_ref.undocumented(fake) == ["bare", "Record"]


def test_the_pending_docstrings_are_still_missing():
    """An exemption ends when its docstring is written: remove the name from PENDING_DOCSTRINGS then."""
    gen_ref = _gen_ref()
    for dotted in gen_ref.PENDING_DOCSTRINGS:
        module_name, name = dotted.rsplit(".", 1)
        assert name in gen_ref.undocumented(importlib.import_module(module_name)), dotted


def test_the_build_fails_on_a_broken_reference_and_on_nothing_else(strict_build):
    result, _ = strict_build
    log = result.stdout + result.stderr
    warnings = [line for line in log.splitlines() if line.startswith("WARNING")]
    assert result.returncode != 0 and "Aborted with 1 warnings in strict mode" in log, log[-3000:]
    assert len(warnings) == 1 and BROKEN in warnings[0], warnings


def test_restructuredtext_in_docstrings_reads_as_markdown():
    spec = importlib.util.spec_from_file_location("sphinx_roles", ROOT / "docs" / "_build_tools" / "sphinx_roles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    doc = ("See :class:`~solver.RunSpec` and :meth:`.key`.\n\n"
           "====  =========\nid    what\n====  =========\nP1    :class:`DeflationOrder`\n      continued\n"
           "P9    a | b\n====  =========\n\nAfter.")
    text = module.markdown_friendly(doc)
    assert text.startswith("See `solver.RunSpec` and `key`.")
    assert "| id | what |\n|---|---|\n| P1 | `DeflationOrder` continued |\n| P9 | a \\| b |" in text
    assert text.endswith("After.") and ":class:" not in text and "====" not in text


def test_the_claims_page_has_a_row_for_every_ledger_id():
    text = (ROOT / "docs" / "explanation" / "claims.md").read_text()
    for claim in [f"P{i}" for i in range(1, 13)] + [f"C{i}" for i in range(1, 15)]:
        assert re.search(rf"^\| {claim} \|", text, flags=re.M), claim

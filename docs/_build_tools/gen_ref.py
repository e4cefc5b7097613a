"""Generate the API reference and the command-line reference while ``mkdocs build`` runs (mkdocs-gen-files).

The pages follow the code: every public package's ``__all__`` decides what is documented, so a name that is
added, moved to another module or removed changes the reference without editing these pages. ``solver`` and
``proofs_check`` are documented from their ``__all__``; ``verify`` declares none, so its public names are its
public submodules that declare an ``__all__`` (a name that is itself a submodule is documented on a page of its
own, recursively). A public class or function without a docstring is logged as a warning, which fails
``mkdocs build --strict``.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import logging
import os
import pkgutil
import re
import sys
import types
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # document the checkout being built, not another install of the package
    sys.path.insert(0, str(ROOT))

# A logger under "mkdocs." counts towards --strict: a public name without a docstring fails the build.
log = logging.getLogger("mkdocs.plugins.gen_ref")

PACKAGES = ("solver", "verify", "proofs_check")
# Public functions whose docstring is still to be written by the module's owner: logged, not failed, until then.
# tests/test_docs_site.py fails once one of them has a docstring, so the list can only shrink.
PENDING_DOCSTRINGS: frozenset[str] = frozenset()
SUMMARY = {"solver": "The solver: RunSpec, solve, Trajectory",
           "verify": "verify: checkers, sweeps, baselines, audit",
           "proofs_check": "proofs_check: the symbolic claims C1-C14"}


def exported_names(module: types.ModuleType) -> list[str]:
    """The public names of ``module``: its ``__all__``, then (a package) its public subpackages that declare an
    ``__all__`` (``solver.precision``); a package without ``__all__`` exports its public submodules that declare
    one (``verify``)."""
    names = getattr(module, "__all__", None)
    found = [] if names is None else list(names)
    if not hasattr(module, "__path__"):
        return found
    for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name in found or (names is not None and not info.ispkg):
            continue
        sub = importlib.import_module(f"{module.__name__}.{info.name}")
        if getattr(sub, "__all__", None) is not None:
            found.append(info.name)
    return found


def defining_path(module: types.ModuleType, name: str, obj: object) -> str:
    """The dotted path mkdocstrings should load for ``module.name``: where a class or function is defined, else
    the module (of the package) whose namespace holds the very object, the deepest one (the definition)."""
    owner, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if isinstance(obj, (type, types.FunctionType)) and owner and qualname and "<" not in qualname:
        return f"{owner}.{qualname}"
    holders = [m for m_name, m in list(sys.modules.items())
               if m is not None and (m_name == module.__name__ or m_name.startswith(module.__name__ + "."))
               and vars(m).get(name) is obj]
    holders.sort(key=lambda m: m.__name__.count("."), reverse=True)
    return f"{holders[0].__name__}.{name}" if holders else f"{module.__name__}.{name}"


def needs_docstring(obj: object) -> bool:
    return isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType))


def undocumented(module: types.ModuleType) -> list[str]:
    """The exported classes and functions of ``module`` without a docstring (data and submodules excepted)."""
    missing = []
    for name in exported_names(module):
        obj = getattr(module, name)
        doc = (vars(obj).get("__doc__") if isinstance(obj, type) else obj.__doc__) or ""
        # A dataclass without a docstring gets its signature as one ("Name(field=...)"): that is not documentation.
        if needs_docstring(obj) and (not doc.strip() or doc.startswith(f"{obj.__name__}(")):
            missing.append(name)
    return missing


def module_page(module_name: str, pages: list[tuple[str, str, int]], depth: int = 0) -> dict[str, str]:
    """Write ``reference/<module_name>.md``; returns ``{public name: documented path}`` (recursing into
    submodules)."""
    module = importlib.import_module(module_name)
    doc = inspect.getdoc(module) or ""
    if not doc:
        log.warning("%s: the module has no docstring", module_name)
    names = exported_names(module)
    for name in undocumented(module):
        report = log.info if f"{module_name}.{name}" in PENDING_DOCSTRINGS else log.warning
        report("%s.%s: a public class or function without a docstring", module_name, name)
    documented: dict[str, str] = {}
    lines = [f"# `{module_name}`", "", f"::: {module_name}", "    options:", "      members: false",
             "      show_root_heading: false", "      show_root_toc_entry: false", ""]
    submodules = []
    body = []
    for name in names:
        obj = getattr(module, name)
        if isinstance(obj, types.ModuleType):
            submodules.append(obj.__name__)
            continue
        path = defining_path(module, name, obj)
        documented[f"{module_name}.{name}"] = path
        # The public name as an anchor too: [RunSpec][solver.RunSpec] links here whichever module defines it.
        body += [f"[](){{#{module_name}.{name}}}", f"::: {path}", "    options:", f"      heading: \"{name}\"",
                 "      show_root_heading: true", "      show_root_full_path: false",
                 ""]
    if submodules:
        lines += ["Submodules: " + ", ".join(f"[`{s}`]({s}.md)"
                                               for s in submodules), ""]
    lines += body
    pages.append((module_name, f"reference/{module_name}.md", depth))
    with mkdocs_gen_files.open(f"reference/{module_name}.md", "w") as fh:
        fh.write("\n".join(lines))
    mkdocs_gen_files.set_edit_path(f"reference/{module_name}.md", module_name.replace(".", "/") + ".py")
    for sub in submodules:
        documented[sub] = sub
        documented.update(module_page(sub, pages, depth + 1))
    return documented


def cli_page() -> None:
    """``reference/cli.md``: ``deflation --help`` and every subcommand's help, as the parser prints them."""
    from verify import cli

    os.environ["COLUMNS"] = "80"  # argparse wraps to the terminal width: the code column's width, on every machine
    out = ["# The `deflation` command line", "",
           "Generated from the parser (`verify.cli`), so every flag and default shown here is the one the "
           "installed command accepts. Flags are never abbreviated; bad input is one line naming the "
           "parameter, exit code 2.", ""]
    for command in [None, *cli.COMMANDS]:
        argv = ["--help"] if command is None else [command, "--help"]
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
            cli.main(argv)
        text = buffer.getvalue().rstrip()
        if not text:
            log.warning("deflation %s --help printed nothing", command)
        out += [f"## `deflation {command}`" if command else "## `deflation`", "", "```text", text, "```", ""]
    with mkdocs_gen_files.open("reference/cli.md", "w") as fh:
        fh.write("\n".join(out))


def readme_page() -> None:
    """``readme.md``: the README as a page (the specification cites its findings), its links made site-relative."""
    text = (ROOT / "README.md").read_text()
    text = re.sub(r"\]\(docs/([^)]+)\)", r"](\1)", text)  # docs/spec.md -> spec.md: the same page on the site
    with mkdocs_gen_files.open("readme.md", "w") as fh:
        fh.write(text)
    # The figures it links (the evidence store's) are copied beside it, so the page shows what the README shows.
    for target in sorted(set(re.findall(r"\]\(([^)#:\s]+\.(?:png|svg))\)", text))):
        source = ROOT / target
        if source.is_file():
            with mkdocs_gen_files.open(target, "wb") as fh:
                fh.write(source.read_bytes())
    mkdocs_gen_files.set_edit_path("readme.md", "../README.md")


def main() -> None:
    readme_page()
    pages: list[tuple[str, str, int]] = []
    documented: dict[str, str] = {}
    for package in PACKAGES:
        documented.update(module_page(package, pages))
    cli_page()
    index = ["# API reference", "",
             "Generated from each package's `__all__` at build time: what a package exports is what is "
             "documented here, with the docstring it carries. The command line is on [its own page](cli.md).", "",
             "| package | what it holds |", "|---|---|"]
    index += [f"| [`{p}`]({p}.md) | {SUMMARY[p]} |" for p in PACKAGES]
    index += ["", "Every documented name, and where it is defined:", "", "| public name | defined in |", "|---|---|"]
    index += [f"| `{name}` | `{path}` |" for name, path in sorted(documented.items())]
    with mkdocs_gen_files.open("reference/index.md", "w") as fh:
        fh.write("\n".join(index) + "\n")
    nav = ["* [Overview](index.md)", "* [Command line](cli.md)"]
    nav += [f"{'    ' * depth}* [{name}]({Path(path).name})" for name, path, depth in pages]
    with mkdocs_gen_files.open("reference/SUMMARY.md", "w") as fh:
        fh.write("\n".join(nav) + "\n")


if __name__ in {"__main__", "<run_path>"}:  # mkdocs-gen-files runs the file; the tests import its functions
    main()

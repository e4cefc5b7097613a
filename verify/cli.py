"""The ``deflation`` command line: a thin layer over library functions.

Each subcommand is a module in :mod:`verify.commands` exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Only the chosen subcommand's module is imported (and
each imports its heavy libraries inside ``run``), so ``deflation --help`` and ``deflation CMD --help`` start
in a fraction of a second. Bad input (a :class:`solver.ValidationError`, or an argparse usage error) prints
one line naming the parameter and exits with code 2, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from typing import Sequence

from solver.errors import ValidationError

# name -> one-line help, so that ``deflation --help`` lists every command without importing any.
COMMANDS = {
    "run": "Run the plain or modified gradient flow on one instance (batched over seeds).",
    "figure1": "Reproduce the paper's Figure 1 (plain flow, 5 seeds, m = 50, norm 1e-15, t <= 100).",
    "derive": "Re-derive claims C1-C13 with sympy and check them symbolically, in mpmath and against the solver.",
    "check": "Check the trajectory invariants on saved runs, or on a random sweep of small instances.",
    "precision": "Run the plain or modified flow at high precision (mpmath, or python-flint when installed).",
    "probe": "The accuracy-frontier campaign: where Theorem 1's eps >= exp(-o(d/log d)) bites (claims P11, P7).",
    "audit": "Run every check and write the audit report (index.html, report.json, report.md).",
    "sweep": "Run a grid of instances on Dask (resumable, Parquet results) and draw phase diagrams.",
    "baselines": "Run the classical methods and the flows side by side on named instances.",
}


class _Parser(argparse.ArgumentParser):
    """No prefix matching (``--seed 3`` is an error, not ``--seeds 3``); errors are one line, exit 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too by default)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _chosen(argv: Sequence[str]) -> str | None:
    for item in argv:
        if not item.startswith("-"):
            return item if item in COMMANDS else None
    return None


def built_commands() -> list[str]:
    """The names of :data:`COMMANDS` whose module exists (found without importing it)."""
    return [name for name in COMMANDS if importlib.util.find_spec(f"verify.commands.{name}") is not None]


def _module(name: str):
    try:
        return importlib.import_module(f"verify.commands.{name}")
    except ModuleNotFoundError as err:
        if err.name == f"verify.commands.{name}":
            return None  # not built yet
        raise


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the subcommand named in ``argv`` gets its flags (None: every subcommand's)."""
    parser = _Parser(prog="deflation", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    chosen = None if argv is None else _chosen(argv)
    built = built_commands()
    for name, help_text in COMMANDS.items():
        if name not in built:
            continue
        if argv is not None and name != chosen:
            sub.add_parser(name, help=help_text, description=help_text)
            continue
        module = _module(name)
        if module is None:
            continue
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run, _flags=_flag_names(command))
    return parser


def _flag_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """dest -> its long flag, to name a library field as the user typed it."""
    return {action.dest: action.option_strings[-1] for action in parser._actions
            if action.option_strings and action.option_strings[-1].startswith("--")}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, extra = build_parser(argv).parse_known_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the parser imports a command's module
        print("deflation: interrupted", file=sys.stderr)
        return 130
    if extra:
        print(f"deflation {args.command}: error: unrecognized arguments: {' '.join(extra)}{_suggest(extra, args)}",
              file=sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except ValidationError as err:
        flag = args._flags.get(err.parameter.lstrip("-").replace("-", "_"))
        if flag is not None and not err.parameter.startswith("--"):
            err = err.renamed(flag)
        print(f"deflation {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file or folder the user named that cannot be read or written
        where = err.filename if err.filename is not None else "file"
        print(f"deflation {args.command}: error: {where}: {err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # One line, no traceback; a command may say how to go on (a sweep resumes where it stopped).
        hint = getattr(sys.modules.get(f"verify.commands.{args.command}"), "INTERRUPTED", "")
        _end_progress()
        print(f"deflation {args.command}: interrupted" + (f"; {hint}" if hint else ""), file=sys.stderr)
        return 130
    finally:
        _end_progress()


def _suggest(extra: Sequence[str], args: argparse.Namespace) -> str:
    """`` (did you mean --seeds or --first-seed?)`` for the first unknown flag, or nothing."""
    import difflib

    flags = sorted(set(getattr(args, "_flags", {}).values()))
    unknown = next((item.split("=")[0] for item in extra if item.startswith("--")), None)
    if unknown is None:
        return ""
    close = [f for f in flags if f.startswith(unknown)] + difflib.get_close_matches(unknown, flags, n=3, cutoff=0.7)
    close = list(dict.fromkeys(close))[:3]
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def _end_progress() -> None:
    """Stop every progress line's heartbeat (a failed or interrupted command leaves none running)."""
    progress = sys.modules.get("verify.progress")
    if progress is not None:
        progress.close_all()


if __name__ == "__main__":
    sys.exit(main())

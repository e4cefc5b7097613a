"""The ``deflation`` command line: a thin layer over library functions.

Each subcommand is a module in :mod:`verify.commands` exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. Bad input (a :class:`solver.ValidationError`,
or an argparse usage error) prints one line naming the parameter and exits with code 2, no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from solver.errors import ValidationError

COMMAND_MODULES = ("run", "figure1", "derive", "check", "precision", "probe", "audit")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too by default)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deflation", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"verify.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"verify.commands.{name}":
                continue  # not built yet
            raise
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except ValidationError as err:
        print(f"deflation {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"deflation {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""CLI start-up: ``deflation --help`` and every ``deflation CMD --help`` in a fresh process (key
``cli_help_seconds``: the slowest of them, best of ``repeat``; target <= 0.5 s).

Each subcommand's module is imported only when chosen, and imports its heavy libraries (torch, scipy, sympy,
matplotlib, dask) inside ``run``; ``tests/test_bad_input.py`` asserts the second part without timing it.
"""

from __future__ import annotations

import subprocess
import sys
import time


def measure(repeat: int = 3) -> dict:
    """``{"cli_help_seconds": worst over commands of the best of repeat, "cli_help_seconds_by_command": {...}}``."""
    from verify.cli import built_commands

    built = built_commands()
    by_command: dict[str, float] = {}
    for argv in [["--help"]] + [[name, "--help"] for name in built]:
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "verify.cli", *argv], check=True, capture_output=True)
            best = min(best, time.perf_counter() - t0)
        by_command[" ".join(argv)] = best
    return {"cli_help_seconds": max(by_command.values()), "cli_help_seconds_by_command": by_command}


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2))

"""A dependency-free progress line for long runs (stderr; redrawn in place on a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``bar(done, total, stage)`` redraws ``[label] stage [###...] done/total xx% elapsed``; silent when disabled.

    ``done``/``total`` is the integration time for a plain run and epochs for Algorithm 1 (the stage
    then names the current time).

    On a terminal the line is redrawn at most 10 times a second; otherwise a line is written at most
    every ``interval`` seconds, so logs of long runs show progress without flooding.
    """

    def __init__(self, label: str, enabled: bool = True, stream: TextIO | None = None, interval: float = 10.0):
        self.label = label
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 0.1 if self.tty else interval
        self.start = time.perf_counter()
        self._last = 0.0
        self._drawn = False

    def __call__(self, t: float, t_end: float, stage: str = "") -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < self.interval and t < t_end:
            return
        self._last = now
        frac = 0.0 if t_end <= 0 else min(1.0, max(0.0, t / t_end))
        filled = int(frac * 24)
        line = (f"[{self.label}] {stage:<22} [{'#' * filled}{'.' * (24 - filled)}] "
                f"{t:.4g}/{t_end:.4g} {100 * frac:5.1f}% {now - self.start:6.1f}s")
        if self.tty:
            self.stream.write("\r" + line)
            self._drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text: str) -> None:
        """A line of its own (e.g. a stage finished)."""
        if not self.enabled:
            return
        if self._drawn:
            self.stream.write("\n")
            self._drawn = False
        self.stream.write(f"[{self.label}] {text}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

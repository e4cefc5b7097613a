"""The progress line of long commands, on stderr: tqdm on a terminal, plain lines in a log.

One small interface, :class:`ProgressBar`, that every command and the audit use; it is the solver's progress
protocol (:class:`solver.driver.Progress`), so a bar is passed straight to ``solve`` and ``RunSpec.solve``:

- ``bar(done, total, stage)``: where the work is. A new ``stage`` (the item now running: a seed, a method on
  an instance, an epoch) is drawn at once, so the line always names the item in progress from its start;
  otherwise redraws are throttled (10 a second on a terminal, one line every ``interval`` seconds in a log).
- a heartbeat: while nothing calls the bar (one item running long, an integrator between two reports), a
  background thread redraws it with the elapsed time (total and of the current item) and the last reported
  position, e.g. the flow's current ``t``, so a silent line means a dead process, not a slow item.
- an ETA only where it is honest: ``eta=True`` (many items of similar cost, e.g. a sweep's runs) and at
  least one item done; never for integration time, whose cost per unit ``t`` varies by orders of
  magnitude. No ``nan``: an unknown estimate is left out.
- ``bar.message(text)``: a line of its own; ``bar.close()`` ends the line and stops the heartbeat (the bar
  can be used again afterwards, as the audit does stage by stage).

:func:`close_all` closes every open bar (the CLI calls it on exit and on Ctrl-C).
"""

from __future__ import annotations

import math
import re
import sys
import threading
import time
import weakref
from typing import TextIO

__all__ = ["ProgressBar", "close_all", "format_seconds", "BEGIN_DELAY"]

BEGIN_DELAY = 1.0  # seconds before the line of begin() is drawn (see ProgressBar.begin)

_OPEN: "weakref.WeakSet[ProgressBar]" = weakref.WeakSet()


def format_seconds(seconds: float) -> str:
    """``75.2`` -> ``"1m15s"``, ``8.04`` -> ``"8.0s"``, ``3725`` -> ``"1h02m"``; ``"?"`` when not finite."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = int(round(seconds))
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _number(x: float) -> str:
    if not math.isfinite(x):
        return "?"
    if float(x).is_integer() and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.4g}"


def _fraction(done: float, total: float) -> float:
    """``done / total`` clipped to [0, 1]; 0 when either is not a finite number or ``total <= 0``."""
    if not (math.isfinite(done) and math.isfinite(total)) or total <= 0:
        return 0.0
    return min(1.0, max(0.0, done / total))


def _item(stage: str) -> str:
    """The item a stage names, without the running time in it (``epoch 3/30 t=1.2e4`` -> ``epoch 3/30``)."""
    return re.sub(r"\bt=\S+", "", stage).strip()


def close_all() -> None:
    """Close every bar still open (its heartbeat stops, its line ends)."""
    for bar in list(_OPEN):
        bar.close()


class ProgressBar:
    """``bar(done, total, stage)`` shows ``[label] stage  done/total  pct  elapsed`` on ``stream`` (stderr).

    ``done``/``total`` is the integration time for a plain run and epochs for Algorithm 1 (the stage then
    names the current time), runs for a sweep, items for the baselines. Disabled: every call is a no-op.

    Args:
        label: the command (``run``, ``baselines``); the audit changes it per stage.
        enabled: False for ``--quiet``.
        stream: where to draw (default ``sys.stderr``: stdout is for results).
        interval: seconds between lines when ``stream`` is not a terminal.
        heartbeat: seconds of silence after which the line is redrawn with the elapsed time (default 1 s on
            a terminal, 30 s in a log).
        eta: show a time-left estimate (items of similar cost only).
    """

    def __init__(self, label: str, enabled: bool = True, stream: TextIO | None = None, interval: float = 10.0,
                 heartbeat: float | None = None, eta: bool = False):
        self.label = label
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 0.1 if self.tty else interval
        self.heartbeat = heartbeat if heartbeat is not None else (1.0 if self.tty else 30.0)
        self.eta = eta
        self.start = time.perf_counter()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tqdm = None
        self._state: tuple[float, float, str] | None = None
        self._stage_start = self.start
        self._first_item: tuple[float, float] | None = None  # (time, done) of the first call with done >= 1
        self._last = 0.0
        self._begun: float | None = None  # begin() was called and its line is not drawn yet

    # ------------------------------------------------------------------------------------------- public
    def __call__(self, done: float, total: float, stage: str = "") -> None:
        if not self.enabled:
            return
        with self._lock:
            now = time.perf_counter()
            new_stage = self._state is None or _item(stage) != _item(self._state[2])
            if new_stage:
                self._stage_start = now
            self._state = (float(done), float(total), str(stage))
            if self._first_item is None and math.isfinite(done) and done >= 1:
                self._first_item = (now, float(done))
            if new_stage or now - self._last >= self.interval or (math.isfinite(total) and done >= total):
                self._draw(now)
            self._ensure_heartbeat()

    def begin(self, stage: str) -> None:
        """Name the work before its first report (a solver may report only after its first span) and start
        the heartbeat, so the line shows the item and its elapsed time from the start. The line is drawn after
        :data:`BEGIN_DELAY` seconds unless a report comes first: bad input found in the first moments then
        prints its one error line alone."""
        if not self.enabled:
            return
        with self._lock:
            now = time.perf_counter()
            self._state = (math.nan, math.nan, str(stage))
            self._stage_start = now
            self._begun = self._last = now
            self._ensure_heartbeat()

    def message(self, text: str) -> None:
        """A line of its own (e.g. a stage finished); the progress line, if any, is redrawn below it."""
        if not self.enabled:
            return
        with self._lock:
            line = f"[{self.label}] {text}"
            if self._tqdm is not None:
                self._tqdm.write(line, file=self.stream)
            else:
                self.stream.write(line + "\n")
                self.stream.flush()

    def close(self) -> None:
        """End the line and stop the heartbeat; a later call starts a new line."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        with self._lock:
            if self._tqdm is not None:
                self._tqdm.close()
                self._tqdm = None
            self._state = None
            self._begun = None
        _OPEN.discard(self)

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ drawing
    def text(self, now: float | None = None) -> str:
        """The current line, without the bar itself (what a log gets)."""
        now = time.perf_counter() if now is None else now
        if self._state is None:
            return f"[{self.label}] {format_seconds(now - self.start)} elapsed"
        done, total, stage = self._state
        frac = _fraction(done, total)
        parts = [f"[{self.label}] {stage}".rstrip()]
        if math.isfinite(total):
            parts.append(f"{_number(done)}/{_number(total)} ({100 * frac:.0f}%)")
        timing = f"{format_seconds(now - self.start)} elapsed"
        if now - self._stage_start >= 2.0 and self._stage_start - self.start >= 1.0:
            timing += f", this item {format_seconds(now - self._stage_start)}"
        left = self._eta(now, done, total)
        if left is not None:
            timing += f", ~{format_seconds(left)} left"
        parts.append(timing)
        return "  ".join(parts)

    def _eta(self, now: float, done: float, total: float) -> float | None:
        if not self.eta or self._first_item is None or not (math.isfinite(done) and math.isfinite(total)) \
                or done >= total:
            return None
        t0, d0 = self._first_item
        if done <= d0 or now <= t0:
            return None
        rate = (done - d0) / (now - t0)
        left = (total - done) / rate
        return left if math.isfinite(left) and left >= 0 else None

    def _draw(self, now: float) -> None:
        self._last = now
        self._begun = None
        line = self.text(now)
        if not self.tty:
            self.stream.write(line + "\n")
            self.stream.flush()
            return
        from tqdm import tqdm

        done, total, _ = self._state if self._state is not None else (0.0, 1.0, "")
        if self._tqdm is None:
            self._tqdm = tqdm(total=1000, file=self.stream, leave=True, dynamic_ncols=True, mininterval=0,
                              bar_format="{bar:16} {desc}")
        self._tqdm.n = int(1000 * _fraction(done, total))
        self._tqdm.set_description_str(line, refresh=False)
        self._tqdm.refresh()

    def _ensure_heartbeat(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        stop = self._stop
        self._thread = threading.Thread(target=self._beat, args=(stop,), name=f"progress-{self.label}", daemon=True)
        self._thread.start()
        _OPEN.add(self)

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(min(self.heartbeat, 0.25)):
            with self._lock:
                now = time.perf_counter()
                if stop.is_set() or self._state is None:
                    continue
                done, total, _ = self._state
                if math.isfinite(total) and done >= total:
                    return  # the work is complete: nothing to beat for (a later call starts a new heartbeat)
                if now - self._last >= self.heartbeat or (
                        self._begun is not None and now - self._begun >= BEGIN_DELAY):
                    self._draw(now)

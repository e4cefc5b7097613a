"""The progress line: the item in progress drawn from its start, a heartbeat while it runs long, no ``nan``,
an ETA only where asked for, stderr by default, and nothing left running after ``close``."""

import io
import sys
import threading
import time

from verify.progress import ProgressBar, close_all, format_seconds


def _lines(stream: io.StringIO) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line]


def test_a_new_item_is_drawn_at_once_even_inside_the_throttle_interval():
    out = io.StringIO()
    bar = ProgressBar("baselines", stream=out, interval=3600.0, heartbeat=3600.0)
    bar(0, 3, "tpm on figure1, seed 0")
    bar(0.5, 3, "tpm on figure1, seed 0")  # same item, inside the interval: not redrawn
    bar(1, 3, "exact_rank_flow on spread, seeds 0-4 (batched)")
    bar.close()
    lines = _lines(out)
    assert len(lines) == 2, lines
    assert "tpm on figure1, seed 0" in lines[0] and "0/3" in lines[0]
    assert "exact_rank_flow on spread" in lines[1] and "1/3" in lines[1]


def test_the_running_time_in_a_stage_is_not_a_new_item():
    out = io.StringIO()
    bar = ProgressBar("run", stream=out, interval=3600.0, heartbeat=3600.0)
    bar(0.1, 30, "epoch 1/30 t=12.5")
    bar(0.2, 30, "epoch 1/30 t=25")
    bar(1.0, 30, "epoch 2/30 t=100")
    bar.close()
    assert len(_lines(out)) == 2


def test_heartbeat_redraws_a_long_item_with_elapsed_time_and_stops_on_close():
    out = io.StringIO()
    bar = ProgressBar("run", stream=out, interval=3600.0, heartbeat=0.2)
    bar(2.47e10, 1e11, "plain flow")
    time.sleep(1.6)
    before_close = len(_lines(out))
    bar.close()
    assert before_close >= 2, out.getvalue()  # the first draw plus at least one heartbeat
    assert all("2.47e+10/1e+11" in line and "elapsed" in line for line in _lines(out))
    time.sleep(0.5)
    assert len(_lines(out)) == before_close  # nothing after close
    assert not any(t.name.startswith("progress-") and t.is_alive() for t in threading.enumerate())


def test_no_nan_and_eta_only_when_asked():
    out = io.StringIO()
    plain = ProgressBar("run", stream=out, interval=0.0, heartbeat=3600.0)
    plain(float("nan"), 100.0, "plain flow")
    plain(0, 0, "")
    plain(50, 100, "plain flow")
    plain.close()
    assert "nan" not in out.getvalue().lower() and "left" not in out.getvalue()

    out = io.StringIO()
    sweep = ProgressBar("sweep", stream=out, interval=0.0, heartbeat=3600.0, eta=True)
    sweep(0, 10, "runs")
    assert "left" not in _lines(out)[-1]  # nothing done yet: no estimate
    sweep(1, 10, "runs")
    time.sleep(0.05)
    sweep(2, 10, "runs")
    sweep.close()
    assert "left" in _lines(out)[-1] and "nan" not in out.getvalue().lower()


def test_default_stream_is_stderr_and_disabled_is_silent(capsys):
    bar = ProgressBar("run")
    bar(1, 2, "plain flow")
    bar.message("done")
    bar.close()
    quiet = ProgressBar("run", enabled=False)
    quiet(1, 2, "plain flow")
    quiet.message("x")
    quiet.close()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("[run]") == 2


def test_a_bar_can_be_reused_after_close_and_close_all_stops_every_heartbeat():
    out = io.StringIO()
    bar = ProgressBar("audit", stream=out, interval=3600.0, heartbeat=0.1)
    bar(1, 2, "stage one")
    bar.close()
    bar(1, 2, "stage two")
    close_all()
    time.sleep(0.3)
    assert not any(t.name.startswith("progress-") and t.is_alive() for t in threading.enumerate())
    assert "stage two" in out.getvalue()


def test_format_seconds():
    assert format_seconds(8.04) == "8.0s"
    assert format_seconds(75.2) == "1m15s"
    assert format_seconds(3725) == "1h02m"
    assert format_seconds(float("nan")) == "?"


def test_a_terminal_gets_a_tqdm_line(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    bar = ProgressBar("run", stream=out, heartbeat=3600.0)
    bar(25, 100, "plain flow")
    bar.close()
    text = out.getvalue()
    assert "\r" in text and "[run] plain flow" in text and "25/100" in text
    assert sys.modules.get("tqdm") is not None


def test_the_heartbeat_ends_by_itself_when_the_work_is_complete():
    out = io.StringIO()
    bar = ProgressBar("run", stream=out, interval=3600.0, heartbeat=0.1)
    bar(100, 100, "plain flow")  # a library caller that never calls close()
    time.sleep(1.5)
    assert not any(t.name == "progress-run" and t.is_alive() for t in threading.enumerate())
    assert len(_lines(out)) == 1
    bar(1, 2, "next")  # used again: a new heartbeat
    assert any(t.name == "progress-run" and t.is_alive() for t in threading.enumerate())
    bar.close()


def test_begin_draws_after_a_moment_unless_the_work_ends_first():
    out = io.StringIO()
    bar = ProgressBar("run", stream=out, interval=3600.0, heartbeat=3600.0)
    bar.begin("plain flow, d=10: starting")
    bar.close()  # bad input found at once: no progress line before the error line
    assert out.getvalue() == ""
    bar.begin("plain flow, d=10: starting")
    time.sleep(1.8)
    bar.close()
    lines = _lines(out)
    assert len(lines) == 1 and "starting" in lines[0] and "elapsed" in lines[0] and "nan" not in lines[0]

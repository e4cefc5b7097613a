"""Ctrl-C: one line on stderr, exit code 130, no traceback (the signal goes to the whole process group, as a
terminal sends it, so a sweep's Dask workers get it too)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_SWEEP = """
name = "tiny"
[grid]
d = [5]
r = [2]
spread = [2.0]
m_over_r = [4]
algorithm = ["plain"]
seeds = 40
[plain]
delta0 = 1e-6
t_max_per_a_min = 200.0
n_save = 16
record_components = false
"""


def _interrupt(argv: list[str], cwd: Path, ready, timeout: float = 120.0) -> tuple[int, str]:
    """Start ``deflation argv`` in its own process group, wait until ``ready(stderr so far)``, send SIGINT to
    the group; return the exit code and stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    err_path = cwd / "stderr.txt"
    with open(err_path, "w") as err, open(cwd / "stdout.txt", "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "verify.cli", *argv], cwd=cwd, env=env, stdout=out,
                                stderr=err, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            deadline = time.monotonic() + timeout
            while not ready(err_path.read_text()):
                assert proc.poll() is None, f"finished before the interrupt: {err_path.read_text()}"
                assert time.monotonic() < deadline, "never got ready"
                time.sleep(0.5)
            os.killpg(proc.pid, signal.SIGINT)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    return code, err_path.read_text()


def test_ctrl_c_in_run_is_one_line_and_exit_130(tmp_path):
    code, err = _interrupt(["run", "--d", "30", "--m", "150", "--ratio", "100", "--basis", "random", "--algorithm",
                            "modified", "--out", "o"], tmp_path, ready=lambda text: "starting" in text)
    assert code == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "deflation run: interrupted"
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_ctrl_c_in_sweep_is_one_line_with_the_resume_hint(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY_SWEEP)
    code, err = _interrupt(["sweep", "tiny.toml", "--out", "s", "--workers", "1"], tmp_path,
                           ready=lambda text: any((tmp_path / "s" / "runs").glob("*.parquet"))
                           if (tmp_path / "s" / "runs").exists() else False, timeout=240.0)
    assert code == 130, err
    assert "Traceback" not in err and "ERROR" not in err, err
    assert err.strip().splitlines()[-1] == (
        "deflation sweep: interrupted; rerun the same command to resume (finished runs are kept)")

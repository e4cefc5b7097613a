"""The CLI: bad input exits 2 with one line and no traceback; run and figure1 write their records."""

import json
import subprocess
import sys

import pytest

from verify.cli import main


@pytest.mark.parametrize("argv,needle", [
    (["run", "--m", "0"], "--m: must be an integer >= 1"),
    (["run", "--delta0", "abc"], "--delta0: must be a number"),
    (["run", "--delta0", "-1"], "delta0: must be a finite number > 0"),
    (["run", "--a", "1,-2"], "--a: must be positive"),
    (["run", "--a", "1,0.5", "--r", "3"], "--r: must be equal to the number of a values"),
    (["run", "--d", "3", "--r", "5"], "r: must be at most d = 3"),
    (["run", "--order", "2"], "--order: must be an integer >= 3"),
    (["run", "--basis", "weird"], "invalid choice"),
    (["run", "--integrator", "euler"], "step: must be a positive number for the fixed-step euler"),
    (["run", "--ratio", "0.5"], "--ratio: must be a finite number >= 1"),
    (["run", "--t-max", "inf"], "--t-max: must be finite"),
])
def test_bad_input_is_one_line_exit_2(argv, needle, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        code = main(argv + ["--out", str(tmp_path / "o"), "--quiet"])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert not (tmp_path / "o").exists()  # nothing written half-way


def test_bad_input_from_a_real_process_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "verify.cli", "run", "--m", "-3", "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_run_writes_record_with_documented_keys(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "--d", "6", "--m", "12", "--seeds", "2", "--t-max", "60", "--n-save", "60",
                 "--out", str(out), "--quiet"])
    assert code == 0
    info = json.loads((out / "run.json").read_text())
    for key in ("discovery_times", "final_residuals", "final_loss", "config", "seeds", "meta", "events"):
        assert key in info
    assert len(info["discovery_times"]) == 2 and len(info["discovery_times"][0]) == 5
    assert info["meta"]["command"].startswith("deflation run")
    assert (out / "trajectory.npz").exists()
    assert "t_disc[1]" in capsys.readouterr().out


def test_figure1_writes_figures_and_summary(tmp_path, monkeypatch):
    from verify import experiments

    original = experiments.figure1_trajectory
    monkeypatch.setattr(experiments, "figure1_trajectory",
                        lambda seeds, device, progress: original(seeds=2, d=7, m=20, t_max=70.0, progress=progress))
    assert main(["figure1", "--out", str(tmp_path), "--quiet"]) == 0
    for name in ("figure1.png", "figure1.svg", "summary.json", "run.json", "trajectory.npz"):
        assert (tmp_path / name).stat().st_size > 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {"seed", "discovery_times", "final_residuals", "final_loss"} <= set(summary["runs"][0])
    times = summary["runs"][0]["discovery_times"]
    assert all(t is not None for t in times) and times == sorted(times)

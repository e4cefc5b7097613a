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


def test_figure1_writes_figures_and_summary(tmp_path):
    assert main(["figure1", "--smoke", "--seeds", "2", "--out", str(tmp_path), "--quiet"]) == 0
    for name in ("figure1.png", "figure1.svg", "summary.json", "run.json", "trajectory.npz"):
        assert (tmp_path / name).stat().st_size > 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert len(summary["runs"]) == 2
    assert {"seed", "discovery_times", "final_residuals", "final_loss"} <= set(summary["runs"][0])
    times = summary["runs"][0]["discovery_times"]
    assert all(t is not None for t in times) and times == sorted(times)
    assert summary["command"].startswith("deflation run --d 6 ")


# ------------------------------------------------------------------------------------------------ traps
def _exit_code(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_an_abbreviated_flag_is_refused_not_guessed(tmp_path, capsys):
    assert _exit_code(["run", "--seed", "3", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "unrecognized arguments: --seed 3" in err and "--seeds" in err
    assert not (tmp_path / "o").exists()
    assert _exit_code(["check", "--sweep", "1", "--algo", "plain"]) == 2  # a prefix of --algorithm
    assert _exit_code(["probe", "--camp", "tiny"]) == 2  # a prefix of --campaign


def test_out_on_a_previous_run_is_refused_without_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "--d", "4", "--r", "2", "--m", "6", "--t-max", "5", "--n-save", "16", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert _exit_code(argv[:-1] + ["--seeds", "2", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched
    assert main(argv[:-1] + ["--seeds", "2", "--quiet", "--overwrite"]) == 0
    assert len(json.loads((out / "run.json").read_text())["seeds"]) == 2
    # an existing folder without results is fine (a fresh tmp folder, a sweep's parent, ...)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(argv[:-3] + ["--out", str(empty), "--quiet"]) == 0


def test_results_on_stdout_progress_on_stderr(tmp_path, capsys):
    assert main(["run", "--d", "4", "--r", "2", "--m", "6", "--t-max", "5", "--n-save", "16",
                 "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    assert "[run] plain flow" in captured.err
    assert "[run]" not in captured.out and "t_disc[1]" in captured.out and "nan" not in captured.err


def test_probe_campaign_progress_goes_to_stderr(tmp_path, capsys):
    out = tmp_path / "frontier"
    assert main(["probe", "--campaign", "tiny", "--limit", "2", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("[probe] ") == 2 and "[probe]" not in captured.out
    assert "2 run(s) written" in captured.out and "family `shifted`" in captured.out
    assert len(list((out / "runs").glob("*.parquet"))) == 2 and (out / "frontier.md").exists()


# ------------------------------------------------------------------------------------- run summary
def test_loss_below_its_floor_prints_as_floor():
    from verify.experiments import format_loss

    assert format_loss(-1.110e-16, 1.2e-15) == "<= floor (1.2e-15)"
    assert format_loss(0.0, 1.2e-15) == "<= floor (1.2e-15)"
    assert format_loss(0.2411, 1.1e-15) == "2.411e-01"


def test_run_summary_names_the_missed_directions(tmp_path, capsys):
    # Figure 1's instance stopped at t = 22: a_1 and a_2 are found (t ~ 17.5, 20.8), a_3..a_5 are not yet.
    assert main(["run", "--d", "6", "--m", "12", "--t-max", "22", "--n-save", "60", "--out", str(tmp_path / "o"),
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if x.startswith("seed 0:")][0]
    assert line.startswith("seed 0: recovered 2/5 directions; missed a_3 = 0.694, a_4 = 0.579, a_5 = 0.482"), line
    import re

    assert re.fullmatch(r"\d\.\d{3}e[-+]\d\d", out.splitlines()[1].split()[-1])  # above its floor: a value


def test_a_fitted_run_prints_its_loss_as_the_floor(tmp_path, capsys):
    assert main(["run", "--d", "4", "--r", "2", "--m", "8", "--t-max", "80", "--n-save", "40",
                 "--out", str(tmp_path / "o"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].endswith(")") and "<= floor (" in out.splitlines()[1], out
    assert "seed 0: recovered 2/2 directions" in out and "missed" not in out


# ------------------------------------------------------------------------------------------ solve(spec)
def test_solve_accepts_a_runspec_and_says_how_when_misused():
    import solver
    from solver.errors import ValidationError
    from solver.spec import RunSpec

    spec = RunSpec.from_argv(["--d", "4", "--r", "2", "--m", "6", "--t-max", "5", "--n-save", "16"])
    trajectory = solver.solve(spec)
    assert trajectory.meta["command"] == spec.command() and trajectory.batch == 1
    with pytest.raises(ValidationError, match=r"spec\.solve\(\)"):
        solver.solve(spec, seeds=[1, 2])
    with pytest.raises(ValidationError, match=r"RunSpec"):
        solver.solve({"d": 4})
    from solver.flow import solve as solve_arrays  # the flow layer takes arrays only: it never imports the spec

    with pytest.raises(ValidationError, match=r"^truths: .*solver\.solve\(spec\) or spec\.solve\(\)"):
        solve_arrays(spec)


# ------------------------------------------------------------------------------------- check --set
def test_check_set_takes_both_spellings_and_says_what_it_changed(tmp_path, capsys):
    from verify.commands.check import parse_overrides

    for name in ("DeflationOrder.rho", "deflation_order.rho", "deflationorder.rho"):
        invariants, lines = parse_overrides([f"{name}=1.2"])
        assert invariants.deflation_order.rho == 1.2
        assert lines == ["DeflationOrder.rho = 1.2 (default 1.1)"]
    invariants, lines = parse_overrides(["settle=20"])
    assert invariants.fitting.settle == 20 and invariants.local_stability.settle == 20 and len(lines) == 2

    run = tmp_path / "run"
    assert main(["run", "--d", "6", "--m", "12", "--t-max", "60", "--n-save", "60", "--out", str(run),
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["check", "--set", "DeflationOrder.rho=1.2", str(run)]) in (0, 1)
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "overridden: DeflationOrder.rho = 1.2 (default 1.1)"


def test_check_set_unknown_name_is_short_and_suggests(capsys):
    assert _exit_code(["check", "--set", "DeflationOrder.rhoo=1.2", "."]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and len(err) < 200, err
    assert "did you mean DeflationOrder.rho" in err


def test_check_counts_directions_from_one(tmp_path, capsys):
    from verify.commands.check import one_based

    verdict = {"name": "deflation_order", "worst": [0, 3], "details": {"violations": [[0, 3]]}}
    assert one_based(verdict)["worst"] == [1, 4] and one_based(verdict)["details"]["violations"] == [[1, 4]]
    drops = {"name": "plateaus_and_drops", "worst": {"unexplained_drops": 0, "missing_discoveries": [4]},
             "details": {}}
    assert one_based(drops)["worst"]["missing_discoveries"] == [5]

    run = tmp_path / "run"
    assert main(["run", "--d", "6", "--m", "12", "--seeds", "2", "--first-seed", "7", "--t-max", "60",
                 "--n-save", "60", "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    main(["check", str(run)])
    out = capsys.readouterr().out
    import re

    indices = [int(j) for j in re.findall(r"\ba_(\d+)", out)]
    assert indices and min(indices) >= 1 and max(indices) <= 5
    seeds = {line.split()[1] for line in out.splitlines()[1:] if line.startswith(str(run)[-28:])}
    assert seeds == {"7", "8", "all"}
    data = json.loads(_json_out(["check", str(run), "--format", "json"], capsys))
    assert data[0]["direction_indices"] == "1-based" and data[0]["seeds"] == [7, 8]


def _json_out(argv, capsys):
    main(argv)
    return capsys.readouterr().out


def test_baselines_progress_names_the_running_item_and_the_flows_time():
    from verify.baselines import run_baselines

    calls = []
    run_baselines(instances=["order3"], methods=["tpm", "plain_flow"], seeds=1,
                  progress=lambda done, total, stage: calls.append((done, total, stage)))
    stages = [stage for _, _, stage in calls]
    assert stages[0] == "tpm on order3, seed 0"  # drawn when the item starts, before it runs
    flow = [s for s in stages if s.startswith("plain_flow on order3") and " t=" in s]
    assert flow, stages  # the flow's own reports: the item and its time t
    assert all(done == 1 for done, _, s in calls if s in flow)  # the item in progress, not one ahead


@pytest.mark.parametrize("argv", [["run", "--device", "tpu"], ["run", "--d", "3", "--r", "5"], ["check", "--sweep", "0"],
                                  ["baselines", "--beyond", "--coherences", "1.5"], ["figure1", "--device", "tpu"]])
def test_bad_input_without_quiet_is_still_one_line(argv, tmp_path, capsys):
    code = _exit_code([*argv, "--out", str(tmp_path / "o")] if argv[0] != "check" else argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err


def test_a_device_this_machine_lacks_is_one_line_without_quiet(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert _exit_code(["run", "--device", "cuda", "--d", "4", "--r", "2", "--m", "6", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--device" in err, err

"""Bad input to every subcommand: one line naming the parameter or file and what is accepted, exit 2, no
traceback, nothing written. Each class of bad input has its own test; the commands are run as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from verify.cli import built_commands, main

# Commands that write an output folder, with the cheapest valid arguments besides --out (never reached:
# the bad --out is refused before any work).
WRITERS = {
    "run": ["--d", "3", "--r", "1", "--m", "2", "--t-max", "1"],
    "sweep": ["test"],
    "baselines": ["--instances", "order3", "--seeds", "1"],
    "figure1": ["--seeds", "1"],
    "precision": ["--d", "3", "--r", "1", "--m", "2", "--t-max", "1"],
    "probe": ["--campaign", "tiny"],
    "audit": ["--profile", "test"],
}


def _fails_cleanly(argv: list[str], capsys, needle: str) -> str:
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2, argv
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert needle in err, err
    return err


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_out_naming_an_existing_file_is_refused(command, tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    _fails_cleanly([command, *WRITERS[command], "--out", str(target), "--quiet"], capsys, "--out: must be a folder")
    assert target.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_out_that_cannot_be_created_is_refused(command, capsys):
    _fails_cleanly([command, *WRITERS[command], "--out", "/proc/forbidden/x", "--quiet"], capsys, "--out: must be")
    assert not Path("/proc/forbidden").exists()


@pytest.mark.parametrize("argv,needle", [
    (["run", "--m", "x"], "argument --m: must be an integer >= 1"),
    (["run", "--seeds", "0"], "argument --seeds: must be an integer >= 1"),
    (["run", "--eps", "nan"], "argument --eps: must be finite"),
    (["run", "--gamma", "-1"], "--gamma: must be a finite number > 0"),
    (["run", "--cluster-cos2", "2"], "--cluster-cos2: must be in (0, 1]"),
    (["run", "--linear-solver", "krylov", "--integrator", "radau"], "--linear-solver: must be krylov only"),
    (["run", "--linear-solver", "sparse", "--integrator", "rosenbrock"],
     "--linear-solver: must be dense, krylov or auto with the rosenbrock integrator"),
    (["run", "--device", "tpu"], "--device: must be auto, cpu, cuda or cuda:N"),
    (["figure1", "--seeds", "-1"], "argument --seeds: must be an integer >= 1"),
    (["derive", "--claim", "C99"], "--claim: must be one of C1..C14"),
    (["derive", "--format", "pdf"], "invalid choice"),
    (["check", "--sweep", "0"], "--sweep: must be an integer >= 1"),
    (["check", "--set", "nosuch=1", "."], "--set: must be NAME=VALUE with NAME one of "),
    (["precision", "--dps", "5"], "--dps: must be an integer in"),
    (["precision", "--delta0", "0"], "argument --delta0: must be a positive number"),
    (["precision", "--seeds", "2", "--t-max", "1"], "--seeds: must be 1 for a high-precision run"),
    (["probe"], "one of the arguments --campaign --analyze --point is required"),
    (["probe", "--campaign", "tiny", "--analyze"], "argument --analyze: not allowed with argument --campaign"),
    (["probe", "--campaign", "nope"], "--campaign: must be one of tiny, float64, high-precision"),
    (["probe", "--campaign", "tiny", "--limit", "0"], "--limit: must be an integer >= 1"),
    (["probe", "--analyze", "--limit", "2"], "--limit: must be given with --campaign only"),
    (["probe", "--analyze", "--grid", "4:1e-2"], "unrecognized arguments: --grid"),
    (["audit", "--profile", "huge"], "invalid choice"),
    (["audit", "--stages", "nope"], "--stages: must be comma-separated names among derivations,"),
    (["run", "--seed", "3"], "unrecognized arguments: --seed 3 (did you mean --seeds"),
    (["check", "--set", "DeflationOrdr.rho=1", "."], "--set: must be a checker parameter (did you mean"),
    (["sweep", "nosuch"], "SPEC: must be a TOML file or a built-in spec"),
    (["sweep", "quick", "--workers", "0"], "--workers: must be an integer >= 1"),
    (["baselines", "--instances", "bogus"], "argument --instances: must be comma-separated instances"),
    (["baselines", "--beyond", "--orders", "2"], "--orders: must be orders among 3,4,5,6"),
])
def test_bad_flag_values_name_the_flag(argv, needle, tmp_path, capsys):
    _fails_cleanly([*argv, "--out", str(tmp_path / "o"), "--quiet"] if argv[0] not in ("derive", "check")
                   else argv, capsys, needle)
    assert not (tmp_path / "o").exists()


def test_every_command_has_a_bad_flag_case():
    cases = {argv[0] for argv, _ in test_bad_flag_values_name_the_flag.pytestmark[0].args[1]}
    assert set(BUILT) <= cases, sorted(set(BUILT) - cases)


def _a_saved_run(folder: Path) -> Path:
    assert main(["run", "--d", "3", "--r", "1", "--m", "2", "--t-max", "1", "--n-save", "4", "--out", str(folder),
                 "--quiet"]) == 0
    return folder


@pytest.mark.parametrize("damage", ["truncated npz", "garbage json", "missing npz", "npz without arrays"])
def test_check_on_a_damaged_record_names_the_folder(damage, tmp_path, capsys):
    run = _a_saved_run(tmp_path / "run")
    capsys.readouterr()
    npz, meta = run / "trajectory.npz", run / "run.json"
    if damage == "truncated npz":
        npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    elif damage == "garbage json":
        meta.write_text("{not json")
    elif damage == "missing npz":
        npz.unlink()
        (run / "trajectory.npz").mkdir()  # a folder where the file should be: found, but unreadable
    else:
        np.savez(npz, nothing=np.zeros(1))  # a path ending in .npz is written as given
    _fails_cleanly(["check", str(run)], capsys, f"{run}: must be a run folder written by deflation")


def test_check_on_a_missing_folder(tmp_path, capsys):
    _fails_cleanly(["check", str(tmp_path / "nope")], capsys, "DIR: must be an existing folder")


def test_a_run_too_large_for_memory_is_refused_before_allocating(tmp_path, capsys):
    err = _fails_cleanly(["run", "--d", "100000", "--r", "3", "--m", "100000", "--t-max", "1", "--out",
                          str(tmp_path / "o"), "--quiet"], capsys, "--m: must be a run that fits in memory")
    assert "d=100000" in err and "m=100000" in err and "GiB" in err
    assert not (tmp_path / "o").exists()


def test_result_files_get_the_users_permissions(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        run = _a_saved_run(tmp_path / "run")
    finally:
        os.umask(old)
    for name in ("run.json", "trajectory.npz"):
        assert (run / name).stat().st_mode & 0o777 == 0o644, name


BUILT = built_commands()


@pytest.mark.parametrize("argv", [["--help"]] + [[name, "--help"] for name in BUILT])
def test_help_loads_no_heavy_library(argv):
    """``--help`` must start fast: torch, scipy.integrate, sympy, matplotlib, dask load only when a command runs."""
    code = ("import sys\nfrom verify.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'scipy.integrate', 'sympy', 'matplotlib', 'dask', 'pyarrow') "
            "if m in sys.modules))" % (argv,))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout[-300:]

"""The records around a run: the :class:`Command` reproduce line, the flag-list form of a :class:`RunSpec`, the
named instances, the power iteration, and the experiments' typed results."""

from __future__ import annotations

import copy
import json
import pickle
import shlex

import numpy as np
import pytest

from solver import instances
from solver.errors import ValidationError
from solver.ground_truth import geometric_spectrum, identity_basis, random_orthonormal
from solver.spec import Command, RunSpec

# A spec whose flags cover every kind of field: int, float, tuple of floats, choice, bool, the seed fields.
EVERY_KIND = RunSpec().replace(d=6, a=(1.0, 0.5, 0.25), basis="random", basis_seed=3, algorithm="modified", m=9,
                               eps=1e-3, lam=0.001, record_components=False, first_seed=4, n_seeds=2)


# ------------------------------------------------------------------------------------------------- Command
def test_command_prints_the_shell_line_of_its_typed_fields():
    command = Command("run", ["--d", "6", "--a", "1.0,0.5"], out="results/a b")
    assert str(command) == "deflation run --d 6 --a 1.0,0.5 --out 'results/a b'"
    assert command.subcommand == "run" and command.argv == ("--d", "6", "--a", "1.0,0.5")
    assert command.out == "results/a b"
    assert shlex.split(str(command)) == list(command.words)
    assert command.with_out(None) == "deflation run --d 6 --a 1.0,0.5" and command.with_out(None).out is None


def test_command_is_immutable_and_survives_pickle_and_json():
    command = EVERY_KIND.command(out="results/x")
    with pytest.raises(AttributeError, match="immutable"):
        command.out = "elsewhere"
    for copied in (pickle.loads(pickle.dumps(command)), copy.deepcopy(command)):
        assert copied == command and (copied.subcommand, copied.argv, copied.out) == (
            command.subcommand, command.argv, command.out)
    assert json.loads(json.dumps({"command": command}))["command"] == str(command)


def test_runspec_command_keeps_the_line_it_always_printed():
    extra = ["--dps", "40"]
    command = EVERY_KIND.command("precision", extra + ["--out", "results/p"])
    assert str(command) == shlex.join(["deflation", "precision", *EVERY_KIND.to_argv(), *extra, "--out", "results/p"])
    assert command.out == "results/p" and command.argv == (*EVERY_KIND.to_argv(), *extra)
    assert EVERY_KIND.command(out="o") == EVERY_KIND.command(extra=["--out", "o"])


# --------------------------------------------------------------------------------------------- flag lists
def test_from_argv_inverts_to_argv_for_every_kind_of_field():
    argv = EVERY_KIND.to_argv()
    assert {"--a", "--basis", "--no-record-components", "--lam", "--seeds", "--first-seed"} <= set(argv)
    assert RunSpec.from_argv(argv) == EVERY_KIND
    assert RunSpec.from_argv(["--d=6", "--m=9"]) == RunSpec().replace(d=6, m=9)
    assert RunSpec.from_argv(["--record-components"]) == RunSpec()


@pytest.mark.parametrize("argv, message", [
    (["--bogus", "1"], "argv: must be flags of deflation run"),
    (["--d", "six"], "--d: must be an integer"),
    (["--eps", "tiny"], "--eps: must be a number"),
    (["--a", ","], "--a: must be comma-separated numbers"),
    (["--m"], "--m: must be followed by a value"),
    (["--record-components=yes"], "--record-components: must be a flag without a value"),
    (["--no-d"], "--d: must be a flag with a value"),
    (["--d", "0"], "d: must be an integer >= 1"),
])
def test_from_argv_names_the_bad_flag(argv, message):
    with pytest.raises(ValidationError) as info:
        RunSpec.from_argv(argv)
    assert str(info.value).startswith(message), str(info.value)


def test_the_run_parser_gives_the_spec_from_argv_gives():
    import argparse

    from verify.commands._args import add_spec_arguments

    parser = argparse.ArgumentParser()
    add_spec_arguments(parser)
    assert RunSpec.from_args(parser.parse_args(EVERY_KIND.to_argv())) == EVERY_KIND


# ------------------------------------------------------------------------------------------------ instances
def test_named_instances_are_the_documented_ground_truths():
    fig1 = instances.figure1().truth()
    reference = identity_basis(10, geometric_spectrum(5, 1.2), 4)
    np.testing.assert_array_equal(fig1.a, reference.a)
    np.testing.assert_array_equal(fig1.U, reference.U)
    np.testing.assert_allclose(instances.spread().truth().a, [1.0, 1e-2, 1e-4, 1e-6, 1e-8], rtol=1e-15)
    spread_random = instances.spread(20, basis="random").truth()
    np.testing.assert_array_equal(spread_random.U, random_orthonormal(20, geometric_spectrum(5, 100.0), 4, 0).U)
    run = instances.figure1_run()
    assert (run.n_seeds, run.config.m, run.config.delta0, run.config.end_time) == (5, 50, 1e-15, 100.0)


def test_paper_regime_runs_stay_inside_their_bounds():
    from verify.experiments import random_regime_spec

    regime = instances.PAPER_REGIME
    rng = np.random.default_rng(0)
    for algorithm in ("plain", "modified"):
        for _ in range(40):
            spec = random_regime_spec(rng, algorithm)
            d, a, m = spec.instance.d, np.array(spec.instance.a), spec.config.m
            assert regime.min_d <= d <= regime.max_d and 2 <= a.size <= min(regime.max_r, d)
            ratios = a[:-1] / a[1:]
            assert a[0] == 1.0 and np.all(ratios >= regime.min_ratio * (1 - 1e-5))
            assert np.all(ratios <= regime.max_ratio * (1 + 1e-5))
            assert regime.min_m(d) <= m <= regime.max_m and spec.instance.basis == "random"
            if algorithm == "plain":
                assert spec.config.t_max == pytest.approx(regime.plain_horizon / a[-1], rel=1e-5)
            else:
                assert spec.config.eps == regime.modified_eps and spec.config.linear_solver == "dense"


# ------------------------------------------------------------------------------------------- power method
def test_power_iteration_finds_the_largest_coefficient_and_deflates():
    from solver.power_method import largest_value, power_iterations

    truth = random_orthonormal(8, np.array([0.3, 1.0, 0.6]), 4, seed=1)
    assert largest_value(truth, np.random.default_rng(0), starts=16, iterations=100) == pytest.approx(1.0, rel=1e-12)
    # With a_2 u_2 deflated, the iteration finds the next largest, 0.6.
    found_X, found_c = truth.U[:, [1]], np.array([1.0])
    g = np.random.default_rng(1).standard_normal((8, 16))
    _, values = power_iterations(truth, g / np.linalg.norm(g, axis=0), 100, found_X, found_c)
    assert values.max() == pytest.approx(0.6, rel=1e-12)


# -------------------------------------------------------------------------------------------- experiments
def test_figure1_experiment_holds_its_spec_and_command(tmp_path):
    from verify.experiments import figure1_spec, run_figure1

    spec = figure1_spec(seeds=1, d=6, m=12, t_max=60.0)
    result = run_figure1(spec, tmp_path / "fig")
    assert result.spec == spec and result.trajectory.batch == 1
    assert result.command.out == str(tmp_path / "fig") and RunSpec.from_argv(result.command.argv) == spec
    assert (tmp_path / "fig" / "summary.json").exists() and result.summary["command"] == spec.command()


def test_invariant_sweep_result_holds_the_specs_it_ran():
    from verify.experiments import InvariantSweep, invariant_sweep, random_regime_spec

    result = invariant_sweep(1, seed=5)
    assert isinstance(result, InvariantSweep)
    assert result.specs == (random_regime_spec(np.random.default_rng(5)),)
    assert str(result.command) == "deflation check --sweep 1 --seed 5"
    assert result.instances[0].command == result.specs[0].command()
    tally = result.claims["P1 deflation_order"]
    assert tally.applicable == 1 and tally.worst_command == result.instances[0].command
    assert result["claims"]["P1 deflation_order"]["applicable"] == 1  # the mapping form older callers read

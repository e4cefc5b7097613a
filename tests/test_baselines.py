"""Baselines: recovery metrics, the tensor power method in Gram form, TensorLy, the runner and CLI."""

import json
import shlex

import numpy as np
import pytest
import torch

from solver.dense import dense_contraction, symmetric_power_sum
from solver.errors import ValidationError
from solver.ground_truth import geometric_spectrum, identity_basis, random_orthonormal
from solver.instances import FIGURE1_RATIO, figure1_truth
from solver.power_method import power_iterations
from solver.spec import InstanceSpec, RunSpec

from verify.baselines.instances import INSTANCES, BaselineInstance
from verify.baselines.recovery import Decomposition, flow_discovery_order, order_matches, recovery
from verify.baselines.runner import METHODS, SLOW_PAIRS, run_baselines, run_method
from verify.baselines.tensorly_methods import cp_als, dense_target, tensorly_power
from verify.baselines.tpm import TPMConfig, tensor_power_method
from verify.cli import main


def _figure1():
    return figure1_truth()


# ----------------------------------------------------------------------------------------- recovery
def test_exact_decomposition_is_recovered_at_the_rounding_floor():
    truth = random_orthonormal(8, geometric_spectrum(4, 1.5), 4, seed=3)
    rec = recovery(Decomposition.symmetric(truth.a, truth.U, 4), truth)
    assert rec.success and rec.recovered.all()
    np.testing.assert_allclose(rec.masses, truth.a, rtol=1e-12)
    assert rec.rel_error <= rec.rel_error_floor < 1e-7


def test_a_split_cluster_counts_its_total_mass():
    truth = _figure1()
    # direction 0 carried by two components (0.3 a_1 and 0.7 a_1, slightly off e_1): aggregated, recovered
    tilt = np.zeros(10)
    tilt[7] = 0.05
    X = np.concatenate([truth.U, (truth.U[:, 0] + tilt)[:, None]], axis=1)
    c = np.concatenate([truth.a * [0.3, 1, 1, 1, 1], [0.7 * truth.a[0]]])
    assert recovery(Decomposition.symmetric(c, X, 4), truth).success
    # the same cluster 2% short of a_1: direction 0 not recovered
    c_short = c.copy()
    c_short[-1] -= 0.02 * truth.a[0]
    rec = recovery(Decomposition.symmetric(c_short, X, 4), truth)
    assert not rec.success and rec.recovered.tolist() == [False, True, True, True, True]


def test_regularized_fit_is_judged_against_a_minus_lambda_over_2():
    truth = _figure1()
    lam = 0.1
    dec = Decomposition.symmetric(truth.a - lam / 2, truth.U, 4)
    assert recovery(dec, truth, lam=lam).success
    assert not recovery(dec, truth, lam=0.0).success


def test_odd_order_anti_aligned_component_counts_negatively():
    truth = identity_basis(5, np.array([1.0, 0.5]), 3)
    dec = Decomposition.symmetric(np.array([1.0, 0.5]), np.stack([np.eye(5)[0], -np.eye(5)[1]], axis=1), 3)
    rec = recovery(dec, truth)
    np.testing.assert_allclose(rec.masses, [1.0, -0.5])
    assert not rec.success
    assert rec.rel_error == pytest.approx(np.sqrt(4 * 0.25 / (1 + 0.25)), rel=1e-12)


def test_order_matches():
    a = np.array([1.0, 0.5, 0.5, 0.1])
    assert order_matches((0, 1, 2, 3), a) and order_matches((0, 2, 1, 3), a)
    assert not order_matches((1, 0, 2, 3), a)
    assert not order_matches((0, 1, 2), a)
    assert flow_discovery_order(np.array([3.0, np.nan, 1.0])) == (2, 0)


# ------------------------------------------------------------------------------------- power method
def test_power_step_matches_the_dense_contraction():
    rng = np.random.default_rng(0)
    truth = random_orthonormal(5, np.array([1.0, 0.7, 0.2]), 4, seed=1)
    found_X = rng.standard_normal((5, 2))
    found_X /= np.linalg.norm(found_X, axis=0)
    found_c = np.array([0.4, -0.1])
    theta = rng.standard_normal((5, 3))
    theta /= np.linalg.norm(theta, axis=0)
    new, values = power_iterations(truth, theta, 1, found_X, found_c)
    T = (symmetric_power_sum(torch.tensor(truth.a), torch.tensor(truth.U), 4)
         - symmetric_power_sum(torch.tensor(found_c), torch.tensor(found_X), 4))
    for k in range(3):
        v = dense_contraction(T, torch.tensor(theta[:, k]), 3).numpy()
        np.testing.assert_allclose(new[:, k], v / np.linalg.norm(v), atol=1e-12)
        value = float(dense_contraction(T, torch.tensor(new[:, k]), 4))
        assert values[k] == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("order", [3, 4, 5])
def test_tpm_recovers_orthogonal_instances_in_the_order_of_a(order):
    truth = random_orthonormal(9, geometric_spectrum(4, 1.3), order, seed=order)
    rec = recovery(tensor_power_method(truth, seed=1), truth)
    assert rec.success and rec.order_matches_a and rec.discovery_order == (0, 1, 2, 3)


def test_tpm_in_contraction_form_at_a_size_no_dense_tensor_could_hold():
    # d = 300, l = 4: a dense T* would hold 8.1e9 entries (65 GB)
    truth = random_orthonormal(300, np.array([1.0, 0.6, 0.3]), 4, seed=0)
    rec = recovery(tensor_power_method(truth, seed=0, config=TPMConfig(starts=10, iterations=15)), truth)
    assert rec.success


def test_tpm_is_deterministic_per_seed():
    truth = random_orthonormal(10, geometric_spectrum(5, 1.05), 4, seed=2)
    one, two = tensor_power_method(truth, 7), tensor_power_method(truth, 7)
    np.testing.assert_array_equal(one.factors[0], two.factors[0])
    np.testing.assert_array_equal(one.weights, two.weights)


def test_tpm_rejects_bad_parameters():
    with pytest.raises(ValidationError, match="starts"):
        tensor_power_method(_figure1(), 0, TPMConfig(starts=0))


# ------------------------------------------------------------------------------------------ TensorLy
def test_tensorly_methods_on_figure1():
    truth = _figure1()
    dense = dense_target(truth)
    state = np.random.get_state()
    power = tensorly_power(truth, seed=3, tensor=dense)
    assert np.array_equal(np.random.get_state()[1], state[1])  # global generator restored
    np.testing.assert_array_equal(power.weights, tensorly_power(truth, seed=3, tensor=dense).weights)
    assert recovery(power, truth).success
    als = cp_als(truth, seed=0, init="svd", tensor=dense)
    rec = recovery(als, truth, dense_target=dense)
    assert rec.success and rec.discovery_order is None and rec.order_matches_a is None


def test_dense_target_is_refused_above_the_limit():
    with pytest.raises(ValidationError, match="dense entries"):
        dense_target(random_orthonormal(60, np.array([1.0]), 4))


# ----------------------------------------------------------------------------------- runner and CLI
TINY = BaselineInstance("tiny", InstanceSpec(d=4, a=(1.0, 0.4), order=4, basis="identity"), "test instance",
                        t_max=80.0, m=8, eps=0.1)


def test_flow_row_is_the_runspec_its_command_names():
    spec = TINY.flow_spec("plain_flow", n_seeds=3)
    argv = shlex.split(spec.command())  # the printed line, as a shell splits it
    assert argv[:2] == ["deflation", "run"]
    assert RunSpec.from_argv(argv[2:]) == spec == RunSpec.from_argv(spec.command().argv)
    assert TINY.flow_spec("exact_rank_flow").config.m == 2
    rec, seconds = run_method("plain_flow", TINY, seed=0)
    assert rec.success and rec.order_matches_a and seconds > 0


def test_every_named_instance_builds_and_large_fits_the_dense_limit():
    for name, inst in INSTANCES.items():
        truth = inst.spec.truth()
        assert truth.d ** truth.order <= 10_000_000, name
    assert not INSTANCES["nonorthogonal"].spec.truth().orthogonal
    assert set(METHODS) == {"tpm", "tensorly_power", "als_svd", "als_random", "exact_rank_flow", "plain_flow",
                            "algorithm1"}


def test_run_baselines_rows_and_skips():
    result = run_baselines(["order3", "large"], ["tpm", "tensorly_power"], seeds=2)
    row = result.row("tpm", "order3")
    assert (row.seeds, row.success, row.order_matches_a) == (2, 2, 2)
    assert row.command == "deflation baselines --instances order3 --methods tpm --seeds 2"
    assert len(row.runs) == 2 and row.runs[0]["discovery_order"] == [0, 1, 2]
    skipped = result.row("tensorly_power", "large")
    assert ("tensorly_power", "large") in SLOW_PAIRS and skipped.seeds == 0 and skipped.skipped
    assert result.row("tpm", "large").success == 2
    with pytest.raises(ValidationError, match="--methods"):
        run_baselines(["order3"], ["nope"], seeds=1)


def test_cli_writes_baselines_json_with_the_row_schema(tmp_path, capsys):
    out = tmp_path / "b"
    code = main(["baselines", "--instances", "order3,figure1", "--methods", "tpm,als_svd,als_random", "--seeds", "2",
                 "--out", str(out), "--quiet"])
    assert code == 0
    data = json.loads((out / "baselines.json").read_text())
    assert len(data["rows"]) == 6
    for row in data["rows"]:
        for key in ("method", "instance", "seeds", "success", "median_rel_error", "order_matches_a",
                    "median_seconds"):
            assert key in row
    als = next(r for r in data["rows"] if r["method"] == "als_svd" and r["instance"] == "figure1")
    assert als["success"] == 2 and als["order_matches_a"] is None
    assert (out / "baselines.png").exists() and "order3" in capsys.readouterr().out


@pytest.mark.parametrize("argv,needle", [
    (["--instances", "nope"], "--instances"),
    (["--methods", "tpm,bogus"], "--methods"),
    (["--seeds", "0"], "--seeds"),
])
def test_cli_bad_input_is_one_line_exit_2(argv, needle, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["baselines", *argv, "--out", str(tmp_path / "o"), "--quiet"]))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_cli_lists_match_the_library():
    from verify.commands import baselines as command

    assert command._METHODS == METHODS
    assert set(command._ALL_INSTANCES) == set(INSTANCES)


def test_p4_cites_the_power_method_rows_on_orthogonal_instances():
    from verify.baselines import p4_rows

    result = run_baselines(["order3", "nonorthogonal"], ["tpm", "als_svd"], seeds=1)
    cited = p4_rows(result)
    assert [(r.method, r.instance) for r in cited] == [("tpm", "order3")]


# ------------------------------------------------------------------------------------------- beyond
@pytest.mark.parametrize("mu", [0.0, 0.3, 0.5])
def test_coherent_basis_has_the_asked_mutual_coherence(mu):
    from verify.baselines.beyond import coherent_truth

    truth = coherent_truth(10, geometric_spectrum(5, FIGURE1_RATIO), mu, order=4, seed=1)
    K = truth.U.T @ truth.U
    np.testing.assert_allclose(K, (1 - mu) * np.eye(5) + mu * np.ones((5, 5)), atol=1e-12)
    assert truth.orthogonal == (mu == 0.0)
    with pytest.raises(ValidationError, match="mu"):
        coherent_truth(10, geometric_spectrum(5, FIGURE1_RATIO), 1.0)


def test_half_residual_times_interpolate_the_first_crossing():
    from verify.baselines.recovery import half_residual_times

    times = np.array([0.0, 1.0, 2.0, 3.0])
    residuals = np.array([[[4.0, 1.0], [3.0, 1.0], [1.0, 1.0], [0.0, 0.9]]])
    out = half_residual_times(times, residuals)
    assert out[0, 0] == pytest.approx(1.5) and np.isnan(out[0, 1])


def test_audit_profiles_name_known_instances():
    from verify.baselines import PROFILES

    assert PROFILES["quick"]["seeds"] < PROFILES["full"]["seeds"]
    for profile in PROFILES.values():
        assert set(profile["instances"]) <= set(INSTANCES)

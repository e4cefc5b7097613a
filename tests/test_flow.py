"""The solver's entry point: validation, determinism, re-initialization, records, Figure 1 at reduced size."""

import math

import numpy as np
import pytest
import torch

from solver import FlowConfig, GroundTruth, Trajectory, ValidationError, solve
from solver.flow import epoch_schedule, estimate_beta0, reinit_mask
from solver.ground_truth import random_nonorthogonal, random_orthonormal
from solver.instances import figure1_truth, spread_truth

SMALL = dict(m=12, t_max=60.0, n_save=60)


@pytest.mark.parametrize("field,kwargs,match", [
    ("a", dict(a=[1.0, -0.5], U=np.eye(3)[:, :2]), "a: must be positive"),
    ("a", dict(a=[1.0, np.nan], U=np.eye(3)[:, :2]), "a: must be finite"),
    ("U", dict(a=[1.0, 0.5], U=np.eye(3)[:, :1]), "U: must be a \\(d, r\\) matrix with r"),
    ("U", dict(a=[1.0], U=2 * np.eye(3)[:, :1]), "U: must be unit columns"),
    ("order", dict(a=[1.0], U=np.eye(3)[:, :1], order=2), "order: must be an integer >= 3"),
])
def test_ground_truth_validation_names_the_field(field, kwargs, match):
    with pytest.raises(ValidationError, match=match) as err:
        GroundTruth(np.asarray(kwargs["a"]), kwargs["U"], kwargs.get("order", 4))
    assert err.value.parameter == field


def test_orthogonal_bases_need_r_at_most_d():
    with pytest.raises(ValidationError, match="r: must be at most d = 3"):
        random_orthonormal(3, np.ones(4))
    assert random_nonorthogonal(3, np.ones(4)).r == 4  # allowed when not orthogonal
    assert random_orthonormal(6, np.ones(4), seed=1).orthogonal
    assert not random_nonorthogonal(6, np.ones(4), seed=1).orthogonal


@pytest.mark.parametrize("kwargs,param", [
    (dict(m=0), "m"), (dict(delta0=0.0), "delta0"), (dict(delta0=1e-320), "delta0"),
    (dict(algorithm="x"), "algorithm"), (dict(t_max=-1.0), "t_max"), (dict(lam=-1.0), "lam"),
    (dict(integrator="nope"), "integrator"), (dict(integrator="euler"), "step"),
    (dict(dtype="float16"), "dtype"), (dict(gamma=0.0), "gamma"), (dict(eps=math.inf), "eps"),
    (dict(atol=-1.0), "atol"), (dict(atol=math.nan), "atol"),
])
def test_config_validation_names_the_parameter(kwargs, param):
    config = FlowConfig(**{"t_max": 10.0, **kwargs})
    with pytest.raises(ValidationError) as err:
        config.validate()
    assert err.value.parameter == param


def test_same_seed_same_trajectory_and_batch_independence():
    truth = figure1_truth(d=6)
    one = solve(truth, FlowConfig(**SMALL), seeds=[7])
    again = solve(truth, FlowConfig(**SMALL), seeds=[7])
    np.testing.assert_array_equal(one.loss, again.loss)
    np.testing.assert_array_equal(one.final_directions, again.final_directions)
    batched = solve(truth, FlowConfig(**SMALL), seeds=[3, 7])
    np.testing.assert_allclose(batched.residuals[1], one.residuals[0], rtol=1e-9, atol=1e-12)
    other = solve(truth, FlowConfig(**SMALL), seeds=[8])
    assert not np.allclose(other.final_directions, one.final_directions)


def test_figure1_reduced_finds_directions_in_order_of_a():
    truth = figure1_truth(d=8)
    traj = solve(truth, FlowConfig(m=30, t_max=80.0, n_save=160), seeds=[0, 1])
    t_disc, resolution = traj.discovery()
    assert np.all(np.isfinite(t_disc))
    assert np.all(np.diff(t_disc, axis=1) > 0), t_disc  # larger a_i first (P1)
    assert np.all(resolution <= 0.5 + 1e-12)
    assert traj.recovered().all()
    assert np.all(traj.loss[:, -1] < 1e-8)


def test_save_load_round_trip(tmp_path):
    traj = solve(figure1_truth(d=5), FlowConfig(**SMALL), seeds=[0, 1])
    traj.save(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["run.json", "trajectory.npz"]
    back = Trajectory.load(tmp_path / "out")
    for name in ("times", "loss", "loss_floor", "residuals", "log_norms", "correlations", "a", "U",
                 "final_log_norms", "final_directions"):
        np.testing.assert_array_equal(getattr(back, name), getattr(traj, name))
    assert back.config == traj.config and back.seeds == traj.seeds and back.events == traj.events
    assert back.summary() == traj.summary()
    with np.load(tmp_path / "out" / "trajectory.npz", allow_pickle=False) as data:  # no pickles
        assert "loss" in data.files


def test_replace_changes_only_the_named_fields_and_refuses_unknown_ones():
    traj = solve(figure1_truth(d=5), FlowConfig(**SMALL), seeds=[0])
    flipped = traj.replace(a=traj.a[:, ::-1].copy())
    np.testing.assert_array_equal(flipped.a, traj.a[:, ::-1])
    assert flipped.times is traj.times and flipped.config == traj.config and flipped.events == traj.events
    assert not np.array_equal(flipped.a, traj.a)  # figure 1 has distinct a_j: the relabelling is a real change
    with pytest.raises(TypeError, match="unknown field"):
        traj.replace(alpha=1)


def test_reinitialization_touches_exactly_the_components_below_delta1():
    rho = torch.log(torch.tensor([[1e-3, 1e-7, 0.5, 1e-5 * 0.999, 1e-5 * 1.001]], dtype=torch.float64))
    X = torch.eye(5, dtype=torch.float64)[None]
    mask = reinit_mask(rho, X, "norm", 1e-5, 0.5)
    assert mask.tolist() == [[False, True, False, True, False]]
    # Cluster rule: components 0 and 1 share a direction; 1 is tiny relative to the cluster, 2 is alone.
    X2 = X.clone()
    X2[0, :, 1] = X2[0, :, 0]
    rho2 = torch.log(torch.tensor([[1.0, 1e-7, 1e-9, 1e-3, 1e-3]], dtype=torch.float64))
    assert reinit_mask(rho2, X2, "cluster", 1e-5, 0.5).tolist() == [[False, True, False, False, False]]


def test_modified_flow_reinitializes_only_small_components_and_keeps_their_seed_stream():
    truth = spread_truth(d=6, r=3)
    config = FlowConfig(algorithm="modified", m=10, eps=1e-5, delta1=1e-5, n_save=20)
    traj = solve(truth, config, seeds=[2])
    epochs = [e for e in traj.events if e["kind"] == "epoch"]
    reinits = [e for e in traj.events if e["kind"] == "reinit"]
    assert len(epochs) == len(traj.config["epochs"]) >= 2 and len(reinits) == len(epochs) - 1
    times = traj.times
    for event in reinits:
        k = int(np.searchsorted(times, event["time"]))  # the save just before the re-initialization
        norms = np.exp(traj.log_norms[0, k])
        below = set(np.nonzero(norms < 1e-5)[0].tolist())
        assert set(event["components"]) == below
    again = solve(truth, config, seeds=[2])
    np.testing.assert_array_equal(again.final_directions, traj.final_directions)
    assert traj.recovered().all()


def test_epoch_schedule_follows_the_documented_rule():
    config = FlowConfig(algorithm="modified", eps=1e-3, gamma=1.0, epoch_factor=8.0, delta0=1e-15)
    spans = epoch_schedule(config, d=10, beta0=1.0)
    base = 8.0 * (10 + math.log(1e15))
    assert [b for _, _, b in spans] == [2.0**-s for s in range(10)]
    for (s, e, b), (s2, _, _) in zip(spans, spans[1:]):
        assert e == s2 and e - s == pytest.approx(base / b)


def test_beta0_estimate_is_the_largest_coefficient_for_orthogonal_truth():
    truth = random_orthonormal(8, np.array([0.3, 1.7, 0.9]), seed=4)
    assert estimate_beta0([truth]) == pytest.approx(1.7, rel=1e-9)


def test_tiny_norms_down_to_1e_300_and_float32():
    truth = figure1_truth(d=5)
    traj = solve(truth, FlowConfig(m=8, t_max=5.0, delta0=1e-300, n_save=10), seeds=[0])
    assert np.all(np.isfinite(traj.log_norms)) and np.all(np.isfinite(traj.final_directions))
    assert traj.log_norms[0, 0, 0] == pytest.approx(math.log(1e-300))
    single = solve(truth, FlowConfig(m=8, t_max=60.0, n_save=30, dtype="float32", rtol=1e-5, atol=1e-6), seeds=[0])
    double = solve(truth, FlowConfig(m=8, t_max=60.0, n_save=30), seeds=[0])
    assert single.meta["unit_roundoff"] == pytest.approx(2**-23)
    np.testing.assert_allclose(single.discovery()[0], double.discovery()[0], atol=0.2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (CI has none)")
def test_cuda_matches_cpu():
    truth = figure1_truth(d=6)
    cpu = solve(truth, FlowConfig(device="cpu", **SMALL), seeds=[0, 1])
    gpu = solve(truth, FlowConfig(device="cuda", **SMALL), seeds=[0, 1])
    np.testing.assert_allclose(gpu.residuals, cpu.residuals, atol=1e-7)
    assert gpu.meta["device"].startswith("cuda")


def test_cuda_request_without_gpu_is_a_validation_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the error path cannot be exercised")
    with pytest.raises(ValidationError, match="device"):
        solve(figure1_truth(d=5), FlowConfig(device="cuda", **SMALL), seeds=[0])


@pytest.mark.slow
def test_initial_state_replaces_the_draw_and_rotation_is_equivariant():
    """Q applied to U and to W(0) rotates the whole trajectory: residuals and norms are unchanged."""
    from solver.flow import initial_directions, seed_streams

    truth = random_orthonormal(6, np.array([1.0, 0.7, 0.45]), seed=2)
    config = FlowConfig(m=10, t_max=60.0, n_save=40, rtol=1e-10, atol=1e-12)
    base = solve(truth, config, seeds=[5])
    X0 = initial_directions(seed_streams(5)[0], 6, 10)[None]
    rho0 = np.full((1, 10), math.log(config.delta0))
    same = solve(truth, config, seeds=[5], initial_state=(rho0, X0))
    np.testing.assert_array_equal(same.residuals, base.residuals)
    Q = np.linalg.qr(np.random.default_rng(9).standard_normal((6, 6)))[0]
    rotated = solve(GroundTruth(truth.a, Q @ truth.U, 4), config, seeds=[5], initial_state=(rho0, Q @ X0))
    np.testing.assert_allclose(rotated.residuals, base.residuals, atol=1e-7)
    np.testing.assert_allclose(rotated.log_norms, base.log_norms, rtol=1e-6)
    np.testing.assert_allclose(rotated.final_directions, Q @ base.final_directions, atol=1e-6)
    with pytest.raises(ValidationError, match="initial_state"):
        solve(truth, config, seeds=[5], initial_state=(rho0, 2 * X0))


def test_absolute_tolerance_defaults_follow_the_integrator():
    """atol None: 1e-10 for explicit methods, rtol for implicit ones (unit-vector rows: an absolute error rtol is
    relative; float64 noise times large implicit steps stalls Newton against 1e-10); an explicit value is kept."""
    from solver.instances import spread_truth

    truth = spread_truth(d=4, r=2)
    common = dict(t_max=10.0, m=4, n_save=4)
    explicit = solve(truth, FlowConfig(integrator="dopri5", **common), seeds=[0])
    implicit = solve(truth, FlowConfig(integrator="bdf", rtol=1e-7, **common), seeds=[0])
    given = solve(truth, FlowConfig(integrator="bdf", atol=1e-9, **common), seeds=[0])
    assert explicit.config["atol_used"] == 1e-10
    assert implicit.config["atol_used"] == 1e-7
    assert given.config["atol_used"] == 1e-9

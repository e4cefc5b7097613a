"""The float64 and the high-precision solve drivers share one epoch loop (solver.flow.run_spans), one
re-initialization draw, one record bookkeeping and one step controller (solver.integrators._control)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from solver.config import FlowConfig
from solver.driver import RunPlan, draw_reinitializations, drop_small_components, initial_directions, resolve
from solver.record import Drop, Epoch, EpochStart, Reinitialization, Resolved, event_from_dict
from solver.trajectory import Trajectory
from solver.integrators._control import HIGH_PRECISION_CONTROL, RUNGE_KUTTA_CONTROL, StepController, StepStats


def test_drop_small_components_zeroes_them_and_logs_one_event_per_run():
    config = FlowConfig(algorithm="modified", drop_small=True, delta1=1e-3)
    log_norms = np.log([[1e-4, 1.0], [1.0, 1e-2]])
    events: list[dict] = []
    out = drop_small_components(log_norms, config, events, 5.0)
    assert out[0, 0] == -math.inf and out[0, 1] == 0.0 and np.all(out[1] == log_norms[1])
    assert events == [Drop(time=5.0, run=0, components=(0,)), Drop(time=5.0, run=1, components=())]
    for untouched in (FlowConfig(algorithm="plain", drop_small=True), FlowConfig(algorithm="modified")):
        assert drop_small_components(log_norms, untouched, events, 5.0) is log_norms and len(events) == 2


def test_reinitialization_draws_follow_each_runs_own_stream():
    rngs = [np.random.default_rng(1), np.random.default_rng(2)]
    events: list[dict] = []
    draws = draw_reinitializations(np.array([[True, False, True], [False, False, False]]), rngs, 4, events, 1, 3.0)
    (idx0, fresh0), (idx1, fresh1) = draws
    assert idx0.tolist() == [0, 2] and fresh0.shape == (4, 2) and idx1.size == 0 and fresh1.shape == (4, 0)
    assert np.allclose(np.linalg.norm(fresh0, axis=0), 1.0)
    # The same directions as a direct draw from the same seed; the empty draw leaves run 1's stream where a
    # direct empty draw leaves it.
    assert np.array_equal(fresh0, initial_directions(np.random.default_rng(1), 4, 2))
    reference = np.random.default_rng(2)
    initial_directions(reference, 4, 0)
    assert rngs[1].standard_normal() == reference.standard_normal()
    assert [e.components for e in events] == [(0, 2), ()] and {e.epoch for e in events} == {1}
    assert all(isinstance(e, Reinitialization) and e.time == 3.0 for e in events)


def test_record_config_keeps_every_field_and_the_resolved_values():
    config = FlowConfig(algorithm="modified", m=7)
    plan = RunPlan(spans=[(0.0, 1.0, 1.0), (1.0, 3.0, 0.5)], beta0=1.0, times=np.linspace(0, 3, 4))
    resolved = resolve(plan, d=3, r=2, order=4, integrator="bdf", rtol=1e-6, atol=1e-6, lam=1e-10, device="cpu")
    out = Trajectory(flow=config, resolved=resolved, seeds=[0], times=plan.times, loss=np.zeros((1, 4)),
                     loss_floor=np.zeros((1, 4)), residuals=np.zeros((1, 4, 2)), a=np.ones((1, 2)),
                     U=np.eye(3)[None, :, :2], final_log_norms=np.zeros((1, 7)),
                     final_directions=np.ones((1, 3, 7))).config
    assert {k: out[k] for k in FlowConfig().to_dict()} == config.to_dict()
    assert out["epochs"] == [{"start": 0.0, "end": 1.0, "beta": 1.0}, {"start": 1.0, "end": 3.0, "beta": 0.5}]
    assert (out["rtol_used"], out["atol_used"], out["beta0_used"], out["integrator_used"]) == (1e-6, 1e-6, 1.0, "bdf")


def test_one_step_controller_and_one_set_of_counters():
    from solver.integrators import StepStats as SolverStats
    from solver.precision.integrators import StepStats as PrecisionStats

    assert SolverStats is StepStats and PrecisionStats is StepStats
    total = StepStats(rhs_evals=3, newton_iterations=1)
    total.add(StepStats(rhs_evals=2, accepted=1, jacobians=4))
    assert (total.rhs_evals, total.accepted, total.newton_iterations, total.jacobians) == (5, 1, 1, 4)
    control = StepController(safety=0.9, min_factor=0.2, max_factor=10.0)
    assert control.factor(0.0, 0.2) == 10.0 and control.factor(1e9, 0.2) == 0.2
    assert control.factor(1.0, 0.2) == pytest.approx(0.9)
    assert RUNGE_KUTTA_CONTROL.max_factor == 10.0 and HIGH_PRECISION_CONTROL.max_factor == 4.0


def test_resolved_and_events_round_trip_through_the_record_dicts():
    plan = RunPlan(spans=[(0.0, 1.0, 1.0), (1.0, 3.0, 0.5)], beta0=1.0, times=np.linspace(0, 3, 4))
    resolved = resolve(plan, d=3, r=2, order=4, integrator="cvode", rtol=1e-6, atol=1e-9, lam=0.0, device="cpu",
                       linear_solver="krylov")
    assert resolved.epochs == (Epoch(0.0, 1.0, 1.0), Epoch(1.0, 3.0, 0.5)) and resolved.linear_solver == "krylov"
    assert Resolved.from_dict({**FlowConfig().to_dict(), **resolved.to_dict()}) == resolved
    # A record without the resolved keys (hand-built, older) reads as None, never as a guess.
    assert Resolved.from_dict({"algorithm": "plain"}).rtol is None
    events = [EpochStart(time=0.0, epoch=0, end=1.0, beta=1.0), Reinitialization(time=1.0, run=0, epoch=1,
                                                                                   components=(2, 5)),
              Drop(time=3.0, run=1, components=())]
    assert [event_from_dict(e.to_dict()) for e in events] == events
    assert events[1]["components"] == (2, 5) and events[1]["kind"] == "reinit"  # the dict reading of older code
    with pytest.raises(ValueError, match="event kind"):
        event_from_dict({"kind": "restart", "time": 0.0})


def test_a_run_json_in_the_dict_era_form_loads_typed_and_saves_back_the_same(tmp_path):
    """run.json with events as plain dicts in another key order (records written by earlier versions)."""
    import json

    from solver import Trajectory, solve
    from solver.instances import figure1_truth

    config = FlowConfig(algorithm="modified", m=4, eps=0.3, n_save=16, drop_small=True, integrator="dopri5")
    solve(figure1_truth(), config, [0]).save(tmp_path / "a")
    info = json.loads((tmp_path / "a" / "run.json").read_text())
    info["events"] = [{"kind": e["kind"], **{k: v for k, v in e.items() if k not in ("kind", "time")},
                       "time": e["time"]} for e in info["events"]]
    (tmp_path / "a" / "run.json").write_text(json.dumps(info))
    back = Trajectory.load(tmp_path / "a")
    assert {type(e) for e in back.events} == {EpochStart, Reinitialization, Drop}
    assert back.resolved.integrator == "dopri5" and back.flow == config and back.order == 4
    assert back.config == info["config"]
    back.save(tmp_path / "b")
    again = json.loads((tmp_path / "b" / "run.json").read_text())
    assert again["events"] == [{k: e[k] for k in again["events"][i]} for i, e in enumerate(info["events"])]
    assert {k: v for k, v in again.items() if k != "events"} == {k: v for k, v in info.items() if k != "events"}


def test_a_record_carries_the_spec_it_ran(tmp_path):
    from solver import Trajectory, solve
    from solver.spec import InstanceSpec, RunSpec

    spec = RunSpec(InstanceSpec(d=3, r=2), FlowConfig(m=2, t_max=2.0, n_save=4, integrator="dopri5"), first_seed=1)
    record = solve(spec)
    assert RunSpec.of(record) == spec and record.resolved.integrator == "dopri5" and record.flow == spec.config
    assert RunSpec.of(Trajectory.load(record.save(tmp_path))) == spec
    assert RunSpec.of(solve(spec.instance.truth(), spec.config, [1])) is None  # solved on arrays: no spec

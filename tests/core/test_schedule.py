"""The order in which a study's units start when several run at once: the ready unit with the longest chain of
work after it first (longest-processing-time first), so the longest training is not the one left running alone at
the end while the other slots idle."""
import json
from pathlib import Path

from lwd_core.studies import fig9
from lwd_core.studies.executors import LocalPool, Schedule
from lwd_core.studies.plan import Plan, Unit
from lwd_core.studies.registry import StudyArgs


def unit(name, cost=0.0, needs=(), cpus=1):
    return Unit(name, "tests.timed_units:nap", {}, tuple(needs), cost=cost, cpus=cpus)


def test_a_units_chain_is_its_cost_plus_the_costliest_chain_that_needs_it():
    # a -> b -> c, a -> d; e alone
    plan = Plan("t", (unit("a", 1), unit("b", 5, ["a"]), unit("d", 3, ["a"]), unit("c", 2, ["b"]), unit("e", 4)))
    assert plan.chain_costs() == {"a": 8.0, "b": 7.0, "c": 2.0, "d": 3.0, "e": 4.0}


def test_ready_units_start_longest_chain_first_then_in_the_plans_order():
    plan = Plan("t", (unit("first", 1), unit("cheap", 1), unit("long", 2), unit("after", 9, ["cheap"]),
                      unit("free"), unit("also free")))
    sched = Schedule(plan)
    assert [u.name for u in sched.ready(2)] == ["cheap", "long"]       # cheap leads to the 9
    assert [u.name for u in sched.ready(1)] == ["first"]
    assert [u.name for u in sched.ready()] == ["free", "also free"]   # ties (no cost): the plan's order
    sched.finish("cheap")
    assert [u.name for u in sched.ready()] == ["after"]


def test_a_pool_of_two_starts_the_long_unit_first_and_never_runs_three(tmp_path):
    naps = {"short 1": 0.6, "short 2": 0.6, "short 3": 0.6, "long": 1.8}
    plan = Plan("t", tuple(Unit(n, "tests.timed_units:nap", {"name": n, "seconds": s, "log_dir": str(tmp_path)},
                                cost=s) for n, s in naps.items()))
    list(LocalPool(2).run(plan, lambda: False))
    ran = {n: json.loads(Path(tmp_path, f"{n}.json").read_text()) for n in naps}
    first_two = sorted(ran, key=lambda n: ran[n]["start"])[:2]
    assert "long" in first_two            # in the plan's order it would have waited for two of the short ones
    for n, t in ran.items():              # at any unit's start, at most one other is running
        assert sum(o["start"] <= t["start"] < o["end"] for m, o in ran.items() if m != n) <= 1


def test_the_sweeps_longest_dp_models_start_first_when_two_units_run_at_once(tmp_path):
    a = StudyArgs(out=tmp_path, quick=False, seeds=1, episodes=50, workers=1, options={"obs": "keypoints"})
    sched = Schedule(fig9.plan(a))
    assert [u.name for u in sched.ready(1)] == ["collect PushT demonstrations"]
    sched.finish("collect PushT demonstrations")
    assert [u.name for u in sched.ready(2)] == ["train dp132-s0", "train dp68-s0"]


def test_a_unit_takes_the_slots_its_cores_fill_and_nothing_smaller_passes_it():
    pool = LocalPool(2, cores_per_job=2)
    assert [pool.slots(unit("u", cpus=c)) for c in (1, 2, 3, 4, 9)] == [1, 1, 2, 2, 2]   # at most every slot
    plan = Plan("t", (unit("small", 1), unit("big", 5, cpus=4), unit("after", 1, ["big"]), unit("tiny", 0)))
    sched = Schedule(plan)
    assert [u.name for u in sched.ready(1, pool.slots)] == []              # big first, and it needs both slots
    assert [u.name for u in sched.ready(2, pool.slots)] == ["big"]
    assert [u.name for u in sched.ready(2, pool.slots)] == ["small", "tiny"]


def test_a_unit_that_fills_every_core_runs_alone_in_the_pool(tmp_path):
    naps = {"collect": (0.8, 2), "a": (0.6, 1), "b": (0.6, 1), "c": (0.6, 1)}
    plan = Plan("t", tuple(Unit(n, "tests.timed_units:nap", {"name": n, "seconds": s, "log_dir": str(tmp_path)},
                                cost=s + c, cpus=c) for n, (s, c) in naps.items()))
    list(LocalPool(2, cores_per_job=1).run(plan, lambda: False))
    ran = {n: json.loads(Path(tmp_path, f"{n}.json").read_text()) for n in naps}
    big = ran["collect"]
    assert all(o["end"] <= big["start"] or o["start"] >= big["end"] for n, o in ran.items() if n != "collect")


def test_the_sweeps_collection_runs_alone_on_every_core_of_the_study(tmp_path):
    a = StudyArgs(out=tmp_path, quick=False, seeds=1, episodes=50, workers=1, options={"obs": "keypoints"}, cores=2)
    plan = fig9.plan(a)
    collect = plan["collect PushT demonstrations"]
    assert (collect.cpus, collect.args["workers"]) == (2, 2)
    assert all(u.cpus == 1 for u in plan.units if u is not collect)
    sched = Schedule(plan)
    assert [u.name for u in sched.ready(2, LocalPool(2, cores_per_job=1).slots)] == ["collect PushT demonstrations"]

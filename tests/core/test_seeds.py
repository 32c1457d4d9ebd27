"""The seed plan (lwd_core/seeds.py): training and evaluation start states never meet, for every registered suite,
and the collectors reset their episodes to the start states the plan gives them."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from lwd_core import seeds
from lwd_core.envs.registry import get_collector, get_suite, suite_names
from lwd_core.seeds import START_STREAMS, start_seed, suite_start_seed

SEEDS = range(51)
EPISODES = range(120)


def every_suite():
    """Each registered suite, plus the gymnasium fallback behind any other id (tests/toy_suite.py is registered
    by conftest, so plugins' suites are covered too)."""
    return [get_suite(name) for name in suite_names()] + [get_suite("Pendulum-v1")]


def collection_states(suite) -> set[int]:
    # keys of one part (mt10, pusht: episode) and of two (locomotion: behaviour level, episode)
    out = {suite_start_seed(suite, "collect", s, e) for s in SEEDS for e in EPISODES}
    out |= {suite_start_seed(suite, "collect", s, lv, e) for s in SEEDS for lv in range(3) for e in EPISODES}
    return out


def held_out_states(suite) -> set[int]:
    return {suite_start_seed(suite, st, s, e) for st in ("eval", "reference") for s in SEEDS for e in EPISODES}


@pytest.mark.parametrize("suite", every_suite(), ids=lambda s: s.env_id)
def test_collection_and_evaluation_start_states_never_meet(suite):
    train, held = collection_states(suite), held_out_states(suite)
    assert len(held) == 2 * len(SEEDS) * len(EPISODES)          # every (stream, seed, episode) is its own state
    assert not train & held


def test_streams_are_disjoint_whatever_the_seeds():
    # far beyond any default, where bases chosen "far apart" used to meet (seed 5's training = seed 0's evaluation)
    big = [0, 5, 10, 999, 10**6, 2**40]
    for stream in START_STREAMS:
        others = {start_seed(o, s, e) for o in START_STREAMS if o != stream for s in big for e in (0, 1, 99_999)}
        mine = {start_seed(stream, s, e) for s in big for e in (0, 1, 99_999)}
        assert not mine & others
        assert all(seeds.stream_of(v) == stream for v in mine)
    # keys of different lengths never meet within a stream either
    assert not {start_seed("collect", s, e) for s in range(30) for e in range(30)} & \
        {start_seed("collect", s, a, e) for s in range(30) for a in range(3) for e in range(30)}


def test_draw_streams_are_independent_and_repeatable():
    a = seeds.rng("policy", 3, 1).standard_normal(4)
    assert np.array_equal(a, seeds.rng("policy", 3, 1).standard_normal(4))
    assert not np.array_equal(a, seeds.rng("perturb", 3, 1).standard_normal(4))
    assert not np.array_equal(a, seeds.rng("policy", 3, 2).standard_normal(4))
    with pytest.raises(ValueError, match="unknown seed stream"):
        seeds.rng("policies", 0)
    with pytest.raises(ValueError, match="integers >= 0"):
        start_seed("eval", -1, 0)


def _reset_seeds(path, key) -> set[int]:
    with h5py.File(path, "r") as f:
        return {int(v) for v in np.asarray(f[f"infos/{key}"])}


def test_collectors_reset_to_the_plans_collection_states(tmp_path):
    """What the files record as each episode's reset seed is the plan's collection state of that episode, and
    none is an evaluation state of any seed 0..50."""
    from lwd_core.data.hdf5 import save_dataset
    cases = [("mt10", dict(episodes_per_task=3, episode_length=3, tasks="reach-v3", seed=4), "placement_seed", "mt10",
              lambda s, e: (s, e)),
             ("locomotion", dict(env="halfcheetah", behaviors="expert,random", episodes=2, episode_length=3, seed=5),
              "reset_seed", "HalfCheetah-v5", None)]
    for name, kw, key, env_id, _ in cases:
        col = get_collector(name)
        res: dict = {}
        for _ in col.collect(col.config(**kw), 1, res):
            pass
        path = tmp_path / f"{name}.h5"
        save_dataset(res["dataset"], path)
        got = _reset_seeds(path, key)
        suite = get_suite(env_id)
        if name == "mt10":
            want = {suite_start_seed(suite, "collect", kw["seed"], e) for e in range(kw["episodes_per_task"])}
        else:
            want = {suite_start_seed(suite, "collect", kw["seed"], lv, e) for lv in range(2) for e in range(2)}
        assert got == want
        assert not got & held_out_states(suite)

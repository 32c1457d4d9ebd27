import numpy as np
import pytest

from lwd_core.envs.mt10 import (
    MT10Suite,
    PlacedEnv,
    ScriptedExpert,
    eval_placement_seed,
    train_placement_seed,
)
from lwd_core.eval.parallel import EnvPool
from lwd_core.eval.rollout import rollout, rollout_pool


def test_placements_are_seeded_and_eval_is_held_out():
    env = PlacedEnv("reach-v3")
    try:
        a = env.reset(seed=train_placement_seed(0, 3))[0]
        b = env.reset(seed=train_placement_seed(0, 4))[0]
        a2 = env.reset(seed=train_placement_seed(0, 3))[0]
        np.testing.assert_array_equal(a, a2)
        assert not np.allclose(a[36:39], b[36:39])            # the goal moves between placements
        train_goals = np.stack([env.reset(seed=train_placement_seed(0, i))[0][36:39] for i in range(40)])
        eval_goals = np.stack([env.reset(seed=eval_placement_seed(0, i))[0][36:39] for i in range(10)])
        d = np.linalg.norm(eval_goals[:, None] - train_goals[None], axis=-1).min(1)
        assert (d > 1e-6).all()
    finally:
        env.close()


def test_scripted_expert_solves_reach_and_batched_rollout_agrees():
    seeds = [eval_placement_seed(0, 0), eval_placement_seed(0, 1)]
    with EnvPool(MT10Suite(), workers=1) as pool:
        pool.open("reach-v3", 2, experts=True)
        batch = rollout_pool(pool, None, seeds, 150)                       # the experts act inside the pool
        experts = [ScriptedExpert("reach-v3") for _ in seeds]
        pool.reset(seeds)
        by_caller = rollout_pool(pool, lambda o, live: np.stack([e.act(x) for e, x in zip(experts, o)]), seeds, 150)
    env = PlacedEnv("reach-v3")
    try:
        single = rollout(env, experts[0], seeds[0], max_steps=150)
    finally:
        env.close()
    assert batch[0]["success"] and single["success"]
    assert batch[0]["return"] == single["return"] == by_caller[0]["return"]
    assert batch[1]["return"] == by_caller[1]["return"] != batch[0]["return"]


def test_pool_results_do_not_depend_on_the_number_of_workers():
    """Three MT10 episodes stepped in-process and across two worker processes: bit-identical trajectories."""
    seeds = [eval_placement_seed(3, e) for e in range(3)]
    out = {}
    for workers in (1, 2):
        with EnvPool(MT10Suite(), workers=workers) as pool:
            pool.open("push-v3", 3, experts=True)
            out[workers] = rollout_pool(pool, None, seeds, 40, record=True)
    for a, b in zip(out[1], out[2]):
        assert a["return"] == b["return"] and a["length"] == b["length"] == 40
        np.testing.assert_array_equal(a["obs"], b["obs"])
        np.testing.assert_array_equal(a["act"], b["act"])
    assert not np.array_equal(out[1][0]["obs"], out[1][1]["obs"])        # different episodes really differ


class CountingEnv:
    """Deterministic 1-D env: reward = -|x|, success when |x| < 0.1, truncates at `length` steps."""

    def __init__(self, length: int = 20):
        self.max_episode_steps = length

    def reset(self, seed=None):
        self.x, self.t = float(seed), 0
        return np.array([self.x], np.float32), {}

    def step(self, a):
        self.x += float(a[0])
        self.t += 1
        return (np.array([self.x], np.float32), -abs(self.x), False, self.t >= self.max_episode_steps,
                {"success": abs(self.x) < 0.1})

    def render(self):
        return np.full((4, 4, 3), self.t, np.uint8)

    def close(self):
        pass


class Toward:
    def reset(self):
        pass

    def act(self, obs):
        return np.clip(-obs, -0.5, 0.5)


def test_rollout_frames_and_success():
    frames = []
    out = rollout(CountingEnv(), Toward(), seed=2, on_frame=lambda f, st: frames.append(f), record=True)
    assert out["success"] and out["length"] == 20 and len(frames) == 21
    assert [f[0, 0, 0] for f in frames[:3]] == [0, 1, 2]
    assert out["obs"].shape == (20, 1) and out["act"].shape == (20, 1)
    assert out["return"] == pytest.approx(-(1.5 + 1.0 + 0.5))


class CountingSuite:
    def make(self, condition, render_mode=None, size=None):
        return CountingEnv(int(condition))

    def expert(self, condition):
        return Toward()


@pytest.mark.parametrize("workers", [1, 2])
def test_rollout_pool_stops_each_env_at_its_own_end(workers):
    """Episodes of 3, 7 and 20 steps in one lock-step batch: each stops at its own end, and from then on the
    policy is told it is not live."""
    seen = []

    def act(o, live):
        seen.append(live.copy())
        return np.clip(-o, -0.5, 0.5)

    with EnvPool(CountingSuite(), workers=workers) as pool:
        pool.open(["3", "7", "20"])
        res = rollout_pool(pool, act, [2, -1, 2], 50, record=True)
    assert [r["length"] for r in res] == [3, 7, 20]
    assert [r["obs"].shape for r in res] == [(3, 1), (7, 1), (20, 1)]
    # x goes 2 -> 1.5 -> 1.0 -> 0.5 (then 0): the 3-step episode stops at -(1.5 + 1 + 0.5) = -3
    assert res[0]["return"] == pytest.approx(-3.0) and res[2]["return"] == pytest.approx(-3.0)
    assert res[1]["return"] == pytest.approx(-0.5)
    assert len(seen) == 20
    assert [live.tolist() for live in seen[2:4]] == [[True, True, True], [False, True, True]]
    assert seen[7].tolist() == [False, False, True]


def test_rollout_frame_every_and_should_stop():
    seen = []
    out = rollout(CountingEnv(), Toward(), seed=2, on_frame=lambda f, st: seen.append(st["t"]), frame_every=5)
    assert seen == [0, 5, 10, 15, 20] and "aborted" not in out
    n = {"k": 0}

    def stop():
        n["k"] += 1
        return n["k"] >= 3

    out = rollout(CountingEnv(), Toward(), seed=2, should_stop=stop)
    assert out["aborted"] and out["length"] == 3

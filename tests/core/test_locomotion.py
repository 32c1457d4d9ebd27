"""Locomotion behaviours (paper Table 1): shipped-policy files, foot contacts from MuJoCo, the JS estimator, the
behaviour-mixture collector, and SAC training with resume."""
import json
import subprocess
import sys

import numpy as np
import pytest

from lwd_core.envs.behaviours import load_behaviour, normalized_score
from lwd_core.envs.locomotion import LocomotionSuite
from lwd_core.envs.registry import get_suite
from lwd_core.errors import LWDError
from lwd_core.eval.behaviour import LN2, histogram, js_divergence, sos_split
from tests.toy_behaviours import random_policy, write_behaviours


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """Three distinct (untrained) HalfCheetah behaviours in a temporary assets folder."""
    monkeypatch.setenv("LWD_BEHAVIOURS", str(tmp_path / "assets"))
    return write_behaviours(tmp_path / "assets")


def test_js_estimator_on_distributions_with_known_divergence():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (400, 2))
    assert js_divergence(a, a) == 0.0
    assert js_divergence(np.full((5, 1), 0.05), np.full((7, 1), 0.95)) == pytest.approx(LN2)     # disjoint
    # P uniform on cells {0, 1}, Q on {1, 2}: M = (1/4, 1/2, 1/4), so JS = 1/2 ln 2
    p, q = np.array([[0.05], [0.15]]), np.array([[0.15], [0.25]])
    assert js_divergence(p, q) == pytest.approx(0.5 * LN2) and js_divergence(q, p) == pytest.approx(0.5 * LN2)
    assert histogram(np.array([[1.0, 0.0]]), 10).argmax() == 90                                   # 1.0: last cell
    # two samples of one distribution diverge less than samples of two distributions
    b = rng.uniform(0, 1, (400, 2))
    c = rng.beta(5, 1, (400, 2))
    assert js_divergence(a, b) < 0.2 < js_divergence(a, c) <= LN2
    x, y = sos_split(np.arange(10)[:, None] / 10)
    assert len(x) == len(y) == 5 and x[-1, 0] < y[0, 0]


def test_foot_contacts_are_read_from_mujoco():
    import mujoco
    env = get_suite("HalfCheetah-v5").make("expert")
    env.reset(seed=0)
    m, d = env.env.unwrapped.model, env.env.unwrapped.data

    def touching():          # read here from MuJoCo's contact list by geom name: (back foot, front foot) on the floor
        name = lambda g: mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, int(g))       # noqa: E731
        pairs = {frozenset((name(d.contact.geom1[i]), name(d.contact.geom2[i]))) for i in range(d.ncon)}
        return [frozenset(("floor", "bfoot")) in pairs, frozenset(("floor", "ffoot")) in pairs]

    feet, mine = [], []
    for _ in range(60):
        feet.append(env.step(np.zeros(6))[4]["feet"])
        mine.append(touching())
    mine = np.array(mine)
    assert np.array_equal(np.array(feet), mine)
    frac = env.episode_stats()["foot_contact"]
    assert len(frac) == 2 and frac == pytest.approx((mine.sum(0) / 60).tolist())
    assert mine[-1].all() and 0 < mine.sum() < 120          # at rest on both feet; the front one lands late
    env.env.unwrapped.data.qpos[1] += 2.0                  # lift it: no foot touches the floor
    import mujoco
    mujoco.mj_forward(env.env.unwrapped.model, env.env.unwrapped.data)
    assert not env.foot_contacts().any()
    env.close()
    assert len(get_suite("Ant-v5").make("x").foot_contacts()) == 4 and get_suite("Walker2d-v5").feet[1] == "foot_left_geom"


def test_behaviour_policy_files_round_trip_without_sb3(tmp_path):
    pol = random_policy(17, 6, 3, card={"env": "HalfCheetah-v5", "level": "expert", "return_mean": 1.0})
    pol.save(tmp_path / "HalfCheetah-v5-expert.safetensors")
    back = load_behaviour("HalfCheetah-v5", "expert", tmp_path)
    obs = np.random.default_rng(1).normal(size=(4, 17))
    assert np.allclose(back.mean_action(obs), pol.mean_action(obs), atol=1e-6)
    noisy, clean = back.sample(obs, np.random.default_rng(2))
    assert np.allclose(clean, back.mean_action(obs)) and not np.allclose(noisy, clean) and np.abs(noisy).max() <= 1
    assert back.card["level"] == "expert"
    assert json.loads((tmp_path / "HalfCheetah-v5-expert.json").read_text())["return_mean"] == 1.0
    with pytest.raises(LWDError, match="no shipped 'medium'"):
        load_behaviour("HalfCheetah-v5", "medium", tmp_path)
    assert normalized_score("HalfCheetah-v5", -280.18) == pytest.approx(0.0)
    assert normalized_score("Walker2d-v5", 4592.3) == pytest.approx(100.0)


def test_collect_a_behaviour_mixture_in_the_d4rl_layout(shipped, tmp_path):
    from lwd_core.data.sources import load_source
    r = subprocess.run([sys.executable, "-m", "lwd_studio", "collect", "locomotion", "--env", "halfcheetah",
                        "--episodes", "2", "--episode-length", "50", "--out", tmp_path / "hc.h5", "--workers", "2"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    ds = load_source(str(tmp_path / "hc.h5"))
    assert ds.label_names == ["expert", "medium", "random"] and ds.env_id == "HalfCheetah-v5"
    assert list(ds.episode_labels()) == [0, 0, 1, 1, 2, 2] and len(ds) == 300
    assert ds.infos["qpos"].shape == (300, 9) and ds.infos["qvel"].shape == (300, 9) and ds.infos["feet"].shape == (300, 2)
    assert not np.allclose(ds.actions, ds.infos["action_mean"])          # actions carry the behaviour's noise
    # the collected noise and start states are seeded: one worker gives the same file
    r = subprocess.run([sys.executable, "-m", "lwd_studio", "collect", "locomotion", "--env", "halfcheetah",
                        "--episodes", "2", "--episode-length", "50", "--out", tmp_path / "hc1.h5", "--workers", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and np.array_equal(load_source(str(tmp_path / "hc1.h5")).actions, ds.actions)
    r = subprocess.run([sys.executable, "-m", "lwd_studio", "collect", "locomotion", "--env", "hopper",
                        "--out", tmp_path / "x.h5"], capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "unknown locomotion env 'hopper'" in r.stderr and "Traceback" not in r.stderr


def test_sac_behaviours_train_resume_and_ship_three_levels(tmp_path):
    from lwd_core.envs.behaviour_train import choose_levels, train_behaviours
    out, wd = tmp_path / "assets", tmp_path / "work"
    kw = dict(snapshot_every=150, snapshot_episodes=1, out_dir=out, card_episodes=1)
    list(train_behaviours("halfcheetah", 300, wd, **kw))
    events = list(train_behaviours("halfcheetah", 450, wd, **kw))
    assert events[0].message == "resumed at step 300"
    log = json.loads((wd / "HalfCheetah-v5" / "snapshots.json").read_text())
    assert [s["step"] for s in log] == [0, 150, 300, 450]
    for lv in ("expert", "medium", "random"):
        card = json.loads((out / f"HalfCheetah-v5-{lv}.json").read_text())
        assert set(card) >= {"env", "level", "return_mean", "return_std", "normalized_score", "train_steps", "seed"}
    assert json.loads((out / "HalfCheetah-v5-random.json").read_text())["train_steps"] == 0
    assert all(s["behaviour_episodes"] == 1 and "behaviour_return_mean" in s for s in log)
    picked = choose_levels([{"step": 0, "return_mean": -300}, {"step": 5, "return_mean": 900},
                            {"step": 10, "return_mean": 2100}, {"step": 15, "return_mean": 3000},
                            {"step": 20, "return_mean": 2800}], key="return_mean")
    assert (picked["expert"]["step"], picked["medium"]["step"], picked["random"]["step"]) == (15, 5, 0)


def test_flipped_snapshots_are_never_expert_or_medium():
    from lwd_core.envs.behaviour_train import choose_levels
    log = [{"step": 0, "r": -300, "behaviour_flipped": 0.3}, {"step": 5, "r": 300, "behaviour_flipped": 0.0},
           {"step": 10, "r": 900, "behaviour_flipped": 0.1}, {"step": 15, "r": 3000, "behaviour_flipped": 0.9}]
    picked = choose_levels(log, key="r")
    assert (picked["expert"]["step"], picked["medium"]["step"], picked["random"]["step"]) == (10, 5, 0)
    with pytest.raises(LWDError, match="upside down"):
        choose_levels([log[0], log[3]], key="r")


def test_a_cheetah_on_its_back_counts_as_flipped():
    """The torso's orientation decides: set HalfCheetah's root pitch to pi (on its back) and it is flipped."""
    env = LocomotionSuite("HalfCheetah-v5").make("expert")
    try:
        env.reset(seed=0)
        assert not env.is_flipped()
        u = env.env.unwrapped
        qpos, qvel = u.data.qpos.copy(), u.data.qvel.copy()
        qpos[1], qpos[2] = 0.5, np.pi
        u.set_state(qpos, qvel)
        assert env.is_flipped()
        env.step(np.zeros(6, np.float32))
        assert env.episode_stats()["flipped"] == 1.0
    finally:
        env.close()


def test_halfcheetah_trains_with_a_penalty_for_lying_on_its_back():
    from lwd_core.envs.behaviour_train import FLIP_PENALTY, training_env
    env = training_env("HalfCheetah-v5")
    plain = LocomotionSuite("HalfCheetah-v5").make("expert")
    try:
        for e, flip in ((env, False), (env, True)):
            e.reset(seed=0)
            plain.reset(seed=0)
            if flip:
                for u in (e.unwrapped, plain.env.unwrapped):
                    q = u.data.qpos.copy()
                    q[1], q[2] = 0.5, np.pi
                    u.set_state(q, u.data.qvel.copy())
            a = np.zeros(6, np.float32)
            r = e.step(a)[1]
            r0 = plain.step(a)[1]
            assert r == pytest.approx(r0 - (FLIP_PENALTY if flip else 0.0))
    finally:
        env.close()
        plain.close()
    assert not hasattr(training_env("Walker2d-v5"), "torso")        # Walker2d and Ant end their own episodes

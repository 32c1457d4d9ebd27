"""The PushT suite: gym-pusht behind the suite contract, DP's scoring, seeded perturbations, evaluation."""
from __future__ import annotations

import numpy as np
import pytest

from lwd_core.config import EvalConfig
from lwd_core.envs.pusht import EPISODE_LENGTH, PushTSuite, keypoint_obs
from lwd_core.envs.registry import get_collector, get_suite
from lwd_core.errors import DatasetError
from lwd_core.eval.evaluate import evaluate
from lwd_core.seeds import suite_start_seed

GOAL = (256.0, 256.0, np.pi / 4)


def test_registered_with_its_dimensions():
    s = get_suite("pusht")
    assert isinstance(s, PushTSuite) and s.episode_length() == EPISODE_LENGTH == 300
    s.check_dims(5, 2, "x")
    with pytest.raises(DatasetError, match="do not fit pusht"):
        s.check_dims(39, 4, "x")


def test_actions_are_scaled_target_positions():
    from lwd_core.envs.pusht import to_action, to_pixels
    assert np.allclose(to_pixels([-1.0, 1.0]), [0.0, 512.0]) and np.allclose(to_action(to_pixels([0.3, -0.2])), [0.3, -0.2])
    env = get_suite("pusht").make("pusht")
    env.reset(state=[100, 100, 400, 120, 0.0])
    for _ in range(20):
        obs, *_ = env.step(to_action([300.0, 200.0]))
    assert np.allclose(obs[16:], [300.0, 200.0], atol=2.0)         # the PD controller reached the target          # the PD controller reached the target


def test_seeded_start_states():
    s = get_suite("pusht")
    a, b = s.make("pusht"), s.make("pusht")
    o1, _ = a.reset(seed=suite_start_seed(s, "eval", 0, 3))
    o2, _ = b.reset(seed=suite_start_seed(s, "eval", 0, 3))
    o3, _ = b.reset(seed=suite_start_seed(s, "eval", 0, 4))
    assert o1.shape == (18,) and o1.dtype == np.float32
    assert np.array_equal(o1, o2) and not np.array_equal(o1, o3)


def test_block_on_the_goal_scores_one_and_ends_the_episode_while_far_scores_zero():
    env = get_suite("pusht").make("pusht")
    env.reset(state=[100, 100, 300, 300, 0.0])
    env.place_block(*GOAL)
    _, r, term, _, info = env.step(np.array([-0.6, -0.6]))
    assert info["coverage"] > 0.95 and info["is_success"] and term and r == 1.0
    env.reset(state=[100, 100, 400, 120, 0.0])
    _, r, term, _, info = env.step(np.array([-0.6, -0.6]))
    assert info["coverage"] == 0.0 and r == 0.0 and not term
    env.place_block(256.0 + 12, 256.0, np.pi / 4)                 # partly covered: reward = coverage / 0.95
    _, r, _, _, info = env.step(np.array([-0.6, -0.6]))
    assert 0 < info["coverage"] < 0.95 and r == pytest.approx(info["coverage"] / 0.95)


def _roll(env, seed, steps=300):
    obs, _ = env.reset(seed=seed)
    out = [obs]
    info = {}
    for _ in range(steps):
        obs, _, term, trunc, info = env.step(np.array([0.0, 0.0]))
        out.append(obs)
        if term or trunc:
            break
    return np.array(out), info["perturbations"]


def test_perturbations_are_seeded_per_episode_and_move_the_block():
    s = get_suite("pusht-5d")
    a, na = _roll(s.with_perturbations().make("pusht"), 11)
    b, nb = _roll(s.with_perturbations().make("pusht"), 11)
    c, nc = _roll(s.make("pusht"), 11)
    assert np.array_equal(a, b) and na == nb >= 1                # the same pushes at the same steps
    assert nc == 0 and not np.array_equal(a, c)
    jumps = np.linalg.norm(np.diff(a[:, 2:4], axis=0), axis=1)
    assert (jumps > 15).sum() >= 1                                 # a 20 px displacement shows in the block


class TowardGoal:
    """A stand-in trained method: its one policy kind drives the agent at the block (no learning involved)."""
    env_id, label_names, policy_kinds, extra_kinds, n_params = "pusht", ["pusht"], ("chase",), (), 0

    def condition_id(self, name):
        return 0

    def needs_demos(self, kind):
        return False

    def batch_policy(self, kind, cid, n, ecfg, seed, init_obs, demos=None):
        return lambda obs, live=None: obs[:, :16].reshape(-1, 8, 2).mean(1) / 256.0 - 1.0   # the T's corners' mean

    def heldout_demos(self, cid, n):
        return []

    def extra_metrics(self, batches):
        return {}


@pytest.mark.parametrize("perturb", [False, True])
def test_evaluate_reports_score_and_success_the_same_for_any_worker_count(perturb):
    """Equal up to float rounding, not bitwise: see the note on Chipmunk's contact cache in envs/pusht.py."""
    ecfg = EvalConfig(episodes=3, max_steps=40, perturb=perturb)
    res = {}
    for w in (1, 2):
        out: dict = {}
        list(evaluate(TowardGoal(), ecfg, workers=w, result=out))
        res[w] = out
    a, b = res[1]["per_condition"]["pusht"], res[2]["per_condition"]["pusht"]
    assert a["success"] == b["success"] and a["episodes"] == b["episodes"]
    assert a["score"] == pytest.approx(b["score"], rel=1e-9) and a["return"] == pytest.approx(b["return"], rel=1e-9)
    row = res[1]["per_condition"]["pusht"]
    assert set(row) >= {"success", "return", "score", "episodes"} and row["episodes"] == 3
    assert 0 <= row["score"] <= 1 and res[1]["perturb"] is perturb


def test_push_planner_finishes_a_nearly_placed_block():
    """The planner's near-goal precision: the block 18 px and 0.3 rad off the goal is pushed to > 95% coverage."""
    from lwd_core.envs.pusht_planner import run_episode
    ok, steps, cov = run_episode(0, np.random.default_rng(0), diverse=False,
                                 state=[100.0, 100.0, 256.0 + 18, 256.0 - 10, np.pi / 4 + 0.3], max_steps=150)
    assert ok and cov > 0.95, (steps, cov)


def test_collect_pusht_writes_successful_varied_demonstrations(tmp_path):
    from lwd_core.data.hdf5 import load_dataset, save_dataset
    from lwd_core.envs.pusht_collect import PushTCollectConfig, collect_pusht
    res: dict = {}
    progress = list(collect_pusht(PushTCollectConfig(episodes=3, seed=1, noise=0.0), workers=1, result=res))
    assert [p.done for p in progress] == [1, 2, 3]
    save_dataset(res["dataset"], tmp_path / "p.h5")
    ds = load_dataset(tmp_path / "p.h5")
    get_suite(ds.env_id).check_dims(ds.obs_dim, ds.act_dim, "p.h5")
    bounds = ds.episode_bounds()
    assert len(bounds) == 3 and ds.label_names == ["pusht"]
    for s, e in bounds:
        assert ds.terminals[e - 1] and ds.success[e - 1] and ds.infos["coverage"][e - 1] > 0.95   # ends on success
        assert not ds.success[s:e - 1].any() and len(set(ds.infos["first_side"][s:e])) == 1
        assert ds.infos["first_side"][s] in (-1, 1)
    assert ((ds.actions >= -1) & (ds.actions <= 1)).all()
    assert ds.attrs["success_rate"] == 1.0
    assert sorted(ds.infos["first_side"][s] for s, _ in bounds) == [-1, 1, 1]      # both sides occur (seed 1)


def test_collect_pusht_noise_strays_off_the_plan_and_keeps_the_planners_targets_as_labels():
    """With `noise`, the executed targets stray from the planner's by a slowly varying offset of about that std,
    only while the block covers at most 80% of the goal; the planner's own targets are the action labels."""
    from lwd_core.envs.pusht_collect import PushTCollectConfig, collect_pusht
    clean, noisy = {}, {}
    list(collect_pusht(PushTCollectConfig(episodes=2, seed=1, noise=0.0), workers=1, result=clean))
    list(collect_pusht(PushTCollectConfig(episodes=2, seed=1, noise=10.0), workers=1, result=noisy))
    c, n = clean["dataset"], noisy["dataset"]
    assert c.action_labels is None and n.action_labels is not None and n.attrs["noise"] == 10.0
    for (s, e), (s0, _) in zip(n.episode_bounds(), c.episode_bounds()):
        # the first plan is made before any noise acts: the same targets as the noise-free episode's
        assert np.array_equal(n.action_labels[s], c.actions[s0])
        off = (n.actions[s:e] - n.action_labels[s:e]) * 256.0                          # (T, 2) px
        before = np.concatenate([[0.0], n.infos["coverage"][s:e - 1]])                # coverage when acting
        far = before <= PushTSuite.NEAR_GOAL
        assert np.abs(off[~far]).max(initial=0.0) == 0.0 and far.sum() > 50
        std = off[far].std()
        assert 5.0 < std < 15.0, std
        lag1 = np.corrcoef(off[far][1:, 0], off[far][:-1, 0])[0, 1]
        assert lag1 > 0.5, lag1                                   # slowly varying: white noise would be ~0


def _pushes(act, seed):
    """The perturbations one episode meets: (step, turn of the block), with `act(obs, t)` choosing actions."""
    env = get_suite("pusht").with_perturbations().make("pusht")
    log, displace = [], env._displace_block

    def spy():
        before = env.env.block.angle
        displace()
        log.append((env.t, round(env.env.block.angle - before, 12)))
    env._displace_block = spy
    obs, _ = env.reset(seed=seed)
    for t in range(EPISODE_LENGTH):
        obs, _, term, trunc, _ = env.step(act(obs, t))
        if term or trunc:
            break
    return log


def test_perturbation_schedule_is_the_same_whatever_the_policy_does():
    """Two methods evaluated on the same seed meet the same pushes at the same steps: the schedule is drawn from
    the episode's seed alone, not from what the agent does."""
    rng = np.random.default_rng(3)
    still = _pushes(lambda o, t: np.zeros(2), 21)
    wander = _pushes(lambda o, t: rng.uniform(-1, 1, 2), 21)
    chase = _pushes(lambda o, t: o[2:4] / 256.0 - 1.0, 21)
    assert len(still) >= 2 and still == wander == chase
    assert _pushes(lambda o, t: np.zeros(2), 22) != still            # another seed, another schedule


def test_keypoint_observations_are_gym_pushts_corners_and_the_agent():
    """`pusht` observes the T's 8 corners (as gym-pusht's own get_keypoints finds them on its shapes) and the agent;
    `pusht-5d` the raw state. The same seed gives the same start state in both."""
    kp_env, st_env = get_suite("pusht").make("pusht"), get_suite("pusht-5d").make("pusht")
    for seed in range(5):
        kp, _ = kp_env.reset(seed=seed)
        st, _ = st_env.reset(seed=seed)
        assert kp.shape == (18,) and st.shape == (5,)
        corners = kp_env.env.get_keypoints(kp_env.env._block_shapes)          # (8, 2) from the pymunk shapes
        mine = kp[:16].reshape(8, 2)
        d = np.linalg.norm(mine[:, None] - corners[None], axis=-1)          # every corner matched by one of ours
        assert d.min(1).max() < 1e-3 and d.min(0).max() < 1e-3
        assert np.allclose(kp[16:], st[:2])
        kp, *_ = kp_env.step(np.array([0.2, -0.3], np.float32))
        st, *_ = st_env.step(np.array([0.2, -0.3], np.float32))
        assert np.allclose(keypoint_obs(st), kp, atol=1e-3)


def test_keypoints_are_continuous_where_the_angle_wraps():
    """A quarter-degree turn across the 5-d state's wrap (0 <-> 2 pi) jumps its angle by 2 pi, keypoints by < 1 px."""
    a = keypoint_obs(np.array([100, 100, 256, 256, 2 * np.pi - 0.002]))
    b = keypoint_obs(np.array([100, 100, 256, 256, 0.002]))
    assert np.abs(a - b).max() < 1.0


def test_a_5d_file_trains_a_keypoint_run(tmp_path):
    from lwd_core.envs.registry import as_suite_sees_it
    res: dict = {}
    col = get_collector("pusht")
    for _ in col.run(col.config(episodes=1, seed=0), 1, res):
        pass
    ds = res["dataset"]
    assert ds.obs_dim == 5 and ds.env_id == "pusht"                    # files keep the exact state
    kp = as_suite_sees_it(ds, "pusht")
    assert kp.obs_dim == 18 and np.allclose(kp.observations, keypoint_obs(ds.observations))
    assert as_suite_sees_it(ds, "pusht-5d") is ds
    get_suite("pusht").check_dims(5, 2, "x")
    with pytest.raises(DatasetError, match="do not fit pusht-5d"):
        get_suite("pusht-5d").check_dims(18, 2, "x")


def test_lwd_training_records_the_near_goal_action_error_in_pixels(tmp_path):
    """A PushT LWD run logs its generated policies' RMS action error in px, overall and on near-goal steps
    (coverage > 0.8), beside the MSE; checked against the same error computed here from the saved VAE."""
    import json

    import torch

    from lwd_core.config import preset
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.data.windows import make_windows
    from lwd_core.envs.registry import as_suite_sees_it
    from lwd_core.methods.lwd.inference import TrainedLWD
    from lwd_core.methods.registry import train_run
    res: dict = {}
    col = get_collector("pusht")
    for _ in col.run(col.config(episodes=2, seed=0), 1, res):
        pass
    save_dataset(res["dataset"], tmp_path / "p.h5")
    cfg = preset("pusht-state").replace(data={"dataset": str(tmp_path / "p.h5"), "holdout_fraction": 0.0},
                                        vae={"steps": 6, "encoder_hidden": [64], "batch_size": 4},
                                        ddpm={"steps": 2, "hidden": 32, "n_blocks": 1}, log_every=3, device="cpu")
    for _ in train_run(str(tmp_path / "run"), cfg):
        pass
    recs = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in recs if r.get("phase") == "vae"][-1]
    assert last["step"] == 6 and {"all_rmse_px", "near_goal_rmse_px"} <= set(last)
    # the near-goal error recomputed from the trained VAE over every near-goal step of the training windows
    lwd = TrainedLWD(tmp_path / "run", need_diffusion=False)
    ds = as_suite_sees_it(res["dataset"], "pusht")
    win = make_windows(ds, 32, 8)
    first = np.array([b[0] for b in ds.episode_bounds()])
    idx = np.minimum(first[win.episode][:, None] + win.start[:, None] + np.arange(32), len(ds) - 1)
    near = (ds.infos["coverage"][idx] > 0.8) & (win.mask > 0)
    rows = np.flatnonzero(near.any(1))
    with torch.no_grad():
        o, a, m = (torch.as_tensor(x[rows]) for x in (win.obs, win.act, win.mask))
        mu, _ = lwd.vae.encode(o, a, m)
        se = (lwd.vae.act(lwd.vae.decode(mu), o) - a).pow(2).mean(-1).numpy()
    want = float(np.sqrt(se[near[rows]].mean())) * 256
    assert last["near_goal_rmse_px"] == pytest.approx(want, rel=1e-4)
    # which part misses: the VAE part is the error just logged; the diffusion part, with every sample replaced by
    # the latent of the window starting at that very state, must give the VAE's error back
    from lwd_core.methods.lwd.precision import run_precision
    full = TrainedLWD(tmp_path / "run")
    pr = run_precision(full, samples=2)
    assert pr["vae"]["near_goal_rmse_px"] == pytest.approx(want, rel=1e-4)
    assert pr["diffusion"]["near_goal_rmse_px"] > 0
    full.sample_latents = lambda cond, sampler, steps, init_obs=None, generator=None: full.nearest_latents(0, init_obs)
    again = run_precision(full, samples=2)
    assert again["diffusion"] == pytest.approx(again["vae"], rel=1e-4)
    # the demonstrations' own spread: with every training window copied under another episode's id, each probe
    # window's nearest window of another episode is its own copy, and the error is the VAE's own
    from lwd_core.methods.lwd.precision import precision_probe
    assert pr["demonstrations"]["near_goal_rmse_px"] > 0
    lat, probe = full.latents, precision_probe(ds, win, "pusht", "cpu", full.cfg.seed)
    copied = probe.measure_neighbours(full.vae, torch.cat([lat["mu"]] * 2), torch.cat([lat["init_obs"]] * 2).float(),
                                      torch.cat([lat["episode"], lat["episode"] + 10 ** 6]), k=1)
    assert copied == pytest.approx(pr["vae"], rel=1e-4)
    # and without the copies, a window's own latent is never its neighbour
    alone = probe.measure_neighbours(full.vae, lat["mu"], lat["init_obs"].float(), lat["episode"], k=1)
    assert alone["all_rmse_px"] != pytest.approx(pr["vae"]["all_rmse_px"], rel=1e-3)
    # a window with no other episode to compare with gives no figure rather than a made-up one
    one_episode = torch.full_like(lat["episode"], int(probe.episode[0]))
    assert probe.measure_neighbours(full.vae, lat["mu"], lat["init_obs"].float(), one_episode) is None


def test_collect_pusht_holds_the_same_data_whatever_number_of_workers_made_it():
    """A study's collection runs on every core it has (`reproduce --jobs N`), so the file must not depend on it."""
    from lwd_core.envs.pusht_collect import PushTCollectConfig, collect_pusht
    one, two = {}, {}
    list(collect_pusht(PushTCollectConfig(episodes=3, seed=2, noise=10.0), workers=1, result=one))
    list(collect_pusht(PushTCollectConfig(episodes=3, seed=2, noise=10.0), workers=2, result=two))
    a, b = one["dataset"], two["dataset"]
    for name in ("observations", "actions", "action_labels", "terminals", "success"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert all(np.array_equal(a.infos[k], b.infos[k]) for k in a.infos)

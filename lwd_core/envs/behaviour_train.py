"""`lwd-studio behaviours train`: the locomotion behaviour policies, following D4RL's definitions, trained with
stable-baselines3 SAC (the `behaviours` extra; nothing else in the project needs it).

- random: the randomly initialised actor (the snapshot at step 0);
- expert: the best snapshot of the run;
- medium: the snapshot, before the expert's, whose return is closest to a third of the expert's.

Snapshots that spend most of their behaviour's steps upside down are not chosen as expert or medium: short
SAC runs on HalfCheetah often learn to run on their back, a gait whose feet never touch the floor (so the study's
foot-contact metric says nothing about it), and D4RL's policies run upright.

To keep HalfCheetah upright while it learns, its SAC training (only) loses FLIP_PENALTY of reward on every step
spent upside down: HalfCheetah, unlike Walker2d and Ant, never ends an episode for turning over, and once a
flailing early policy lands on its back, running on the back is the nearest optimum. Returns, cards and data
use the standard reward.

Snapshots are ranked by their *behaviour* return: the actor acting with its own noise, as it does in the data,
over 10 episodes. Early in training SAC's noise is wide, so the deterministic return ranks them differently: on
Ant a snapshot whose mean action ran well fell over with its noise, and expert and medium came out alike.

Training resumes from its own checkpoints (SB3's model and replay buffer in WORK/ENV/), so a long run can be
spread over several sittings: run the same command again, with a larger --steps to go further. Those checkpoints
are SB3's own files (zip + pickle), written and read only by this command on this machine; the shipped policies
are safetensors + JSON (`behaviours.py`)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import ConfigError, LWDError
from ..io import atomic_write_json
from ..seeds import START_STREAMS, suite_start_seed
from .behaviours import (
    BehaviourActor,
    BehaviourPolicy,
    assets_dir,
    behaviour_path,
    normalized_score,
    shipped,
)
from .locomotion import ENVS, LocomotionSuite, env_id_of, torso_of, upside_down
from .registry import SuiteAction, SuiteCommand, register_command

CARD_EPISODES = 10
RANK_KEY = "behaviour_return_mean"  # the noisy return every snapshot is ranked by (cached in snapshots.json)
MAX_FLIPPED = 0.5                   # expert and medium spend at most this fraction of their steps upside down
FLIP_PENALTY = 1.0                  # training reward lost per step upside down (about a running cheetah's speed)
FLIP_SHAPED = {"HalfCheetah-v5"}    # envs whose episodes do not end when the body turns over


@dataclass(frozen=True)
class BehaviourProgress:
    env_id: str
    step: int
    total: int
    message: str = ""


def _sac():
    try:
        from stable_baselines3 import SAC
    except ImportError:
        raise LWDError("training behaviour policies needs stable-baselines3: pip install -e '.[behaviours]'") from None
    return SAC


def actor_policy(model, card: dict) -> BehaviourPolicy:
    """The numpy copy of an SB3 SAC actor."""
    a = model.actor
    lin = [m for m in a.latent_pi if hasattr(m, "weight")]
    np_ = (lambda t: t.detach().cpu().numpy().astype(np.float64))
    return BehaviourPolicy([(np_(m.weight), np_(m.bias)) for m in lin], (np_(a.mu.weight), np_(a.mu.bias)),
                           (np_(a.log_std.weight), np_(a.log_std.bias)), card)


# Start states of the measurements behind the levels (seeds.py streams: none is a dataset's or an evaluation's):
# (stream, part) for ranking snapshots, and for the cards' deterministic and noisy returns.
RANKING, CARD_DETERMINISTIC, CARD_NOISY = ("snapshot", 0), ("card", 0), ("card", 1)


def policy_returns(env_id: str, policy: BehaviourPolicy, episodes: int, noisy: bool = False,
                   states: tuple[str, int] = RANKING) -> np.ndarray:
    return policy_rollouts(env_id, policy, episodes, noisy, states)[0]


def policy_rollouts(env_id: str, policy: BehaviourPolicy, episodes: int, noisy: bool = False,
                    states: tuple[str, int] = RANKING) -> tuple[np.ndarray, np.ndarray]:
    """(returns, fraction of steps upside down) of `episodes` episodes."""
    suite = LocomotionSuite(env_id)
    env = suite.make("expert")
    stream, part = states
    actor = BehaviourActor(policy, noisy=noisy, seed=START_STREAMS[stream] * 2 + part)
    out, flipped = [], []
    try:
        for e in range(episodes):
            obs, _ = env.reset(seed=suite_start_seed(suite, stream, part, e))
            actor.reset()
            total = 0.0
            for _ in range(suite.episode_length()):
                obs, r, term, trunc, _ = env.step(actor.act(obs))
                total += r
                if term or trunc:
                    break
            out.append(total)
            flipped.append(env.episode_stats()["flipped"])
    finally:
        env.close()
    return np.asarray(out), np.asarray(flipped)


def training_env(env_id: str):
    """The env SAC trains on: the standard one, with the upside-down penalty where the env needs it."""
    import gymnasium as gym

    from .gym import make_gym

    class UprightPenalty(gym.Wrapper):
        def __init__(self, env):
            super().__init__(env)
            self.torso = torso_of(env.unwrapped.model)

        def step(self, action):
            obs, r, term, trunc, info = self.env.step(action)
            return obs, r - FLIP_PENALTY * upside_down(self.env.unwrapped.data, self.torso), term, trunc, info

    env = make_gym(env_id)
    return UprightPenalty(env) if env_id in FLIP_SHAPED else env


def train_behaviours(env: str, steps: int, work_dir: Path, seed: int = 0, snapshot_every: int = 5000,
                     snapshot_episodes: int = 3, out_dir: Path | None = None,
                     card_episodes: int = CARD_EPISODES) -> Iterator[BehaviourProgress]:
    """Train (or resume) SAC on `env` up to `steps` environment steps, snapshotting the actor every
    `snapshot_every` steps, then choose and write the three behaviour policies. Yields progress."""
    SAC = _sac()
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    env_id = env_id_of(env)
    wd = Path(work_dir) / env_id
    (wd / "snapshots").mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)               # small MLPs: one thread is fastest, and leaves a core to MuJoCo
    model_path, buf_path, log_path = wd / "sac.zip", wd / "replay.pkl", wd / "snapshots.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else []
    if model_path.exists():
        model = SAC.load(model_path, env=training_env(env_id), device="cpu")
        if buf_path.exists():
            model.load_replay_buffer(buf_path)
        yield BehaviourProgress(env_id, model.num_timesteps, steps, f"resumed at step {model.num_timesteps}")
    else:
        model = SAC("MlpPolicy", training_env(env_id), seed=seed, device="cpu", verbose=0)
    t0 = time.time()

    def snapshot(step: int) -> dict:
        pol = actor_policy(model, {})
        rets = policy_returns(env_id, pol, snapshot_episodes)
        pol.save(wd / "snapshots" / f"step{step:08d}.safetensors")
        return {"step": step, "return_mean": float(rets.mean()), "return_std": float(rets.std())}

    if not log:
        log.append(snapshot(0))
        atomic_write_json(log_path, log)
    events: list[BehaviourProgress] = []

    class Snap(BaseCallback):
        def _on_step(self) -> bool:
            n = self.model.num_timesteps
            if n % snapshot_every == 0 and n > log[-1]["step"]:
                log.append(snapshot(n))
                atomic_write_json(log_path, log)
                model.save(model_path)
                model.save_replay_buffer(buf_path)
                events.append(BehaviourProgress(env_id, n, steps, f"step {n}: return {log[-1]['return_mean']:.0f} "
                                                f"({(time.time() - t0) / 60:.1f} min)"))
            return True

    chunk = snapshot_every
    while model.num_timesteps < steps:
        todo = min(chunk, steps - model.num_timesteps)
        model.learn(todo, callback=Snap(), reset_num_timesteps=False, progress_bar=False)
        yield from events
        events.clear()
        yield BehaviourProgress(env_id, model.num_timesteps, steps)
    model.save(model_path)
    model.save_replay_buffer(buf_path)
    yield from write_levels(env_id, wd, log, int(model.num_timesteps), seed, out_dir, card_episodes)


def measure_snapshots(env_id: str, wd: Path, log: list[dict], episodes: int = CARD_EPISODES) -> list[dict]:
    """Add each snapshot's behaviour (noisy) return over `episodes` episodes to `log`, where it is missing, and
    save the log. Uses reset seeds of their own, so the cards' returns are measured on episodes the choice never
    saw."""
    changed = False
    for snap in log:
        if RANK_KEY not in snap or "behaviour_flipped" not in snap or snap.get("behaviour_episodes") != episodes:
            pol = BehaviourPolicy.load(wd / "snapshots" / f"step{snap['step']:08d}.safetensors")
            rets, flipped = policy_rollouts(env_id, pol, episodes, noisy=True)
            snap.update({RANK_KEY: float(rets.mean()), "behaviour_return_std": float(rets.std()),
                         "behaviour_flipped": float(flipped.mean()), "behaviour_episodes": episodes})
            changed = True
    if changed:
        atomic_write_json(wd / "snapshots.json", log)
    return log


def choose_levels(log: list[dict], key: str = RANK_KEY) -> dict[str, dict]:
    """random = step 0; expert = the best snapshot; medium = the earlier snapshot closest to 1/3 of the expert's
    return (D4RL's 'about one third'), all by `key`, among the trained snapshots that run upright."""
    random_ = next(s for s in log if s["step"] == 0)
    trained = [s for s in log if s["step"] > 0]
    if not trained:
        raise LWDError("no trained snapshot yet: train for at least one snapshot interval")
    upright = [s for s in trained if s.get("behaviour_flipped", 0.0) <= MAX_FLIPPED]
    if not upright:
        raise LWDError(f"every trained snapshot spends more than {MAX_FLIPPED:.0%} of its steps upside down: train "
                       "again with another --seed in a new --work-dir")
    expert = max(upright, key=lambda s: s[key])
    target = expert[key] / 3
    earlier = [s for s in upright if s["step"] < expert["step"]] or [expert]
    medium = min(earlier, key=lambda s: abs(s[key] - target))
    return {"expert": expert, "medium": medium, "random": random_}


def write_levels(env_id: str, wd: Path, log: list[dict], train_steps: int, seed: int,
                 out_dir: Path | None = None, episodes: int = CARD_EPISODES) -> Iterator[BehaviourProgress]:
    """Measure the chosen snapshots over `episodes` episodes (10 for the shipped cards) and ship them."""
    out = Path(out_dir or assets_dir())
    out.mkdir(parents=True, exist_ok=True)
    yield BehaviourProgress(env_id, train_steps, train_steps, f"measuring {len(log)} snapshots' behaviour returns")
    measure_snapshots(env_id, wd, log, episodes)
    for level, snap in choose_levels(log).items():
        pol = BehaviourPolicy.load(wd / "snapshots" / f"step{snap['step']:08d}.safetensors")
        det = policy_returns(env_id, pol, episodes, states=CARD_DETERMINISTIC)
        noisy, flipped = policy_rollouts(env_id, pol, episodes, noisy=True, states=CARD_NOISY)
        # the card's return is the behaviour as it acts in the data, with its own noise (D4RL's random reference
        # score, -280 on HalfCheetah, is such a return); the deterministic actor's return is kept beside it
        pol.card = {"env": env_id, "level": level, "return_mean": float(noisy.mean()),
                    "return_std": float(noisy.std()), "normalized_score": normalized_score(env_id, float(noisy.mean())),
                    "mean_action_return_mean": float(det.mean()), "mean_action_return_std": float(det.std()),
                    "flipped_fraction": float(flipped.mean()), "train_steps": int(snap["step"]),
                    "run_steps": train_steps, "seed": seed,
                    "episodes": episodes, "algorithm": "SAC (stable-baselines3, default settings)",
                    "obs_dim": pol.obs_dim, "act_dim": pol.act_dim}
        pol.save(behaviour_path(env_id, level, out))
        yield BehaviourProgress(env_id, train_steps, train_steps,
                                f"{level}: return {noisy.mean():.0f} ± {noisy.std():.0f} (normalised "
                                f"{pol.card['normalized_score']:.1f}), upside down {flipped.mean():.0%} of its steps, "
                                f"snapshot at step {snap['step']}")


# ---- `lwd-studio behaviours train|list`, a command this suite brings (see envs/registry.py: SuiteCommand)
@dataclass(frozen=True)
class BehaviourTrainConfig:
    env: str = field(default="all", metadata={
        "help": "halfcheetah, walker2d, ant, a comma-separated list of them, or all (default)"})
    steps: int = field(default=100_000, metadata={"help": "environment steps of SAC in total (default 100000)"})
    work_dir: Path = field(default=Path("behaviour-training"), metadata={
        "help": "SAC checkpoints and snapshots, kept for resuming (default ./behaviour-training)"})
    out: Path | None = field(default=None, metadata={
        "help": "where the policies go (default: the package's assets)", "type": Path})
    seed: int = 0
    snapshot_every: int = 5000

    def __post_init__(self):
        if self.steps <= 0 or self.snapshot_every <= 0:
            raise ConfigError("--steps and --snapshot-every must be > 0")


def train_command(cfg: BehaviourTrainConfig) -> Iterator[str]:
    envs = list(ENVS) if cfg.env == "all" else [env_id_of(e.strip()) for e in cfg.env.split(",") if e.strip()]
    for env in envs:
        for ev in train_behaviours(env, cfg.steps, cfg.work_dir, cfg.seed, cfg.snapshot_every, out_dir=cfg.out):
            if ev.message:
                yield f"[{ev.env_id}] {ev.message}"


def list_command(cfg=None) -> Iterator[str]:
    cards = shipped()
    if not cards:
        yield "no shipped behaviour policies"
    for c in cards:
        yield (f"{c.get('env', '?'):<16} {c.get('level', '?'):<7} return {c.get('return_mean', float('nan')):8.1f} "
               f"± {c.get('return_std', float('nan')):6.1f}  normalised {c.get('normalized_score') or float('nan'):6.1f}"
               f"  after {c.get('train_steps', 0)} steps")


register_command(SuiteCommand(
    "behaviours", "train or list the locomotion behaviour policies (expert/medium/random)",
    (SuiteAction("train", "SAC (stable-baselines3, the `behaviours` extra); resumes where it stopped",
                 BehaviourTrainConfig, train_command),
     SuiteAction("list", "the shipped policies and their measured returns", None, list_command))))

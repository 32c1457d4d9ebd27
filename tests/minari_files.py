"""Small Minari datasets written with minari's own storage writer (HDF5 format), as `minari` lays them out on disk:
DIR/data/metadata.json and DIR/data/main_data.hdf5 with one group per episode."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_minari(root: Path, env_id: str, episodes: list[dict], dataset_id: str = "test/ds-v0") -> Path:
    """episodes: dicts with obs (T+1, o), act (T, a), rew (T,), term (T,), trunc (T,), optional infos {k: (T+1, ...)}.
    Returns the dataset directory (the folder holding data/)."""
    import gymnasium as gym
    from minari.data_collector.episode_buffer import EpisodeBuffer
    from minari.dataset.minari_storage import MinariStorage
    spec = gym.spec(env_id)
    env = gym.make(env_id)
    data = Path(root) / "data"
    Path(root).mkdir(parents=True, exist_ok=True)
    storage = MinariStorage.new(data, observation_space=env.observation_space, action_space=env.action_space,
                                env_spec=spec, data_format="hdf5")
    bufs = [EpisodeBuffer(id=i, seed=i, observations=e["obs"], actions=e["act"], rewards=list(e["rew"]),
                          terminations=list(e["term"]), truncations=list(e["trunc"]), infos=e.get("infos"))
            for i, e in enumerate(episodes)]
    storage.update_episodes(bufs)
    storage.update_metadata({"dataset_id": dataset_id, "algorithm_name": "test", "minari_version": "0.5.4"})
    env.close()
    return Path(root)


def pendulum_episodes(n: int, T: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        obs = rng.normal(size=(T + 1, 3)).astype(np.float32)
        out.append({"obs": obs, "act": rng.uniform(-2, 2, (T, 1)).astype(np.float32),
                    "rew": rng.normal(size=T), "term": np.zeros(T, bool),
                    "trunc": np.r_[np.zeros(T - 1, bool), True],
                    "infos": {"qpos": rng.normal(size=(T + 1, 2))}})
    return out

"""Cut episodes into fixed-length windows (whole trajectories or snippets, paper §4.2)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DatasetError
from .hdf5 import Dataset


@dataclass
class Windows:
    obs: np.ndarray        # (W, L, obs_dim) float32, zero where padded
    act: np.ndarray        # (W, L, act_dim) float32 training targets, zero where padded
    mask: np.ndarray       # (W, L) float32, 1 on real steps
    label: np.ndarray      # (W,) int64 condition id
    episode: np.ndarray    # (W,) int64 episode index in the dataset
    start: np.ndarray      # (W,) int64 first step of the window inside its episode

    @property
    def length(self) -> int:
        return self.obs.shape[1]

    def __len__(self) -> int:
        return self.obs.shape[0]

    def subset(self, idx: np.ndarray) -> "Windows":
        return Windows(self.obs[idx], self.act[idx], self.mask[idx], self.label[idx], self.episode[idx],
                       self.start[idx])


def make_windows(ds: Dataset, window: int = 0, stride: int = 0, short_episodes: str = "pad",
                 use_action_labels: bool = True, episodes: np.ndarray | None = None) -> Windows:
    """window=0 takes whole episodes (padded to the longest); stride=0 means stride=window. Windows start every
    `stride` steps, and the last one of an episode ends at its last step (its start is n - window even when that
    is not a multiple of the stride), so no step of an episode is left out; an episode shorter than the window is
    one window, padded and masked (or refused with short_episodes="refuse")."""
    bounds = ds.episode_bounds()
    ep_ids = np.arange(len(bounds)) if episodes is None else np.asarray(episodes)
    lengths = np.array([bounds[i][1] - bounds[i][0] for i in ep_ids])
    L = int(lengths.max()) if window == 0 else int(window)
    stride = L if stride == 0 else int(stride)
    short = lengths < L
    if short.any() and short_episodes == "refuse":
        i = int(ep_ids[np.argmax(short)])
        raise DatasetError(f"{ds.path}: episode {i} has {lengths[np.argmax(short)]} steps, fewer than the "
                           f"window length {L}; {int(short.sum())} episodes are this short "
                           f"(set data.short_episodes='pad' to pad them with a mask, or lower data.window)")
    targets = ds.action_labels if (use_action_labels and ds.action_labels is not None) else ds.actions
    ep_label = ds.episode_labels()
    pieces = []  # (episode, start-in-episode, n_real)
    for i, n in zip(ep_ids, lengths):
        if n <= L:
            pieces.append((int(i), 0, int(n)))
        else:
            starts = list(range(0, int(n) - L + 1, stride))
            if starts[-1] != int(n) - L:          # the last window ends at the episode's last step
                starts.append(int(n) - L)
            pieces += [(int(i), s, L) for s in starts]
    W = len(pieces)
    obs = np.zeros((W, L, ds.obs_dim), np.float32)
    act = np.zeros((W, L, ds.act_dim), np.float32)
    mask = np.zeros((W, L), np.float32)
    for w, (i, s, n) in enumerate(pieces):
        a = bounds[i][0] + s
        obs[w, :n] = ds.observations[a:a + n]
        act[w, :n] = targets[a:a + n]
        mask[w, :n] = 1.0
    ep = np.array([p[0] for p in pieces], np.int64)
    return Windows(obs, act, mask, ep_label[ep], ep, np.array([p[1] for p in pieces], np.int64))

"""Latent-space analysis for the app and reports: PCA of a run's latents and per-point metadata.
Returns numpy only, so views can draw it without touching torch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from ..data.sources import load_source
from ..methods.lwd.inference import TrainedLWD


@dataclass
class LatentMap:
    coords: np.ndarray          # (N, k) PCA coordinates of the encoded training windows
    latents: np.ndarray         # (N, latent_dim) the latents themselves (float32)
    label: np.ndarray           # (N,) condition id
    episode: np.ndarray         # (N,) episode index in the dataset
    ep_return: np.ndarray       # (N,) return of the window's episode (nan when unknown)
    ep_success: np.ndarray      # (N,) 1/0 success of the episode, -1 when unknown
    label_names: list[str]
    explained: np.ndarray       # (k,) explained variance ratio
    pca: PCA
    env_id: str = ""

    def project(self, z: np.ndarray) -> np.ndarray:
        return self.pca.transform(np.asarray(z, np.float64))

    def tooltip(self, i: int) -> str:
        s = self.ep_success[i]
        succ = "unknown" if s < 0 else ("yes" if s else "no")
        ret = "" if np.isnan(self.ep_return[i]) else f"\nreturn: {self.ep_return[i]:.1f}"
        return f"episode {int(self.episode[i])}\ncondition: {self.label_names[self.label[i]]}{ret}\nsuccess: {succ}"


def latent_map(lwd: TrainedLWD, n_components: int = 4) -> LatentMap:
    mu, label = lwd.training_latents()
    mu = mu.numpy().astype(np.float32)
    k = max(1, min(n_components, mu.shape[0], mu.shape[1]))
    pca = PCA(n_components=k, random_state=0).fit(mu.astype(np.float64))
    episode = lwd.latents["episode"].numpy()
    ret = np.full(len(mu), np.nan)
    succ = np.full(len(mu), -1)
    try:
        ds = load_source(lwd.meta["dataset"])
        b = ds.episode_bounds()
        ep_ret = np.array([ds.rewards[s:e].sum() for s, e in b])
        ret = ep_ret[episode]
        es = ds.episode_success()
        if es is not None:
            succ = es[episode].astype(int)
    except Exception:  # the dataset may have moved since training: the map still works without metadata
        pass
    return LatentMap(pca.transform(mu.astype(np.float64)), mu, label.numpy(), episode, ret, succ,
                     list(lwd.label_names), pca.explained_variance_ratio_, pca, lwd.env_id)

import os

import numpy as np
import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_synthetic(n_eps=6, length=30, obs_dim=5, act_dim=2, n_labels=2, seed=0, env_id="Pendulum-v1"):
    """Episodes whose actions are a fixed linear function of the state, one map per label."""
    from lwd_core.data.hdf5 import Dataset
    rng = np.random.default_rng(seed)
    maps = rng.normal(size=(n_labels, obs_dim, act_dim)) * 0.3
    N = n_eps * length
    obs = rng.normal(size=(N, obs_dim)).astype(np.float32)
    labels = np.repeat(np.arange(n_eps) % n_labels, length)
    act = np.tanh(np.einsum("ni,nij->nj", obs, maps[labels])).astype(np.float32)
    tout = np.zeros(N, bool)
    tout[length - 1::length] = True
    return Dataset(observations=obs, actions=act, rewards=rng.normal(size=N).astype(np.float32),
                   terminals=np.zeros(N, bool), timeouts=tout, labels=labels.astype(np.int64),
                   label_names=[f"b{i}" for i in range(n_labels)], attrs={"env_id": env_id})


@pytest.fixture
def synthetic():
    return make_synthetic()


@pytest.fixture
def synthetic_file(tmp_path, synthetic):
    from lwd_core.data.hdf5 import save_dataset
    p = tmp_path / "synth.h5"
    save_dataset(synthetic, p)
    return p

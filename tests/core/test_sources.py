"""Real data on disk: a D4RL-layout HDF5 file as d4rl writes it, a Minari dataset as minari writes it, and a labelled
mixture of several files (the paper's expert + medium + random set-up)."""
import json
import subprocess
import sys

import h5py
import numpy as np
import pytest

from lwd_core.data.sources import absolute_spec, join_spec, load_source, parse_spec, spec_fingerprint
from lwd_core.errors import DatasetError
from tests.minari_files import pendulum_episodes, write_minari


def write_d4rl(path, n_eps=2, T=50, obs_dim=17, act_dim=6, seed=0):
    """The key set of a D4RL MuJoCo file (e.g. halfcheetah-medium-v2): no env_id and no labels; float terminals as
    some versions store them; infos with qpos/qvel/action_log_probs; a metadata group with the policy weights."""
    rng = np.random.default_rng(seed)
    N = n_eps * T
    with h5py.File(path, "w") as f:
        f["observations"] = rng.normal(size=(N, obs_dim)).astype(np.float32)
        f["next_observations"] = rng.normal(size=(N, obs_dim)).astype(np.float32)
        f["actions"] = rng.uniform(-1, 1, (N, act_dim)).astype(np.float32)
        f["rewards"] = rng.normal(size=N).astype(np.float32)
        f["terminals"] = np.zeros(N, np.float32)
        f["timeouts"] = np.tile(np.r_[np.zeros(T - 1), 1.0], n_eps).astype(bool)
        f["infos/qpos"] = rng.normal(size=(N, 9))
        f["infos/qvel"] = rng.normal(size=(N, 9))
        f["infos/action_log_probs"] = rng.normal(size=N).astype(np.float32)
        f["metadata/algorithm"] = np.bytes_("SAC")
        f["metadata/policy/fc0/weight"] = rng.normal(size=(256, obs_dim)).astype(np.float32)
    return path


def test_a_real_layout_d4rl_file_loads_with_its_infos(tmp_path):
    ds = load_source(str(write_d4rl(tmp_path / "hc.h5")))
    assert ds.observations.shape == (100, 17) and ds.env_id == "" and ds.labels is None
    assert ds.episode_bounds() == [(0, 50), (50, 100)] and ds.infos["qpos"].shape == (100, 9)
    assert "metadata" not in ds.infos


def test_a_minari_dataset_loads_episode_by_episode(tmp_path):
    eps = pendulum_episodes(3, 20)
    root = write_minari(tmp_path / "pend", "Pendulum-v1", eps)
    for path in (root, root / "data"):                       # the dataset folder or its data/ folder
        ds = load_source(str(path))
        assert ds.env_id == "Pendulum-v1" and ds.attrs["minari_id"] == "test/ds-v0"
        assert ds.episode_bounds() == [(0, 20), (20, 40), (40, 60)]
        assert np.allclose(ds.observations[20:40], eps[1]["obs"][:20])       # T observations of T + 1
        assert np.allclose(ds.actions[40:], eps[2]["act"]) and np.allclose(ds.infos["qpos"][:20], eps[0]["infos"]["qpos"][:20])
        assert ds.timeouts.sum() == 3 and not ds.terminals.any()
    with pytest.raises(DatasetError, match="not a Minari dataset"):
        load_source(str(tmp_path))


def test_a_labelled_mixture_of_files_and_folders(tmp_path):
    a = write_d4rl(tmp_path / "expert.h5", n_eps=2, obs_dim=3, act_dim=1, seed=1)
    b = write_d4rl(tmp_path / "medium.h5", n_eps=1, obs_dim=3, act_dim=1, seed=2)
    m = write_minari(tmp_path / "rand", "Pendulum-v1", pendulum_episodes(2, 50))
    spec = join_spec([f"{a}:expert", f"{b}:medium", f"{m}:random", f"{a}:expert"])
    ds = load_source(spec)
    assert ds.label_names == ["expert", "medium", "random"] and len(ds) == 7 * 50
    assert list(ds.episode_labels()) == [0, 0, 1, 2, 2, 0, 0] and ds.env_id == "Pendulum-v1"
    assert set(ds.infos) == set()          # only what every source has with one shape: qpos is 9-d here, 2-d there
    assert set(load_source(join_spec([f"{a}:expert", f"{b}:medium"])).infos) == {"qpos", "qvel", "action_log_probs"}
    assert json.loads(ds.attrs["sources"])[1] == [str(b), "medium"]
    assert parse_spec(absolute_spec(spec))[2] == (str(m.resolve()), "random")
    # the fingerprint covers the content and the names: another name is another dataset
    assert spec_fingerprint(spec) != spec_fingerprint(spec.replace(":medium", ":med"))
    with pytest.raises(DatasetError, match="needs a behaviour name"):
        load_source(join_spec([f"{a}:expert", str(b)]))
    bad = write_d4rl(tmp_path / "cheetah.h5", n_eps=1)
    with pytest.raises(DatasetError, match="obs_dim=17, act_dim=6 differ"):
        load_source(join_spec([f"{a}:expert", f"{bad}:medium"]))


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "lwd_studio", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def test_train_on_a_mixture_from_the_cli_and_refuse_a_file_that_does_not_fit_the_env(tmp_path):
    a = write_d4rl(tmp_path / "expert.h5", n_eps=2, obs_dim=3, act_dim=1, seed=1)
    b = write_d4rl(tmp_path / "medium.h5", n_eps=2, obs_dim=3, act_dim=1, seed=2)
    r = _cli("train", "--preset", "tiny", "--env", "Pendulum-v1", "--dataset", f"{a}:expert", "--dataset",
             f"{b}:medium", "--run-dir", tmp_path / "run", "--set", "vae.steps=2", "--set", "ddpm.steps=2")
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert parse_spec(cfg["data"]["dataset"]) == [(str(a), "expert"), (str(b), "medium")]
    meta = json.loads((tmp_path / "run" / "checkpoints" / "vae.json").read_text())
    assert meta["label_names"] == ["expert", "medium"]
    cheetah = write_d4rl(tmp_path / "hc.h5", n_eps=1)
    r = _cli("train", "--preset", "tiny", "--env", "Pendulum-v1", "--dataset", cheetah, "--run-dir", tmp_path / "r2")
    assert r.returncode != 0 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "obs_dim=17, act_dim=6 do not fit Pendulum-v1 (3, 1)" in r.stderr and not (tmp_path / "r2").exists()

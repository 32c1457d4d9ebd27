import h5py
import numpy as np
import pytest

from lwd_core.data.hdf5 import load_dataset, save_dataset
from lwd_core.data.windows import make_windows
from lwd_core.errors import DatasetError


def test_roundtrip_exact(tmp_path, synthetic):
    p = tmp_path / "d.h5"
    synthetic.action_labels = synthetic.actions * 0.5
    synthetic.success = np.arange(len(synthetic)) % 7 == 0
    save_dataset(synthetic, p)
    ds = load_dataset(p)
    for k in ("observations", "actions", "rewards", "terminals", "timeouts", "labels", "action_labels", "success"):
        np.testing.assert_array_equal(getattr(ds, k), getattr(synthetic, k))
    assert ds.label_names == synthetic.label_names
    assert ds.env_id == "toy-maps"
    assert ds.episode_bounds() == [(i * 30, (i + 1) * 30) for i in range(6)]
    assert list(ds.episode_labels()) == [0, 1, 0, 1, 0, 1]


def test_reads_plain_d4rl_layout(tmp_path):
    """A file with only the five D4RL arrays (no labels, no infos) loads; the last episode has no flag."""
    p = tmp_path / "d4rl.h5"
    with h5py.File(p, "w") as f:
        f["observations"] = np.zeros((25, 3), np.float32)
        f["actions"] = np.zeros((25, 1), np.float32)
        f["rewards"] = np.zeros(25, np.float32)
        f["terminals"] = np.eye(25, dtype=bool)[9]
        f["timeouts"] = np.eye(25, dtype=bool)[19]
    ds = load_dataset(p)
    assert ds.episode_bounds() == [(0, 10), (10, 20), (20, 25)]
    assert ds.condition_names() == ["default"]


def _write(p, **over):
    base = {"observations": np.zeros((10, 3), np.float32), "actions": np.zeros((10, 2), np.float32),
            "rewards": np.zeros(10, np.float32), "terminals": np.zeros(10, bool), "timeouts": np.zeros(10, bool)}
    base.update(over)
    with h5py.File(p, "w") as f:
        for k, v in base.items():
            if v is not None:
                f[k] = v


@pytest.mark.parametrize("over, key", [
    ({"actions": None}, "`actions`"),
    ({"rewards": np.zeros(9, np.float32)}, "`rewards` has 9 rows"),
    ({"observations": np.full((10, 3), np.nan, np.float32)}, "`observations` contains 30 NaN"),
    ({"actions": np.full((10, 2), np.inf, np.float32)}, "`actions` contains"),
    ({"observations": np.zeros(10, np.float32)}, "`observations` must be 2-D"),
    ({"labels": np.array([0] * 5 + [1] * 5)}, "`labels` changes inside the episode"),
    ({"labels": np.full(10, -1)}, "`labels` values"),
])
def test_validation_errors_name_file_and_key(tmp_path, over, key):
    p = tmp_path / "bad.h5"
    _write(p, **over)
    with pytest.raises(DatasetError) as e:
        load_dataset(p)
    assert str(p) in str(e.value) and key in str(e.value)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DatasetError, match="file not found"):
        load_dataset(tmp_path / "nope.h5")
    p = tmp_path / "junk.h5"
    p.write_bytes(b"this is not hdf5" * 100)
    with pytest.raises(DatasetError, match="not a readable HDF5"):
        load_dataset(p)


def test_windows_full_snippets_and_short(synthetic):
    w = make_windows(synthetic, window=0)
    assert w.obs.shape == (6, 30, 5) and w.mask.all()
    s = make_windows(synthetic, window=10)
    assert len(s) == 18 and s.obs.shape[1] == 10
    np.testing.assert_array_equal(s.obs[1], synthetic.observations[10:20])
    o = make_windows(synthetic, window=10, stride=5)
    assert len(o) == 6 * 5
    p = make_windows(synthetic, window=40)                 # longer than every episode: padded, masked
    assert p.obs.shape == (6, 40, 5) and p.mask[:, :30].all() and not p.mask[:, 30:].any()
    assert not p.obs[:, 30:].any()
    with pytest.raises(DatasetError, match="fewer than the window length 40"):
        make_windows(synthetic, window=40, short_episodes="refuse")


def test_action_labels_are_training_targets(synthetic):
    synthetic.action_labels = -synthetic.actions
    np.testing.assert_array_equal(make_windows(synthetic).act[0], -synthetic.actions[:30])
    np.testing.assert_array_equal(make_windows(synthetic, use_action_labels=False).act[0], synthetic.actions[:30])

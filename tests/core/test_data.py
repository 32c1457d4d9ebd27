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


def _episodes_of_lengths(lengths):
    """Observation k of the file is [k, k]: a window's first real observation gives its global step."""
    from lwd_core.data.hdf5 import Dataset
    N = sum(lengths)
    ends = np.cumsum(lengths) - 1
    tout = np.zeros(N, bool)
    tout[ends] = True
    obs = np.repeat(np.arange(N, dtype=np.float32)[:, None], 2, 1)
    return Dataset(observations=obs, actions=obs[:, :1].copy(), rewards=np.zeros(N, np.float32),
                   terminals=np.zeros(N, bool), timeouts=tout, labels=np.zeros(N, np.int64), label_names=["a"])


def test_windows_end_at_each_episodes_last_step():
    """Lengths that are not a multiple of the stride: the last window of an episode ends at its last step."""
    ds = _episodes_of_lengths([30, 23, 8, 10])
    w = make_windows(ds, window=10, stride=7)
    # starts written out by hand: every 7 steps, then n - 10 when that is not already one of them
    expected = [(0, 0), (0, 7), (0, 14), (0, 20),          # 30 steps: 0, 7, 14 and 20 (ends at step 29)
                (1, 0), (1, 7), (1, 13),                    # 23 steps: 0, 7 and 13 (ends at step 22)
                (2, 0),                                      # 8 steps, shorter than the window: one, padded
                (3, 0)]                                      # exactly one window long
    assert list(zip(w.episode.tolist(), w.start.tolist())) == expected
    offsets = [0, 30, 53, 61]
    for k, (e, s) in enumerate(expected):
        n = min(10, [30, 23, 8, 10][e] - s)
        assert w.mask[k].sum() == n and w.mask[k, :n].all()
        np.testing.assert_array_equal(w.obs[k, :n, 0], offsets[e] + s + np.arange(n))
    # every step of every episode is inside some window
    covered = {int(v) for k in range(len(w)) for v in w.obs[k, w.mask[k] > 0, 0]}
    assert covered == set(range(71))
    # the padded short episode keeps its mask and zeros
    assert not w.obs[7, 8:].any() and not w.mask[7, 8:].any()
    # a stride that lands exactly on n - window adds no extra window
    assert make_windows(ds, window=10, stride=10, episodes=np.array([0])).start.tolist() == [0, 10, 20]

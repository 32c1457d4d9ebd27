"""Subprocess smoke runs of `lwd-studio` on tiny budgets, and its bad-input contract."""
import json
import platform
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.toy_suite import make_synthetic


def native_bf16_cpu() -> bool:
    from lwd_core.train.engine import native_bf16
    return native_bf16(torch.device("cpu"))


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "lwd_studio", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def assert_one_line_error(r, *needles):
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def dense_params(sizes):
    """Weights and biases of fully connected layers sizes[0] -> sizes[1] -> ... -> sizes[-1]."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:]))


LWD_POLICY_PARAMS = dense_params([39, 256, 256, 4])              # MT10 obs -> 2 x 256 -> 4 actions: 77,060
MLP_PARAMS = {w: dense_params([39 + 10] + [w] * 5 + [4]) for w in (512, 256, 128)}   # obs + task one-hot


def read_figure(path, figsize):
    """A study's PNG decoded to (H, W, 3) floats in [0, 1]; the studies save figures at 110 dpi."""
    import matplotlib.image as mpimg
    img = mpimg.imread(str(path))
    assert img.shape[:2] == (round(figsize[1] * 110), round(figsize[0] * 110)), img.shape
    assert img[..., :3].reshape(-1, 3).std(0).max() > 0.05                 # not one blank colour
    return img[..., :3]


def pixels_of(img, colour, alpha=1.0, tol=0.06):
    """Pixels showing matplotlib colour `colour` drawn with `alpha` over the white background."""
    from matplotlib.colors import to_rgb
    target = 1 - alpha * (1 - np.array(to_rgb(colour)))
    return int((np.abs(img - target).max(-1) < tol).sum())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny run trained through the CLI on a synthetic Pendulum-shaped dataset."""
    from lwd_core.data.hdf5 import save_dataset
    d = tmp_path_factory.mktemp("cli")
    ds = make_synthetic(obs_dim=3, act_dim=1, length=40, env_id="Pendulum-v1")
    save_dataset(ds, d / "pend.h5")
    r = cli("train", "--preset", "tiny", "--dataset", d / "pend.h5", "--run-dir", d / "run",
            "--set", "data.holdout_fraction=0.34")
    assert r.returncode == 0, r.stderr[-3000:]
    return d


def test_train_eval_sample_roundtrip(trained):
    d = trained
    r = cli("eval", d / "run", "--episodes", "2", "--json", d / "eval.json")
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((d / "eval.json").read_text())
    assert res["mean_success"] is None and isinstance(res["mean_return"], float)
    assert set(res["per_condition"]) == {"b0", "b1"}
    assert all(v["episodes"] == 2 and v["success"] is None for v in res["per_condition"].values())
    assert "vae" in res["methods"]                  # held-out episodes were reconstructed
    assert "LWD (sampled)" in r.stdout

    r = cli("sample", d / "run", "--condition", "b1", "--out", d / "pol.safetensors")
    assert r.returncode == 0, r.stderr[-3000:]
    spec = json.loads((d / "pol.json").read_text())
    assert spec["condition"] == "b1" and spec["obs_dim"] == 3 and spec["act_dim"] == 1
    # the README's numpy-only loader
    from lwd_core.export import NumpyMLPPolicy
    pol = NumpyMLPPolicy.load(d / "pol.safetensors")
    a = pol.act(np.zeros(3, np.float32))
    assert a.shape == (1,) and np.isfinite(a).all() and abs(a[0]) <= 1


def test_resume_of_finished_run_is_noop(trained):
    r = cli("train", "--run-dir", trained / "run", "--resume")
    assert r.returncode == 0 and "already trained" in r.stderr + r.stdout


def test_bad_dataset_file(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"garbage" * 50)
    assert_one_line_error(cli("train", "--preset", "tiny", "--dataset", bad, "--run-dir", tmp_path / "r"),
                          "bad.h5", "not a readable HDF5")
    assert_one_line_error(cli("train", "--preset", "tiny", "--dataset", tmp_path / "none.h5", "--run-dir",
                              tmp_path / "r"), "file not found")
    assert not (tmp_path / "r").exists()


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


REFUSALS = {   # --set/--run-dir arguments, the words the one-line message must hold, the path that must not exist
    "no cuda": (["--set", "device=cuda"], ["--set device=cuda: ", "CUDA is not available"], "r"),
    "short episodes": (["--set", "data.window=40", "--set", "data.short_episodes=refuse"],
                       ["--set data.window=40 --set data.short_episodes=refuse: ", "fewer than the window length 40"],
                       "r"),
    "run dir is a file": (["--run-dir", "{tmp}/afile"], ["--run-dir ", "afile: is a file, not a run directory"], None),
    "run dir under a file": (["--run-dir", "{tmp}/afile/r"],
                             ["--run-dir ", "afile/r: cannot create the run directory there: ", "afile is a file"],
                             "afile/r"),
    "read-only parent": (["--run-dir", "{tmp}/ro/r"], ["--run-dir ", "ro/r: cannot create", "is not writable"],
                         "ro/r"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_training_leaves_no_run_folder(tmp_path, synthetic_file, case):
    """Every refusal comes before the run folder is written: exit code 2, one line naming the flag the user typed,
    no OS error text or temp-file name, and no folder (a file in the way is left as it was)."""
    import os

    import torch
    args, needles, absent = REFUSALS[case]
    if case == "no cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    if case == "read-only parent" and os.geteuid() == 0:
        pytest.skip("root may write in a read-only folder")
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "ro").mkdir(mode=0o555)
    before = _files(tmp_path)
    args = [a.format(tmp=tmp_path) for a in args]
    run_dir = [] if "--run-dir" in args else ["--run-dir", tmp_path / "r"]
    r = cli("train", "--preset", "toy-tiny", "--dataset", synthetic_file, *run_dir, *args)
    assert r.returncode == 2
    assert_one_line_error(r, *needles)
    assert not any(w in r.stderr for w in ("Errno", "Permission denied", ".tmp", "internal error")), r.stderr
    if absent:
        assert not (tmp_path / absent).exists()
    assert _files(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["afile", "ro", "synth.h5"]


def test_a_resume_refused_for_a_missing_device_changes_nothing(trained):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    before = _files(trained / "run")
    r = cli("train", "--run-dir", trained / "run", "--resume", "--set", "device=cuda", "--set", "vae.steps=400")
    assert r.returncode == 2
    assert_one_line_error(r, "--set device=cuda: CUDA is not available")
    assert _files(trained / "run") == before


def test_nan_dataset(tmp_path):
    from lwd_core.data.hdf5 import save_dataset
    ds = make_synthetic()
    save_dataset(ds, tmp_path / "d.h5")
    import h5py
    with h5py.File(tmp_path / "d.h5", "a") as f:
        f["actions"][3, 0] = np.nan
    assert_one_line_error(cli("train", "--preset", "tiny", "--dataset", tmp_path / "d.h5", "--run-dir",
                              tmp_path / "r"), "`actions` contains 1 NaN")


def test_wrong_dimension(trained, tmp_path):
    from lwd_core.data.hdf5 import save_dataset
    save_dataset(make_synthetic(obs_dim=7, act_dim=1), tmp_path / "wide.h5")
    # resuming on another file is refused by its content hash, before any dimension is compared
    assert_one_line_error(cli("train", "--run-dir", trained / "run", "--resume", "--dataset", tmp_path / "wide.h5"),
                          "not the dataset this run was trained on")
    # an MT10 run needs 39-d observations and 4-d actions
    assert_one_line_error(cli("train", "--preset", "tiny", "--dataset", tmp_path / "wide.h5", "--env", "mt10",
                              "--run-dir", tmp_path / "r"), "do not fit mt10")


def test_unknown_condition(trained, tmp_path):
    assert_one_line_error(cli("sample", trained / "run", "--condition", "push-v3", "--out", tmp_path / "p.safetensors"),
                          "unknown condition 'push-v3'", "b0, b1")


@pytest.mark.parametrize("setting, msg", [
    ("vae.latent_dim=-3", "`vae.latent_dim` must be > 0, got -3"),
    ("vae.beta_kl=-1", "`vae.beta_kl` must be >= 0"),
    ("ddpm.n_steps=0", "`ddpm.n_steps` must be > 0"),
    ("vae.nonsense=1", "unknown config key"),
])
def test_config_out_of_range(synthetic_file, tmp_path, setting, msg):
    assert_one_line_error(cli("train", "--preset", "tiny", "--dataset", synthetic_file, "--run-dir", tmp_path / "r",
                              "--set", setting), msg)


def test_bad_config_file_and_missing_run(tmp_path):
    (tmp_path / "c.json").write_text("{not json")
    assert_one_line_error(cli("train", "--config", tmp_path / "c.json", "--run-dir", tmp_path / "r"), "not valid JSON")
    assert_one_line_error(cli("eval", tmp_path / "nope"), "run directory not found")
    assert_one_line_error(cli("collect", "mt10", "--episodes-per-task", "0", "--out", tmp_path / "x.h5"),
                          "`episodes_per_task` must be > 0")


@pytest.mark.slow
def test_collect_mt10_train_eval(tmp_path):
    """The real MT10 path at the smallest scale: 1 short episode per task for two tasks."""
    r = cli("collect", "mt10", "--episodes-per-task", "2", "--episode-length", "40", "--tasks", "reach-v3,push-v3",
            "--out", tmp_path / "mt.h5")
    assert r.returncode == 0, r.stderr[-3000:]
    from lwd_core.data.hdf5 import load_dataset
    ds = load_dataset(tmp_path / "mt.h5")
    assert ds.obs_dim == 39 and ds.act_dim == 4 and ds.label_names == ["reach-v3", "push-v3"]
    assert ds.action_labels is not None and ds.episode_success() is not None and len(ds.episode_bounds()) == 4
    from lwd_core.envs.collect import read_provenance                  # the file says how it was collected
    prov = read_provenance(tmp_path / "mt.h5")
    assert prov["collector_name"] == "mt10" and json.loads(prov["collector_config"]) == {
        "episodes_per_task": 2, "episode_length": 40, "noise": 0.1, "seed": 0, "tasks": "reach-v3,push-v3"}
    r = cli("train", "--preset", "tiny", "--dataset", tmp_path / "mt.h5", "--run-dir", tmp_path / "run")
    assert r.returncode == 0, r.stderr[-3000:]
    r = cli("eval", tmp_path / "run", "--episodes", "1", "--json", tmp_path / "e.json")
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / "e.json").read_text())
    assert set(res["methods"]) == {"lwd", "vae", "expert"}
    assert set(res["per_condition"]) == {"reach-v3", "push-v3"}
    per = res["methods"]["lwd"]["per_condition"]
    assert res["mean_success"] == pytest.approx(np.mean([per[c]["success"] for c in per]))
    assert all(per[c]["episodes"] == 1 for c in per) and res["heldout_placements"] is True
    assert "novelty" in res


@pytest.mark.slow
def test_bench_quick_writes_the_contract_keys(tmp_path):
    r = cli("bench", "--quick", "--no-compile", "--json", tmp_path / "b.json")
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / "b.json").read_text())
    bf16 = ("vae_conv_bf16_steps_per_s", "train_steps_per_s_dp_small_bf16", "train_bf16_over_fp32_lwd_vae")
    for k in ("train_step_matmul_ratio", "policy_step_us", "sample_ddim_ms", "sample_ddpm_ms",
              "mlp512_step_us", "dp_large_ddpm_query_ms", "lwd_episode_step_us", "dp_large_ddpm_episode_step_us",
              "vae_default_over_paper", "vae_ceiling_over_paper", "vae_flat_fp32_steps_per_s",
              "vae_patch_fp32_steps_per_s", "train_steps_per_s_lwd_ddpm_fp32", "train_steps_per_s_lwd_vae",
              "train_steps_per_s_lwd_ddpm_4_blocks_fp32", "train_ddpm_default_over_4_blocks") + bf16 * native_bf16_cpu():
        assert isinstance(res[k], float) and res[k] > 0, k
    if not native_bf16_cpu():            # timed only where it is native; the run says why it is missing
        assert res["precisions"] == ["fp32"] and not any(k in res for k in bf16)
        assert "bf16 not measured: this CPU has no native bf16" in r.stdout
    assert res["vae_default_compiled"] is False and res["vae_compiled_setups"] == []      # --no-compile
    assert "training lwd_vae (batch 32) on cpu" in r.stdout           # a full batch of whole-episode windows
    assert res["policy_params"] == LWD_POLICY_PARAMS and res["mlp512_params"] == MLP_PARAMS[512]
    assert res["keeps_freed_memory"] is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")


def test_train_seconds_adds_up_resumed_segments(tmp_path):
    from lwd_core.config import preset
    from lwd_core.runs import RunDir
    from lwd_core.studies.common import train_seconds

    run = RunDir(tmp_path / "run")
    run.create(preset("tiny"))
    run.append_metrics([{"phase": "vae", "step": s, "elapsed": e} for s, e in ((10, 1.0), (20, 2.0))] +
                       [{"phase": "vae", "step": s, "elapsed": e} for s, e in ((30, 0.5), (40, 1.5))] +   # resumed
                       [{"phase": "ddpm", "step": 10, "elapsed": 4.0}])
    assert train_seconds(run) == pytest.approx(2.0 + 1.5 + 4.0)


def test_a_suite_added_by_one_module_runs_through_the_cli(tmp_path):
    """tests/toy_suite.py (loaded via LWD_PLUGINS) brings a suite, a collector and a preset; nothing else changed."""
    r = cli("collect", "toy", "--episodes", "6", "--out", tmp_path / "toy.h5")
    assert r.returncode == 0 and "6 episodes" in r.stdout, r.stderr[-3000:]
    r = cli("train", "--preset", "toy-tiny", "--dataset", tmp_path / "toy.h5", "--run-dir", tmp_path / "run")
    assert r.returncode == 0, r.stderr[-3000:]
    for w in (1, 2):
        r = cli("eval", tmp_path / "run", "--workers", str(w), "--json", tmp_path / f"e{w}.json")
        assert r.returncode == 0, r.stderr[-3000:]
    e1, e2 = (json.loads((tmp_path / f"e{w}.json").read_text()) for w in (1, 2))
    assert e1["methods"] == e2["methods"] and set(e1["methods"]) == {"lwd", "vae", "expert"}
    assert e1["workers"] == 1 and e2["workers"] == 2
    assert_one_line_error(cli("eval", tmp_path / "run", "--episodes", "0"), "--episodes must be > 0")
    assert_one_line_error(cli("eval", tmp_path / "run", "--methods", "nope"), "unknown policy kind 'nope'")

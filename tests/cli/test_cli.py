"""Subprocess smoke runs of `lwd-studio` on tiny budgets, and its bad-input contract."""
import json
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
    r = cli("bench", "--quick", "--json", tmp_path / "b.json")
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / "b.json").read_text())
    bf16 = ("vae_conv_bf16_steps_per_s", "train_steps_per_s_dp_small_bf16", "train_bf16_over_fp32_lwd_vae")
    for k in ("train_step_matmul_ratio", "policy_step_us", "sample_ddim_ms", "sample_ddpm_ms",
              "mlp512_step_us", "dp_large_ddpm_query_ms", "lwd_episode_step_us", "dp_large_ddpm_episode_step_us",
              "vae_default_over_paper", "vae_ceiling_over_paper", "vae_flat_fp32_steps_per_s",
              "train_steps_per_s_lwd_ddpm_fp32", "train_steps_per_s_lwd_vae",
              "train_steps_per_s_lwd_ddpm_4_blocks_fp32", "train_ddpm_default_over_4_blocks") + bf16 * native_bf16_cpu():
        assert isinstance(res[k], float) and res[k] > 0, k
    if not native_bf16_cpu():            # timed only where it is native; the run says why it is missing
        assert res["precisions"] == ["fp32"] and not any(k in res for k in bf16)
        assert "bf16 not measured: this CPU has no native bf16" in r.stdout
    assert res["policy_params"] == LWD_POLICY_PARAMS and res["mlp512_params"] == MLP_PARAMS[512]


@pytest.mark.slow
def test_reproduce_table2_quick(tmp_path):
    r = cli("reproduce", "table2", "--quick", "--out", tmp_path / "t2", timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    agg = json.loads((tmp_path / "t2" / "table2.json").read_text())
    order = ["MLP 512", "MLP 256", "MLP 128", "DP (large)", "DP (small)", "LWD"]      # the paper's columns
    assert sorted(agg["methods"]) == sorted(order) and agg["order"] == order
    # each number from the runs' own evaluation files (one seed, one episode per task), not from the aggregate
    means, eval_s = {}, 0.0
    for name, m in agg["methods"].items():
        folder = name.replace(" ", "_").replace("(", "").replace(")", "")
        ev = json.loads((tmp_path / "t2" / "seed0" / folder / "eval" / "table2_seed0.json").read_text())
        per = {t: v["success"] for t, v in ev["per_condition"].items()}
        assert len(per) == 10 and set(per.values()) <= {0.0, 1.0}, name      # one episode: success or not
        assert m["per_task"] == pytest.approx(per), name
        means[name] = sum(per.values()) / 10
        assert m["mean"] == pytest.approx(means[name]) and m["std"] == 0.0, name
        eval_s += float(ev["seconds"])
    assert agg["methods"]["LWD"]["params"] == LWD_POLICY_PARAMS
    assert {n: agg["methods"][f"MLP {n}"]["params"] for n in (512, 256, 128)} == MLP_PARAMS
    # every run's training and evaluation happened inside this invocation, which also collected the data
    assert eval_s < agg["compute_s"] < agg["wall_time_s"]
    md = (tmp_path / "t2" / "table2.md").read_text()
    paper = {"MLP 512": 0.693, "MLP 256": 0.640, "MLP 128": 0.620, "DP (large)": 0.653, "DP (small)": 0.527,
             "LWD": 0.760}                                                    # the paper's Table 2 means
    mean_row = next(line for line in md.splitlines() if line.startswith("| **mean over seeds**"))
    assert mean_row == "| **mean over seeds** | " + " | ".join(
        f"**{means[n]:.3f}** / {paper[n]:.3f}" for n in order) + " |"
    img = read_figure(tmp_path / "t2" / "table2.png", (7, 4))
    assert pixels_of(img, "C1", alpha=0.6) > 3000                             # the paper's six bars
    assert (pixels_of(img, "C0") > 300) == (sum(means.values()) > 0.05)      # ours, where any is above zero
    # Rerunning the study reuses the finished runs and their saved evaluations: same table, nothing re-evaluated.
    evals = sorted((tmp_path / "t2").glob("seed0/*/eval/table2_seed0.json"))
    assert len(evals) == 6
    stamps = [p.stat().st_mtime_ns for p in evals]
    r = cli("reproduce", "table2", "--quick", "--out", tmp_path / "t2", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [p.stat().st_mtime_ns for p in evals] == stamps
    again = json.loads((tmp_path / "t2" / "table2.json").read_text())
    assert {n: m["mean"] for n, m in again["methods"].items()} == {n: m["mean"] for n, m in agg["methods"].items()}


def test_table2_numbers_and_figure_from_hand_made_results(tmp_path):
    """Aggregation, the markdown row and the bar chart on results whose numbers are worked out here: every method
    succeeds on the first 4 tasks on seed 0 and the first 6 on seed 1."""
    from lwd_core.studies import table2 as T
    from lwd_core.studies.common import write_png
    tasks = list(T.PAPER["LWD"])
    assert len(tasks) == 10

    def seed_result(k):
        return {"mean_success": k / 10, "episodes": 2,
                "per_condition": {t: {"success": float(i < k)} for i, t in enumerate(tasks)}}
    agg = T.aggregate({n: [seed_result(4), seed_result(6)] for n in T.METHODS}, {n: 1000 for n in T.METHODS})
    for m in agg["methods"].values():
        assert m["per_task"] == dict(zip(tasks, [1, 1, 1, 1, 0.5, 0.5, 0, 0, 0, 0]))
        assert m["mean"] == pytest.approx(0.5) and m["std"] == pytest.approx(0.1) and m["seed_means"] == [0.4, 0.6]
    row = next(ln for ln in T.markdown(agg).splitlines() if ln.startswith("| **mean over seeds**"))
    assert row == ("| **mean over seeds** | **0.500** / 0.693 | **0.500** / 0.640 | **0.500** / 0.620 | "
                   "**0.500** / 0.653 | **0.500** / 0.527 | **0.500** / 0.760 |")
    img = read_figure(write_png(tmp_path / "t2.png", T.figure(agg)), (7, 4))
    ours, paper = pixels_of(img, "C0"), pixels_of(img, "C1", alpha=0.6)
    # equal bar widths: the areas are in the ratio of the heights, 6 x 0.5 against the paper's means
    assert ours / paper == pytest.approx(3.0 / (0.693 + 0.640 + 0.620 + 0.653 + 0.527 + 0.760), rel=0.1)


@pytest.mark.parametrize("what,flag,spec", [("fig8", "--vae-steps", "abc"), ("fig8", "--vae-steps", "0"),
                                            ("fig7", "--vae-steps", "1,2,3"), ("table2", "--dp-steps", "-5"),
                                            ("table1", "--encoder", "cnn")])
def test_reproduce_rejects_bad_step_counts(tmp_path, what, flag, spec):
    r = cli("reproduce", what, "--out", tmp_path / "f8", flag, spec)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert flag in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "f8").exists()


@pytest.mark.slow
def test_reproduce_fig7_and_fig8_quick(tmp_path):
    out = tmp_path / "figs"
    r = cli("reproduce", "fig7", "--quick", "--out", out, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    for f in ("fig7_full.png", "fig7_snippets.png"):            # latents of the first two tasks, two panels
        img = read_figure(out / f, (12, 5.5))
        for half in (img[:, :660], img[:, 660:]):
            assert pixels_of(half, "C0", 0.8, 0.1) > 10 and pixels_of(half, "C1", 0.8, 0.1) > 10, f
    summary = json.loads((out / "fig7.json").read_text())
    assert summary["snippets"]["windows"] > summary["full"]["windows"]      # 100-step episodes cut into 50s
    r = cli("reproduce", "fig8", "--quick", "--out", out, timeout=900)     # reuses the xs runs of fig7
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "fig8.json").read_text())
    assert set(res["success"]) == {f"{s}-w{w}" for s in ("xs", "s", "m", "l") for w in (500, 50)}
    rows = {r[0]: r[1:] for r in res["report"]["rows"]}
    assert rows["full (500)"] == [res["success"][f"{s}-w500"] for s in ("xs", "s", "m", "l")]
    img = read_figure(out / "fig8.png", (6, 4))                   # two curves: full trajectories, snippets
    assert pixels_of(img, "C0") > 100 and pixels_of(img, "C1") > 100


def test_reproduce_refuses_a_run_folder_trained_with_other_settings(tmp_path):
    from lwd_core.config import preset
    from lwd_core.errors import ConfigError
    from lwd_core.runs import RunDir
    from lwd_core.studies.common import ensure_trained, training_differences

    saved = preset("mt10").replace(vae={"steps": 10_000})
    assert training_differences(saved, saved.replace(name="other", data={"dataset": "elsewhere.h5"})) == []
    wanted = saved.replace(vae={"steps": 3000})
    assert training_differences(saved, wanted) == ["vae.steps: 10000 -> 3000"]
    RunDir(tmp_path / "run").create(saved)
    with pytest.raises(ConfigError, match="vae.steps: 10000 -> 3000"):
        list(ensure_trained(tmp_path / "run", wanted, "test"))
    assert RunDir(tmp_path / "run").config().vae.steps == 10_000        # the folder is left as it was
    with pytest.raises(ConfigError, match=r"vae.lr: 0.0001 -> 0.1; vae.steps: 10000 -> 20000"):   # more, but
        # with another learning rate: not a longer run of the same training
        list(ensure_trained(tmp_path / "run", wanted.replace(vae={"lr": 0.1, "steps": 20_000}), "test"))


def test_a_study_trains_a_finished_run_further_when_it_asks_for_more_steps(tmp_path, synthetic_file):
    from lwd_core.config import preset
    from lwd_core.io import load_meta
    from lwd_core.runs import RunDir
    from lwd_core.studies.common import ensure_trained, only_longer

    cfg = preset("toy-tiny").replace(data={"dataset": str(synthetic_file)})
    assert list(ensure_trained(tmp_path / "run", cfg, "test"))[-1].phase == "done"
    assert not list(ensure_trained(tmp_path / "run", cfg, "test"))                  # finished: reused as it is
    more = cfg.replace(ddpm={"steps": 30})
    assert only_longer(cfg, more) and not only_longer(more, cfg) and not only_longer(cfg, cfg)
    assert not only_longer(cfg, more.replace(ddpm={"lr": 0.1}))
    events = list(ensure_trained(tmp_path / "run", more, "test"))
    assert events[0].message == "training further test"
    run = RunDir(tmp_path / "run")
    assert load_meta(run.ddpm_ckpt)["step"] == 30 and run.config().ddpm.steps == 30
    assert load_meta(run.vae_ckpt)["step"] == 20 and run.status()["status"] == "finished"


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


@pytest.mark.slow
def test_reproduce_fig9_quick_then_resume_reuses_everything(tmp_path):
    out = tmp_path / "f9"
    r = cli("reproduce", "fig9", "--quick", "--out", out, "--workers", "1", timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "fig9.json").read_text())
    assert res["horizons"] == [1, 8, 32] and res["dp_models"] == {"dp16": [1, 8], "dp36": [32]}
    for m in ("LWD", "DP"):
        for cond in ("clean", "perturbed"):
            rows = res["curves"][m][cond]
            assert [r["horizon"] for r in rows] == [1, 8, 32]
            assert max(r["relative"] for r in rows) == pytest.approx(1.0)
            # 60-step quick episodes, one batched query every H_a steps (no quick episode ends early)
            assert [r["queries"] for r in rows] == [60, 8, 2], (m, cond)
            assert all(r["wall_per_episode"] > 0 and r["episodes"] == 4 for r in rows)
    img = read_figure(out / "fig9.png", (11, 8))                  # LWD blue, DP orange, in each of 4 panels
    score, success, relative, wall = img[:440, :605], img[:440, 605:], img[440:, :605], img[440:, 605:]
    for quarter in (score, relative, wall):
        assert pixels_of(quarter, "tab:blue") > 50 and pixels_of(quarter, "tab:orange") > 50
    # quick runs rarely succeed: both success curves may lie on 0, one over the other
    assert pixels_of(success, "tab:blue") + pixels_of(success, "tab:orange") > 50
    assert res["floor"]["clean"]["score"] < 0.5 and pixels_of(score, "gray") > 50      # the hold-still floor
    md = (out / "fig9.md").read_text()
    assert "H_a" in md
    # which part of LWD misses: VAE against diffusion samples near the goal, and the nearest-window oracle
    d = res["diagnosis"][0]
    assert d["precision"]["vae"]["all_rmse_px"] > 0 and d["precision"]["diffusion"]["all_rmse_px"] > 0
    assert 0 <= d["nearest_window"]["score"] <= 1 and "nearest training window" in md
    evals = sorted(out.glob("*-s0/eval/fig9-*.json"))
    assert len(evals) == 12
    stamps = [p.stat().st_mtime_ns for p in evals]
    r = cli("reproduce", "fig9", "--quick", "--out", out, "--workers", "1", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [p.stat().st_mtime_ns for p in evals] == stamps
    assert "training fig9" not in r.stdout and "resuming" not in r.stdout      # every run reused as it is
    assert json.loads((out / "fig9.json").read_text())["curves"] == res["curves"]


def test_reproduce_fig9_wants_fifty_episodes_per_point(tmp_path):
    r = cli("reproduce", "fig9", "--out", tmp_path / "f9", "--episodes", "10")
    assert_one_line_error(r, "50 episodes")
    assert not (tmp_path / "f9").exists()


def check_table1_quick(out):
    """The whole Table 1 pipeline at smoke scale, with untrained stand-in behaviour policies: what `reproduce table1
    --quick --envs halfcheetah --seeds 1` wrote in `out`. tests/cli/test_executors.py runs it (in process, then in
    two processes and on Ray, which must agree) and checks it here."""
    tmp_path = out.parent
    assert out.name == "t1"
    res = json.loads((tmp_path / "t1" / "table1.json").read_text())
    js = res["envs"]["HalfCheetah-v5"]["js"]
    assert set(js) == {"expert", "medium", "random"}
    assert all(0 <= js[lv][c][0] <= np.log(2) + 1e-9 for lv in js for c in ("SOS", "MLP", "LWD", "VAE"))
    assert set(res["targets"]) == {"lwd_below_mlp_expert_medium", "halfcheetah_at_or_below_sos"}
    out = tmp_path / "t1"
    # Fig. 3: per-trajectory points of the three behaviours (C0-C2, the legend in the first panel) in each of its
    # three panels; the stand-in policies' points often coincide, so a panel may show only the last one drawn
    img = read_figure(out / "table1_fig3_HalfCheetah-v5.png", (13, 4.2))
    assert all(pixels_of(img, c, 0.75, 0.1) > 10 for c in ("C0", "C1", "C2"))
    for third in np.array_split(img, 3, axis=1):
        assert ((third.max(-1) - third.min(-1)) > 0.25).sum() > 30             # coloured points, not just axes
    # Fig. 4: bars of returns for original, VAE, LWD and MLP (C0-C3) at three behaviour levels
    img = read_figure(out / "table1_fig4_HalfCheetah-v5.png", (7, 4))
    assert all(pixels_of(img, c) > 30 for c in ("C0", "C1", "C2", "C3"))
    # Fig. 6: latents of full trajectories and of snippets, the three behaviours in each panel
    img = read_figure(out / "table1_fig6_HalfCheetah-v5.png", (11, 4.5))
    for half in np.array_split(img, 2, axis=1):
        assert all(pixels_of(half, c, 0.8, 0.1) > 10 for c in ("C0", "C1", "C2"))
    assert "paper SOS / MLP / LWD" in (tmp_path / "t1" / "table1.md").read_text()

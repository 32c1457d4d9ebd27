"""What a run directory promises (issue "Run directories that never lie"): one test per defect that was found,
each run through the CLI in-process where the defect was seen there."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess

import h5py
import numpy as np
import pytest
import torch

from lwd_core.checkpoint import load_checkpoint, save_checkpoint
from lwd_core.config import preset
from lwd_core.data.hdf5 import save_dataset
from lwd_core.errors import RunError
from lwd_core.methods.registry import train_run
from lwd_core.runs import RunDir, list_runs
from lwd_studio.cli import main
from tests.toy_suite import make_synthetic


def cli(capsys, *args) -> tuple[int, str]:
    rc = main([str(a) for a in args])
    err = capsys.readouterr().err
    return rc, err


def one_line_error(rc: int, err: str, *needles: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip() and "%|" not in ln]
    assert rc != 0 and len(lines) == 1, err
    assert "internal error" not in lines[0] and "Traceback" not in err, lines[0]
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def snapshot(run) -> dict[str, bytes]:
    return {str(p.relative_to(run)): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


@pytest.fixture
def data(tmp_path):
    p = tmp_path / "toy.h5"
    save_dataset(make_synthetic(), p)
    return p


@pytest.fixture
def finished(tmp_path, data, capsys):
    run = tmp_path / "run"
    rc, err = cli(capsys, "train", "--preset", "toy-tiny", "--dataset", data, "--run-dir", run)
    assert rc == 0, err
    return run


def test_resume_of_a_finished_run_keeps_every_metric(finished, capsys):
    before = (finished / "metrics.jsonl").read_bytes()
    rows = RunDir(finished).read_metrics()
    assert {r["phase"] for r in rows} == {"vae", "ddpm"}
    rc, err = cli(capsys, "train", "--run-dir", finished, "--resume")
    assert rc == 0, err
    assert (finished / "metrics.jsonl").read_bytes() == before      # the DDPM records were erased here


def test_resume_after_a_cancel_in_ddpm_keeps_the_vae_metrics(tmp_path, data):
    cfg = preset("toy-tiny").replace(data={"dataset": str(data)})
    state = {"n": 0}

    def cancel():                     # stop a few steps into the DDPM phase
        state["n"] += 1
        return state["n"] > cfg.vae.steps + 8
    out = list(train_run(str(tmp_path / "r"), cfg, cancel=cancel))
    assert out[-1].status == "cancelled" and out[-1].phase == "ddpm"
    list(train_run(str(tmp_path / "r"), resume=True))
    rows = RunDir(tmp_path / "r").read_metrics()
    for phase, total in (("vae", cfg.vae.steps), ("ddpm", cfg.ddpm.steps)):
        assert [r["step"] for r in rows if r["phase"] == phase] == list(range(1, total + 1))


def test_checkpoint_whose_optimizer_disagrees_with_its_step_is_refused(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    for _ in range(3):
        model(torch.ones(1, 3)).sum().backward()
        opt.step()
    save_checkpoint(tmp_path / "m.safetensors", model, opt, None, {"phase": "vae", "step": 5})
    with pytest.raises(RunError, match="inconsistent checkpoint"):
        load_checkpoint(tmp_path / "m.safetensors", torch.nn.Linear(3, 2),
                        torch.optim.Adam(torch.nn.Linear(3, 2).parameters()))


RESUME_REFUSALS = {   # each change, the message it alone must give
    "dataset": (["--dataset", "OTHER"], ["--dataset ", "other.h5: not the dataset this run was trained on"]),
    "window": (["--set", "data.window=7"], ["--set data.window=7: ", "--resume cannot change data.window ("]),
    "latent": (["--set", "vae.latent_dim=8"], ["--set vae.latent_dim=8: ", "--resume cannot change vae.latent_dim ("]),
}


@pytest.mark.parametrize("which", list(RESUME_REFUSALS))
def test_a_rejected_resume_leaves_every_file_byte_identical(finished, tmp_path, capsys, which):
    other = tmp_path / "other.h5"
    save_dataset(make_synthetic(seed=5), other)
    change, needles = RESUME_REFUSALS[which]
    change = [str(other) if c == "OTHER" else c for c in change]
    before = snapshot(finished)
    rc, err = cli(capsys, "train", "--run-dir", finished, "--resume", *change)
    line = one_line_error(rc, err, *needles)
    for key in ("not the dataset", "data.window", "vae.latent_dim"):        # and nothing about the other changes
        assert (key in line) == (key in " ".join(needles)), line
    assert snapshot(finished) == before
    rc, err = cli(capsys, "train", "--run-dir", finished, "--resume")      # and the run still resumes
    assert rc == 0 and RunDir(finished).status()["status"] == "finished", err


def test_dataset_changed_in_place_is_refused_by_resume(tmp_path, data, capsys):
    cfg = preset("toy-tiny").replace(data={"dataset": str(data)})
    list(train_run(str(tmp_path / "r"), cfg, cancel=lambda: True))
    save_dataset(make_synthetic(seed=9), data)                      # same path, other content
    before = snapshot(tmp_path / "r")
    one_line_error(*cli(capsys, "train", "--run-dir", tmp_path / "r", "--resume"), "not the dataset")
    assert snapshot(tmp_path / "r") == before


def test_dataset_path_is_stored_absolute_so_resume_works_from_anywhere(tmp_path, capsys, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    save_dataset(make_synthetic(), tmp_path / "a" / "small.h5")
    monkeypatch.chdir(tmp_path / "a")
    rc, err = cli(capsys, "train", "--preset", "toy-tiny", "--dataset", "small.h5", "--run-dir", "../r",
                  "--set", "vae.steps=10")
    assert rc == 0, err
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    assert cfg["data"]["dataset"] == str(tmp_path / "a" / "small.h5")
    rec = json.loads((tmp_path / "r" / "dataset.json").read_text())
    assert rec["sha256"] == hashlib.sha256((tmp_path / "a" / "small.h5").read_bytes()).hexdigest()
    monkeypatch.chdir(tmp_path / "b")
    rc, err = cli(capsys, "train", "--run-dir", "../r", "--resume", "--set", "vae.steps=20")
    assert rc == 0, err
    assert RunDir(tmp_path / "r").status()["status"] == "finished"


def test_stale_temp_files_are_removed_when_the_run_is_opened_again(tmp_path, data):
    cfg = preset("toy-tiny").replace(data={"dataset": str(data)})
    list(train_run(str(tmp_path / "r"), cfg, cancel=lambda: True))
    junk = [tmp_path / "r" / "checkpoints" / ".vae.safetensors.abc123.tmp", tmp_path / "r" / ".status.json.x.tmp"]
    for j in junk:
        j.write_bytes(b"\0" * 1000)
    list(train_run(str(tmp_path / "r"), resume=True))
    assert not any(j.exists() for j in junk)


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_a_running_run_whose_process_died_reads_as_interrupted(tmp_path, data):
    cfg = preset("toy-tiny").replace(data={"dataset": str(data)})
    list(train_run(str(tmp_path / "runs" / "r"), cfg, cancel=lambda: True))
    run = RunDir(tmp_path / "runs" / "r")
    st = {**run.status(), "status": "running", "pid": _dead_pid()}
    run.status_path.write_text(json.dumps(st))
    assert run.state()["status"] == "interrupted"
    assert list_runs(tmp_path / "runs")[0]["status"] == "interrupted"
    st["pid"] = os.getpid()                                           # a live process: still running
    run.status_path.write_text(json.dumps(st))
    assert run.state()["status"] == "running"
    with pytest.raises(RunError, match="being trained by process"):
        list(train_run(str(run.path), resume=True))


def test_run_files_follow_the_umask(tmp_path, data):
    old = os.umask(0o022)
    try:
        list(train_run(str(tmp_path / "r"), preset("toy-tiny").replace(data={"dataset": str(data)})))
    finally:
        os.umask(old)
    for p in (tmp_path / "r").rglob("*"):
        if p.is_file():
            assert p.stat().st_mode & 0o777 == 0o644, p


# ---- bad values: one line naming the problem, never "internal error", never silently accepted
@pytest.mark.parametrize("setting, needle", [
    ("data.holdout_fraction=abc", "data.holdout_fraction"), ("data.holdout_fraction=0.99", "no training episode"),
    ("foo={}", "unknown config key `foo`"), ("seed={}", "`seed` is a value"), ("device=[1]", "`device`"),
    ("method={}", "`method`"), ("ddpm.state_condition=\"yes\"", "true or false"), ("name=[1,2]", "`name`"),
    ("name=null", "`name`"), ("env_id=null", "`env_id`"), ("vae.steps=1.7", "integer"),
    ("vae.steps=true", "integer"), ("vae.policy_hidden=[]", "not be empty"),
])
def test_bad_set_values_are_one_line_errors(tmp_path, data, capsys, setting, needle):
    one_line_error(*cli(capsys, "train", "--preset", "toy-tiny", "--dataset", data, "--run-dir", tmp_path / "r",
                        "--set", setting), needle)
    assert not (tmp_path / "r").exists()


def _write(path, **over):
    ds = make_synthetic()
    arrays = {"observations": ds.observations, "actions": ds.actions, "rewards": ds.rewards,
              "terminals": ds.terminals, "timeouts": ds.timeouts, "labels": ds.labels}
    names = over.pop("label_names", json.dumps(ds.label_names))
    arrays.update(over)
    with h5py.File(path, "w") as f:
        for k, v in arrays.items():
            if v is not None:
                f.create_dataset(k, data=v)
        if names is not None and "labels" in f:
            f["labels"].attrs["label_names"] = names
        f.attrs["env_id"] = "toy-maps"


@pytest.mark.parametrize("over, needle", [
    ({"label_names": '"ab"'}, "JSON list"), ({"label_names": "5"}, "JSON list"), ({"label_names": "null"}, "JSON list"),
    ({"label_names": '["a", "a"]'}, "repeats"), ({"labels": np.repeat([0.0, 1.7], 90)}, "integers"),
    ({"observations": np.zeros((0, 5), np.float32)}, "rows"), ({"observations": np.zeros((180, 0), np.float32)},
                                                               "zero columns"),
    ({"actions": np.zeros((180, 0), np.float32)}, "zero columns"), ({"labels": np.repeat([0, 7], 90)}, "labels"),
    ({"terminals": np.full(180, 3)}, "0/1"), ({"actions": np.ones((180, 2), np.int64)}, "floats"),
])
def test_bad_datasets_are_one_line_errors(tmp_path, capsys, over, needle):
    _write(tmp_path / "bad.h5", **over)
    one_line_error(*cli(capsys, "train", "--preset", "toy-tiny", "--dataset", tmp_path / "bad.h5", "--run-dir",
                        tmp_path / "r"), needle)


def test_eval_refuses_zero_episodes(finished, capsys):
    one_line_error(*cli(capsys, "eval", finished, "--episodes", "0"), "--episodes")

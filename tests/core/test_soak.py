"""Kill training anywhere, resume, and get exactly the uninterrupted run: random SIGKILLs across start-up and both
LWD phases, and kills at the two exact points where a run directory used to go wrong."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from lwd_core.data.hdf5 import save_dataset
from lwd_core.io import header_meta, load_meta
from lwd_core.runs import RunDir
from tests.toy_suite import make_synthetic

ROOT = Path(__file__).resolve().parents[2]
STEPS = 150                      # per phase
SETTINGS = ["--set", f"vae.steps={STEPS}", "--set", f"ddpm.steps={STEPS}", "--set", "checkpoint_every=10",
            "--set", "log_every=1"]


def _cmd(run_dir: Path, dataset: Path, resume: bool, die: str = "") -> list[str]:
    args = ["train", "--run-dir", str(run_dir)]
    args += ["--resume"] if resume else ["--preset", "toy-tiny", "--dataset", str(dataset), *SETTINGS]
    return [sys.executable, "-m", "tests.train_child", die, "--", *args]


def _run(run_dir, dataset, resume, die="") -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(run_dir, dataset, resume, die), cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("soak") / "toy.h5"
    save_dataset(make_synthetic(n_eps=8), p)
    return p


@pytest.fixture(scope="module")
def reference(tmp_path_factory, dataset) -> Path:
    """The same run, never interrupted."""
    run = tmp_path_factory.mktemp("ref") / "run"
    r = _run(run, dataset, resume=False)
    assert r.returncode == 0, r.stderr[-2000:]
    return run


def _weights(run: Path) -> dict[str, np.ndarray]:
    out = {}
    for name in ("vae", "ddpm"):
        for k, v in load_file(str(run / "checkpoints" / f"{name}.safetensors")).items():
            out[f"{name}/{k}"] = v
    return out


def assert_same_weights(run: Path, ref: Path) -> None:
    a, b = _weights(run), _weights(ref)
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), f"{k} differs from the uninterrupted run"


def check_files(run: Path) -> None:
    """After a kill: every JSON file parses, and metrics.jsonl holds each step of each phase once, from step 1
    up to at least that phase's checkpoint (a last line torn by the kill is tolerated until the resume)."""
    for p in [*run.glob("*.json"), *(run / "checkpoints").glob("*.json")]:
        json.loads(p.read_text())
    lines = (run / "metrics.jsonl").read_text().splitlines() if (run / "metrics.jsonl").exists() else []
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            assert i == len(lines) - 1, "only the last line may be torn"
    for phase in ("vae", "ddpm"):
        steps = [r["step"] for r in rows if r["phase"] == phase]
        assert steps == list(range(1, len(steps) + 1)), f"{phase} steps not each once: {steps[:20]}..."
        ck = run / "checkpoints" / f"{phase}.safetensors"
        if ck.exists():
            assert len(steps) >= RunDir(run).status().get("step", 0) or phase != RunDir(run).status().get("phase")
            assert len(steps) >= load_meta(ck)["step"], f"{phase}: metrics lost before the checkpoint"


def _finished_cleanly(run: Path) -> None:
    assert RunDir(run).status()["status"] == "finished"
    assert not [p for p in run.rglob("*.tmp")], "temp files left behind"
    check_files(run)
    rows = RunDir(run).read_metrics()
    assert [r["step"] for r in rows if r["phase"] == "vae"] == list(range(1, STEPS + 1))
    assert [r["step"] for r in rows if r["phase"] == "ddpm"] == list(range(1, STEPS + 1))


@pytest.mark.slow
def test_random_sigkills_then_resume_match_the_uninterrupted_run(tmp_path, dataset, reference):
    run = tmp_path / "run"
    rng = np.random.default_rng(0)
    targets = ["startup", "vae", "ddpm"] * 4                  # 12 kills, each kind of moment at least 4 times
    killed_in, leftovers = [], set()
    for i, target in enumerate(targets):
        started = (run / "config.json").exists()
        p = subprocess.Popen(_cmd(run, dataset, resume=started), cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        if target == "startup":
            time.sleep(rng.uniform(0.2, 1.5))
        else:                                                 # wait until the phase runs, then a random moment
            while p.poll() is None and time.monotonic() - t0 < 60:
                st = RunDir(run).status() if run.exists() else {}
                if st.get("status") == "running" and st.get("phase") in (target, "ddpm", "latents"):
                    break
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.6))
        st = RunDir(run).status() if run.exists() else {}
        if st.get("pid") == p.pid and st.get("status") == "running":
            # this process opened the run: the temp files earlier kills left behind are gone
            assert not [t for t in leftovers if t.exists()], "temp files of an earlier kill survived a resume"
            leftovers = set()
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
            killed_in.append(st.get("phase") or "startup")
        if run.exists():
            check_files(run)
            leftovers |= set(run.rglob("*.tmp"))
        if st.get("status") == "finished":
            break
    assert len(killed_in) >= 10, killed_in
    assert {"vae", "ddpm"} <= set(killed_in) and any(k in ("startup", "", "data") for k in killed_in), killed_in
    r = _run(run, dataset, resume=(run / "config.json").exists())
    assert r.returncode == 0, r.stderr[-2000:]
    _finished_cleanly(run)
    assert_same_weights(run, reference)


@pytest.mark.slow
@pytest.mark.parametrize("die", ["after:vae.safetensors:3", "before_ckpt:1"])
def test_kill_at_exact_points_resumes_exactly(tmp_path, dataset, reference, die):
    """after:X.safetensors:K dies between a checkpoint's weights and its sidecar (the sidecar is then stale);
    before_ckpt:1 dies between the first metrics append and the first checkpoint (the records are then ahead of
    any checkpoint)."""
    run = tmp_path / "run"
    r = _run(run, dataset, resume=False, die=die)
    assert r.returncode == 9, r.stderr[-2000:]
    check_files(run)
    r = _run(run, dataset, resume=True)
    assert r.returncode == 0, r.stderr[-2000:]
    _finished_cleanly(run)
    assert_same_weights(run, reference)
    for name in ("vae", "ddpm"):                     # the sidecar agrees with the weights' own header again
        ck = run / "checkpoints" / f"{name}.safetensors"
        assert json.loads((run / "checkpoints" / f"{name}.json").read_text()) == json.loads(
            json.dumps(header_meta(ck)))


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c_with_a_checkpoint(tmp_path, dataset):
    run = tmp_path / "run"
    p = subprocess.Popen(_cmd(run, dataset, resume=False), cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60 and not (run / "checkpoints" / "vae.safetensors").exists():
        time.sleep(0.02)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 3, err[-2000:]
    st = RunDir(run).status()
    assert st["status"] == "cancelled" and st["pid"] != os.getpid()
    check_files(run)

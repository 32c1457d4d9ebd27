"""Where a study's units run: in this process (local), in local processes (--jobs 2) or as Ray tasks. Results do not
depend on it; a Ray worker killed mid-training loses nothing; a run folder has one trainer at a time.

The Ray tests start a real local Ray instance (127.0.0.1, 2 CPUs, no dashboard) once for this module and stop it
at the end; the CLI connects to it with --address, as it would to a cluster."""
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

from lwd_core.config import preset
from lwd_core.errors import ConfigError
from lwd_core.io import load_meta
from lwd_core.methods.registry import train_run
from lwd_core.runs import RunBusy, RunDir
from lwd_core.studies.plan import Plan, train_unit
from tests.cli.test_reproduce import check_table1_quick
from tests.toy_behaviours import write_behaviours

ROOT = Path(__file__).resolve().parents[2]
TOY_STUDY = {"LWD_PLUGINS": "tests.toy_suite,tests.toy_study"}


def lwd(*args, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "lwd_studio", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env={**os.environ, **(env or {})})


def popen(*args, env=None):
    """The CLI as a terminal starts it. SIGINT back to its default: a test run started in the background of a
    non-interactive shell inherits SIGINT ignored, and Ctrl-C would then never reach the CLI."""
    return subprocess.Popen([sys.executable, "-m", "lwd_studio", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, **(env or {})},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(cond, timeout=120.0, every=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        time.sleep(every)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray cluster whose processes take SIGINT as a terminal's would: a test run started in the background
    of a non-interactive shell has SIGINT ignored, which every process it starts inherits, and then neither the CLI
    nor the Ray workers that ray.cancel() interrupts would ever see it. A handled signal is reset at exec."""
    import ray
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    ctx = ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="ERROR")
    try:
        yield ctx.address_info["gcs_address"]
    finally:
        ray.shutdown()
        signal.signal(signal.SIGINT, old)


def evaluations(out: Path) -> dict:
    """Every cached evaluation under out, less its timing fields and its plan (whose config.json digest differs
    between out folders: the config names the dataset by its absolute path)."""
    return {str(p.relative_to(out)): json.loads(p.read_text())["methods"] for p in sorted(out.glob("*/eval/*.json"))}


def assert_same_weights(out: Path, ref: Path) -> None:
    """Every tensor of every run's checkpoints and latents is bit-identical to the reference's (the files' bytes
    differ: their metadata holds times)."""
    files = sorted(p.relative_to(ref) for p in ref.glob("*/**/*.safetensors"))
    assert files and files == sorted(p.relative_to(out) for p in out.glob("*/**/*.safetensors"))
    for f in files:
        a, b = load_file(out / f), load_file(ref / f)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), f


def test_executor_options_are_checked_and_a_missing_ray_is_one_line(tmp_path, monkeypatch, capsys):
    from lwd_studio.cli import main
    monkeypatch.setitem(sys.modules, "ray", None)               # `import ray` raises ImportError, as uninstalled
    monkeypatch.delitem(sys.modules, "lwd_core.studies.ray_executor", raising=False)
    for extra, needle in ((["--executor", "ray"], 'pip install -e ".[ray]"'), (["--jobs", "0"], "--jobs"),
                          (["--address", "127.0.0.1:1"], "--address is for --executor ray")):
        rc = main(["reproduce", "fig8", "--quick", "--out", str(tmp_path / "out"), *extra])
        lines = [ln for ln in capsys.readouterr().err.strip().splitlines() if ln.strip()]
        assert rc == 2 and len(lines) == 1 and needle in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_a_quick_study_gives_the_same_result_with_every_executor(tmp_path, ray_address):
    """table1 --quick on one env and one seed (the cheapest quick study: about 12 s here), with stand-in behaviour
    policies: checked as a study (check_table1_quick), then run in 2 processes and on Ray, which give the same
    table1.json, the same evaluations and the same trained weights, run by run."""
    env = {"LWD_BEHAVIOURS": str(write_behaviours(tmp_path / "assets"))}
    base = ["reproduce", "table1", "--quick", "--envs", "halfcheetah", "--seeds", "1", "--workers", "1"]
    got = {}
    for tag, extra in (("t1", []), ("jobs", ["--jobs", "2"]),
                       ("ray", ["--executor", "ray", "--address", ray_address])):
        r = lwd(*base, "--out", tmp_path / tag, *extra, env=env)
        assert r.returncode == 0, r.stderr[-3000:]
        got[tag] = (json.loads((tmp_path / tag / "table1.json").read_text()), evaluations(tmp_path / tag))
        if tag != "t1":                  # the units really ran elsewhere, in parallel where they could
            assert ("submitted" if tag == "ray" else "started") in r.stdout, r.stdout[-2000:]
    check_table1_quick(tmp_path / "t1")
    assert len(got["t1"][1]) == 4
    assert got["jobs"] == got["t1"]
    assert got["ray"] == got["t1"]
    for tag in ("jobs", "ray"):
        assert_same_weights(tmp_path / tag, tmp_path / "t1")


def test_a_ray_worker_killed_mid_training_then_rerun_gives_the_uninterrupted_result(tmp_path, ray_address):
    args = ["reproduce", "toy", "--seeds", "1", "--steps", "400", "--workers", "1"]
    r = lwd(*args, "--out", tmp_path / "ref", env=TOY_STUDY)
    assert r.returncode == 0, r.stderr[-3000:]
    out = tmp_path / "ray"
    ray_args = [*args, "--out", out, "--executor", "ray", "--address", ray_address]
    p = popen(*ray_args, env=TOY_STUDY)
    run = RunDir(out / "toy-s0")

    def mid_training():
        st = run.status()
        if st.get("status") == "running" and run.vae_ckpt.exists() and 20 <= load_meta(run.vae_ckpt)["step"] < 300:
            return st["pid"]
    pid = wait_for(mid_training)
    assert pid != p.pid                                   # the trainer is a Ray worker, not the CLI
    os.kill(pid, signal.SIGKILL)
    _, err = p.communicate(timeout=120)
    assert p.returncode != 0 and "Traceback" not in err, err[-3000:]
    line = err.strip().splitlines()[-1]
    assert "train toy-s0 (its Ray worker died" in line and "not run, since they need a failed unit: eval toy-s0" in line
    assert run.state()["status"] == "interrupted"
    step = load_meta(run.vae_ckpt)["step"]
    assert 20 <= step < 400 and not (out / "toy.json").exists()
    r = lwd(*ray_args, env=TOY_STUDY)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming interrupted toy seed 0" in r.stdout and f"training vae from step {step} to 400" in r.stdout
    assert json.loads((out / "toy.json").read_text()) == json.loads((tmp_path / "ref" / "toy.json").read_text())
    assert_same_weights(out, tmp_path / "ref")


def test_ctrl_c_cancels_the_ray_tasks_it_submitted(tmp_path, ray_address):
    p = popen("reproduce", "toy", "--seeds", "2", "--steps", "100000", "--workers", "1", "--out", tmp_path,
              "--executor", "ray", "--address", ray_address, env=TOY_STUDY)
    runs = [RunDir(tmp_path / f"toy-s{s}") for s in (0, 1)]
    wait_for(lambda: all(r.status().get("status") == "running" for r in runs))
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-3000:]
    # ray.cancel interrupts each training, which marks its run cancelled (resumable) and releases its claim
    wait_for(lambda: all(r.status().get("status") == "cancelled" for r in runs), timeout=60)
    for r in runs:
        r.claim()
        r.release()


@pytest.fixture
def finished_run(tmp_path, synthetic_file):
    run_dir = tmp_path / "run"
    assert list(train_run(str(run_dir), preset("toy-tiny").replace(data={"dataset": str(synthetic_file)})))
    return run_dir


def test_a_run_folder_held_by_a_trainer_refuses_a_second_one_in_another_process(finished_run):
    """The lock alone: status.json says "finished", so only the claim's lock can tell that someone trains it."""
    holder = RunDir(finished_run)
    holder.lock()
    try:
        r = lwd("train", "--run-dir", finished_run, "--resume")
        assert r.returncode != 0 and "being trained by another trainer" in r.stderr, r.stderr
        with pytest.raises(RunBusy):
            list(train_run(str(finished_run), resume=True))
    finally:
        holder.release()
    assert list(train_run(str(finished_run), resume=True))[-1].phase == "done"      # free again


def test_a_live_trainer_refuses_a_second_and_its_death_frees_the_folder(tmp_path, synthetic_file):
    run = RunDir(tmp_path / "run")
    p = popen("train", "--preset", "toy-tiny", "--dataset", synthetic_file, "--run-dir", run.path,
              "--set", "vae.steps=1000000", "--set", "checkpoint_every=10")
    try:
        wait_for(lambda: run.status().get("status") == "running" and run.vae_ckpt.exists())
        r = lwd("train", "--run-dir", run.path, "--resume")
        assert r.returncode != 0 and f"being trained by process {p.pid}" in r.stderr, r.stderr
        with pytest.raises(RunBusy, match=f"process {p.pid}"):
            list(train_run(str(run.path), resume=True))
    finally:
        p.kill()
        p.communicate()
    assert run.state()["status"] == "interrupted"
    run.claim()                                         # the kernel dropped the dead trainer's lock
    run.release()


def test_two_new_trainings_of_one_folder_at_once_make_one_run(tmp_path, synthetic_file):
    cmd = ["train", "--preset", "toy-tiny", "--dataset", synthetic_file, "--run-dir", tmp_path / "run"]
    procs = [popen(*cmd), popen(*cmd)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(rc for rc, _ in results) == [0, 2], results
    assert RunDir(tmp_path / "run").status()["status"] == "finished"
    assert list(train_run(str(tmp_path / "run"), resume=True))[-1].phase == "done"   # whole and resumable


def test_a_plan_has_one_trainer_per_run_folder(tmp_path):
    cfg = preset("toy-tiny")
    with pytest.raises(ConfigError, match="both train"):
        Plan("x", (train_unit("a", tmp_path / "r", cfg, "a"), train_unit("b", tmp_path / "." / "r", cfg, "b")))
    with pytest.raises(ConfigError, match="not declared before it"):
        Plan("x", (train_unit("a", tmp_path / "a", cfg, "a", needs=("b",)), train_unit("b", tmp_path / "b", cfg, "b")))

"""Data provenance: collected files record how they were collected; reuse compares it; the demo and the studies
never take data or a run made with other settings for their own."""
from __future__ import annotations

import json

import pytest

from lwd_core.config import preset
from lwd_core.data.hdf5 import save_dataset
from lwd_core.demo import DemoScale
from lwd_core.envs.collect import dataset_file, ensure_dataset, read_provenance
from lwd_core.envs.registry import get_collector
from lwd_core.errors import ConfigError
from lwd_core.runs import RunDir
from lwd_core.studies.common import ensure_trained
from tests.helpers import drain
from tests.toy_suite import make_synthetic


def test_a_collected_file_records_its_collector_version_and_config(tmp_path):
    col = get_collector("toy")
    cfg = col.config(episodes=4, seed=3)
    drain(ensure_dataset(tmp_path / "t.h5", "toy", cfg, 1))
    prov = read_provenance(tmp_path / "t.h5")
    assert prov["collector_name"] == "toy" and prov["collector_version"] == col.version
    assert json.loads(prov["collector_config"]) == {"episodes": 4, "seed": 3}


def test_reuse_compares_the_settings_and_names_both(tmp_path):
    col = get_collector("toy")
    path = tmp_path / "t.h5"
    drain(ensure_dataset(path, "toy", col.config(episodes=4), 1))
    before = path.stat().st_mtime_ns
    drain(ensure_dataset(path, "toy", col.config(episodes=4), 1))          # same settings: reused as it is
    assert path.stat().st_mtime_ns == before
    with pytest.raises(ConfigError, match=r"episodes 4, not 6") as e:
        drain(ensure_dataset(path, "toy", col.config(episodes=6), 1))
    assert "\n" not in str(e.value) and path.stat().st_mtime_ns == before  # refused, and the file is untouched
    save_dataset(make_synthetic(), tmp_path / "mine.h5")                  # a file from elsewhere records nothing
    with pytest.raises(ConfigError, match="records no collector settings"):
        drain(ensure_dataset(tmp_path / "mine.h5", "toy", col.config(), 1))


def test_other_settings_get_a_file_of_their_own(tmp_path):
    col = get_collector("toy")
    a, b = dataset_file(tmp_path, "toy", col.config(episodes=4)), dataset_file(tmp_path, "toy", col.config(episodes=6))
    assert a != b and a == dataset_file(tmp_path, "toy", col.config(episodes=4))


def test_a_study_refuses_a_finished_run_trained_on_another_dataset(tmp_path):
    d1, d2 = tmp_path / "one.h5", tmp_path / "two.h5"
    save_dataset(make_synthetic(seed=0), d1)
    save_dataset(make_synthetic(seed=1), d2)
    cfg = preset("toy-tiny").replace(data={"dataset": str(d1)})
    assert drain(ensure_trained(tmp_path / "run", cfg, "toy"))
    assert drain(ensure_trained(tmp_path / "run", cfg, "toy"))           # the same data: reused
    with pytest.raises(ConfigError, match="trained on another dataset"):
        drain(ensure_trained(tmp_path / "run", cfg.replace(data={"dataset": str(d2)}), "toy"))
    d2.write_bytes(d1.read_bytes())                                      # same content under another name: fine
    assert drain(ensure_trained(tmp_path / "run", cfg.replace(data={"dataset": str(d2)}), "toy"))


def test_quick_demo_then_full_demo_in_one_folder_runs_the_full_demo(tmp_path, monkeypatch, capsys):
    """The CLI's `demo --headless --quick` then `demo --headless` in one folder: the second collects its own data
    and trains its own run (scales shrunk to MT10 reach only, so this takes seconds)."""
    import lwd_core.demo as demo
    from lwd_studio.cli import main
    small = {"tasks": "reach-v3", "episode_length": 20}
    steps = {"vae": {"steps": 10}, "ddpm": {"steps": 10}, "eval": {"max_steps": 20}}
    monkeypatch.setitem(demo.DEMO_SCALES, "quick", DemoScale("mt10", {**small, "episodes_per_task": 1}, "tiny", steps,
                                                             eval_episodes=1, run_name="run-quick"))
    monkeypatch.setitem(demo.DEMO_SCALES, "full", DemoScale("mt10", {**small, "episodes_per_task": 2}, "tiny",
                                                            {**steps, "vae": {"steps": 15}}, eval_episodes=2))
    out = tmp_path / "lwd-demo"
    assert main(["demo", "--headless", "--quick", "--out", str(out), "--workers", "1"]) == 0
    quick_log = capsys.readouterr().out
    assert main(["demo", "--headless", "--out", str(out), "--workers", "1"]) == 0
    full_log = capsys.readouterr().out
    assert "collecting mt10" in quick_log and "collecting mt10" in full_log     # not "using ..." the quick data
    full = RunDir(out / "run")
    assert full.status()["status"] == "finished" and full.config().vae.steps == 15
    data = json.loads(full.dataset_path.read_text())["path"]
    assert json.loads(read_provenance(data)["collector_config"])["episodes_per_task"] == 2
    res = json.loads((out / "results.json").read_text())
    assert res["episodes"] == 2                                   # evaluated at the full scale's episodes
    assert "results in " + str(out / "results.json") in full_log
    quick_res = json.loads((out / "results-quick.json").read_text())   # the full run did not overwrite it
    assert quick_res["episodes"] == 1 and "results in " + str(out / "results-quick.json") in quick_log
    assert RunDir(out / "run-quick").config().vae.steps == 10     # the quick run is still there, untouched

import math
import subprocess
import sys

import pytest
import torch

from lwd_core.checkpoint import load_checkpoint, save_checkpoint
from lwd_core.config import ConfigError, RunConfig, VAEConfig, preset
from lwd_core.errors import DatasetError, RunError
from lwd_core.io import load_meta, load_tensors
from lwd_core.methods.lwd.inference import TrainedLWD, novelty
from lwd_core.methods.lwd.model import build_vae
from lwd_core.methods.registry import train_run
from lwd_core.runs import RunDir
from lwd_core.train.engine import StepRecord


def tiny_cfg(path, **over):
    return preset("tiny").replace(data={"dataset": str(path)}, env_id="toy-maps", **over)


def losses(run_dir):
    return [(r["phase"], r["step"], r.get("vae_loss", r.get("ddpm_loss"))) for r in RunDir(run_dir).read_metrics()]


def test_tiny_end_to_end(tmp_path, synthetic_file):
    recs = list(train_run(str(tmp_path / "r"), tiny_cfg(synthetic_file)))
    steps = [r for r in recs if isinstance(r, StepRecord)]
    assert [r.phase for r in steps] == ["vae"] * 20 + ["ddpm"] * 20
    assert recs[-1].status == "finished"
    run = RunDir(tmp_path / "r")
    assert run.status()["status"] == "finished"
    saved = __import__("json").loads(run.config_path.read_text())     # the file itself, not its reader
    assert saved["name"] == "tiny" and saved["env_id"] == "toy-maps" and saved["data"]["dataset"] == str(synthetic_file)
    assert (saved["vae"]["steps"], saved["ddpm"]["steps"], saved["log_every"]) == (20, 20, 1)
    assert RunConfig.from_dict(saved) == tiny_cfg(synthetic_file)      # the config that was asked for, read back
    lwd = TrainedLWD(tmp_path / "r")
    z = lwd.sample_latents(torch.tensor([0, 1, 1]).numpy(), "ddim", 5)
    assert z.shape == (3, 16) and torch.isfinite(z).all()
    pb = lwd.policy_batch(lwd.decode(z))
    assert pb.act(torch.randn(3, 5).numpy()).shape == (3, 2)


def test_training_reduces_vae_loss(tmp_path, synthetic_file):
    cfg = tiny_cfg(synthetic_file, vae={"steps": 150, "lr": 1e-3}, ddpm={"steps": 1}, log_every=10)
    list(train_run(str(tmp_path / "r"), cfg))
    mse = [r["mse"] for r in RunDir(tmp_path / "r").read_metrics() if r["phase"] == "vae"]
    assert mse[-1] < 0.5 * mse[0]


def test_resume_with_more_steps_extends_a_finished_phase(tmp_path, synthetic_file):
    """--resume --set ddpm.steps=N trains the finished diffusion model on to N: the weights of a run trained to N
    at once. More VAE steps change the latents, so the diffusion model starts again (its old checkpoint kept)."""
    list(train_run(str(tmp_path / "once"), tiny_cfg(synthetic_file, ddpm={"steps": 30})))
    list(train_run(str(tmp_path / "more"), tiny_cfg(synthetic_file)))
    run = RunDir(tmp_path / "more")
    recs = list(train_run(str(run.path), run.config().replace(ddpm={"steps": 30}), resume=True))
    assert [r.step for r in recs if isinstance(r, StepRecord)] == list(range(21, 31))     # the VAE is untouched
    a, b = (load_tensors(RunDir(p).ddpm_ckpt) for p in (tmp_path / "once", run.path))
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    assert losses(run.path) == losses(tmp_path / "once")
    recs = list(train_run(str(run.path), run.config().replace(vae={"steps": 25}), resume=True))
    steps = [(r.phase, r.step) for r in recs if isinstance(r, StepRecord)]
    assert steps == [("vae", s) for s in range(21, 26)] + [("ddpm", s) for s in range(1, 31)]
    assert any("kept as ddpm.stale.safetensors" in getattr(r, "message", "") for r in recs)
    assert load_meta(run.ckpt_dir / "ddpm.stale.safetensors")["vae_step"] == 20
    assert load_meta(run.ddpm_ckpt)["vae_step"] == 25 and run.status()["status"] == "finished"
    again = list(train_run(str(run.path), resume=True))                 # nothing more to do
    assert not [r for r in again if isinstance(r, StepRecord) or "extending" in r.message]


def _cosine_phase(run, total, resume, cancel_at=None, base=0.01):
    """One "vae" phase of a 2-parameter model on the engine's cosine schedule; returns the lr of each update."""
    from lwd_core.train.engine import run_phase
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters(), lr=base)
    lrs = []

    def step_fn(step):
        lrs.append(opt.param_groups[0]["lr"])
        loss = model(torch.ones(1, 2)).pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}, 0.0

    list(run_phase(run, run.config(), "vae", ("vae",), model, opt, torch.Generator().manual_seed(0), run.vae_ckpt,
                   total, {}, resume, lambda: cancel_at is not None and len(lrs) >= cancel_at, step_fn, "cosine"))
    return lrs


def test_extending_a_finished_cosine_phase_continues_at_its_final_rate(tmp_path):
    """--resume --set vae.steps=16 on a finished 10-step cosine phase: the schedule stays the 10-step one, so the
    first extended update runs at the rate the phase finished on (0.1x), not at cos(pi*10/16) (~0.4x)."""
    base = 0.01

    def cosine(k, first=10):      # the update from step k to k+1: base -> 0.1 base over the first 10, then flat
        return base * (0.1 + 0.45 * (1 + math.cos(math.pi * min(k + 1, first) / first)))

    run = RunDir(tmp_path / "r")
    run.create(preset("tiny"))
    a = _cosine_phase(run, 10, resume=False)
    assert a == pytest.approx([cosine(k) for k in range(10)], rel=1e-12)
    assert a[0] == pytest.approx(base * (0.55 + 0.45 * math.cos(math.pi / 10))) and a[-1] == pytest.approx(0.1 * base)
    assert load_meta(run.vae_ckpt)["schedule_total"] == 10
    b = _cosine_phase(run, 16, resume=True)
    assert len(b) == 6 and b[0] == pytest.approx(a[-1], rel=1e-12)
    assert b == pytest.approx([0.1 * base] * 6, rel=1e-12)
    assert load_meta(run.vae_ckpt)["schedule_total"] == 10              # a second extension continues flat too

    # a checkpoint written before `schedule_total` existed: a finished phase's own step is its first total
    old = RunDir(tmp_path / "old")
    old.create(preset("tiny"))
    a = _cosine_phase(old, 10, resume=False)
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters())
    g = torch.Generator()
    meta = load_checkpoint(old.vae_ckpt, model, opt, g)
    meta.pop("schedule_total")
    meta.pop("optim_param_groups")
    save_checkpoint(old.vae_ckpt, model, opt, g, meta)
    assert "schedule_total" not in load_meta(old.vae_ckpt)
    b = _cosine_phase(old, 16, resume=True)
    assert b[0] == pytest.approx(a[-1], rel=1e-12) and b == pytest.approx([0.1 * base] * 6, rel=1e-12)

    # a phase cancelled at step 4 and resumed with more steps keeps the schedule it started on
    mid = RunDir(tmp_path / "mid")
    mid.create(preset("tiny"))
    assert _cosine_phase(mid, 10, resume=False, cancel_at=4) == pytest.approx([cosine(k) for k in range(4)])
    assert _cosine_phase(mid, 16, resume=True) == pytest.approx([cosine(k) for k in range(4, 16)], rel=1e-12)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_cancel_then_resume_matches_uninterrupted(tmp_path, synthetic_file, schedule):
    cfg = tiny_cfg(synthetic_file, checkpoint_every=7, vae={"lr_schedule": schedule})
    list(train_run(str(tmp_path / "a"), cfg))
    n = {"k": 0}

    def cancel():
        n["k"] += 1
        return n["k"] > 13                                   # stop in the middle of the VAE phase

    recs = list(train_run(str(tmp_path / "b"), cfg, cancel=cancel))
    assert recs[-1].status == "cancelled"
    assert RunDir(tmp_path / "b").status()["status"] == "cancelled"
    list(train_run(str(tmp_path / "b"), resume=True))
    assert losses(tmp_path / "a") == losses(tmp_path / "b")


def test_new_run_refuses_existing_dir(tmp_path, synthetic_file):
    list(train_run(str(tmp_path / "r"), tiny_cfg(synthetic_file)))
    with pytest.raises(RunError, match="already exists"):
        list(train_run(str(tmp_path / "r"), tiny_cfg(synthetic_file)))
    with pytest.raises(RunError, match="nothing to resume"):
        list(train_run(str(tmp_path / "none"), resume=True))


def test_a_refusal_leaves_no_folder_and_a_failure_marks_the_run_failed(tmp_path, synthetic_file):
    """Checks that refuse before training starts (a missing dataset, windows longer than every 30-step episode with
    short_episodes=refuse) leave no folder; a folder that was there (the app's "New run") keeps its files, its
    status saying why; a failure during training marks the run failed, with its reason."""
    with pytest.raises(DatasetError, match="missing.h5"):
        list(train_run(str(tmp_path / "r"), tiny_cfg(tmp_path / "missing.h5")))
    assert not (tmp_path / "r").exists()
    refused = tiny_cfg(synthetic_file).replace(data={"window": 40, "short_episodes": "refuse"})
    with pytest.raises(DatasetError, match="fewer than the window length 40"):
        list(train_run(str(tmp_path / "r"), refused))
    assert not (tmp_path / "r").exists()
    pre = RunDir(tmp_path / "pre")                  # made by the app's "New run" before it starts training
    pre.create(tiny_cfg(synthetic_file))
    before = {p.name: p.read_bytes() for p in pre.path.iterdir() if p.name != "status.json"}
    with pytest.raises(DatasetError, match="fewer than the window length 40"):
        list(train_run(str(pre.path), refused))
    assert {p.name: p.read_bytes() for p in pre.path.iterdir() if p.name != "status.json"} == before
    assert pre.status()["status"] == "failed" and "window length 40" in pre.status()["error"]

    calls = {"n": 0}

    def fails_at_step_3():
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("disk on fire")
        return False
    with pytest.raises(RuntimeError, match="disk on fire"):
        list(train_run(str(tmp_path / "r"), tiny_cfg(synthetic_file), cancel=fails_at_step_3))
    st = RunDir(tmp_path / "r").status()
    assert st["status"] == "failed" and "disk on fire" in st["error"] and st["phase"] == "vae" and st["step"] == 0


def test_checkpoint_roundtrip_exact(tmp_path):
    cfg = VAEConfig(latent_dim=8, encoder_hidden=(16,), policy_hidden=(8,))
    a = build_vae(RunConfig(vae=cfg), 4, 3, 2, True)
    opt = torch.optim.Adam(a.parameters(), 1e-3)
    from lwd_core.methods.lwd.vae import vae_loss
    for _ in range(3):
        vae_loss(a, torch.randn(2, 4, 3), torch.randn(2, 4, 2), torch.ones(2, 4))["loss"].backward()
        opt.step()
    g = torch.Generator().manual_seed(5)
    torch.randn(3, generator=g)
    save_checkpoint(tmp_path / "c.safetensors", a, opt, g, {"step": 3})
    b = build_vae(RunConfig(vae=cfg), 4, 3, 2, True)
    opt2 = torch.optim.Adam(b.parameters(), 1e-3)
    g2 = torch.Generator()
    meta = load_checkpoint(tmp_path / "c.safetensors", b, opt2, g2)
    assert meta["step"] == 3
    for (k, v), (k2, v2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert s1.keys() == s2.keys() and all(torch.equal(s1[i]["exp_avg_sq"], s2[i]["exp_avg_sq"]) for i in s1)
    assert torch.equal(torch.randn(4, generator=g), torch.randn(4, generator=g2))


def test_corrupt_checkpoint_is_a_clean_error(tmp_path):
    p = tmp_path / "c.safetensors"
    p.write_bytes(b"\x00" * 64)
    (tmp_path / "c.json").write_text("{}")
    with pytest.raises(RunError, match="not a valid safetensors"):
        load_checkpoint(p, torch.nn.Linear(2, 2))


@pytest.mark.parametrize("section, kw, msg", [
    ("vae", {"latent_dim": -3}, "`vae.latent_dim` must be > 0, got -3"),
    ("vae", {"decoder_size": "xxl"}, "`vae.decoder_size` must be one of"),
    ("vae", {"beta_kl": -1.0}, "`vae.beta_kl` must be >= 0"),
    ("vae", {"lr": 5.0}, "`vae.lr` must be < 1"),
    ("ddpm", {"beta_start": 0.1, "beta_end": 0.01}, "`ddpm.beta_start` < `ddpm.beta_end`"),
    ("data", {"window": -1}, "`data.window` must be >= 0"),
    ("data", {"short_episodes": "drop"}, "`data.short_episodes` must be one of"),
    ("eval", {"sampler": "euler"}, "`eval.sampler` must be one of"),
])
def test_config_validation(section, kw, msg):
    with pytest.raises(ConfigError) as e:
        RunConfig().replace(**{section: kw})
    assert msg in str(e.value)


def test_config_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="unknown config key `vae.latnt_dim`"):
        RunConfig.from_dict({"vae": {"latnt_dim": 3}})


def test_novelty_detects_copies():
    mu = torch.randn(20, 4) * 3
    lab = torch.zeros(20, dtype=torch.long)
    copies = novelty(mu[:5].clone(), torch.zeros(5, dtype=torch.long), mu, lab)
    assert copies["frac_copies"] == 1.0 and copies["nn_dist_median"] == 0.0
    fresh = novelty(mu[:5] + 10.0, torch.zeros(5, dtype=torch.long), mu, lab)
    assert fresh["frac_copies"] == 0.0 and fresh["novelty_ratio"] > 1.0


def test_core_never_imports_qt():
    code = ("import pkgutil, importlib, sys, lwd_core\n"
            "for m in pkgutil.walk_packages(lwd_core.__path__, 'lwd_core.'): importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'shiboken6')]\n"
            "assert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]

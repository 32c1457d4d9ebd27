"""The engine's extension points and shared loops: registries, presets, the test-only suite, state-conditioned
diffusion, baselines cancelled and resumed in-process, and evaluation that does not depend on --workers."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lwd_core.config import EvalConfig, RunConfig, preset, preset_names
from lwd_core.data.hdf5 import save_dataset
from lwd_core.envs.registry import collectors, get_suite
from lwd_core.errors import ConfigError, LWDError
from lwd_core.eval.evaluate import evaluate, evaluate_run
from lwd_core.io import load_tensors
from lwd_core.methods.lwd.inference import TrainedLWD
from lwd_core.methods.registry import get_method, method_names, train_run
from lwd_core.runs import RunDir
from tests.toy_suite import make_synthetic, maps

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_survives_a_json_round_trip(name):
    cfg = preset(name)
    again = RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.to_dict() == cfg.to_dict()


def test_registries_list_the_built_ins_and_the_test_suite():
    assert method_names() == ["lwd", "mlp_bc", "diffusion_policy"]
    assert get_method("lwd").phases == ("vae", "ddpm")
    with pytest.raises(ConfigError, match="unknown method 'nope'"):
        get_method("nope")
    assert {"mt10", "toy"} <= set(collectors())
    assert type(get_suite("toy-maps")).__name__ == "ToySuite"       # registered by tests/toy_suite.py alone
    assert type(get_suite("mt10")).__name__ == "MT10Suite"
    assert type(get_suite("HalfCheetah-v5")).__name__ == "LocomotionSuite"
    assert type(get_suite("Pendulum-v1")).__name__ == "GymSuite"     # any other id: the gymnasium fallback


def test_nothing_in_the_app_or_cli_names_a_suite_or_a_method():
    """Adding a suite or a method touches lwd_core (one module plus presets) and never lwd_studio/: the import-linter
    contract "the app names no method and no suite" (run by test_architecture.py) forbids lwd_studio every method
    package and every concrete suite module. Here: it lists all of them, so a new one cannot slip past it."""
    import tomllib
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (c,) = [c for c in contracts if c["name"] == "the app names no method and no suite"]
    assert c["type"] == "forbidden" and c["source_modules"] == ["lwd_studio"]
    methods = {f"lwd_core.methods.{p.name}" for p in (ROOT / "lwd_core" / "methods").iterdir()
               if (p / "__init__.py").exists()}
    generic = {"__init__", "registry", "render", "collect"}          # the registry and what every suite shares
    suites = {f"lwd_core.envs.{p.stem}" for p in (ROOT / "lwd_core" / "envs").glob("*.py") if p.stem not in generic}
    assert {"lwd_core.methods.lwd", "lwd_core.envs.mt10", "lwd_core.envs.locomotion"} <= methods | suites
    assert methods | suites <= set(c["forbidden_modules"])


def _toy_run(tmp_path, n_eps=40, **over):
    save_dataset(make_synthetic(n_eps=n_eps), tmp_path / "toy.h5")
    cfg = preset("toy-tiny").replace(data={"dataset": str(tmp_path / "toy.h5")}, **over)
    status = [r.status for r in train_run(str(tmp_path / "run"), cfg) if hasattr(r, "status")]
    assert status[-1] == "finished"
    return tmp_path / "run"


def test_sampled_policy_imitates_its_own_label(tmp_path):
    """The central claim on the synthetic data: a policy sampled for label b imitates map b, not map a."""
    run = _toy_run(tmp_path, vae={"steps": 600, "lr": 1e-3}, log_every=50, checkpoint_every=1000,
                   ddpm={"steps": 1500, "lr": 1e-3, "hidden": 128, "n_steps": 100})
    lwd = TrainedLWD(run)
    states = np.random.default_rng(1).normal(size=(200, 5)).astype(np.float32)
    M = maps()
    for b in (0, 1):
        pb = lwd.policy_batch(lwd.decode(lwd.sample_latents(np.full(8, b), "ddim", 20, seed=b)))
        acts = np.stack([pb.policy(i).act(states) for i in range(8)])                    # (8, 200, 2)
        err = [float(np.mean((acts - np.tanh(states @ M[k])) ** 2)) for k in (0, 1)]
        assert err[b] < 0.05 and err[1 - b] > 10 * err[b], (b, err)
        # "vae_train" decodes the training windows' own latents (paper Fig. 3b): label b's imitate map b too
        mu, label = lwd.training_latents()
        z = lwd.training_latents_of(b, 30)
        assert len(z) == 30 and int((label == b).sum()) < 30              # cycled over the label's windows
        assert all(any(torch.equal(zi, m) for m in mu[label == b]) for zi in z)
        pb = lwd.batch_policy("vae_train", b, 8, EvalConfig(), 0, None).policies
        acts = np.stack([pb.policy(i).act(states) for i in range(8)])
        err = [float(np.mean((acts - np.tanh(states @ M[k])) ** 2)) for k in (0, 1)]
        assert err[b] < 0.05 and err[1 - b] > 10 * err[b], ("vae_train", b, err)


def test_state_conditioned_diffusion_trains_and_samples(tmp_path):
    run = _toy_run(tmp_path, n_eps=12, ddpm={"state_condition": True, "steps": 30})
    lwd = TrainedLWD(run)
    assert lwd.diffusion.eps_model.state_proj is not None
    init = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    z = lwd.sample_latents(np.array([0, 1, 1]), "ddim", 5, seed=0, init_obs=init)
    z2 = lwd.sample_latents(np.array([0, 1, 1]), "ddim", 5, seed=0, init_obs=init + 3.0)
    assert z.shape == (3, 16) and torch.isfinite(z).all()
    assert not torch.allclose(z, z2)                      # the state really conditions the sample
    with pytest.raises(Exception, match="initial observation"):
        lwd.sample_latents(np.array([0]), "ddim", 5, seed=0)


@pytest.mark.parametrize("method,over", [("mlp_bc", {"width": 32}),
                                         ("diffusion_policy", {"dp_size": "small", "dp_train_steps": 10})])
def test_baselines_cancel_and_resume_in_process_exactly(tmp_path, method, over):
    save_dataset(make_synthetic(n_eps=6), tmp_path / "toy.h5")
    cfg = preset("toy-tiny").replace(method=method, checkpoint_every=5, data={"dataset": str(tmp_path / "toy.h5")},
                                     baseline={**over, "steps": 20, "batch_size": 16})
    list(train_run(str(tmp_path / "full"), cfg))
    calls = {"n": 0}

    def cancel_once():
        calls["n"] += 1
        return calls["n"] == 8

    recs = list(train_run(str(tmp_path / "cut"), cfg, cancel=cancel_once))
    assert recs[-1].status == "cancelled" and RunDir(tmp_path / "cut").status()["status"] == "cancelled"
    list(train_run(str(tmp_path / "cut"), resume=True))
    a = load_tensors(tmp_path / "full" / "checkpoints" / f"{method}.safetensors")
    b = load_tensors(tmp_path / "cut" / "checkpoints" / f"{method}.safetensors")
    assert set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)
    la = [r["loss"] for r in RunDir(tmp_path / "full").read_metrics()]
    lb = [r["loss"] for r in RunDir(tmp_path / "cut").read_metrics()]
    assert la == lb and len(la) == 20


def test_evaluation_does_not_depend_on_the_number_of_workers(tmp_path):
    run = _toy_run(tmp_path, n_eps=8)
    out = {}
    for workers in (1, 2):
        res: dict = {}
        list(evaluate_run(run, EvalConfig(episodes=3, ddim_steps=5, max_steps=30), workers=workers, result=res))
        out[workers] = res
    for k in ("lwd", "expert"):
        assert out[1]["methods"][k] == out[2]["methods"][k]
    assert out[1]["novelty"] == out[2]["novelty"]
    assert "vae_train" not in out[1]["methods"]                      # decoding training latents: only on request
    extra: dict = {}
    list(evaluate_run(run, EvalConfig(episodes=3, max_steps=30), kinds=["vae_train"], result=extra))
    assert set(extra["methods"]) == {"vae_train"} and len(extra["methods"]["vae_train"]["per_condition"]) == 2
    with pytest.raises(LWDError, match="choose from lwd, vae, expert, vae_train"):
        list(evaluate_run(run, EvalConfig(episodes=1, max_steps=5), kinds=["vae_training"]))
    assert out[1]["methods"]["expert"]["mean_success"] == 1.0       # the toy expert is exact
    assert out[1]["methods"]["lwd"]["mean_return"] < 0               # and a 20-step policy is not


def test_state_conditioned_lwd_resamples_every_action_horizon(tmp_path, synthetic_file):
    """Paper §3.3 / Fig. 9: a new policy for the current state every H_a steps, one batched query per step
    boundary for all episodes; the same results for any number of workers."""
    from lwd_core.methods.registry import load_trained, train_run
    cfg = preset("toy-tiny").replace(data={"dataset": str(synthetic_file)}, ddpm={"state_condition": True})
    list(train_run(str(tmp_path / "s"), cfg))
    trained = load_trained(tmp_path / "s")
    out = {}
    for h, w in ((7, 1), (7, 2), (0, 1)):
        res: dict = {}
        list(evaluate(trained, EvalConfig(episodes=3, max_steps=30, ddim_steps=5, action_horizon=h), kinds=["lwd"],
                      workers=w, result=res))
        out[(h, w)] = res
    assert out[(7, 1)]["methods"] == out[(7, 2)]["methods"]
    assert out[(7, 1)]["diffusion_queries_per_episode"] == 5          # steps 0, 7, 14, 21, 28 of 30
    assert "diffusion_queries_per_episode" not in out[(0, 1)]
    assert out[(7, 1)]["methods"] != out[(0, 1)]["methods"]            # re-sampling changes the episodes
    plain = preset("toy-tiny").replace(data={"dataset": str(synthetic_file)})
    list(train_run(str(tmp_path / "p"), plain))
    with pytest.raises(LWDError, match="not state-conditioned"):
        list(evaluate(load_trained(tmp_path / "p"), EvalConfig(episodes=1, max_steps=10, action_horizon=4),
                      kinds=["lwd"]))

"""`lwd-studio sample` through the method registry: a run of every method writes one policy file that acts."""
import json

import numpy as np
import pytest

from lwd_core.config import preset
from lwd_core.data.hdf5 import save_dataset
from lwd_core.methods.registry import load_trained, method_names, train_run
from lwd_studio.cli import main
from tests.toy_suite import ACT_DIM, OBS_DIM, make_synthetic

BASELINES = {"mlp_bc": {"width": 32}, "diffusion_policy": {"dp_size": "small", "dp_train_steps": 10, "ddim_steps": 3}}


def train_baselines(folder) -> dict:
    """A tiny trained run of each baseline on the toy suite, trained through lwd_core: method -> run dir."""
    save_dataset(make_synthetic(n_eps=6), folder / "toy.h5")
    runs = {}
    for method, over in BASELINES.items():
        cfg = preset("toy-tiny").replace(name=method, method=method, data={"dataset": str(folder / "toy.h5")},
                                         baseline={**over, "steps": 10, "batch_size": 16})
        runs[method] = folder / "runs" / method
        assert list(train_run(str(runs[method]), cfg))[-1].status == "finished"
    return runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return train_baselines(tmp_path_factory.mktemp("baselines"))


def test_every_method_but_lwd_is_covered_here():
    assert set(method_names()) == {"lwd", *BASELINES}            # LWD's sample: tests/cli/test_cli.py


@pytest.mark.parametrize("method", list(BASELINES))
def test_sample_writes_a_policy_file_of_any_method_that_acts(runs, tmp_path, capsys, method):
    from lwd_core.methods.diffusion_policy.model import DiffusionPolicy
    from lwd_core.methods.mlp_bc.model import MLPBCPolicy
    out = tmp_path / "pol.safetensors"
    assert main(["sample", str(runs[method]), "--condition", "b1", "--out", str(out), "--seed", "3"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    spec = json.loads(out.with_suffix(".json").read_text())
    assert spec["kind"] == method and spec["task"] == 1
    pol = {"mlp_bc": MLPBCPolicy, "diffusion_policy": DiffusionPolicy}[method].load(out)
    obs = np.random.default_rng(0).normal(size=(4, OBS_DIM)).astype(np.float32)
    pol.reset()
    acts = np.stack([pol.act(o) for o in obs])
    assert acts.shape == (4, ACT_DIM) and np.isfinite(acts).all()
    if method == "mlp_bc":                      # the file holds the trained policy of condition b1, and its origin
        assert spec["condition"] == "b1" and spec["env_id"] == "toy-maps" and spec["run"] == str(runs[method])
        batch = load_trained(runs[method]).batch_policy("mlp_bc", 1, 4, None, 0, obs)
        np.testing.assert_allclose(acts, batch(obs), atol=1e-6)
    assert main(["sample", str(runs[method]), "--condition", "b7", "--out", str(out)]) == 2
    assert "unknown condition 'b7'" in capsys.readouterr().err

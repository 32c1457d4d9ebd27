"""`lwd-studio export`: a sampled policy as ONNX runs in onnxruntime exactly as the policy runs here; as safetensors it
is `sample`'s policy file. And `lwd-studio --version`."""
import importlib.metadata
import sys

import numpy as np
import pytest

from lwd_core.config import preset
from lwd_core.data.hdf5 import save_dataset
from lwd_core.export import NumpyMLPPolicy
from lwd_core.methods.registry import train_run
from lwd_studio.cli import main
from tests.helpers import toy_run
from tests.toy_suite import ACT_DIM, OBS_DIM, make_synthetic

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny state-conditioned LWD run and a tiny MLP-BC run on the toy suite: method -> run dir."""
    d = tmp_path_factory.mktemp("export")
    save_dataset(make_synthetic(), d / "toy.h5")
    cfg = preset("toy-tiny").replace(name="mlp_bc", method="mlp_bc", data={"dataset": str(d / "toy.h5")},
                                     baseline={"width": 32, "steps": 10, "batch_size": 16})
    assert list(train_run(str(d / "mlp_bc"), cfg))[-1].status == "finished"
    # 300 VAE steps: enough that the generated policies' actions are of the data's size (~0.5), not ~1e-3, so that
    # the comparison below is not passed by two policies that both output nearly nothing
    return {"lwd": toy_run(d / "lwd_data", vae={"steps": 300}), "mlp_bc": d / "mlp_bc"}


def one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("method", ["lwd", "mlp_bc"])
def test_onnx_gives_the_numpy_policy_actions(runs, tmp_path, capsys, method):
    """On 1,000 random observations spread well past the normalisation's range, so that the tanh saturates and the
    ReLUs cut; LWD's numpy policy is the same sample written as a policy file, MLP-BC's its own policy."""
    from lwd_core.methods.mlp_bc.model import MLPBCPolicy
    obs = (np.random.default_rng(0).normal(size=(1000, OBS_DIM)) * 3).astype(np.float32)
    onnx_path, st_path = tmp_path / "p.onnx", tmp_path / "p.safetensors"
    args = [str(runs[method]), "--condition", "b1", "--seed", "5"]
    assert main(["export", *args, "--format", "onnx", "--out", str(onnx_path)]) == 0
    assert main(["export", *args, "--format", "safetensors", "--out", str(st_path)]) == 0
    assert f"wrote {onnx_path}" in capsys.readouterr().out
    if method == "lwd":
        expected = NumpyMLPPolicy.load(st_path).act(obs)
    else:                                         # in torch, with the task's one-hot appended to the observation
        pol = MLPBCPolicy.load(st_path)
        expected = np.stack([pol.act(o) for o in obs])

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    assert (inp.name, out.name) == ("obs", "action")
    assert isinstance(inp.shape[0], str) and inp.shape[1] == OBS_DIM             # a dynamic batch dimension
    got = sess.run(["action"], {"obs": obs})[0]
    assert got.shape == (1000, ACT_DIM)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max()         # and to float rounding
    assert np.abs(expected).max() > 0.1                                         # a policy that does something
    assert sess.run(["action"], {"obs": obs[:1]})[0].shape == (1, ACT_DIM)
    meta = {p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}
    assert meta["condition"] == "b1" and meta["method"] == method and meta["seed"] == "5"


def test_export_as_safetensors_is_the_sample_commands_policy_file(runs, tmp_path):
    a, b = tmp_path / "export.safetensors", tmp_path / "sample.safetensors"
    args = [str(runs["lwd"]), "--condition", "b0", "--seed", "2"]
    assert main(["export", *args, "--out", str(a)]) == 0                  # the format from the suffix
    assert main(["sample", *args, "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.with_suffix(".json").read_text() == b.with_suffix(".json").read_text()


def test_export_without_the_onnx_package_says_what_to_install(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)           # `import onnx` now raises ImportError
    out = tmp_path / "p.onnx"
    rc = main(["export", str(runs["lwd"]), "--condition", "b0", "--format", "onnx", "--out", str(out)])
    line = one_line(capsys.readouterr().err)
    assert rc != 0 and not out.exists()
    assert "onnx" in line and 'pip install "lwd-studio[onnx]"' in line


def test_export_of_a_missing_run_or_a_bad_out_is_one_line(runs, tmp_path, capsys):
    rc = main(["export", str(tmp_path / "no-run"), "--condition", "b0", "--format", "onnx",
               "--out", str(tmp_path / "p.onnx")])
    assert rc != 0 and "no-run" in one_line(capsys.readouterr().err)
    rc = main(["export", str(runs["lwd"]), "--condition", "b0", "--out", str(tmp_path / "p.bin")])
    assert rc != 0 and "--out p.bin" in one_line(capsys.readouterr().err)
    rc = main(["export", str(runs["lwd"]), "--condition", "b9", "--out", str(tmp_path / "p.onnx")])
    assert rc != 0 and "unknown condition 'b9'" in one_line(capsys.readouterr().err)
    assert not list(tmp_path.glob("p.*"))


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out == f"lwd-studio {importlib.metadata.version('lwd-studio')}\n"


def test_the_readmes_numpy_snippet_gives_the_policys_actions(runs, tmp_path, monkeypatch):
    """The README's code, run as written (its last line's `observation` given), on a sampled policy file."""
    import re
    from pathlib import Path
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    def snippet(text):
        return next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def load_policy" in b)
    code = snippet(readme)
    assert snippet((Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text()) == code   # one snippet
    args = [str(runs["lwd"]), "--condition", "b1", "--seed", "3"]
    assert main(["sample", *args, "--out", str(tmp_path / "push.safetensors")]) == 0
    monkeypatch.chdir(tmp_path)
    obs = (np.random.default_rng(1).normal(size=(1000, OBS_DIM)) * 3).astype(np.float32)
    scope = {"observation": obs}
    exec(compile(code, "README.md", "exec"), scope)
    expected = NumpyMLPPolicy.load(tmp_path / "push.safetensors").act(obs)
    assert scope["action"].shape == (1000, ACT_DIM) and np.abs(expected).max() > 0.1
    np.testing.assert_allclose(scope["action"], expected, atol=1e-6, rtol=0)

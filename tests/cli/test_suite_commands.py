"""Commands a suite brings (lwd_core/envs/registry.py: SuiteCommand) appear in `lwd-studio` without lwd_studio naming
the suite: the locomotion suite's `behaviours`, and one registered by a module the CLI has never heard of."""
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lwd_core.envs.registry import SuiteAction, SuiteCommand, register_command
from lwd_studio.cli import main


def run(capsys, *args):
    """`lwd-studio ARGS` in-process: (exit status, stdout, stderr)."""
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:                      # argparse: --help, unknown commands
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_behaviours_list_and_train_keep_their_options_and_output(capsys, tmp_path, monkeypatch):
    from tests.toy_behaviours import write_behaviours
    monkeypatch.setenv("LWD_BEHAVIOURS", str(write_behaviours(tmp_path / "assets")))
    rc, out, _ = run(capsys, "behaviours", "list")
    lines = out.strip().splitlines()
    assert rc == 0 and [ln.split()[:2] for ln in lines] == [["HalfCheetah-v5", lv] for lv in ("expert", "medium",
                                                                                             "random")]
    assert all("return" in ln and "normalised" in ln and ln.endswith("after 0 steps") for ln in lines)
    monkeypatch.setenv("LWD_BEHAVIOURS", str(tmp_path / "none"))
    assert run(capsys, "behaviours", "list")[:2] == (0, "no shipped behaviour policies\n")
    rc, out, _ = run(capsys, "behaviours", "train", "--help")
    for opt in ("--env", "--steps", "--work-dir", "--out", "--seed", "--snapshot-every"):
        assert opt in out


def test_behaviours_train_passes_every_option_to_the_trainer(capsys, tmp_path, monkeypatch):
    """SAC itself is not run here: the suite's trainer is replaced by one that reports what it was asked."""
    from lwd_core.envs import behaviour_train
    from lwd_core.envs.behaviour_train import BehaviourProgress
    calls = []

    def fake(env, steps, work_dir, seed, snapshot_every, out_dir=None):
        calls.append((env, steps, work_dir, seed, snapshot_every, out_dir))
        yield BehaviourProgress(env, 0, steps, "")                      # no message: not printed
        yield BehaviourProgress(env, steps, steps, "expert: return 1")
    monkeypatch.setattr(behaviour_train, "train_behaviours", fake)
    rc, out, _ = run(capsys, "behaviours", "train", "--env", "ant, walker2d", "--steps", "7", "--work-dir",
                     tmp_path / "w", "--out", tmp_path / "o", "--seed", "3", "--snapshot-every", "2")
    assert rc == 0 and out == "[Ant-v5] expert: return 1\n[Walker2d-v5] expert: return 1\n"
    assert calls == [(e, 7, tmp_path / "w", 3, 2, tmp_path / "o") for e in ("Ant-v5", "Walker2d-v5")]
    for bad, msg in ((("--steps", "0"), "--steps and --snapshot-every must be > 0"), (("--env", "hopper"), "hopper")):
        rc, out, err = run(capsys, "behaviours", "train", *bad)
        assert rc == 2 and len(err.strip().splitlines()) == 1 and msg in err and "Traceback" not in err
    calls.clear()
    assert run(capsys, "behaviours", "train")[0] == 0
    assert calls == [(e, 100_000, Path("behaviour-training"), 0, 5000, None)
                     for e in ("HalfCheetah-v5", "Walker2d-v5", "Ant-v5")]


# ---- a command registered by a module lwd_studio does not know (here: this test module, imported above)
@dataclass(frozen=True)
class EchoConfig:
    times: int = field(default=2, metadata={"help": "how many lines"})
    loud: bool = False


def echo(cfg: EchoConfig):
    for i in range(cfg.times):
        yield f"echo {i}{'!' if cfg.loud else ''}"


register_command(SuiteCommand("toy-tool", "a test suite's own command", (
    SuiteAction("echo", "print lines", EchoConfig, echo),
    SuiteAction("hello", "say hello", None, lambda cfg: iter(["hello"])))))


def test_a_registered_command_runs_with_options_from_its_config(capsys):
    assert run(capsys, "toy-tool", "echo", "--times", "3", "--loud")[:2] == (0, "echo 0!\necho 1!\necho 2!\n")
    assert run(capsys, "toy-tool", "echo")[:2] == (0, "echo 0\necho 1\n")
    assert run(capsys, "toy-tool", "hello")[:2] == (0, "hello\n")
    assert "how many lines (default 2)" in run(capsys, "toy-tool", "echo", "--help")[1]
    with pytest.raises(SystemExit):
        main(["toy-tool", "echo", "--times", "x"])

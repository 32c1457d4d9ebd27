"""Training and evaluating on one's own data: unlabelled files and files whose labels a suite does not know.

Each suite is driven through `lwd-studio train` and `lwd-studio eval RUN` (in this process, for speed) on small
random files. Where a suite has experts for some conditions only (locomotion: the behaviours with a shipped policy),
or none, the kinds that need one are left out by name; where its conditions choose the environment (MT10's tasks,
the toy suite's maps), a file that does not name them is refused at `train` time, before anything is written.
HalfCheetah-v5 stands for the locomotion suite: Walker2d-v5 and Ant-v5 are the same LocomotionSuite class."""
import json
import signal

import numpy as np
import pytest

from lwd_core.data.hdf5 import Dataset, save_dataset

LENGTH = 20


def write(path, obs_dim, act_dim, labels=None, n_eps=4, env_id=None, seed=0):
    """n_eps random episodes of LENGTH steps; labels cycle over the episodes (None: an unlabelled file)."""
    rng = np.random.default_rng(seed)
    N = n_eps * LENGTH
    tout = np.zeros(N, bool)
    tout[LENGTH - 1::LENGTH] = True
    kw = {}
    if labels:
        kw = {"labels": np.repeat(np.arange(n_eps) % len(labels), LENGTH).astype(np.int64),
              "label_names": list(labels)}
    save_dataset(Dataset(observations=rng.normal(size=(N, obs_dim)).astype(np.float32),
                         actions=rng.uniform(-1, 1, size=(N, act_dim)).astype(np.float32),
                         rewards=rng.normal(size=N).astype(np.float32), terminals=np.zeros(N, bool), timeouts=tout,
                         attrs={"env_id": env_id} if env_id else {}, **kw), path)
    return path


@pytest.fixture
def cli(capsys):
    """`lwd-studio ARGS` in this process -> (exit code, stdout, stderr); the signal handlers `train` installs are
    put back afterwards."""
    from lwd_studio.cli import main
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def run(*args):
        capsys.readouterr()
        rc = main([str(a) for a in args])
        out = capsys.readouterr()
        return rc, out.out, out.err
    yield run
    for s, h in saved.items():
        signal.signal(s, h)


def one_line_error(rc, err, *needles):
    assert rc != 0
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]
    for raw in ("Errno", ".tmp", "Traceback", "eval.seed", "eval.episodes", "eval.action_horizon"):
        assert raw not in lines[0], lines[0]
    return lines[0]


def no_nan_json(path) -> dict:
    def refuse(c):
        raise AssertionError(f"{path} holds {c}")
    return json.loads(path.read_text(), parse_constant=refuse)


SUITES = [("HalfCheetah-v5", 17, 6, "no shipped behaviour policy for condition '{c}' of HalfCheetah-v5"),
          ("pusht", 5, 2, "pusht has no scripted expert"),
          ("Pendulum-v1", 3, 1, "Pendulum-v1 has no scripted expert")]


@pytest.mark.parametrize("labels", [None, ("alpha", "beta")], ids=["unlabelled", "unknown-labels"])
@pytest.mark.parametrize("env, obs_dim, act_dim, no_expert", SUITES, ids=[s[0] for s in SUITES])
def test_own_data_trains_and_evaluates_with_eval_defaults(tmp_path, cli, env, obs_dim, act_dim, no_expert, labels):
    f = write(tmp_path / "mine.h5", obs_dim, act_dim, labels)
    rc, _, err = cli("train", "--preset", "tiny", "--dataset", f, "--env", env, "--run-dir", tmp_path / "run")
    assert rc == 0, err
    rc, out, err = cli("eval", tmp_path / "run", "--workers", "1", "--json", tmp_path / "e.json")
    assert rc == 0, err
    res = no_nan_json(tmp_path / "e.json")
    conds = list(labels or ["default"])
    assert set(res["methods"]) == {"lwd"} and set(res["per_condition"]) == set(conds)
    assert set(res["left_out"]) == {"expert", "vae"}
    assert res["left_out"]["expert"].startswith(no_expert.format(c=conds[0]))
    assert "data.holdout_fraction > 0" in res["left_out"]["vae"]       # nothing held out to reconstruct
    assert f"left out: expert ({no_expert.format(c=conds[0])}" in out and "left out: vae (" in out
    assert "nan" not in out.lower()


@pytest.mark.parametrize("env, obs_dim, act_dim", [("mt10", 39, 4), ("toy-maps", 5, 2)])
@pytest.mark.parametrize("labels", [None, ("alpha", "beta")], ids=["unlabelled", "unknown-labels"])
def test_suites_whose_conditions_are_environments_refuse_other_labels_at_train_time(tmp_path, cli, env, obs_dim,
                                                                                    act_dim, labels):
    f = write(tmp_path / "mine.h5", obs_dim, act_dim, labels)
    rc, _, err = cli("train", "--preset", "tiny", "--dataset", f, "--env", env, "--run-dir", tmp_path / "run")
    line = one_line_error(rc, err, "--dataset", f"condition '{labels[0] if labels else 'default'}'",
                          "chooses the environment")
    assert ("has no labels" in line) == (labels is None)
    assert not (tmp_path / "run").exists()


@pytest.fixture
def cheetah_run(tmp_path_factory, cli):
    """HalfCheetah-v5 on labels it has no behaviour for, half of each condition's episodes held out."""
    d = tmp_path_factory.mktemp("cheetah")
    f = write(d / "ab.h5", 17, 6, ("alpha", "beta"), n_eps=8)
    rc, _, err = cli("train", "--preset", "tiny", "--dataset", f, "--env", "HalfCheetah-v5", "--run-dir",
                     d / "run", "--set", "data.holdout_fraction=0.5")
    assert rc == 0, err
    return d


def test_without_experts_vae_reconstructs_each_conditions_held_out_episodes(cheetah_run, cli):
    from lwd_core.data.sources import load_source
    from lwd_core.methods.registry import load_trained
    trained = load_trained(cheetah_run / "run")
    ds = load_source(trained.meta["dataset"])
    held = trained.meta["heldout_episodes"]
    labels, bounds = ds.episode_labels(), ds.episode_bounds()
    assert sorted(labels[held].tolist()) == [0, 0, 1, 1]             # the trainer held two of each out
    for cid in (0, 1):
        demos = trained.heldout_demos(cid, 10)
        mine = [i for i in held if labels[i] == cid]
        assert len(demos) == 2 and all(np.array_equal(d["obs"], ds.observations[bounds[i][0]:bounds[i][1]])
                                       for d, i in zip(demos, mine))
    rc, out, err = cli("eval", cheetah_run / "run", "--workers", "1", "--episodes", "3", "--json",
                       cheetah_run / "e.json")
    assert rc == 0, err
    res = no_nan_json(cheetah_run / "e.json")
    assert set(res["methods"]) == {"lwd", "vae"} and set(res["left_out"]) == {"expert"}
    assert {c: v["episodes"] for c, v in res["methods"]["vae"]["per_condition"].items()} == {"alpha": 2, "beta": 2}
    assert "left out: expert (no shipped behaviour policy for condition 'alpha' of HalfCheetah-v5" in out


@pytest.fixture(scope="module")
def unlabelled_cheetah(tmp_path_factory):
    """The issue's case: an unlabelled HalfCheetah-v5 file, trained as `train --preset tiny --env HalfCheetah-v5`."""
    from lwd_core.config import preset
    from lwd_core.methods.registry import train_run
    d = tmp_path_factory.mktemp("unlabelled")
    f = write(d / "my_cheetah.h5", 17, 6)
    list(train_run(str(d / "run"), preset("tiny").replace(env_id="HalfCheetah-v5", data={"dataset": str(f)})))
    return d / "run"


@pytest.mark.parametrize("args, needles", [
    (("--methods", "lwd,vae"), ("--methods vae", "nothing to reconstruct for condition 'default'")),
    (("--methods", "expert"), ("--methods expert", "no shipped behaviour policy for condition 'default'")),
    (("--methods", "nope"), ("--methods", "unknown policy kind 'nope'")),
    (("--conditions", "gamma"), ("--conditions", "unknown condition 'gamma'")),
    (("--conditions", "default,default"), ("--conditions", "twice")),
    (("--action-horizon", "8"), ("--action-horizon 8", "not state-conditioned")),
    (("--action-horizon", "-1"), ("--action-horizon must be >= 0",)),
    (("--perturb",), ("--perturb", "offers no perturbations")),
    (("--seed", "-1"), ("--seed must be >= 0",)),
    (("--seed", str(2 ** 62)), ("--seed", "--episodes", "reset seeds")),
    (("--episodes", "0"), ("--episodes must be > 0",)),
])
def test_every_eval_option_is_checked_before_an_episode_runs(unlabelled_cheetah, cli, monkeypatch, args, needles):
    import lwd_core.eval.evaluate as ev
    monkeypatch.setattr(ev, "_batch", lambda *a, **k: pytest.fail("an episode ran before the options were checked"))
    one_line_error(*cli("eval", unlabelled_cheetah, "--workers", "1", *args)[::2], *needles)
    assert not (unlabelled_cheetah / "eval").exists()


def test_action_horizon_is_refused_before_the_experts_episodes(tmp_path, monkeypatch):
    """The toy suite has an expert for every condition: a horizon a plain run cannot re-sample at is refused before
    the expert plays a single step."""
    from lwd_core.config import EvalConfig, preset
    from lwd_core.errors import LWDError
    from lwd_core.eval.evaluate import evaluate_run
    from lwd_core.methods.registry import train_run
    from tests import toy_suite
    from tests.toy_suite import make_synthetic
    save_dataset(make_synthetic(n_eps=4), tmp_path / "toy.h5")
    list(train_run(str(tmp_path / "run"), preset("toy-tiny").replace(data={"dataset": str(tmp_path / "toy.h5")})))
    monkeypatch.setattr(toy_suite.ToyExpert, "act", lambda *a: pytest.fail("the expert acted"))
    records = []
    with pytest.raises(LWDError, match="--action-horizon 4: .*not state-conditioned"):
        for r in evaluate_run(tmp_path / "run", EvalConfig(episodes=1, max_steps=10, action_horizon=4), workers=1,
                              names={"action_horizon": "--action-horizon"}):
            records.append(r)
    assert records == []


def test_novelty_with_one_training_latent_per_condition_is_na(tmp_path, cli):
    f = write(tmp_path / "two.h5", 3, 1, ("alpha", "beta"), n_eps=2)      # one whole-episode window each
    rc, _, err = cli("train", "--preset", "tiny", "--dataset", f, "--env", "Pendulum-v1", "--run-dir", tmp_path / "r")
    assert rc == 0, err
    rc, out, err = cli("eval", tmp_path / "r", "--workers", "1", "--json", tmp_path / "e.json")
    assert rc == 0, err
    nov = no_nan_json(tmp_path / "e.json")["novelty"]
    assert nov["train_nn_dist_median"] is None and nov["novelty_ratio"] is None and nov["frac_copies"] is None
    assert nov["nn_dist_median"] > 0
    line = next(ln for ln in out.splitlines() if ln.startswith("novelty"))
    assert "vs n/a" in line and "ratio n/a" in line and "nan" not in out.lower()


def test_format_table_prints_undefined_statistics_as_na():
    from lwd_studio.cli.common import format_table
    res = {"methods": {"lwd": {"mean_success": None, "mean_return": None,
                               "per_condition": {"a": {"success": None, "return": float("nan")}}}},
           "left_out": {"expert": "no expert here"}, "left_out_conditions": {},
           "novelty": {"nn_dist_median": None, "train_nn_dist_median": None, "novelty_ratio": None,
                       "frac_copies": None},
           "episodes": 1, "seed": 0, "sampler": "ddim", "env_id": "X-v0"}
    text = format_table(res, {})
    assert "nan" not in text.lower() and text.count("n/a") >= 6
    assert "left out: expert (no expert here)" in text and "success: n/a (X-v0 reports no success" in text


def test_eval_names_the_file_it_cannot_write_never_a_temp_file(tmp_path, cli, monkeypatch):
    f = write(tmp_path / "p.h5", 3, 1)
    rc, _, err = cli("train", "--preset", "tiny", "--dataset", f, "--env", "Pendulum-v1", "--run-dir", tmp_path / "r")
    assert rc == 0, err
    one_line_error(*cli("eval", tmp_path / "missing")[::2], "run directory not found")
    (tmp_path / "empty").mkdir()
    one_line_error(*cli("eval", tmp_path / "empty")[::2], "not a run directory")
    one_line_error(*cli("eval", tmp_path / "r", "--json", f / "e.json")[::2], "--json", "is a file, not a folder")
    one_line_error(*cli("eval", tmp_path / "r", "--json", tmp_path)[::2], "--json", "is a folder")
    import lwd_studio.cli.eval as cli_eval
    monkeypatch.setattr(cli_eval.os, "access", lambda *a: False)          # a read-only folder (tests run as root)
    one_line_error(*cli("eval", tmp_path / "r", "--json", tmp_path / "ro" / "e.json")[::2], "--json",
                   "permission denied")
    monkeypatch.undo()

    def refuse(path, obj):                  # what atomic_write_json raises when the folder turns read-only late
        raise PermissionError(13, "Permission denied", str(path.parent / f".{path.name}.x1y2.tmp"))
    monkeypatch.setattr("lwd_core.io.atomic_write_json", refuse)
    rc, _, err = cli("eval", tmp_path / "r", "--workers", "1", "--json", tmp_path / "out" / "e.json")
    last = err.strip().splitlines()[-1]                  # after the progress bars of the episodes that ran
    one_line_error(rc, last, f"--json {tmp_path / 'out' / 'e.json'}: cannot write (Permission denied)")

"""The Fig. 9 study's choices and arithmetic: which DP model serves an H_a, relative curves, the paper's targets."""
import pytest

from lwd_core.errors import ConfigError
from lwd_core.studies.fig9 import DEMOS, HORIZONS, aggregate, dp_horizon, markdown, plan, report, run_configs, validate
from lwd_core.studies.registry import StudyArgs


@pytest.mark.parametrize("h_a,expected", [(1, 16), (8, 16), (15, 16), (16, 20), (32, 36), (64, 68), (128, 132)])
def test_dp_prediction_horizon_holds_the_executed_actions(h_a, expected):
    hp = dp_horizon(h_a, n_obs=2)
    assert hp == expected and hp >= 2 - 1 + h_a and hp % 4 == 0


def test_every_dp_model_of_the_sweep_trains_on_the_same_budget(tmp_path):
    """DP's curve over H_a must not be a curve over training budgets: the long-chunk models get the 16-step
    model's steps, batch, schedule and arithmetic, and differ from it only in the chunk they predict."""
    cfgs = run_configs(StudyArgs(out=tmp_path, seeds=1), tmp_path / "data.h5", 0, HORIZONS)
    dp_cfgs = {name: c for name, c in cfgs.items() if name.startswith("dp")}
    assert len({c.precision for c in dp_cfgs.values()}) == 1
    dps = {name: c.baseline for name, c in dp_cfgs.items()}
    assert set(dps) == {"dp16", "dp20", "dp36", "dp68", "dp132"}
    ref = dps["dp16"]
    for name, b in dps.items():
        assert b.horizon == int(name[2:])
        same = {k: getattr(b, k) == getattr(ref, k) for k in ("steps", "batch_size", "lr", "dp_warmup", "dp_size", "n_obs")}
        assert all(same.values()), (name, same)


def test_the_sweep_collects_as_many_demonstrations_as_asked_and_every_run_trains_on_them(tmp_path):
    default, more = (plan(StudyArgs(out=tmp_path, seeds=1, episodes=50, options=o)) for o in ({}, {"demos": 1234}))
    cfgs = {p.units[0].args["cfg"].episodes: p for p in (default, more)}
    assert sorted(cfgs) == [DEMOS["full"], 1234]
    data = {name: {u.args["cfg"].data.dataset for u in p.units if u.name.startswith("train ")}
            for name, p in (("default", default), ("more", more))}
    assert all(len(v) == 1 for v in data.values()) and data["default"] != data["more"]   # one file, the asked one
    with pytest.raises(ConfigError, match="--demos"):
        validate(StudyArgs(out=tmp_path, seeds=1, episodes=50, options={"demos": 0}))


def _points(scores: dict, perturbed: dict | None = None, seeds=(0,)):
    out = []
    for cond, table in (("clean", scores), ("perturbed", perturbed or {})):
        for (m, h), (score, success) in table.items():
            for s in seeds:
                out.append({"method": m, "horizon": h, "condition": cond, "seed": s, "run": m.lower(),
                            "score": score + 0.01 * s, "success": success, "queries": 300 / h,
                            "wall_per_episode": 0.1, "episodes": 50})
    return out


def test_relative_curves_and_targets_met():
    clean = {("LWD", 8): (0.8, 0.5), ("LWD", 16): (0.78, 0.5), ("LWD", 32): (0.7, 0.4), ("LWD", 64): (0.65, 0.3),
             ("DP", 8): (0.9, 0.7), ("DP", 16): (0.6, 0.5), ("DP", 32): (0.5, 0.2), ("DP", 64): (0.3, 0.1)}
    pert = {("LWD", 32): (0.6, 0.3), ("LWD", 64): (0.5, 0.2), ("DP", 32): (0.4, 0.1), ("DP", 64): (0.2, 0.0)}
    res = aggregate(_points(clean, pert, seeds=(0, 1)), (8, 16, 32, 64), ["clean", "perturbed"])
    lwd = {r["horizon"]: r for r in res["curves"]["LWD"]["clean"]}
    assert lwd[8]["relative"] == pytest.approx(1.0) and lwd[64]["relative"] == pytest.approx(0.655 / 0.805)
    assert lwd[8]["score"] == pytest.approx(0.805) and lwd[8]["score_std"] == pytest.approx(0.005)
    assert lwd[8]["runs"] == ["lwd-s0", "lwd-s1"]
    t = res["targets"]
    assert t["relative_at_64"]["met"]
    # LWD stays within 25% up to H_a = 64 (300/64 queries), DP only at H_a = 8 (300/8): ratio 1/8
    q = t["queries_at_25pct_drop"]
    assert (q["LWD"]["horizon"], q["DP"]["horizon"]) == (64, 8) and q["ratio"] == pytest.approx(8 / 64) and q["met"]
    assert t["perturbed_success_ge_32"]["met"]
    res["report"] = report(res)
    rows = res["report"]["rows"]
    assert rows[0][:2] == ["LWD", 8] and len(rows) == 8
    assert rows[0][-3] is None and rows[2][-3] == pytest.approx(0.605)       # perturbed: only H_a 32 and 64
    assert "-> met" in markdown(res) and "missed" not in markdown(res)


def test_targets_missed_are_reported_as_missed():
    clean = {("LWD", 8): (0.8, 0.5), ("LWD", 64): (0.2, 0.0), ("DP", 8): (0.9, 0.7), ("DP", 64): (0.85, 0.6)}
    pert = {("LWD", 64): (0.1, 0.0), ("DP", 64): (0.5, 0.2)}
    res = aggregate(_points(clean, pert), (8, 64), ["clean", "perturbed"])
    res["report"] = report(res)
    t = res["targets"]
    assert not t["relative_at_64"]["met"] and not t["perturbed_success_ge_32"]["met"]
    assert t["queries_at_25pct_drop"]["ratio"] == pytest.approx(64 / 8) and not t["queries_at_25pct_drop"]["met"]
    assert markdown(res).count("missed") == 3


def test_the_hold_still_floor_scores_the_start_states_own_overlap():
    """The reference every Fig. 9 score is read against: an agent that holds still, on the same start states.
    Recomputed here one episode at a time, the agent's target its own position read from the 5-d state: its score
    is each start state's own coverage reward, except where the agent starts inside the block and pushes it."""
    import numpy as np

    from lwd_core.config import EvalConfig
    from lwd_core.envs.registry import get_suite
    from lwd_core.eval.evaluate import evaluate
    from lwd_core.eval.reference import SuiteReference
    from lwd_core.seeds import suite_start_seed
    for env_id in ("pusht", "pusht-5d"):
        ecfg = EvalConfig(episodes=12, seed=0, max_steps=5)
        res: dict = {}
        list(evaluate(SuiteReference(env_id, ["pusht"]), ecfg, kinds=("hold still",), workers=1, result=res))
        suite, want, still = get_suite(env_id), [], 0
        env = suite.make("pusht")
        for e in range(12):
            env.reset(seed=suite_start_seed(suite, "eval", 0, e))
            start, best = env.state(), -1.0
            for _ in range(5):
                _, r, term, _, _ = env.step(env.state()[:2] / 256.0 - 1.0)
                best = max(best, r)
                if term:
                    break
            want.append(best)
            if np.allclose(env.state(), start, atol=1e-6):
                still += 1
                assert best == pytest.approx(min(1.0, env.coverage() / 0.95))    # the start state's own overlap
        assert res["per_condition"]["pusht"]["score"] == pytest.approx(np.mean(want), abs=1e-6)
        assert 0 < np.mean(want) < 0.5 and still >= 8                  # most agents start clear of the block


def test_the_floor_is_in_the_table_and_the_figure():
    clean = {("LWD", 8): (0.8, 0.5), ("DP", 8): (0.9, 0.7)}
    floors = [{"condition": "clean", "seed": s, "score": 0.1 + 0.02 * s, "success": 0.0} for s in (0, 1)]
    res = aggregate(_points(clean), (8,), ["clean"], floors)
    assert res["floor"]["clean"]["score"] == pytest.approx(0.11)
    res["report"] = report(res)
    last = res["report"]["rows"][-1]
    assert last[0] == "hold still (floor)" and last[2] == pytest.approx(0.11)
    from lwd_core.studies.fig9 import figure
    fig = figure(res)
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("hold still")]
    assert len(lines) == 1 and lines[0].get_ydata()[0] == pytest.approx(0.11)

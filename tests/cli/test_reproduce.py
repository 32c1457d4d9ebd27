"""`lwd-studio reproduce` end to end: the studies' smoke runs (table2, fig7 and fig8, fig9) and their refusals. Kept
apart from test_cli.py so that the two long modules run in different test processes (pytest -n auto --dist
loadscope keeps a module in one process)."""
import json

import numpy as np
import pytest

from tests.cli.test_cli import LWD_POLICY_PARAMS, MLP_PARAMS, assert_one_line_error, cli, pixels_of, read_figure


@pytest.mark.slow
def test_reproduce_table2_quick(tmp_path):
    r = cli("reproduce", "table2", "--quick", "--out", tmp_path / "t2", timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    agg = json.loads((tmp_path / "t2" / "table2.json").read_text())
    order = ["MLP 512", "MLP 256", "MLP 128", "DP (large)", "DP (small)", "LWD"]      # the paper's columns
    assert sorted(agg["methods"]) == sorted(order) and agg["order"] == order
    # each number from the runs' own evaluation files (one seed, one episode per task), not from the aggregate
    means, eval_s = {}, 0.0
    for name, m in agg["methods"].items():
        folder = name.replace(" ", "_").replace("(", "").replace(")", "")
        ev = json.loads((tmp_path / "t2" / "seed0" / folder / "eval" / "table2_seed0.json").read_text())
        per = {t: v["success"] for t, v in ev["per_condition"].items()}
        assert len(per) == 10 and set(per.values()) <= {0.0, 1.0}, name      # one episode: success or not
        assert m["per_task"] == pytest.approx(per), name
        means[name] = sum(per.values()) / 10
        assert m["mean"] == pytest.approx(means[name]) and m["std"] == 0.0, name
        eval_s += float(ev["seconds"])
    assert agg["methods"]["LWD"]["params"] == LWD_POLICY_PARAMS
    assert {n: agg["methods"][f"MLP {n}"]["params"] for n in (512, 256, 128)} == MLP_PARAMS
    # every run's training and evaluation happened inside this invocation, which also collected the data
    assert eval_s < agg["compute_s"] < agg["wall_time_s"]
    md = (tmp_path / "t2" / "table2.md").read_text()
    paper = {"MLP 512": 0.693, "MLP 256": 0.640, "MLP 128": 0.620, "DP (large)": 0.653, "DP (small)": 0.527,
             "LWD": 0.760}                                                    # the paper's Table 2 means
    mean_row = next(line for line in md.splitlines() if line.startswith("| **mean over seeds**"))
    assert mean_row == "| **mean over seeds** | " + " | ".join(
        f"**{means[n]:.3f}** / {paper[n]:.3f}" for n in order) + " |"
    img = read_figure(tmp_path / "t2" / "table2.png", (7, 4))
    assert pixels_of(img, "C1", alpha=0.6) > 3000                             # the paper's six bars
    assert (pixels_of(img, "C0") > 300) == (sum(means.values()) > 0.05)      # ours, where any is above zero
    # Rerunning the study reuses the finished runs and their saved evaluations: same table, nothing re-evaluated.
    evals = sorted((tmp_path / "t2").glob("seed0/*/eval/table2_seed0.json"))
    assert len(evals) == 6
    stamps = [p.stat().st_mtime_ns for p in evals]
    r = cli("reproduce", "table2", "--quick", "--out", tmp_path / "t2", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [p.stat().st_mtime_ns for p in evals] == stamps
    again = json.loads((tmp_path / "t2" / "table2.json").read_text())
    assert {n: m["mean"] for n, m in again["methods"].items()} == {n: m["mean"] for n, m in agg["methods"].items()}


def test_table2_numbers_and_figure_from_hand_made_results(tmp_path):
    """Aggregation, the markdown row and the bar chart on results whose numbers are worked out here: every method
    succeeds on the first 4 tasks on seed 0 and the first 6 on seed 1."""
    from lwd_core.studies import table2 as T
    from lwd_core.studies.common import write_png
    tasks = list(T.PAPER["LWD"])
    assert len(tasks) == 10

    def seed_result(k):
        return {"mean_success": k / 10, "episodes": 2,
                "per_condition": {t: {"success": float(i < k)} for i, t in enumerate(tasks)}}
    agg = T.aggregate({n: [seed_result(4), seed_result(6)] for n in T.METHODS}, {n: 1000 for n in T.METHODS})
    for m in agg["methods"].values():
        assert m["per_task"] == dict(zip(tasks, [1, 1, 1, 1, 0.5, 0.5, 0, 0, 0, 0]))
        assert m["mean"] == pytest.approx(0.5) and m["std"] == pytest.approx(0.1) and m["seed_means"] == [0.4, 0.6]
    row = next(ln for ln in T.markdown(agg).splitlines() if ln.startswith("| **mean over seeds**"))
    assert row == ("| **mean over seeds** | **0.500** / 0.693 | **0.500** / 0.640 | **0.500** / 0.620 | "
                   "**0.500** / 0.653 | **0.500** / 0.527 | **0.500** / 0.760 |")
    img = read_figure(write_png(tmp_path / "t2.png", T.figure(agg)), (7, 4))
    ours, paper = pixels_of(img, "C0"), pixels_of(img, "C1", alpha=0.6)
    # equal bar widths: the areas are in the ratio of the heights, 6 x 0.5 against the paper's means
    assert ours / paper == pytest.approx(3.0 / (0.693 + 0.640 + 0.620 + 0.653 + 0.527 + 0.760), rel=0.1)


@pytest.mark.parametrize("what,flag,spec", [("fig8", "--vae-steps", "abc"), ("fig8", "--vae-steps", "0"),
                                            ("fig7", "--vae-steps", "1,2,3"), ("table2", "--dp-steps", "-5"),
                                            ("table1", "--encoder", "cnn")])
def test_reproduce_rejects_bad_step_counts(tmp_path, what, flag, spec):
    r = cli("reproduce", what, "--out", tmp_path / "f8", flag, spec)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert flag in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "f8").exists()


@pytest.mark.slow
def test_reproduce_fig7_and_fig8_quick(tmp_path):
    out = tmp_path / "figs"
    r = cli("reproduce", "fig7", "--quick", "--out", out, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    for f in ("fig7_full.png", "fig7_snippets.png"):            # latents of the first two tasks, two panels
        img = read_figure(out / f, (12, 5.5))
        for half in (img[:, :660], img[:, 660:]):
            assert pixels_of(half, "C0", 0.8, 0.1) > 10 and pixels_of(half, "C1", 0.8, 0.1) > 10, f
    summary = json.loads((out / "fig7.json").read_text())
    assert summary["snippets"]["windows"] > summary["full"]["windows"]      # 100-step episodes cut into 50s
    r = cli("reproduce", "fig8", "--quick", "--out", out, timeout=900)     # reuses the xs runs of fig7
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "fig8.json").read_text())
    assert set(res["success"]) == {f"{s}-w{w}" for s in ("xs", "s", "m", "l") for w in (500, 50)}
    rows = {r[0]: r[1:] for r in res["report"]["rows"]}
    assert rows["full (500)"] == [res["success"][f"{s}-w500"] for s in ("xs", "s", "m", "l")]
    img = read_figure(out / "fig8.png", (6, 4))                   # two curves: full trajectories, snippets
    assert pixels_of(img, "C0") > 100 and pixels_of(img, "C1") > 100


def test_reproduce_refuses_a_run_folder_trained_with_other_settings(tmp_path):
    from lwd_core.config import preset
    from lwd_core.errors import ConfigError
    from lwd_core.runs import RunDir
    from lwd_core.studies.common import ensure_trained, training_differences

    saved = preset("mt10").replace(vae={"steps": 10_000, "lr": 1e-4})      # a saved run's own, whatever the preset's
    assert training_differences(saved, saved.replace(name="other", data={"dataset": "elsewhere.h5"})) == []
    wanted = saved.replace(vae={"steps": 3000})
    assert training_differences(saved, wanted) == ["vae.steps: 10000 -> 3000"]
    RunDir(tmp_path / "run").create(saved)
    with pytest.raises(ConfigError, match="vae.steps: 10000 -> 3000"):
        list(ensure_trained(tmp_path / "run", wanted, "test"))
    assert RunDir(tmp_path / "run").config().vae.steps == 10_000        # the folder is left as it was
    with pytest.raises(ConfigError, match=r"vae.lr: 0.0001 -> 0.1; vae.steps: 10000 -> 20000"):   # more, but
        # with another learning rate: not a longer run of the same training
        list(ensure_trained(tmp_path / "run", wanted.replace(vae={"lr": 0.1, "steps": 20_000}), "test"))


def test_a_study_trains_a_finished_run_further_when_it_asks_for_more_steps(tmp_path, synthetic_file):
    from lwd_core.config import preset
    from lwd_core.io import load_meta
    from lwd_core.runs import RunDir
    from lwd_core.studies.common import ensure_trained, only_longer

    cfg = preset("toy-tiny").replace(data={"dataset": str(synthetic_file)})
    assert list(ensure_trained(tmp_path / "run", cfg, "test"))[-1].phase == "done"
    assert not list(ensure_trained(tmp_path / "run", cfg, "test"))                  # finished: reused as it is
    more = cfg.replace(ddpm={"steps": 30})
    assert only_longer(cfg, more) and not only_longer(more, cfg) and not only_longer(cfg, cfg)
    assert not only_longer(cfg, more.replace(ddpm={"lr": 0.1}))
    events = list(ensure_trained(tmp_path / "run", more, "test"))
    assert events[0].message == "training further test"
    run = RunDir(tmp_path / "run")
    assert load_meta(run.ddpm_ckpt)["step"] == 30 and run.config().ddpm.steps == 30
    assert load_meta(run.vae_ckpt)["step"] == 20 and run.status()["status"] == "finished"


@pytest.mark.slow
def test_reproduce_fig9_quick_then_resume_reuses_everything(tmp_path):
    out = tmp_path / "f9"
    r = cli("reproduce", "fig9", "--quick", "--out", out, "--workers", "1", timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "fig9.json").read_text())
    assert res["horizons"] == [1, 8, 32] and res["dp_models"] == {"dp16": [1, 8], "dp36": [32]}
    for m in ("LWD", "DP"):
        for cond in ("clean", "perturbed"):
            rows = res["curves"][m][cond]
            assert [r["horizon"] for r in rows] == [1, 8, 32]
            assert max(r["relative"] for r in rows) == pytest.approx(1.0)
            # 60-step quick episodes, one batched query every H_a steps (no quick episode ends early)
            assert [r["queries"] for r in rows] == [60, 8, 2], (m, cond)
            assert all(r["wall_per_episode"] > 0 and r["episodes"] == 4 for r in rows)
    img = read_figure(out / "fig9.png", (11, 8))                  # LWD blue, DP orange, in each of 4 panels
    score, success, relative, wall = img[:440, :605], img[:440, 605:], img[440:, :605], img[440:, 605:]
    for quarter in (score, relative, wall):
        assert pixels_of(quarter, "tab:blue") > 50 and pixels_of(quarter, "tab:orange") > 50
    # quick runs rarely succeed: both success curves may lie on 0, one over the other
    assert pixels_of(success, "tab:blue") + pixels_of(success, "tab:orange") > 50
    assert res["floor"]["clean"]["score"] < 0.5 and pixels_of(score, "gray") > 50      # the hold-still floor
    md = (out / "fig9.md").read_text()
    assert "H_a" in md
    # which part of LWD misses: VAE against diffusion samples near the goal, and the nearest-window oracle
    d = res["diagnosis"][0]
    assert all(d["precision"][part]["all_rmse_px"] > 0 for part in ("vae", "diffusion", "demonstrations"))
    assert "demonstrations' own spread" in md
    assert 0 <= d["nearest_window"]["score"] <= 1 and "nearest training window" in md
    evals = sorted(out.glob("*-s0/eval/fig9-*.json"))
    assert len(evals) == 12
    stamps = [p.stat().st_mtime_ns for p in evals]
    r = cli("reproduce", "fig9", "--quick", "--out", out, "--workers", "1", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [p.stat().st_mtime_ns for p in evals] == stamps
    assert "training fig9" not in r.stdout and "resuming" not in r.stdout      # every run reused as it is
    assert json.loads((out / "fig9.json").read_text())["curves"] == res["curves"]


def test_reproduce_fig9_wants_fifty_episodes_per_point(tmp_path):
    r = cli("reproduce", "fig9", "--out", tmp_path / "f9", "--episodes", "10")
    assert_one_line_error(r, "50 episodes")
    assert not (tmp_path / "f9").exists()


def check_table1_quick(out):
    """The whole Table 1 pipeline at smoke scale, with untrained stand-in behaviour policies: what `reproduce table1
    --quick --envs halfcheetah --seeds 1` wrote in `out`. tests/cli/test_executors.py runs it (in process, then in
    two processes and on Ray, which must agree) and checks it here."""
    tmp_path = out.parent
    assert out.name == "t1"
    res = json.loads((tmp_path / "t1" / "table1.json").read_text())
    js = res["envs"]["HalfCheetah-v5"]["js"]
    assert set(js) == {"expert", "medium", "random"}
    assert all(0 <= js[lv][c][0] <= np.log(2) + 1e-9 for lv in js for c in ("SOS", "MLP", "LWD", "VAE"))
    assert set(res["targets"]) == {"lwd_below_mlp_expert_medium", "halfcheetah_at_or_below_sos"}
    out = tmp_path / "t1"
    # Fig. 3: per-trajectory points of the three behaviours (C0-C2, the legend in the first panel) in each of its
    # three panels; the stand-in policies' points often coincide, so a panel may show only the last one drawn
    img = read_figure(out / "table1_fig3_HalfCheetah-v5.png", (13, 4.2))
    assert all(pixels_of(img, c, 0.75, 0.1) > 10 for c in ("C0", "C1", "C2"))
    for third in np.array_split(img, 3, axis=1):
        assert ((third.max(-1) - third.min(-1)) > 0.25).sum() > 30             # coloured points, not just axes
    # Fig. 4: bars of returns for original, VAE, LWD and MLP (C0-C3) at three behaviour levels
    img = read_figure(out / "table1_fig4_HalfCheetah-v5.png", (7, 4))
    assert all(pixels_of(img, c) > 30 for c in ("C0", "C1", "C2", "C3"))
    # Fig. 6: latents of full trajectories and of snippets, the three behaviours in each panel
    img = read_figure(out / "table1_fig6_HalfCheetah-v5.png", (11, 4.5))
    for half in np.array_split(img, 2, axis=1):
        assert all(pixels_of(half, c, 0.8, 0.1) > 10 for c in ("C0", "C1", "C2"))
    assert "paper SOS / MLP / LWD" in (tmp_path / "t1" / "table1.md").read_text()

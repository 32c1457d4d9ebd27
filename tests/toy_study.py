"""A study on the toy suite, used only by the executor tests (LWD_PLUGINS=tests.toy_suite,tests.toy_study): what
adding a study takes (a plan, a finish, one register_study), at a scale where a training lasts a few seconds, long
enough to kill its worker after a checkpoint, and an evaluation well under one."""
from __future__ import annotations

from lwd_core.config import EvalConfig, preset
from lwd_core.envs.registry import get_collector
from lwd_core.studies.common import StudyResult, data_unit, write_report
from lwd_core.studies.plan import Plan, eval_unit, train_unit
from lwd_core.studies.registry import StudyArgs, StudySpec, register_study


def plan(a: StudyArgs) -> Plan:
    collect, data = data_unit(a, "toy", get_collector("toy").config(episodes=6))
    units = [collect]
    for seed in range(a.seeds):
        cfg = preset("toy-tiny").replace(seed=seed, data={"dataset": str(data)}, checkpoint_every=10, log_every=10,
                                         vae={"steps": a.options["steps"]}, ddpm={"steps": a.options["steps"]})
        run_dir = a.out / f"toy-s{seed}"
        train = train_unit(f"train toy-s{seed}", run_dir, cfg, f"toy seed {seed}", (collect.name,), a.workers)
        units += [train, eval_unit(f"eval toy-s{seed}", run_dir, EvalConfig(episodes=a.episodes, seed=seed),
                                   ("lwd", "vae"), run_dir / "eval" / "toy.json", a.workers, (train.name,))]
    return Plan("toy", tuple(units))


def finish(a: StudyArgs, plan: Plan, results: dict) -> StudyResult:
    res = {"study": "toy", "evaluations": {u.name: results[u.name]["methods"] for u in plan.units
                                           if u.name.startswith("eval ")}}
    return StudyResult(True, write_report(a.out, "toy", res, "toy study\n"), "toy study")


register_study(StudySpec("toy", "a toy study for the executor tests", plan, finish,
                         {"steps": (int, 300, "training steps of each phase")}, defaults={"seeds": 2, "episodes": 4}))

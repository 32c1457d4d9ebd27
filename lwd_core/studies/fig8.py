"""Paper Fig. 8: decoder-size ablation, VAE-reconstructed MT10 success for xs/s/m/l, full trajectories and
50-step snippets."""
from __future__ import annotations

from typing import Any, Iterator

from ..config import EvalConfig
from .common import (
    QUICK_EVAL_STEPS,
    StudyEvent,
    StudyResult,
    markdown_table,
    mt10_unit,
    pyplot,
    report_table,
    write_report,
)
from .plan import Plan, Unit, eval_unit, gpu_share, train_unit
from .registry import StudyArgs, StudySpec, register_study
from .vae_runs import VAE_STEPS_OPTION, WINDOWS, vae_config, vae_steps

SIZES = ("xs", "s", "m", "l")


def plan(a: StudyArgs) -> Plan:
    steps = vae_steps(a)
    collect, data = mt10_unit(a)
    ecfg = EvalConfig(episodes=1 if a.quick else a.episodes, max_steps=QUICK_EVAL_STEPS if a.quick else 500)
    units = [collect]
    for window in WINDOWS:
        for size in SIZES:
            run_dir = a.out / f"{size}-w{window}"
            cfg = vae_config(window, size, data, a.quick, steps)
            train = train_unit(f"train {size}-w{window}", run_dir, cfg, f"fig8 {size} w{window}", (collect.name,),
                               a.workers, gpu_share(a.quick))
            units += [train, eval_unit(f"eval {size}-w{window}", run_dir, ecfg, ("vae",),
                                       run_dir / "eval" / "fig8.json", a.workers, (train.name,))]
    return Plan("fig8", tuple(units))


def progress(a: StudyArgs, plan: Plan, results: dict, unit: Unit) -> Iterator[Any]:
    if unit.name.startswith("eval "):
        size, window = unit.name.split()[1].split("-w")
        yield StudyEvent(f"decoder {size}, window {window}: VAE-reconstructed success "
                         f"{results[unit.name]['methods']['vae']['mean_success']:.3f}")


def finish(a: StudyArgs, plan: Plan, results: dict) -> StudyResult:
    res: dict = {"study": "fig8", "episodes_per_task": 1 if a.quick else a.episodes, "quick": bool(a.quick),
                 "success": {}, "vae_steps": {}}
    for window in WINDOWS:
        for size in SIZES:
            key = f"{size}-w{window}"
            res["success"][key] = results[f"eval {key}"]["methods"]["vae"]["mean_success"]
            res["vae_steps"][key] = plan[f"train {key}"].args["cfg"].vae.steps   # a reused run has the same (checked)
    res["report"] = report_table("Fig. 8: VAE-reconstructed MT10 success by decoder size", ["window", *SIZES],
                                 [[f"{tag} ({w})"] + [res["success"][f"{s}-w{w}"] for s in SIZES]
                                  for w, tag in WINDOWS.items()])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for window, label in ((500, "full trajectories (500)"), (50, "snippets (50)")):
        ax.plot(SIZES, [res["success"][f"{s}-w{window}"] for s in SIZES], marker="o", label=label)
    ax.set_xlabel("decoder size")
    ax.set_ylabel("mean MT10 success (VAE-reconstructed)")
    ax.set_ylim(0, 1.05)
    ax.legend()
    fig.tight_layout()
    files = write_report(a.out, "fig8", res, markdown_table(res["report"]), fig)
    return StudyResult(True, files, markdown_table(res["report"]))


register_study(StudySpec("fig8", "Fig. 8: decoder size, full trajectories against snippets", plan, finish,
                         VAE_STEPS_OPTION, vae_steps, progress=progress))

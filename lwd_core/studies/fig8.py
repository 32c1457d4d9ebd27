"""Paper Fig. 8: decoder-size ablation, VAE-reconstructed MT10 success for xs/s/m/l, full trajectories and
50-step snippets."""
from __future__ import annotations

from typing import Any, Iterator

from ..config import EvalConfig
from .common import (
    QUICK_EVAL_STEPS,
    StudyEvent,
    StudyResult,
    cached_eval,
    ensure_mt10,
    ensure_trained,
    markdown_table,
    pyplot,
    report_table,
    write_report,
)
from .registry import StudyArgs, StudySpec, register_study
from .vae_runs import VAE_STEPS_OPTION, WINDOWS, vae_config, vae_steps

SIZES = ("xs", "s", "m", "l")


def run(a: StudyArgs) -> Iterator[Any]:
    steps = vae_steps(a)
    a.out.mkdir(parents=True, exist_ok=True)
    data = yield from ensure_mt10(a.out, a.quick, a.workers)
    episodes = 1 if a.quick else a.episodes
    res: dict = {"study": "fig8", "episodes_per_task": episodes, "quick": bool(a.quick), "success": {},
                 "vae_steps": {}}
    for window in WINDOWS:
        for size in SIZES:
            run_dir = a.out / f"{size}-w{window}"
            cfg = vae_config(window, size, data, a.quick, steps)
            if not (yield from ensure_trained(run_dir, cfg, f"fig8 {size} w{window}")):
                return StudyResult(False)
            ecfg = EvalConfig(episodes=episodes, max_steps=QUICK_EVAL_STEPS if a.quick else 500)
            ev = yield from cached_eval(run_dir, ecfg, ("vae",), run_dir / "eval" / "fig8.json", a.workers)
            res["success"][f"{size}-w{window}"] = ev["methods"]["vae"]["mean_success"]
            res["vae_steps"][f"{size}-w{window}"] = cfg.vae.steps     # a reused run has the same (checked)
            yield StudyEvent(f"decoder {size}, window {window}: VAE-reconstructed success "
                             f"{ev['methods']['vae']['mean_success']:.3f}")
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


register_study(StudySpec("fig8", "Fig. 8: decoder size, full trajectories against snippets", run, VAE_STEPS_OPTION,
                         vae_steps))

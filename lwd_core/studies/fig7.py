"""Paper Fig. 7: PCA of the latents of full trajectories and of 50-step snippets, coloured by task."""
from __future__ import annotations

from ..eval.latents import latent_map
from ..methods.lwd.inference import TrainedLWD
from .common import StudyResult, markdown_table, mt10_unit, pyplot, report_table, write_png, write_report
from .plan import Plan, gpu_share, train_unit
from .registry import StudyArgs, StudySpec, register_study
from .vae_runs import VAE_STEPS_OPTION, WINDOWS, vae_config, vae_steps


def plan(a: StudyArgs) -> Plan:
    steps = vae_steps(a)
    collect, data = mt10_unit(a)
    units = [collect]
    for window, tag in WINDOWS.items():
        units.append(train_unit(f"train xs-w{window}", a.out / f"xs-w{window}",
                                vae_config(window, "xs", data, a.quick, steps), f"fig7 {tag}", (collect.name,),
                                a.workers, gpu_share(a.quick)))
    return Plan("fig7", tuple(units))


def finish(a: StudyArgs, plan: Plan, results: dict) -> StudyResult:
    plt = pyplot()
    summary: dict = {"study": "fig7"}
    files: list[str] = []
    for window, tag in WINDOWS.items():
        m = latent_map(TrainedLWD(a.out / f"xs-w{window}", need_diffusion=False))
        fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
        for ax, (i, j) in zip(axes, ((0, 1), (2, 3))):
            if max(i, j) >= m.coords.shape[1]:
                ax.set_visible(False)
                continue
            for c, name in enumerate(m.label_names):
                sel = m.label == c
                ax.scatter(m.coords[sel, i], m.coords[sel, j], s=10, label=name, alpha=0.8)
            ax.set_xlabel(f"PC{i + 1} ({m.explained[i]:.0%})")
            ax.set_ylabel(f"PC{j + 1} ({m.explained[j]:.0%})")
        axes[0].legend(fontsize=7, markerscale=1.5)
        fig.suptitle(f"MT10 latents of {'full 500-step trajectories' if window >= 500 else '50-step snippets'}")
        fig.tight_layout()
        files.append(str(write_png(a.out / f"fig7_{tag}.png", fig)))
        summary[tag] = {"windows": int(len(m.coords)), "explained_variance": [float(x) for x in m.explained]}
    summary["report"] = report_table("Fig. 7: explained variance of the first principal components",
                                     ["latents", "windows", "PC1", "PC2", "PC3", "PC4"],
                                     [[tag, summary[tag]["windows"], *summary[tag]["explained_variance"][:4]]
                                      for tag in WINDOWS.values()])
    files = list(write_report(a.out, "fig7", summary, markdown_table(summary["report"]))) + files
    return StudyResult(True, tuple(files), markdown_table(summary["report"]))


register_study(StudySpec("fig7", "Fig. 7: latents of full trajectories and of snippets", plan, finish,
                         VAE_STEPS_OPTION, vae_steps))

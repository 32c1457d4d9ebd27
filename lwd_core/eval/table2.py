"""Paper Table 2 (MT10 success per task, LWD vs MLP-BC vs Diffusion Policy): method set-ups, aggregation over
seeds, and the markdown/JSON report with the paper's numbers beside ours."""
from __future__ import annotations

import numpy as np

from ..config import RunConfig, preset
from ..envs.mt10 import MT10_TASKS

# name -> (method, overrides) ; LWD uses decoder xs as in the paper
METHODS = {
    "LWD": ("lwd", {}),
    "MLP 512": ("mlp_bc", {"width": 512}),
    "MLP 256": ("mlp_bc", {"width": 256}),
    "MLP 128": ("mlp_bc", {"width": 128}),
    "DP (large)": ("diffusion_policy", {"dp_size": "large"}),
    "DP (small)": ("diffusion_policy", {"dp_size": "small"}),
}

PAPER_PARAMS_K = {"MLP 512": 1396.2, "MLP 256": 370.4, "MLP 128": 103.3, "DP (large)": 2086.88,
                  "DP (small)": 403.636, "LWD": 77.1}
_ORDER = ["MLP 512", "MLP 256", "MLP 128", "DP (large)", "DP (small)", "LWD"]
_PAPER_ROWS = {  # paper Table 2, columns in _ORDER
    "button-press-topdown-v3": (1.00, 1.00, 1.00, 1.00, 1.00, 1.00),
    "door-open-v3": (1.00, 1.00, 1.00, 0.8, 0.73, 1.00),
    "drawer-close-v3": (1.00, 0.87, 0.87, 1.00, 0.6, 1.00),
    "drawer-open-v3": (1.00, 1.00, 0.67, 1.00, 1.00, 1.00),
    "peg-insert-side-v3": (0.13, 0.20, 0.27, 0.0, 0.0, 0.53),
    "pick-place-v3": (0.13, 0.00, 0.00, 0.2, 0.0, 0.13),
    "push-v3": (0.13, 0.00, 0.13, 0.4, 0.13, 0.47),
    "reach-v3": (0.53, 0.33, 0.267, 0.13, 0.13, 0.47),
    "window-close-v3": (1.00, 1.00, 1.00, 1.0, 0.93, 1.00),
    "window-open-v3": (1.00, 1.00, 1.00, 1.0, 0.733, 1.00),
}
PAPER = {m: {t: row[i] for t, row in _PAPER_ROWS.items()} for i, m in enumerate(_ORDER)}
PAPER_MEAN = {"MLP 512": 0.693, "MLP 256": 0.640, "MLP 128": 0.620, "DP (large)": 0.653, "DP (small)": 0.527,
              "LWD": 0.76}
PAPER_STD = {"MLP 512": 0.072, "MLP 256": 0.04, "MLP 128": 0.061, "DP (large)": 0.011, "DP (small)": 0.064,
             "LWD": 0.052}


MLP_STEPS, DP_STEPS = 20_000, 5_000     # default training steps of the baselines at batch 256 (25 and 6 epochs)


def method_config(name: str, dataset: str, seed: int, quick: bool, dp_steps: int | None = None) -> RunConfig:
    method, over = METHODS[name]
    if method == "lwd":
        cfg = preset("mt10-quick" if quick else "mt10")
    else:
        cfg = preset("mt10")
        steps = 60 if quick else (MLP_STEPS if method == "mlp_bc" else dp_steps or DP_STEPS)
        cfg = cfg.replace(method=method, baseline={**over, "steps": steps, "batch_size": 64 if quick else 256})
    if quick and method == "lwd":
        cfg = cfg.replace(vae={"steps": 60}, ddpm={"steps": 60})
    return cfg.replace(name=name, seed=seed, data={"dataset": dataset})


def aggregate(results: dict[str, list[dict]], params: dict[str, int]) -> dict:
    """results: method name -> one eval result per seed. Per-task mean over seeds; mean/std of the seed means."""
    out = {"methods": {}, "tasks": list(MT10_TASKS)}
    for name, per_seed in results.items():
        means = [r["mean_success"] for r in per_seed]
        tasks = {t: float(np.mean([r["per_condition"][t]["success"] for r in per_seed])) for t in MT10_TASKS
                 if all(t in r["per_condition"] for r in per_seed)}
        out["methods"][name] = {"per_task": tasks, "mean": float(np.mean(means)), "std": float(np.std(means)),
                                "seed_means": means, "params": params.get(name),
                                "episodes_per_task": per_seed[0]["episodes"] if per_seed else 0,
                                "paper_mean": PAPER_MEAN[name], "paper_std": PAPER_STD[name],
                                "paper_params_k": PAPER_PARAMS_K[name]}
    return out


def markdown(agg: dict) -> str:
    names = [n for n in _ORDER if n in agg["methods"]]
    M = agg["methods"]
    head = "| task | " + " | ".join(f"{n} (ours / paper)" for n in names) + " |"
    lines = [head, "|" + "---|" * (len(names) + 1)]
    lines.append("| inference parameters | " + " | ".join(
        f"{M[n]['params'] / 1e3:.1f}k / {PAPER_PARAMS_K[n]}k" for n in names) + " |")
    for t in agg["tasks"]:
        lines.append(f"| {t} | " + " | ".join(
            f"{M[n]['per_task'].get(t, float('nan')):.2f} / {PAPER[n][t]:.2f}" for n in names) + " |")
    lines.append("| **mean over seeds** | " + " | ".join(f"**{M[n]['mean']:.3f}** / {PAPER_MEAN[n]:.3f}"
                                                      for n in names) + " |")
    lines.append("| std over seeds | " + " | ".join(f"{M[n]['std']:.3f} / {PAPER_STD[n]:.3f}" for n in names) + " |")
    if all("train_s" in M[n] for n in names):
        lines.append("| seed means | " + " | ".join(", ".join(f"{v:.3f}" for v in M[n]["seed_means"])
                                                   for n in names) + " |")
        lines.append("| train + eval time, all seeds (min) | " + " | ".join(
            f"{M[n]['train_s'] / 60:.1f} + {M[n]['eval_s'] / 60:.1f}" for n in names) + " |")
    return "\n".join(lines) + "\n"

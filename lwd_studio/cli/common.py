"""What the commands share: Ctrl-C/SIGTERM handling, progress bars over lwd_core's record generators, the results
table, and config assembly from flags. Nothing here names an environment suite or a method."""
from __future__ import annotations

import json
import signal
import sys
from typing import Any, Iterator

from tqdm import tqdm

from lwd_core.config import RunConfig, preset, preset_names
from lwd_core.errors import ConfigError, DatasetError


class CancelFlag:
    """First Ctrl-C (or SIGTERM) asks the running generator to stop at the next step, leaving a checkpoint."""

    def __init__(self):
        self.set = False

    def __call__(self) -> bool:
        return self.set

    def install(self) -> "CancelFlag":
        def handler(signum, frame):
            if self.set:
                raise KeyboardInterrupt
            self.set = True
            print("\nstopping after this step (Ctrl-C again to abort)...", file=sys.stderr)
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
        return self


def drive(gen: Iterator[Any], desc: str = "") -> Any:
    """Iterate any lwd_core generator with progress bars and return its return value.

    Training steps get one bar per phase, collection and evaluation one bar per stage; messages are printed above
    the bars."""
    bar, kind, stage, status = None, None, desc, None

    def close():
        nonlocal bar, kind
        if bar is not None:
            bar.close()
        bar, kind = None, None

    try:
        while True:
            try:
                rec = next(gen)
            except StopIteration as stop:
                return stop.value if stop.value is not None else status
            if hasattr(rec, "step") and hasattr(rec, "losses"):                 # a training step
                if kind != ("train", rec.phase):
                    close()
                    bar, kind = tqdm(total=rec.total, desc=f"{stage} {rec.phase}".strip(), unit="step",
                                     initial=rec.step - 1), ("train", rec.phase)
                bar.update(rec.step - bar.n)
                bar.set_postfix({k: f"{v:.4g}" for k, v in rec.losses.items() if k != "kl"})
            elif hasattr(rec, "done") and hasattr(rec, "total"):                 # collection or evaluation
                if kind != ("count", stage):
                    close()
                    bar, kind = tqdm(total=rec.total, desc=stage or "progress",
                                     unit="ep" if hasattr(rec, "episode") else "cond"), ("count", stage)
                bar.update(rec.done - bar.n)
                bar.set_postfix(cond=rec.condition, **({"method": rec.method} if hasattr(rec, "method") else {}))
            elif not hasattr(rec, "message"):                                   # data for live views only
                continue
            else:                                                                # a phase or study message
                close()
                if getattr(rec, "stage", ""):
                    stage = rec.stage
                if hasattr(rec, "status") and (rec.status == "cancelled" or getattr(rec, "phase", "") == "done"):
                    status = rec.status
                tqdm.write(f"[{rec.phase}] {rec.message}" if hasattr(rec, "phase") else rec.message)
    finally:
        close()


def format_table(res: dict, labels: dict[str, str]) -> str:
    methods = list(res["methods"])
    conds = list(res["methods"][methods[0]]["per_condition"])
    w = max(12, max(len(c) for c in conds) + 1)
    key = "success" if res["methods"][methods[0]]["mean_success"] is not None else "return"
    lines = [f"{'condition':<{w}}" + "".join(f"{labels.get(m, m):>17}" for m in methods)]
    lines.append("-" * len(lines[0]))
    for c in conds:
        row = f"{c:<{w}}"
        for m in methods:
            v = res["methods"][m]["per_condition"].get(c, {}).get(key)
            row += f"{v:>17.2f}" if v is not None else f"{'-':>17}"
        lines.append(row)
    lines.append("-" * len(lines[0]))
    lines.append(f"{'mean ' + key:<{w}}" + "".join(
        f"{res['methods'][m]['mean_' + key]:>17.3f}" for m in methods))
    nov = res.get("novelty")
    if nov:
        lines.append(f"novelty of LWD latents: median distance to nearest training latent {nov['nn_dist_median']:.2f} "
                     f"vs {nov['train_nn_dist_median']:.2f} between training latents (ratio {nov['novelty_ratio']:.2f}; "
                     f"copies {nov['frac_copies']:.0%})")
    variation = res.get("episode_variation", "placements" if res.get("heldout_placements") else "seeds")
    lines.append(f"{res['episodes']} episodes per condition, held-out {variation} from eval seed {res['seed']}, "
                 f"{res['sampler']} sampler")
    return "\n".join(lines)


def parse_set(items: list[str]) -> dict:
    out: dict = {}
    for it in items:
        if "=" not in it:
            raise ConfigError(f"--set expects KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        try:
            val = json.loads(v)
        except json.JSONDecodeError:
            val = v
        parts = k.strip().split(".")
        if len(parts) > 2 or not all(parts):
            raise ConfigError(f"--set key must be `field` or `section.field`, got {k!r}")
        if len(parts) == 1:
            out[parts[0]] = val
            continue
        section = out.setdefault(parts[0], {})
        if not isinstance(section, dict):            # `--set vae=3 --set vae.steps=4`: one key as value and section
            raise ConfigError(f"--set {parts[0]!r} is given both as a value and as a section")
        section[parts[1]] = val
    return out


def build_config(a) -> RunConfig:
    """The config of a new run from --preset/--config, --dataset, --env and --set, checked against its dataset
    and its environment suite before any run directory exists."""
    from lwd_core.data.sources import join_spec, load_source
    from lwd_core.envs.registry import get_suite
    from lwd_core.methods.registry import get_method
    from lwd_core.train.engine import split_episodes
    if not (a.config or a.preset):
        raise ConfigError(f"pass --preset NAME (one of {', '.join(preset_names())}) or --config FILE")
    cfg = RunConfig.from_file(a.config) if a.config else preset(a.preset)
    if a.dataset:
        cfg = cfg.replace(data={"dataset": join_spec(a.dataset) if isinstance(a.dataset, list) else str(a.dataset)})
    if a.set:
        cfg = cfg.replace(**parse_set(a.set))
    get_method(cfg.method)
    if not cfg.data.dataset:
        raise ConfigError("no dataset: pass --dataset FILE (or set data.dataset in the config)")
    ds = load_source(cfg.data.dataset)
    env = a.env or ds.env_id or cfg.env_id
    if not env:
        raise DatasetError(f"{cfg.data.dataset}: no `env_id` attribute; pass --env ENV_ID")
    get_suite(env).check_dims(ds.obs_dim, ds.act_dim, str(cfg.data.dataset))
    split_episodes(ds, cfg)                  # e.g. a holdout fraction that leaves a condition without episodes
    return cfg.replace(env_id=env)


def add_workers(p) -> None:
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes for simulation (default: the usable CPU cores)")

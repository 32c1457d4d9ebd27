"""What the commands share: Ctrl-C/SIGTERM handling, progress bars over lwd_core's record generators, the results
table, and config assembly from flags. Nothing here names an environment suite or a method."""
from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TextIO

from tqdm import tqdm

from lwd_core.config import RunConfig, preset, preset_names
from lwd_core.errors import ConfigError, DatasetError, LWDError

from .progress import progress_bar


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is, so that the command unwinds as from Ctrl-C (worker processes
    closed, no half-written file) and says it was interrupted, instead of vanishing without a word."""


class CancelFlag:
    """First Ctrl-C (or SIGTERM) asks the running generator to stop at the next step, leaving a checkpoint."""

    def __init__(self):
        self.set = False

    def __call__(self) -> bool:
        return self.set

    def install(self) -> "CancelFlag":
        def handler(signum, frame):
            if self.set:
                raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt
            self.set = True
            print("\nstopping after this step (Ctrl-C again to abort)...", file=sys.stderr)
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
        return self


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While active, SIGTERM raises Terminated in the main thread. Only the main thread may set a signal handler;
    elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated
    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def drive(gen: Iterator[Any], desc: str = "", file: TextIO | None = None,
          clock: Callable[[], float] | None = None) -> Any:
    """Iterate any lwd_core generator with progress (progress.py: bars on a terminal, plain lines every few seconds
    on a pipe or file, written to `file`, default stderr) and return its return value.

    Training steps get one bar per phase, collection and evaluation one bar per stage; messages are printed above
    the bars. The postfix is set without a redraw before each update, so an update is drawn once, not twice."""
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
                    bar = progress_bar(rec.total, f"{stage} {rec.phase}".strip(), "step", rec.step - 1, file, clock)
                    kind = ("train", rec.phase)
                bar.set_postfix({k: f"{v:.4g}" for k, v in rec.losses.items() if k != "kl"}, refresh=False)
                bar.update(rec.step - bar.n)
            elif hasattr(rec, "done") and hasattr(rec, "total"):                 # collection or evaluation
                if kind != ("count", stage):
                    close()
                    bar = progress_bar(rec.total, stage or "progress", "ep" if hasattr(rec, "episode") else "cond",
                                       0, file, clock)
                    kind = ("count", stage)
                bar.set_postfix(cond=rec.condition, **({"method": rec.method} if hasattr(rec, "method") else {}),
                                refresh=False)
                bar.update(rec.done - bar.n)
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


def _num(v, spec: str, width: int = 0) -> str:
    """v formatted by spec, or n/a where the statistic is undefined (None or NaN)."""
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")
    return f"{v:>{width}{spec}}" if ok else f"{'n/a':>{width}}"


def format_table(res: dict, labels: dict[str, str]) -> str:
    """An evaluation result as the CLI prints it: one column per policy kind, the kinds left out and why, the
    novelty of LWD's samples. Undefined statistics print n/a."""
    methods = list(res.get("methods") or {})
    lines: list[str] = []
    if methods:
        conds = list(dict.fromkeys(c for m in methods for c in res["methods"][m]["per_condition"]))
        w = max(12, max(len(c) for c in conds) + 1)
        has_success = any(res["methods"][m]["mean_success"] is not None for m in methods)
        key = "success" if has_success else "return"
        lines.append(f"{'condition':<{w}}" + "".join(f"{labels.get(m, m):>17}" for m in methods))
        lines.append("-" * len(lines[0]))
        for c in conds:
            row = f"{c:<{w}}"
            for m in methods:
                pc = res["methods"][m]["per_condition"]
                row += _num(pc[c].get(key), ".2f", 17) if c in pc else f"{'-':>17}"
            lines.append(row)
        lines.append("-" * len(lines[0]))
        lines.append(f"{'mean ' + key:<{w}}" + "".join(_num(res["methods"][m].get("mean_" + key), ".3f", 17)
                                                         for m in methods))
        if not has_success:
            lines.append(f"success: n/a ({res.get('env_id') or 'this suite'} reports no success; the table shows "
                         f"returns)")
    for k, why in (res.get("left_out") or {}).items():
        lines.append(f"left out: {k} ({why})")
    for k, per in (res.get("left_out_conditions") or {}).items():
        for c, why in per.items():
            lines.append(f"left out: {k} on condition {c!r} ({why})")
    nov = res.get("novelty")
    if nov:
        lines.append(f"novelty of LWD latents: median distance to nearest training latent "
                     f"{_num(nov.get('nn_dist_median'), '.2f')} vs {_num(nov.get('train_nn_dist_median'), '.2f')} "
                     f"between training latents (ratio {_num(nov.get('novelty_ratio'), '.2f')}; copies "
                     f"{_num(nov.get('frac_copies'), '.0%')})")
        if nov.get("train_nn_dist_median") is None:
            lines.append("  (n/a: no condition has two training latents to measure their spacing by)")
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
    suite = get_suite(env)
    suite.check_dims(ds.obs_dim, ds.act_dim, str(cfg.data.dataset))
    for c in ds.condition_names():           # where a condition picks the environment (MT10's tasks), a run whose
        try:                                 # conditions the suite cannot make could never be evaluated
            suite.check_condition(c)
        except LWDError as e:
            why = " (the file has no labels, so its one condition is 'default')" if not ds.label_names else ""
            raise DatasetError(f"{cfg.data.dataset}: {e}{why}; on {env} a condition chooses the environment, so "
                               f"the file's labels must name {env}'s conditions") from None
    split_episodes(ds, cfg)                  # e.g. a holdout fraction that leaves a condition without episodes
    return cfg.replace(env_id=env)


def add_config_options(p, config: type) -> None:
    """One option per field of a config dataclass (a collector's or a suite command's): --field-name, typed by the
    field's metadata "type" or its default's type, helped by its metadata "help" and its default."""
    for f in dataclasses.fields(config):
        opt = f"--{f.name.replace('_', '-')}"
        helptext = f.metadata.get("help", "")
        if "default" not in helptext:
            helptext = f"{helptext} (default {f.default!r})".strip()
        if isinstance(f.default, bool):                      # --diverse / --no-diverse, never bool("False")
            p.add_argument(opt, dest=f.name, action=argparse.BooleanOptionalAction, default=f.default, help=helptext)
        else:
            p.add_argument(opt, dest=f.name, type=f.metadata.get("type", type(f.default)), default=f.default,
                           help=helptext)


def config_from_args(config: type, a) -> Any:
    return config(**{f.name: getattr(a, f.name) for f in dataclasses.fields(config)})


def add_workers(p) -> None:
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes for simulation (default: the usable CPU cores)")

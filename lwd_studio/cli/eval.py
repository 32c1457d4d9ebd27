"""`lwd-studio eval RUN_DIR`: every policy kind of the run (and the suite's scripted expert) on held-out episodes."""
from __future__ import annotations

import os
from pathlib import Path

from lwd_core.config import EvalConfig
from lwd_core.errors import ConfigError, RunError

from .common import add_workers, drive, format_table, sigterm_interrupts

ACTIVITY = "evaluation"          # "lwd-studio: evaluation interrupted by Ctrl-C"


def add_parser(sub) -> None:
    e = sub.add_parser("eval", help="evaluate a trained run (e.g. LWD samples, VAE reconstructions, experts)")
    e.add_argument("run_dir", type=Path)
    e.add_argument("--episodes", type=int, default=None, help="episodes per condition (default: the run's)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--sampler", choices=["ddim", "ddpm"], default=None)
    e.add_argument("--methods", default="", help="comma-separated policy kinds, e.g. lwd,vae,expert "
                                                 "(default: all the run has, except on-request kinds such as "
                                                 "LWD's vae_train)")
    e.add_argument("--conditions", default="", help="comma-separated subset of condition names")
    e.add_argument("--perturb", action="store_true",
                   help="perturb episodes at random, seeded moments (suites that offer it, e.g. pusht)")
    e.add_argument("--action-horizon", type=int, default=None, metavar="H_A",
                   help="LWD: re-sample the policy for the current state every H_A steps (state-conditioned runs)")
    e.add_argument("--json", type=Path, help="write the results as JSON")
    add_workers(e)


def _writable(path: Path, flag: str) -> None:
    """Refuse, before any episode runs, a results file that could not be written: a folder in its place, or a
    parent that is a file or not writable. Missing folders are made."""
    if path.is_dir():
        raise ConfigError(f"{flag} {path}: is a folder; give a file name")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{flag} {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: cannot write into {parent} (permission denied)")


def _write(path: Path, res: dict, flag: str) -> None:
    from lwd_core.io import atomic_write_json
    try:
        atomic_write_json(path, res)
    except OSError as e:              # named by the file asked for, never by the temp file written first
        raise ConfigError(f"{flag} {path}: cannot write ({e.strerror or type(e).__name__})") from None


def run(a) -> int:
    from lwd_core.eval.evaluate import cap_inference_threads, evaluate_run
    from lwd_core.methods.registry import kind_labels
    from lwd_core.runs import RunDir
    run_dir = RunDir(a.run_dir)
    if run_dir.path.is_dir() and not run_dir.config_path.exists():
        raise RunError(f"{run_dir.path}: not a run directory (no config.json)")
    cfg = run_dir.config()
    for flag, v, low in (("--episodes", a.episodes, 1), ("--seed", a.seed, 0), ("--action-horizon", a.action_horizon, 0),
                         ("--workers", a.workers, 1)):
        if v is not None and v < low:
            raise ConfigError(f"{flag} must be {'> 0' if low == 1 else '>= 0'}, got {v}")
    if a.json:
        _writable(a.json, "--json")
    out = run_dir.path / "eval" / f"eval_seed{a.seed}{'_perturbed' if a.perturb or cfg.eval.perturb else ''}.json"
    _writable(out, "the run's results file")
    ecfg = EvalConfig(episodes=a.episodes or cfg.eval.episodes, seed=a.seed, sampler=a.sampler or cfg.eval.sampler,
                      ddim_steps=cfg.eval.ddim_steps, max_steps=cfg.eval.max_steps,
                      perturb=bool(a.perturb or cfg.eval.perturb),
                      action_horizon=cfg.eval.action_horizon if a.action_horizon is None else a.action_horizon)
    kinds = [m.strip() for m in a.methods.split(",") if m.strip()] or None
    conds = [c.strip() for c in a.conditions.split(",") if c.strip()] or None
    names = {"kinds": "--methods", "conditions": "--conditions", "episodes": "--episodes", "seed": "--seed",
             "sampler": "--sampler",
             "action_horizon": "--action-horizon" if a.action_horizon is not None else
             "--action-horizon (the run's default)",
             "perturb": "--perturb" if a.perturb else "--perturb (the run's default)"}
    if a.workers:
        cap_inference_threads(a.workers)
    res: dict = {}
    with sigterm_interrupts():                       # results are written only once every episode has run
        drive(evaluate_run(a.run_dir, ecfg, conds, kinds, a.workers or None, result=res, names=names), desc="eval")
    print(format_table(res, kind_labels()))
    if a.json:
        _write(a.json, res, "--json")
        print(f"wrote {a.json}")
    _write(out, res, "the run's results file")
    return 0

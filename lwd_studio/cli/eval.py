"""`lwd-studio eval RUN_DIR`: every policy kind of the run (and the suite's scripted expert) on held-out episodes."""
from __future__ import annotations

from pathlib import Path

from lwd_core.config import EvalConfig
from lwd_core.errors import ConfigError
from lwd_core.io import atomic_write_json

from .common import add_workers, drive, format_table


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


def run(a) -> int:
    from lwd_core.envs.collect import check_workers
    from lwd_core.eval.evaluate import evaluate_run
    from lwd_core.methods.registry import kind_labels
    from lwd_core.runs import RunDir
    cfg = RunDir(a.run_dir).config()
    if a.episodes is not None and a.episodes <= 0:
        raise ConfigError(f"--episodes must be > 0, got {a.episodes}")
    ecfg = EvalConfig(episodes=a.episodes or cfg.eval.episodes, seed=a.seed, sampler=a.sampler or cfg.eval.sampler,
                      ddim_steps=cfg.eval.ddim_steps, max_steps=cfg.eval.max_steps,
                      perturb=bool(a.perturb or cfg.eval.perturb),
                      action_horizon=cfg.eval.action_horizon if a.action_horizon is None else a.action_horizon)
    kinds = [m.strip() for m in a.methods.split(",") if m.strip()] or None
    conds = [c.strip() for c in a.conditions.split(",") if c.strip()] or None
    res: dict = {}
    drive(evaluate_run(a.run_dir, ecfg, conds, kinds, check_workers(a.workers), result=res), desc="eval")
    print(format_table(res, kind_labels()))
    if a.json:
        atomic_write_json(a.json, res)
        print(f"wrote {a.json}")
    atomic_write_json(Path(a.run_dir) / "eval" / f"eval_seed{a.seed}{'_perturbed' if ecfg.perturb else ''}.json", res)
    return 0

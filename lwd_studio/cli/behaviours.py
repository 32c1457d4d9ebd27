"""`lwd-studio behaviours train|list`: the shipped locomotion behaviour policies (expert / medium / random)."""
from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("behaviours", help="train or list the locomotion behaviour policies (expert/medium/random)")
    which = p.add_subparsers(dest="action", required=True)
    t = which.add_parser("train", help="SAC (stable-baselines3, the `behaviours` extra); resumes where it stopped")
    t.add_argument("--env", default="all",
                   help="halfcheetah, walker2d, ant, a comma-separated list of them, or all (default)")
    t.add_argument("--steps", type=int, default=100_000, help="environment steps of SAC in total (default 100000)")
    t.add_argument("--work-dir", type=Path, default=Path("behaviour-training"),
                   help="SAC checkpoints and snapshots, kept for resuming (default ./behaviour-training)")
    t.add_argument("--out", type=Path, default=None, help="where the policies go (default: the package's assets)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--snapshot-every", type=int, default=5000)
    which.add_parser("list", help="the shipped policies and their measured returns")


def run(a) -> int:
    from lwd_core.envs.behaviours import shipped
    from lwd_core.errors import ConfigError
    if a.action == "list":
        cards = shipped()
        if not cards:
            print("no shipped behaviour policies")
        for c in cards:
            print(f"{c.get('env', '?'):<16} {c.get('level', '?'):<7} return {c.get('return_mean', float('nan')):8.1f} "
                  f"± {c.get('return_std', float('nan')):6.1f}  normalised {c.get('normalized_score') or float('nan'):6.1f}"
                  f"  after {c.get('train_steps', 0)} steps")
        return 0
    from lwd_core.envs.behaviour_train import train_behaviours
    from lwd_core.envs.locomotion import ENVS, env_id_of
    if a.steps <= 0 or a.snapshot_every <= 0:
        raise ConfigError("--steps and --snapshot-every must be > 0")
    envs = list(ENVS) if a.env == "all" else [env_id_of(e.strip()) for e in a.env.split(",") if e.strip()]
    for env in envs:
        for ev in train_behaviours(env, a.steps, a.work_dir, a.seed, a.snapshot_every, out_dir=a.out):
            if ev.message:
                print(f"[{ev.env_id}] {ev.message}", flush=True)
    return 0

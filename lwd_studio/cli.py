"""`lwd-studio`: the desktop app's launcher and the headless commands. Thin: parse, call lwd_core, print."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lwd-studio", description="Latent Weight Diffusion: learn a distribution "
                                "of policies from demonstrations.")
    sub = p.add_subparsers(dest="cmd", required=True)

    la = sub.add_parser("launch", help="open the desktop app")
    la.add_argument("--runs-dir", type=Path, default=None, help="where runs live (default: the per-user data folder)")

    c = sub.add_parser("collect", help="collect demonstrations into a D4RL-layout HDF5 file")
    c.add_argument("source", choices=["mt10"], help="data source (mt10: Meta-World scripted experts)")
    c.add_argument("--episodes-per-task", type=int, default=40)
    c.add_argument("--episode-length", type=int, default=500)
    c.add_argument("--noise", type=float, default=0.1, help="Gaussian action-noise std (default 0.1)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--tasks", default="", help="comma-separated subset of MT10 tasks (default: all 10)")
    c.add_argument("--out", required=True, type=Path)

    t = sub.add_parser("train", help="train the VAE, then the latent diffusion model")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--preset", help="named config: mt10, mt10-state, mt10-snippets, mt10-quick, tiny")
    g.add_argument("--config", type=Path, help="JSON config file (see config.json in any run directory)")
    t.add_argument("--dataset", type=Path, help="D4RL-layout HDF5 file (overrides the config)")
    t.add_argument("--env", help="environment id: mt10 or a gymnasium id (default: the file's env_id)")
    t.add_argument("--run-dir", required=True, type=Path)
    t.add_argument("--resume", action="store_true", help="continue from the run's checkpoints")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set vae.steps=2000 (repeatable)")

    e = sub.add_parser("eval", help="evaluate a trained run (LWD samples, VAE reconstructions, experts)")
    e.add_argument("run_dir", type=Path)
    e.add_argument("--episodes", type=int, default=None, help="episodes per condition (default: the run's)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--sampler", choices=["ddim", "ddpm"], default=None)
    e.add_argument("--methods", default="lwd,vae,expert", help="comma-separated: lwd, vae, expert")
    e.add_argument("--conditions", default="", help="comma-separated subset of condition names")
    e.add_argument("--json", type=Path, help="write the results as JSON")

    s = sub.add_parser("sample", help="sample one policy and write it as a standalone numpy policy file")
    s.add_argument("run_dir", type=Path)
    s.add_argument("--condition", required=True)
    s.add_argument("--out", required=True, type=Path, help="policy file (.safetensors; a .json spec goes beside)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--sampler", choices=["ddim", "ddpm"], default="ddim")
    s.add_argument("--placement-seed", type=int, default=None,
                   help="for state-conditioned MT10 runs: the placement whose first observation conditions the sample")

    d = sub.add_parser("demo", help="collect, train and evaluate a small MT10 pipeline")
    d.add_argument("--headless", action="store_true", help="run in the terminal instead of the app")
    d.add_argument("--quick", action="store_true", help="smoke scale: about two minutes")
    d.add_argument("--out", type=Path, default=Path("lwd-demo"), help="working directory (default ./lwd-demo)")
    d.add_argument("--episodes", type=int, default=None, help="evaluation episodes per task")

    r = sub.add_parser("reproduce", help="reproduce a paper table or figure")
    r.add_argument("what", choices=["table2", "fig7", "fig8"])
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("--quick", action="store_true", help="smoke scale: a few minutes")
    r.add_argument("--seeds", type=int, default=3)
    r.add_argument("--episodes", type=int, default=15, help="evaluation episodes per task and seed")
    r.add_argument("--dp-steps", type=int, default=None,
                   help="table2: Diffusion Policy training steps at batch 256 (default 5000, about 6 epochs)")
    r.add_argument("--vae-steps", metavar="FULL[,SNIPPETS]",
                   help="fig7/fig8: VAE training steps for full trajectories and snippets (default 10000,4000)")

    b = sub.add_parser("bench", help="measure training throughput, policy latency and sampling time")
    b.add_argument("--json", type=Path)
    b.add_argument("--quick", action="store_true", help="fewer repetitions")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Meta-World's scripted experts warn on every episode that their gains saturate; the env clips anyway.
    warnings.filterwarnings("ignore", message=r"Constant\(s\) may be too high")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from . import commands
    try:
        return int(getattr(commands, f"cmd_{args.cmd}")(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # every failure is reported as one line; LWD_DEBUG=1 shows the traceback
        if os.environ.get("LWD_DEBUG"):
            raise
        from lwd_core.errors import LWDError
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        prefix = "error" if isinstance(e, (LWDError, OSError)) else f"internal error ({type(e).__name__})"
        print(f"lwd-studio: {prefix}: {msg}", file=sys.stderr)
        return 2


class CancelFlag:
    """First Ctrl-C asks the training generator to stop at the next step (leaving a checkpoint)."""

    def __init__(self):
        self.set = False

    def __call__(self) -> bool:
        return self.set

    def install(self):
        def handler(signum, frame):
            if self.set:
                raise KeyboardInterrupt
            self.set = True
            print("\nstopping after this step (Ctrl-C again to abort)...", file=sys.stderr)
        signal.signal(signal.SIGINT, handler)
        return self


if __name__ == "__main__":
    sys.exit(main())

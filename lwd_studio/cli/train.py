"""`lwd-studio train`: a new run from a preset or config file, or --resume of an existing one."""
from __future__ import annotations

from pathlib import Path

from lwd_core.config import preset_names
from lwd_core.io import atomic_write_json

from .common import CancelFlag, build_config, drive, parse_set


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="train a run of its configured method (LWD: the VAE, then the latent DDPM)")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--preset", help=f"named config: {', '.join(preset_names())}")
    g.add_argument("--config", type=Path, help="JSON config file (see config.json in any run directory)")
    t.add_argument("--dataset", type=Path, help="D4RL-layout HDF5 file (overrides the config)")
    t.add_argument("--env", help="environment id: mt10 or a gymnasium id (default: the file's env_id)")
    t.add_argument("--run-dir", required=True, type=Path)
    t.add_argument("--resume", action="store_true", help="continue from the run's checkpoints")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set vae.steps=2000 (repeatable)")


def run(a) -> int:
    from lwd_core.data.hdf5 import load_dataset
    from lwd_core.methods.lwd.trainer import check_dataset_fits
    from lwd_core.methods.registry import train_run
    from lwd_core.runs import RunDir
    cancel = CancelFlag().install()
    if a.resume:
        run = RunDir(a.run_dir)
        if a.dataset or a.preset or a.config or a.set:
            cfg = run.config()
            if a.dataset:
                cfg = cfg.replace(data={"dataset": str(a.dataset)})
            if a.set:
                cfg = cfg.replace(**parse_set(a.set))
            check_dataset_fits(run, load_dataset(cfg.data.dataset))
            atomic_write_json(run.config_path, cfg.to_dict())
        gen = train_run(str(a.run_dir), resume=True, cancel=cancel)
    else:
        gen = train_run(str(a.run_dir), build_config(a), cancel=cancel)
    status = drive(gen)
    print(f"run {a.run_dir}: {status}")
    return 0 if status == "finished" else 3

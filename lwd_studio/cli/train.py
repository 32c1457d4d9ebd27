"""`lwd-studio train`: a new run from a preset or config file, or --resume of an existing one."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from lwd_core.config import config_docs, preset_names
from lwd_core.errors import ConfigError

from ..run_preset import recording_preset
from .common import CancelFlag, build_config, drive, parse_set


def add_parser(sub) -> None:
    t = sub.add_parser("train", help="train a run of its configured method (LWD: the VAE, then the latent DDPM)",
                       epilog=_keys_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    g = t.add_mutually_exclusive_group()
    g.add_argument("--preset", help=f"named config: {', '.join(preset_names())}")
    g.add_argument("--config", type=Path, help="JSON config file (see config.json in any run directory)")
    t.add_argument("--dataset", action="append", metavar="PATH[:BEHAVIOUR]",
                   help="a D4RL-layout HDF5 file or a Minari dataset folder (overrides the config); repeat it with "
                        "a behaviour name each, e.g. --dataset expert.h5:expert --dataset medium.h5:medium, for "
                        "one labelled mixture")
    t.add_argument("--env", help="environment id: mt10 or a gymnasium id (default: the file's env_id)")
    t.add_argument("--run-dir", required=True, type=Path)
    t.add_argument("--resume", action="store_true", help="continue from the run's checkpoints")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set vae.steps=2000 (repeatable)")


def _keys_epilog() -> str:
    """The --set keys, from the config schema itself (lwd_core/schema.py)."""
    lines = ["config keys for --set (type, default, limits):"]
    for d in config_docs():
        default = list(d.default) if isinstance(d.default, tuple) else d.default
        limits = f"; {d.limits}" if d.limits else ""
        lines.append(f"  {d.key:<32} {d.type:<9} {json.dumps(default):<10} {d.help}{limits}")
    return "\n".join(lines)


def _check_device(a, cfg) -> None:
    """Refuse a device this machine lacks, naming where the user asked for it."""
    from lwd_core.errors import LWDError
    from lwd_core.train.engine import pick_device
    try:
        pick_device(cfg.device)
    except LWDError as e:
        typed = [s for s in a.set if s.split("=", 1)[0].strip() == "device"]
        origin = (f"--set {typed[-1]}" if typed else f"device={cfg.device} in --config {a.config}" if a.config
                  else f"device={cfg.device} in the run's config.json" if a.resume
                  else f"device={cfg.device} of --preset {a.preset}")
        why = str(e).split(" requested but ", 1)[-1].split(" (", 1)[0]
        raise ConfigError(f"{origin}: {why}; pass --set device=cpu (or device=auto)") from None


def _naming_flags(a, e: Exception) -> Exception:
    """The same error, its message led by the flag the user typed that it is about: the --set items whose key it
    names, else --dataset for a dataset error."""
    from lwd_core.errors import DatasetError, LWDError
    msg = str(e)
    if not isinstance(e, LWDError) or msg.startswith("--"):
        return e
    typed = [s.strip() for s in a.set if "=" in s and s.split("=", 1)[0].strip() in msg]
    if typed:
        lead = " ".join(f"--set {s}" for s in typed) + ": "
    elif a.dataset and (isinstance(e, DatasetError) or "dataset" in msg):
        lead = "--dataset "
    else:
        return e
    return type(e)(lead + msg)


def run(a) -> int:
    from lwd_core.errors import LWDError
    try:
        return _run(a)
    except LWDError as e:
        raise _naming_flags(a, e) from None


def _run(a) -> int:
    """Every check that can refuse (run folder, config, dataset, device) comes before anything is written; the
    trainer's own checks (windows, ...) come before it writes the new run's folder (train/engine.py:open_run)."""
    from lwd_core.data.sources import join_spec
    from lwd_core.methods.registry import train_run
    from lwd_core.runs import RunDir, check_creatable
    cancel = CancelFlag().install()
    if a.resume:
        if a.preset or a.config:
            raise ConfigError("--resume continues the run's own config; use --set KEY=VALUE for what may change")
        cfg = RunDir(a.run_dir).config()
        if a.dataset:
            cfg = cfg.replace(data={"dataset": join_spec(a.dataset)})
        if a.set:
            cfg = cfg.replace(**parse_set(a.set))
        _check_device(a, cfg)
        gen = train_run(str(a.run_dir), cfg, resume=True, cancel=cancel)   # checked before anything is written
    else:
        check_creatable(a.run_dir, "--run-dir ")
        cfg = build_config(a)
        _check_device(a, cfg)
        gen = recording_preset(train_run(str(a.run_dir), cfg, cancel=cancel), a.run_dir, a.preset)
    status = drive(gen)
    print(f"run {a.run_dir}: {status}")
    return 0 if status == "finished" else 3

"""`lwd-studio collect SOURCE ... --out FILE.h5`: one sub-command per registered collector; its options are the
fields of the collector's config dataclass."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from lwd_core.envs.registry import collectors

from .common import add_workers, drive


def add_parser(sub) -> None:
    p = sub.add_parser("collect", help="collect demonstrations into a D4RL-layout HDF5 file")
    srcs = p.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for name, c in collectors().items():
        s = srcs.add_parser(name, help=c.description)
        for f in dataclasses.fields(c.config):
            opt = f"--{f.name.replace('_', '-')}"
            helptext = f"{f.metadata.get('help', '')} (default {f.default!r})"
            if isinstance(f.default, bool):                  # --diverse / --no-diverse, never bool("False")
                s.add_argument(opt, dest=f.name, action=argparse.BooleanOptionalAction, default=f.default,
                               help=helptext)
            else:
                s.add_argument(opt, dest=f.name, type=type(f.default), default=f.default, help=helptext)
        s.add_argument("--out", required=True, type=Path)
        add_workers(s)


def run(a) -> int:
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.envs.collect import check_workers
    c = collectors()[a.source]
    cfg = c.config(**{f.name: getattr(a, f.name) for f in dataclasses.fields(c.config)})
    res: dict = {}
    drive(c.collect(cfg, check_workers(a.workers), res), desc=f"collect {a.source}")
    ds = res["dataset"]
    save_dataset(ds, a.out)
    eps = len(ds.episode_bounds())
    es = ds.episode_success()
    succ = f", demonstrator success {es.mean():.2f}" if es is not None else ""
    print(f"wrote {a.out}: {len(ds)} steps, {eps} episodes{succ}")
    return 0

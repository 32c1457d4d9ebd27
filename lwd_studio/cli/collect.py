"""`lwd-studio collect SOURCE ... --out FILE.h5`: one sub-command per registered collector; its options are the
fields of the collector's config dataclass."""
from __future__ import annotations

from pathlib import Path

from lwd_core.envs.registry import collectors

from .common import add_config_options, add_workers, config_from_args, drive


def add_parser(sub) -> None:
    p = sub.add_parser("collect", help="collect demonstrations into a D4RL-layout HDF5 file")
    srcs = p.add_subparsers(dest="source", required=True, metavar="SOURCE")
    for name, c in collectors().items():
        s = srcs.add_parser(name, help=c.description)
        add_config_options(s, c.config)
        s.add_argument("--out", required=True, type=Path)
        add_workers(s)


def run(a) -> int:
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.envs.collect import check_workers
    c = collectors()[a.source]
    cfg = config_from_args(c.config, a)
    res: dict = {}
    drive(c.run(cfg, check_workers(a.workers), res), desc=f"collect {a.source}")     # stamps its provenance
    ds = res["dataset"]
    save_dataset(ds, a.out)
    eps = len(ds.episode_bounds())
    es = ds.episode_success()
    succ = f", demonstrator success {es.mean():.2f}" if es is not None else ""
    print(f"wrote {a.out}: {len(ds)} steps, {eps} episodes{succ}")
    return 0

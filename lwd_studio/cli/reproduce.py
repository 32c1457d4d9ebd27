"""`lwd-studio reproduce STUDY --out DIR`: one sub-command per registered study, with the study's own options."""
from __future__ import annotations

from argparse import BooleanOptionalAction
from pathlib import Path

from lwd_core.errors import ConfigError
from lwd_core.studies.executors import EXECUTORS, make_executor
from lwd_core.studies.registry import StudyArgs, get_study, studies

from .common import add_workers, drive


def add_parser(sub) -> None:
    r = sub.add_parser("reproduce", help="reproduce a paper table or figure")
    which = r.add_subparsers(dest="what", required=True, metavar="STUDY")
    for name, st in studies().items():
        s = which.add_parser(name, help=st.title)
        s.add_argument("--out", required=True, type=Path)
        s.add_argument("--quick", action="store_true", help="smoke scale: a few minutes")
        s.add_argument("--seeds", type=int, default=st.default("seeds"), help="training seeds (default %(default)s)")
        s.add_argument("--episodes", type=int, default=st.default("episodes"),
                       help="evaluation episodes per condition and seed (default %(default)s)")
        add_workers(s)
        s.add_argument("--executor", choices=EXECUTORS, default="local",
                       help="where the study's units run: in this process (local, default) or as Ray tasks (ray; "
                            'needs pip install -e ".[ray]")')
        s.add_argument("--jobs", type=int, default=1,
                       help="with --executor local: units run in this many processes at once, the cores divided "
                            "between them (default 1)")
        s.add_argument("--address", default=None,
                       help="with --executor ray: the cluster's address (default RAY_ADDRESS, else a Ray instance "
                            "started on this machine)")
        for opt, (typ, default, hlp) in st.options.items():
            if typ is bool:
                s.add_argument(f"--{opt.replace('_', '-')}", dest=opt, action=BooleanOptionalAction, default=default,
                               help=hlp)
            else:
                s.add_argument(f"--{opt.replace('_', '-')}", dest=opt, type=typ, default=default, help=hlp)


def run(a) -> int:
    from lwd_core.envs.collect import check_workers, usable_cores
    if a.seeds <= 0 or a.episodes <= 0:
        raise ConfigError("--seeds and --episodes must be > 0")
    if a.jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {a.jobs}")
    if a.address and a.executor != "ray":
        raise ConfigError("--address is for --executor ray")
    st = get_study(a.what)
    # N units at once share the cores: each simulates with its share of them unless --workers says otherwise
    workers = check_workers(a.workers if a.workers is not None else max(1, usable_cores() // a.jobs))
    args = StudyArgs(a.out, a.quick, a.seeds, a.episodes, workers, {k: getattr(a, k) for k in st.options},
                     cores=workers * (a.jobs if a.executor == "local" else 1))
    st.validate(args)                  # before anything is written
    executor = make_executor(a.executor, a.jobs, a.address, cores_per_job=workers)
    res = drive(st.run(args, executor), desc=a.what)
    if not res.ok:
        return 3
    print(res.summary)
    print("wrote " + ", ".join(res.files))
    return 0

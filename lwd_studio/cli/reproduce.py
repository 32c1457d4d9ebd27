"""`lwd-studio reproduce STUDY --out DIR`: one sub-command per registered study, with the study's own options."""
from __future__ import annotations

from argparse import BooleanOptionalAction
from pathlib import Path

from lwd_core.errors import ConfigError
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
        for opt, (typ, default, hlp) in st.options.items():
            if typ is bool:
                s.add_argument(f"--{opt.replace('_', '-')}", dest=opt, action=BooleanOptionalAction, default=default,
                               help=hlp)
            else:
                s.add_argument(f"--{opt.replace('_', '-')}", dest=opt, type=typ, default=default, help=hlp)


def run(a) -> int:
    from lwd_core.envs.collect import check_workers
    if a.seeds <= 0 or a.episodes <= 0:
        raise ConfigError("--seeds and --episodes must be > 0")
    st = get_study(a.what)
    args = StudyArgs(a.out, a.quick, a.seeds, a.episodes, check_workers(a.workers),
                     {k: getattr(a, k) for k in st.options})
    st.validate(args)                  # before anything is written
    res = drive(st.run(args), desc=a.what)
    if not res.ok:
        return 3
    print(res.summary)
    print("wrote " + ", ".join(res.files))
    return 0

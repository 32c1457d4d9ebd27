"""The commands suites bring (`lwd-studio behaviours train|list`, ...): one command per registered SuiteCommand,
one sub-command per action, its options the fields of the action's config dataclass. Nothing here names a suite."""
from __future__ import annotations

from lwd_core.envs.registry import suite_commands

from .common import add_config_options, config_from_args


def add_parsers(sub, taken) -> list[str]:
    """Add every suite command whose name no built-in command has taken; returns their names."""
    names = []
    for name, c in suite_commands().items():
        if name in taken:
            continue
        p = sub.add_parser(name, help=c.help)
        which = p.add_subparsers(dest="action", required=True)
        for act in c.actions:
            s = which.add_parser(act.name, help=act.help)
            if act.config is not None:
                add_config_options(s, act.config)
        names.append(name)
    return names


def run(a) -> int:
    act = next(x for x in suite_commands()[a.cmd].actions if x.name == a.action)
    cfg = config_from_args(act.config, a) if act.config is not None else None
    for line in act.run(cfg):
        print(line, flush=True)
    return 0

"""`lwd-studio`: the desktop app's launcher and the headless commands, one thin module per command (parse, call
lwd_core, print). Heavy libraries are imported inside each command's run(), to keep `--help` fast."""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import signal
import sys
import warnings

import lwd_core
from lwd_core.errors import Interrupted, LWDError

from . import bench, collect, demo, eval, export, launch, reproduce, sample, suite, train
from .common import Terminated

COMMANDS = {"launch": launch, "collect": collect, "train": train, "eval": eval, "sample": sample, "export": export,
            "demo": demo, "reproduce": reproduce, "bench": bench}


def version() -> str:
    """The installed distribution's version; from a source tree that was never installed, the package's own."""
    try:
        return importlib.metadata.version("lwd-studio")
    except importlib.metadata.PackageNotFoundError:
        return lwd_core.__version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lwd-studio", description="Latent Weight Diffusion: learn a distribution "
                                "of policies from demonstrations.")
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = p.add_subparsers(dest="cmd", required=True)
    for mod in COMMANDS.values():
        mod.add_parser(sub)
    suite.add_parsers(sub, taken=COMMANDS)         # the commands suites bring, e.g. `behaviours`
    return p


def main(argv: list[str] | None = None) -> int:
    cmd = None
    try:
        args = _parser().parse_args(argv)          # in the try: building the parser imports for a second or two
        cmd = args.cmd
        # Meta-World's scripted experts warn on every episode that their gains saturate; the env clips anyway.
        warnings.filterwarnings("ignore", message=r"Constant\(s\) may be too high")
        return int(COMMANDS.get(cmd, suite).run(args) or 0)
    except KeyboardInterrupt as e:
        term = isinstance(e, Terminated)
        return _interrupted(cmd, "SIGTERM" if term else "Ctrl-C", signal.SIGTERM if term else signal.SIGINT)
    except Interrupted as e:                       # e.g. a worker process stopped by a signal to the process group
        return _interrupted(cmd, e.how, e.signum or signal.SIGINT)
    except Exception as e:  # every failure is reported as one line; LWD_DEBUG=1 shows the traceback
        if os.environ.get("LWD_DEBUG"):
            raise
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        prefix = "error" if isinstance(e, (LWDError, OSError)) else f"internal error ({type(e).__name__})"
        print(f"lwd-studio: {prefix}: {msg}", file=sys.stderr)
        return 2


def _interrupted(cmd: str | None, how: str, signum: int) -> int:
    """One line, and the shell's exit status for a process ended by `signum` (130 for Ctrl-C, 143 for SIGTERM)."""
    what = getattr(COMMANDS.get(cmd), "ACTIVITY", f"`{cmd}`") + " " if cmd else ""
    print(f"lwd-studio: {what}interrupted by {how}", file=sys.stderr)
    return 128 + int(signum)


if __name__ == "__main__":
    sys.exit(main())

"""`lwd-studio`: the desktop app's launcher and the headless commands, one thin module per command (parse, call
lwd_core, print). Heavy libraries are imported inside each command's run(), to keep `--help` fast."""
from __future__ import annotations

import argparse
import os
import sys
import warnings

from . import bench, collect, demo, eval, launch, reproduce, sample, suite, train

COMMANDS = {"launch": launch, "collect": collect, "train": train, "eval": eval, "sample": sample, "demo": demo,
            "reproduce": reproduce, "bench": bench}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lwd-studio", description="Latent Weight Diffusion: learn a distribution "
                                "of policies from demonstrations.")
    sub = p.add_subparsers(dest="cmd", required=True)
    for mod in COMMANDS.values():
        mod.add_parser(sub)
    suite.add_parsers(sub, taken=COMMANDS)         # the commands suites bring, e.g. `behaviours`
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Meta-World's scripted experts warn on every episode that their gains saturate; the env clips anyway.
    warnings.filterwarnings("ignore", message=r"Constant\(s\) may be too high")
    try:
        return int(COMMANDS.get(args.cmd, suite).run(args) or 0)
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


if __name__ == "__main__":
    sys.exit(main())

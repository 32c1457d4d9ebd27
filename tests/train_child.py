"""Run `lwd-studio ARGS...` in this process, dying like SIGKILL (os._exit, no cleanup) at a chosen write.

    python -m tests.train_child [DIE] -- train --run-dir ...

DIE is "", or "after:NAME:K" (die right after the K-th completed atomic write of a file called NAME), or
"before_ckpt:K" (die right before the K-th checkpoint save, i.e. after the metrics append that precedes it).
Used by tests/core/test_soak.py to kill at exact points; random kills use plain SIGKILL from the test."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def _install(die: str) -> None:
    if not die:
        return
    import lwd_core.checkpoint as ckpt
    import lwd_core.io as io
    import lwd_core.train.engine as engine
    kind, *rest = die.split(":")
    count = {"n": 0}
    if kind == "after":
        name, k = rest[0], int(rest[1])
        orig = io.atomic_write_bytes

        def write(path, data):
            orig(path, data)
            if Path(path).name == name:
                count["n"] += 1
                if count["n"] == k:
                    os._exit(9)
        io.atomic_write_bytes = write
    elif kind == "before_ckpt":
        k = int(rest[0])
        orig_save = ckpt.save_checkpoint

        def save(*a, **kw):
            count["n"] += 1
            if count["n"] == k:
                os._exit(9)
            return orig_save(*a, **kw)
        engine.save_checkpoint = save
    else:
        raise SystemExit(f"unknown DIE spec {die!r}")


if __name__ == "__main__":
    args = sys.argv[1:]
    split = args.index("--")
    _install(args[0] if split else "")
    from lwd_studio.cli import main
    sys.exit(main(args[split + 1:]))

"""`lwd-studio bench [--json FILE] [--quick] [--no-compile]`: throughput and latency, measured in one run on this machine."""
from __future__ import annotations

from pathlib import Path

from lwd_core.io import atomic_write_json


def add_parser(sub) -> None:
    b = sub.add_parser("bench", help="measure training throughput, policy latency and sampling time")
    b.add_argument("--json", type=Path)
    b.add_argument("--quick", action="store_true", help="fewer repetitions")
    b.add_argument("--no-compile", dest="compile", action="store_false",
                   help="time the set-ups whose presets compile their training step (torch.compile) without it; "
                        "skips the compilations, about half a minute each on 2 cores when not cached")


def run(a) -> int:
    from lwd_core.bench import run_bench
    res = run_bench(quick=a.quick, log=lambda s: print(s, flush=True), compile=a.compile)
    if a.json:
        atomic_write_json(a.json, res)
        print(f"wrote {a.json}")
    return 0

"""`lwd-studio demo [--headless] [--quick]`: collect, train and evaluate a small pipeline, or open the app on it."""
from __future__ import annotations

from pathlib import Path

from .common import CancelFlag, add_workers, drive, format_table


def add_parser(sub) -> None:
    d = sub.add_parser("demo", help="collect, train and evaluate a small MT10 pipeline")
    d.add_argument("--headless", action="store_true", help="run in the terminal instead of the app")
    d.add_argument("--quick", action="store_true", help="smoke scale: about a minute")
    d.add_argument("--out", type=Path, default=Path("lwd-demo"), help="working directory (default ./lwd-demo)")
    d.add_argument("--episodes", type=int, default=None, help="evaluation episodes per condition")
    add_workers(d)


def run(a) -> int:
    if not a.headless:
        from ..app import launch
        return launch(a.out / "runs")
    from lwd_core.demo import DEMO_SCALES, run_demo
    from lwd_core.envs.collect import check_workers
    from lwd_core.methods.registry import kind_labels
    scale = DEMO_SCALES["quick" if a.quick else "full"]
    res = drive(run_demo(a.out, scale, a.episodes, check_workers(a.workers), CancelFlag().install()))
    if not isinstance(res, dict):
        return 3
    t = res["timing_s"]
    print()
    print(format_table(res, kind_labels()))
    print(f"time: collect {t['collect']:.0f} s, train {t['train']:.0f} s, eval {t['eval']:.0f} s, "
          f"total {t['total'] / 60:.1f} min ({res['workers']} workers); results in {a.out / scale.results_file}")
    return 0

"""`lwd-studio launch [--runs-dir DIR]`: the desktop app."""
from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    la = sub.add_parser("launch", help="open the desktop app")
    la.add_argument("--runs-dir", type=Path, default=None, help="where runs live (default: the per-user data folder)")


def run(a) -> int:
    from ..app import launch
    return launch(a.runs_dir)

"""`lwd-studio launch`: start the desktop app."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def default_runs_dir() -> Path:
    from platformdirs import user_data_dir
    return Path(user_data_dir("lwd-studio", appauthor=False)) / "runs"


def launch(runs_dir: str | Path | None = None) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LWD Studio")
    win = MainWindow(Path(runs_dir) if runs_dir else default_runs_dir())
    win.show()
    rc = app.exec()
    # Closing waited a few seconds; a job still inside a long step (an evaluation batch, say) gets a minute more
    # here, out of sight. Past that the process ends at once: Qt aborts when a running QThread is destroyed, and
    # every file a job writes is written atomically, so nothing is left half-written.
    if not win.shutdown(timeout_s=60):
        os._exit(rc)
    return rc

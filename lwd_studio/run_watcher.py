"""Tell the run list when the runs folder changes, so a new, deleted or updated run shows within a moment instead
of at the next periodic rescan (which stays as a fallback: a file system watch can miss changes, on network
folders for one)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

SETTLE_MS = 200      # one refresh for a burst of changes (a run folder copied file by file, a training's writes)


class RunsWatcher(QObject):
    changed = Signal(list)        # the watched paths that changed since the last emit: the runs folder, run folders,
    #                               status.json files

    def __init__(self, on_change=None, parent=None):
        super().__init__(parent)
        if on_change is not None:
            self.changed.connect(on_change)
        self._fs = QFileSystemWatcher(self)
        self._fs.directoryChanged.connect(self._on_change)
        self._fs.fileChanged.connect(self._on_change)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._emit)
        self._pending: set[str] = set()

    def watch(self, runs_dir, run_paths) -> None:
        """Watch the runs folder, each run's folder and its status.json. Called after every refresh: a status.json
        replaced atomically is a new file the watcher no longer follows, and runs come and go."""
        want = {str(runs_dir)}
        for p in run_paths:
            want.add(str(p))
            if (Path(p) / "status.json").exists():
                want.add(str(Path(p) / "status.json"))
        have = set(self._fs.files()) | set(self._fs.directories())
        if have - want:
            self._fs.removePaths(sorted(have - want))
        add = sorted(p for p in want - have if Path(p).exists())
        if add:
            self._fs.addPaths(add)

    def _on_change(self, path: str) -> None:
        self._pending.add(path)
        # not restarted while pending: a run writing continuously still refreshes the table every SETTLE_MS
        if not self._settle.isActive():
            self._settle.start()

    def _emit(self) -> None:
        paths, self._pending = sorted(self._pending), set()
        self.changed.emit(paths)

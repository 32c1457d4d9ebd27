"""Run-folder actions of the main window that touch only the disk: duplicate, rename, delete."""
from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtWidgets import QInputDialog

from lwd_core.io import atomic_write_json
from lwd_core.runs import RunDir

from .run_preset import run_preset


class RunFileActions:
    """Mixed into MainWindow: uses its runs_dir, jobs, selection, confirm() and refresh()."""

    def _in_use(self, paths: list[str]) -> str:
        """The label of a job that uses one of these run folders (a training, a roll-out), or ''."""
        return next((j.label for j in self.jobs.running() if j.subject in paths), "")

    def action_duplicate(self) -> None:
        src = RunDir(self._one())
        cfg = src.config()
        name = f"{src.path.name}-copy"
        i = 2
        while (self.runs_dir / name).exists():
            name, i = f"{src.path.name}-copy{i}", i + 1
        self.create_run(cfg.replace(name=name), run_preset(src.path))

    def action_rename(self, new: str | None = None) -> None:
        path = Path(self._one())
        if job := self._in_use([str(path)]):
            raise ValueError(f"{job} uses this run: stop it before renaming the run")
        if new is None:
            new, ok = QInputDialog.getText(self, "Rename run", "New name:", text=path.name)
            if not ok:
                return
        new = new.strip()
        if not new or "/" in new or (self.runs_dir / new).exists():
            raise ValueError(f"cannot rename to {new!r}: empty, invalid or taken")
        run = RunDir(path)
        cfg = run.config().replace(name=new)
        path.rename(self.runs_dir / new)
        atomic_write_json(self.runs_dir / new / "config.json", cfg.to_dict())
        self.current = None
        self.refresh()
        self.runs.select_path(str(self.runs_dir / new))

    def action_delete(self) -> None:
        paths = self.selected()
        if not paths:
            raise ValueError("select a run first")
        if job := self._in_use(paths):
            raise ValueError(f"{job} uses this run: stop it before deleting the run")
        names = ", ".join(Path(p).name for p in paths)
        if not self.confirm(f"Delete {names}? Its checkpoints and metrics are removed from disk."):
            return
        for p in paths:
            shutil.rmtree(p)
        self.current = None
        self.latents.clear()
        self.refresh()

"""The main window's Demo run: collect a small dataset in the background, then make a run on it and train it."""
from __future__ import annotations

from pathlib import Path

from lwd_core.envs.collect import dataset_file, ensure_dataset, usable_cores

from .jobs import Job


class DemoActions:
    """Mixed into MainWindow: uses its runs_dir, demo scale, jobs, status bar, create_run() and start_training()."""

    @property
    def collector(self) -> Job | None:
        """The demo's data collection while it runs."""
        jobs = self.jobs.running("collect")
        return jobs[0] if jobs else None

    def action_demo(self) -> None:
        if self.collector is not None:
            raise ValueError("the demo is already collecting data")
        scale = self.demo
        data = dataset_file(self.runs_dir / ".data", scale.source, scale.collect_config())
        job = self.jobs.start("collect", str(data),
                              lambda cancel: ensure_dataset(data, scale.source, scale.collect_config(), usable_cores()),
                              label=f"demo: collecting {scale.source} data")
        job.item.connect(lambda p: self.statusBar().showMessage(
            f"demo: collecting {scale.source} episode {p.done}/{p.total} ({p.condition})"))
        job.failed.connect(lambda msg: self.show_error(f"demo: {msg}"))
        job.ended.connect(lambda st: self._on_demo_collected(data, st))

    def _on_demo_collected(self, data: Path, status: str = "finished") -> None:
        if status == "failed":                # the banner says why
            return
        if status != "finished":              # stopped (the app closing): no dataset, so no run to make
            self.statusBar().showMessage("demo: collection stopped")
            return
        try:
            name, i = "demo", 2
            while (self.runs_dir / name).exists():
                name, i = f"demo-{i}", i + 1
            path = self.create_run(self.demo.run_config(data, name), self.demo.preset)
            self.start_training(path)
        except Exception as e:
            self.show_error(f"demo: {e}")

    def _last_dataset(self) -> str:
        demo = dataset_file(self.runs_dir / ".data", self.demo.source, self.demo.collect_config())
        return str(demo) if demo.exists() else ""

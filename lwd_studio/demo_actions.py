"""The main window's Demo run: collect a small dataset in the background, then make a run on it and train it."""
from __future__ import annotations

from pathlib import Path

from lwd_core.envs.collect import dataset_file, ensure_dataset, usable_cores

from .workers import GeneratorWorker


class DemoActions:
    """Mixed into MainWindow: uses its runs_dir, demo scale, collector, status bar, create_run() and
    start_training()."""

    def action_demo(self) -> None:
        if self.collector is not None:
            raise ValueError("the demo is already collecting data")
        scale = self.demo
        data = dataset_file(self.runs_dir / ".data", scale.source, scale.collect_config())
        self.collector = GeneratorWorker(
            lambda cancel: ensure_dataset(data, scale.source, scale.collect_config(), usable_cores()), self)
        self.collector.item_produced.connect(lambda p: self.statusBar().showMessage(
            f"demo: collecting {scale.source} episode {p.done}/{p.total} ({p.condition})"))
        self.collector.work_finished.connect(lambda st: self._on_demo_collected(data, st))
        self.collector.work_failed.connect(lambda msg: (self._drop_collector(), self.show_error(f"demo: {msg}")))
        self.collector.start()

    def _drop_collector(self) -> None:
        if self.collector is not None:
            self.collector.wait(5000)
            self.collector.deleteLater()
            self.collector = None

    def _on_demo_collected(self, data: Path, status: str = "finished") -> None:
        self._drop_collector()
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

"""Main window: runs on the left; curves, latent map and MuJoCo view on the right. Everything it shows
is read from run directories, so a restart loses nothing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lwd_core.demo import DEMO_SCALES
from lwd_core.methods.registry import curve_fallbacks, is_trained, run_row, run_rows
from lwd_core.runs import RunDir

from . import theme
from .menus import AppMenus
from .demo_actions import DemoActions
from .jobs import JobManager
from .latent_preview import LatentPreview
from .run_actions import RunFileActions
from .run_preset import record_preset
from .run_watcher import RunsWatcher
from .tab_jobs import connect_behaviours, connect_horizons
from .training_actions import TrainingActions
from .views.behaviours import BehavioursView
from .views.horizons import HorizonView
from .views.latent_map import LatentMapView, empty_state
from .views.losses import LossView
from .views.rollout_viewer import RolloutViewer
from .views.run_form import RunForm
from .views.runs_panel import RunsPanel
from .workers import PlayJob, RolloutJob, collect_garbage_on_gui_thread, play_seed, preload

NO_RUNS_STATUS = "No runs yet: press “Demo run”."
TAB_TIPS = ("the selected run's latents in two principal components; click one to decode and play its policy",
            "Fig. 9: LWD against Diffusion Policy on PushT over the action horizon; click a point to play it",
            "Table 1, Figs. 3-4: a locomotion run's generated behaviours against the original policies")


class MainWindow(TrainingActions, DemoActions, RunFileActions, QMainWindow):
    training_started = Signal(str)
    record_received = Signal(str, object)      # run path, StepRecord | PhaseEvent
    run_finished = Signal(str, str)            # run path, status
    run_failed = Signal(str, str)              # run path, message
    error_shown = Signal(str)

    def __init__(self, runs_dir: str | Path, confirm=None, settings: QSettings | None = None):
        super().__init__()
        preload()
        collect_garbage_on_gui_thread()
        self.setWindowTitle("LWD Studio")
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.confirm = confirm or self._confirm_dialog
        self.jobs = JobManager(self)         # every background job, and the rollout lane
        self.service = self.jobs.rollouts
        self.current: str | None = None
        self.map = None
        self.run_info: dict | None = None    # the prepared run: its conditions, method, whether it has a latent map
        self.demo = DEMO_SCALES["app"]       # a DemoScale; tests swap in a smaller one
        self.settings = settings or QSettings("lwd-studio", "LWD Studio")   # recent files and the theme only

        self.runs = RunsPanel()
        self.losses = LossView(fallback=curve_fallbacks())
        self.latents = LatentMapView()
        self.viewer = RolloutViewer()
        self.horizons = HorizonView(self.runs_dir)
        self.behaviours = BehavioursView()
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setProperty("role", "banner")          # coloured by the theme's style sheet
        close = QPushButton("Dismiss")
        close.setToolTip("hide this message")
        close.clicked.connect(self.clear_error)
        self.banner_box = QWidget()
        bl = QHBoxLayout(self.banner_box)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.banner, 1)
        bl.addWidget(close)
        self.banner_box.hide()

        self.tabs = QTabWidget()
        self.tabs.addTab(self.latents, "Latent map")
        self.tabs.addTab(self.horizons, "Action horizons")
        self.tabs.addTab(self.behaviours, "Behaviours")
        for i, tip in enumerate(TAB_TIPS):
            self.tabs.setTabToolTip(i, tip)
        bottom = QSplitter(Qt.Horizontal)
        bottom.addWidget(self.tabs)
        bottom.addWidget(self.viewer)
        bottom.setSizes([560, 480])
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.losses)
        right.addWidget(bottom)
        right.setSizes([300, 520])
        main = QSplitter(Qt.Horizontal)
        main.addWidget(self.runs)
        main.addWidget(right)
        main.setSizes([560, 1040])
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.addWidget(self.banner_box)
        lay.addWidget(main, 1)
        self.setCentralWidget(central)
        self.resize(1600, 950)

        self.service.run_loaded.connect(self._on_run_loaded)
        self.service.map_ready.connect(self._on_map_ready)
        self.service.samples_ready.connect(lambda zc: self.latents.set_samples(*zc))   # (z, cond)
        self.service.service_failed.connect(self.show_error)
        self.service.rollout_started.connect(self.viewer._on_rollout_started)
        self.service.frame_rendered.connect(self.viewer._on_frame_rendered)
        self.service.rollout_finished.connect(self.viewer._on_rollout_finished)
        self.viewer.export_failed.connect(self.show_error)
        self.viewer.notice.connect(lambda msg: self.statusBar().showMessage(msg, 15_000))
        self.viewer.policy_requested.connect(self._on_policy_requested)

        self.runs.selection_changed.connect(self._on_selection_changed)
        self.runs.action_requested.connect(self._on_action_requested)
        self.latents.point_clicked.connect(self._on_point_clicked)
        self.latents.sample_clicked.connect(self._on_sample_clicked)
        self.latents.blend_requested.connect(self._roll)
        self.latents.error.connect(self.show_error)
        self.latents.samples_requested.connect(self._on_samples_requested)
        self.horizons.play_requested.connect(self._on_play_requested)
        self.horizons.error.connect(self.show_error)
        self.behaviours.error.connect(self.show_error)
        connect_horizons(self.horizons, self.jobs)
        connect_behaviours(self.behaviours, self.jobs)

        tb = self.addToolBar("main")
        tb.setMovable(False)
        act = tb.addAction("Compare study results…")
        act.setToolTip("open a `reproduce` study result as a table and a chart")
        act.triggered.connect(lambda: self._on_action_requested("compare"))
        self.compare_views: list = []
        self.menus = AppMenus(self, self.settings)
        self.jobs_label = QLabel()                      # how many jobs run; their names in its tooltip
        self.statusBar().addPermanentWidget(self.jobs_label)
        self.jobs.changed.connect(self._show_jobs)

        self.watcher = RunsWatcher(self.refresh, self)   # prompt refreshes; the timer is the fallback full rescan
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(10_000)
        self.refresh_timer.timeout.connect(self.refresh)
        self.refresh_timer.start()
        self.refresh()
        self.latent_preview = LatentPreview(self)   # a training LWD run's map once its VAE phase wrote latents

    # ------------------------------------------------------------------ runs
    def refresh(self, changed: list[str] | None = None) -> None:
        """Show the runs folder's runs; `changed` (from the file-system watch): only these paths changed, so only
        their runs are read again, unless the runs folder's own entries changed."""
        if self.current and not Path(self.current).is_dir():
            self.show_error(f"run {Path(self.current).name} was deleted from disk")
            self.current = None
            self.map = None
            self.run_info = None
            self.viewer.set_conditions([])
            self.latents.clear()
        rows = self._rows_after(changed)
        for r in rows:  # a run whose worker died with the app shows its last written status
            if r["path"] in self.trainers and r["status"] != "running":
                r["status"] = "running"
        self.runs.set_rows(rows)
        self.watcher.watch(self.runs_dir, [r["path"] for r in rows])
        if not rows:
            self.statusBar().showMessage(NO_RUNS_STATUS)
        elif self.statusBar().currentMessage() == NO_RUNS_STATUS:
            self.statusBar().clearMessage()

    def _rows_after(self, changed: list[str] | None) -> list[dict]:
        known = {r["path"]: r for r in self.runs.rows}
        runs = {p if p in known else str(Path(p).parent) for p in changed or ()}
        if changed is None or not runs <= set(known) or not all(Path(p).is_dir() for p in runs):
            return run_rows(self.runs_dir)              # runs came or went, or no watch said what changed
        known.update({p: run_row(p) for p in runs})
        return sorted(known.values(), key=lambda r: -r["updated"])

    def set_runs_dir(self, path: str | Path) -> None:
        """Show another runs folder; jobs running in the old one go on, and their runs reappear when it is shown."""
        path = Path(path)
        if not path.is_dir():
            raise ValueError(f"{path} is not a folder")
        self.runs_dir = path
        self.setWindowTitle(f"LWD Studio — {path}")
        self.runs.table.clearSelection()
        self.refresh()

    def open_result(self, path: str | Path) -> None:
        """A fig9 result opens in the Action horizons tab; any other study result in a compare window."""
        if Path(path).name.startswith("fig9"):
            self.horizons.open_result(path)
            self.tabs.setCurrentWidget(self.horizons)
        else:
            self.action_compare(str(path))

    def apply_theme(self, name: str) -> None:
        theme.apply(name, [self, *self.compare_views])
        self.latents.redraw()

    def selected(self) -> list[str]:
        return self.runs.selected_paths()

    def _on_selection_changed(self, paths: list[str]) -> None:
        shown = {}
        for p in paths:
            shown[p] = (Path(p).name, RunDir(p).read_metrics())
        self.losses.show_runs(shown)
        cur = paths[0] if len(paths) == 1 else None
        if cur is None and self.current is None:           # none or several, before and after: the hint may differ
            self.latents.clear(empty_state(paths, False))
        if cur != self.current:
            self.current = cur
            self.map = None
            self.run_info = None
            self.viewer.set_conditions([])
            trained = bool(cur) and is_trained(cur)
            self.latents.clear(empty_state(paths, trained))
            if trained:
                self.service.prepare(cur)
            self.behaviours.set_run(cur, trained)

    def _on_action_requested(self, action: str) -> None:
        try:
            getattr(self, f"action_{action}")()
        except Exception as e:  # any bad input surfaces in the banner; the app keeps going
            self.show_error(str(e).splitlines()[0] if str(e) else type(e).__name__)

    def _one(self) -> str:
        sel = self.selected()
        if len(sel) != 1:
            raise ValueError("select one run first")
        return sel[0]

    def action_new(self) -> str | None:
        form = RunForm(self.runs_dir, self, dataset=self._last_dataset(), probes=self.jobs.probes)
        if form.exec() != RunForm.Accepted or form.config is None:
            return None
        return self.create_run(form.config, form.base.currentText())

    def create_run(self, cfg, preset: str = "") -> str:
        """A new run folder; `preset` (the one `cfg` started from, if any) is recorded for the runs table."""
        path = self.runs_dir / cfg.name
        RunDir(path).create(cfg)
        record_preset(path, preset)
        self.refresh()
        self.runs.select_path(str(path))
        return str(path)

    def _confirm_dialog(self, text: str) -> bool:
        # No by default: Return or Enter must never delete a run's checkpoints
        return QMessageBox.question(self, "LWD Studio", text, QMessageBox.Yes | QMessageBox.No,
                                    QMessageBox.No) == QMessageBox.Yes

    def action_compare(self, path: str | None = None):
        """Open any `reproduce` study result (table2.json, fig8.json, ...)."""
        from PySide6.QtWidgets import QFileDialog

        from .views.compare import load_study, open_view
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Study results", str(self.runs_dir), "study result (*.json)")
            if not path:
                return None
        view = open_view(load_study(path), self, title=str(path))
        theme.style_plots(view)
        view.show()
        self.compare_views.append(view)
        return view

    # ------------------------------------------------------------------ latent map and rollouts
    def _on_run_loaded(self, info: dict) -> None:
        if info["run_dir"] != self.current:
            return
        self.run_info = info
        self.viewer.set_conditions(info["conditions"])
        if not info["latent_map"]:
            self.latents.clear(f"{info['method']} learns no latent space: choose a condition and press "
                               f"Run policy to watch its policy.")

    def _on_policy_requested(self, condition: str) -> None:
        info = self.run_info
        if not self.current or info is None or info["run_dir"] != self.current:
            return
        self.viewer.expect_rollout(self.service.roll(RolloutJob(self.current, condition, play_seed(info["env_id"]),
                                                                None, f"{condition}, {info['method']} policy")))

    def _on_map_ready(self, lmap) -> None:
        self.map = lmap
        self.latents.set_map(lmap)

    def _on_samples_requested(self) -> None:
        if self.current and self.map is not None:
            self.service.sample(self.current)

    def _roll(self, latent: np.ndarray, cond: int, label: str, episode: int | None = None) -> None:
        if not self.current or self.map is None:
            self.show_error("select one trained run with a latent map first")
            return
        try:
            seed = play_seed(self.map.env_id)
            self.viewer.expect_rollout(self.service.roll(RolloutJob(self.current, self.map.label_names[cond], seed,
                                                                    latent, label, episode=episode)))
        except Exception as e:                 # a message in the app, never only a log line
            self.show_error(f"{label}: {type(e).__name__}: {e}")

    def _on_play_requested(self, req: dict) -> None:
        self.viewer.expect_rollout(self.service.play(PlayJob(req["run_dir"], req["kind"], int(req["horizon"]), None,
                                                             bool(req["perturb"]), req.get("label", ""))))

    def _on_point_clicked(self, i: int) -> None:
        m = self.map
        self._roll(m.latents[i], int(m.label[i]), f"{m.label_names[m.label[i]]}, episode {m.episode[i]}",
                   int(m.episode[i]))

    def _on_sample_clicked(self, i: int) -> None:
        z, cond = self.latents.samples
        self._roll(z[i], int(cond[i]), f"sampled {self.map.label_names[cond[i]]} policy")

    # ------------------------------------------------------------------ errors and shutdown
    def show_error(self, msg: str) -> None:
        self.banner.setText(msg)
        self.banner_box.show()
        self.statusBar().showMessage(msg, 10_000)
        self.error_shown.emit(msg)

    def clear_error(self) -> None:
        self.banner_box.hide()

    def _show_jobs(self) -> None:
        text, names = self.jobs.describe()
        self.jobs_label.setText(text)
        self.jobs_label.setToolTip(names)
        self.runs.set_busy({j.subject for j in self.jobs.running()})

    @property
    def stragglers(self) -> list:
        """Jobs still finishing their step when shutdown() stopped waiting."""
        return self.jobs.stragglers

    def shutdown(self, timeout_s: float = 4.0) -> bool:
        """Cancel every job, then wait for all of them together for at most timeout_s. Jobs stop between items,
        training at a resumable checkpoint. False when one is still inside a long item (kept in `stragglers`)."""
        self.refresh_timer.stop()
        self.watcher.blockSignals(True)
        return self.jobs.shutdown(timeout_s)

    def closeEvent(self, ev) -> None:
        self.shutdown()
        super().closeEvent(ev)

"""The MuJoCo view: frames arrive from the rollout thread as numpy arrays through a queued signal.
Play/pause/step/restart replay the recorded frames; export writes MP4 or GIF with imageio."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)


class RolloutViewer(QWidget):
    export_failed = Signal(str)
    policy_requested = Signal(str)       # condition: play the selected run's own policy for it (any method)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frames: list[np.ndarray] = []
        self.infos: list[dict] = []
        self.pos = -1
        self.live = False
        self.title = QLabel("<b>Policy rollout</b>")
        self.image = QLabel("Click a point on the latent map, or choose a condition and press Run policy.")
        self.image.setAlignment(Qt.AlignCenter)
        self.image.setWordWrap(True)                 # the hint fits a narrow viewer; frames are pixmaps, unaffected
        self.image.setMinimumSize(320, 240)
        self.image.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.image.setStyleSheet("background: #222; color: #ccc;")
        self.counter = QLabel("frame 0 / 0")
        self.stats = QLabel("")
        self.play_btn = QPushButton("Pause")
        self.step_btn = QPushButton("Step")
        self.restart_btn = QPushButton("Restart")
        self.export_btn = QPushButton("Export…")
        self.play_btn.clicked.connect(self.toggle_play)
        self.step_btn.clicked.connect(self.step)
        self.restart_btn.clicked.connect(self.restart)
        self.export_btn.clicked.connect(self._on_export_clicked)
        self.condition = QComboBox()
        self.condition.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.run_btn = QPushButton("Run policy")
        self.run_btn.setToolTip("roll out the selected run's policy for this condition, whatever its method")
        self.run_btn.clicked.connect(self._on_run_clicked)
        self.set_conditions([])
        run_row = QHBoxLayout()
        run_row.addWidget(self.condition)
        run_row.addWidget(self.run_btn)
        run_row.addStretch(1)
        ctl = QHBoxLayout()
        for w in (self.play_btn, self.step_btn, self.restart_btn, self.export_btn):
            ctl.addWidget(w)
        ctl.addStretch(1)
        ctl.addWidget(self.counter)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.image, 1)
        lay.addWidget(self.stats)
        lay.addLayout(run_row)
        lay.addLayout(ctl)
        self.playing = True
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self._on_timer)

    # --- the selected run's own policy
    def set_conditions(self, conditions: list[str]) -> None:
        """The selected trained run's conditions; none disables Run policy."""
        self.condition.clear()
        self.condition.addItems(conditions)
        self.condition.setEnabled(bool(conditions))
        self.run_btn.setEnabled(bool(conditions))

    def _on_run_clicked(self) -> None:
        if self.condition.count():
            self.policy_requested.emit(self.condition.currentText())

    # --- slots for the rollout thread
    def _on_rollout_started(self, info: dict) -> None:
        self.frames.clear()
        self.infos.clear()
        self.pos = -1
        self.live = True
        self.playing = True
        self.play_btn.setText("Pause")
        label = info.get("label") or info.get("condition", "")
        self.title.setText(f"<b>Policy rollout</b> — {label}, start seed {info.get('seed')}")

    def _on_frame_rendered(self, frame: np.ndarray, info: dict) -> None:
        self.frames.append(frame)
        self.infos.append(info)
        if self.live and self.playing:
            self.show_frame(len(self.frames) - 1)

    def _on_rollout_finished(self, info: dict) -> None:
        self.live = False
        if info.get("aborted"):
            return
        ok = "success" if info.get("success") else "no success"
        self.stats.setText(f"episode finished: return {info.get('return', 0):.1f}, {ok}, {info.get('length', 0)} steps")

    # --- playback
    def show_frame(self, i: int) -> None:
        if not self.frames:
            return
        self.pos = max(0, min(i, len(self.frames) - 1))
        f = np.ascontiguousarray(self.frames[self.pos])
        h, w = f.shape[:2]
        img = QImage(f.data, w, h, 3 * w, QImage.Format_RGB888).copy()
        self.image.setPixmap(QPixmap.fromImage(img).scaled(self.image.size(), Qt.KeepAspectRatio,
                                                           Qt.SmoothTransformation))
        inf = self.infos[self.pos]
        self.counter.setText(f"frame {self.pos} / {len(self.frames) - 1}")
        self.stats.setText(f"step {inf.get('t', 0)}   return {inf.get('return', 0.0):.1f}   "
                           f"success {'yes' if inf.get('success') else 'no'}")

    def toggle_play(self) -> None:
        self.playing = not self.playing
        self.play_btn.setText("Pause" if self.playing else "Play")
        if self.playing and not self.live:
            if self.pos >= len(self.frames) - 1:
                self.pos = -1
            self.timer.start()
        else:
            self.timer.stop()

    def step(self) -> None:
        self.playing = False
        self.play_btn.setText("Play")
        self.timer.stop()
        self.show_frame(self.pos + 1)

    def restart(self) -> None:
        self.show_frame(0)
        if not self.live:
            self.playing = True
            self.play_btn.setText("Pause")
            self.timer.start()

    def _on_timer(self) -> None:
        if self.live:
            return
        if self.pos >= len(self.frames) - 1:
            self.timer.stop()
            self.playing = False
            self.play_btn.setText("Play")
            return
        self.show_frame(self.pos + 1)

    # --- export
    def _on_export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export rollout", "rollout.mp4", "Video (*.mp4);;GIF (*.gif)")
        if path:
            self.export(path)

    def export(self, path: str) -> bool:
        if not self.frames:
            self.export_failed.emit("nothing to export: run a policy first")
            return False
        try:
            import imageio.v2 as imageio
            if path.lower().endswith(".gif"):
                imageio.mimsave(path, self.frames[::2], duration=1 / 15, loop=0)
            else:
                imageio.mimsave(path, self.frames, fps=30, macro_block_size=8)
        except Exception as e:  # missing ffmpeg, unwritable folder...
            self.export_failed.emit(f"export failed: {e}")
            return False
        return True

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if self.frames and self.pos >= 0:
            self.show_frame(self.pos)

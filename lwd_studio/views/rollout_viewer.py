"""The MuJoCo view: frames arrive from the rollout thread as numpy arrays through a queued signal.
Play/pause/step/restart, a frame scrubber and a speed control replay the recorded frames; export writes the whole
episode as MP4 or GIF with imageio."""
from __future__ import annotations

import re

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
    QSlider,
    QVBoxLayout,
    QWidget,
)


SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
FRAME_MS = 33                            # replay at 30 frames/s at 1x


def export_name(info: dict, ext: str = "mp4") -> str:
    """'reach-v3_episode-12_seed-4021.mp4': the condition, the demonstration episode (for a latent map point) and
    the start seed, so two exports of different rollouts never take the same name."""
    def slug(x) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", str(x)).strip("-") or "rollout"
    parts = [slug(info.get("condition") or "rollout")]
    if info.get("episode") is not None:
        parts.append(f"episode-{info['episode']}")
    if info.get("seed") is not None:
        parts.append(f"seed-{info['seed']}")
    return "_".join(parts) + f".{ext}"


class RolloutViewer(QWidget):
    export_failed = Signal(str)
    exported = Signal(str)               # the path written
    notice = Signal(str)                 # a one-line message for the status bar
    policy_requested = Signal(str)       # condition: play the selected run's own policy for it (any method)
    playable = Signal(bool)              # whether there are frames to play, step, scrub and export

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frames: list[np.ndarray] = []
        self.infos: list[dict] = []
        self.pos = -1
        self.live = False
        self.info: dict = {}                         # the shown rollout's rollout_started info
        self.wanted: int | None = None               # the newest rollout generation requested (see expect_rollout)
        self.pending_export: str | None = None       # asked for while the episode was still running
        self.title = QLabel("<b>Policy rollout</b>")
        self.image = QLabel("Click a point on the latent map, or choose a condition and press Run policy.")
        self.image.setAlignment(Qt.AlignCenter)
        self.image.setWordWrap(True)                 # the hint fits a narrow viewer; frames are pixmaps, unaffected
        self.image.setMinimumSize(240, 180)
        self.image.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.image.setStyleSheet("background: #222; color: #ccc;")
        self.title.setWordWrap(True)                 # a long label and seed wrap in a narrow viewer
        self.counter = QLabel("frame 0 / 0")
        self.stats = QLabel("")
        self.stats.setWordWrap(True)
        self.play_btn = QPushButton("Pause")
        self.play_btn.setToolTip("play or pause the rollout (Space)")
        self.step_btn = QPushButton("Step")
        self.step_btn.setToolTip("pause and show the next frame")
        self.restart_btn = QPushButton("Restart")
        self.restart_btn.setToolTip("replay the rollout from its first frame")
        self.export_btn = QPushButton("Export…")
        self.export_btn.setToolTip("save the whole episode as MP4 or GIF (a running episode is saved when it ends)")
        self.play_btn.clicked.connect(self.toggle_play)
        self.step_btn.clicked.connect(self.step)
        self.restart_btn.clicked.connect(self.restart)
        self.export_btn.clicked.connect(self._on_export_clicked)
        self.scrubber = QSlider(Qt.Horizontal)
        self.scrubber.setToolTip("drag to any frame of the rollout (pauses playback)")
        self.scrubber.setRange(0, 0)
        self.scrubber.valueChanged.connect(self._on_scrubbed)
        self.speed = QComboBox()
        self.speed.addItems([f"{x:g}×" for x in SPEEDS])
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setToolTip("replay speed")
        self.speed.currentIndexChanged.connect(self._on_speed_changed)
        self.condition = QComboBox()
        self.condition.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.condition.setToolTip("the condition (task or behaviour) whose policy Run policy plays")
        self.run_btn = QPushButton("Run policy")
        self.run_btn.setToolTip("roll out the selected run's policy for this condition, whatever its method")
        self.run_btn.clicked.connect(self._on_run_clicked)
        self.set_conditions([])
        run_row = QHBoxLayout()
        run_row.addWidget(self.condition)
        run_row.addWidget(self.run_btn)
        run_row.addStretch(1)
        run_row.addWidget(self.export_btn)           # here, not with the playback buttons: a narrower viewer
        scrub = QHBoxLayout()
        scrub.addWidget(self.scrubber, 1)
        scrub.addWidget(self.counter)
        ctl = QHBoxLayout()
        for w in (self.play_btn, self.step_btn, self.restart_btn, self.speed):
            ctl.addWidget(w)
        ctl.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addWidget(self.image, 1)
        lay.addWidget(self.stats)
        lay.addLayout(scrub)
        lay.addLayout(run_row)
        lay.addLayout(ctl)
        self.playing = True
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._on_timer)
        self._update_controls()

    def _update_controls(self) -> None:
        """Playback and export only once there is a frame."""
        has = bool(self.frames)
        for w in (self.play_btn, self.step_btn, self.restart_btn, self.scrubber, self.export_btn):
            w.setEnabled(has)
        self.playable.emit(has)

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
    def expect_rollout(self, generation: int) -> None:
        """The rollout service's generation of the newest rollout asked for: anything older that still arrives
        (a superseded rollout's start, frames or end) is not shown."""
        self.wanted = generation

    def _superseded(self, info: dict) -> bool:
        g = info.get("generation")
        return g is not None and self.wanted is not None and g < self.wanted

    def _of_shown(self, info: dict) -> bool:
        """Frames and ends belong to the rollout shown; a superseded one's may still be queued behind its start."""
        return not self._superseded(info) and info.get("generation") == self.info.get("generation")

    def _on_rollout_started(self, info: dict) -> None:
        if self._superseded(info):
            return
        if self.live and self.pending_export:
            self._drop_pending_export()
        self.info = dict(info)
        self.frames.clear()
        self.infos.clear()
        self.pos = -1
        self._sync_scrubber()
        self._update_controls()
        self.live = True
        self.playing = True
        self.play_btn.setText("Pause")
        label = info.get("label") or info.get("condition", "")
        self.title.setText(f"<b>Policy rollout</b> — {label}, start seed {info.get('seed')}")

    def _on_frame_rendered(self, frame: np.ndarray, info: dict) -> None:
        if not self._of_shown(info):
            return
        self.frames.append(frame)
        self.infos.append(info)
        if len(self.frames) == 1:
            self._update_controls()
        if self.live and self.playing:
            self.show_frame(len(self.frames) - 1)
        else:
            self._sync_scrubber()

    def _on_rollout_finished(self, info: dict) -> None:
        if not self._of_shown(info):
            return
        self.live = False
        if self.playing and self.pos >= len(self.frames) - 1:
            self.playing = False                 # the episode was shown to its end: Play replays it
            self.play_btn.setText("Play")
        if info.get("aborted"):
            self._drop_pending_export()
            return
        ok = "success" if info.get("success") else "no success"
        self.stats.setText(f"episode finished: return {info.get('return', 0):.1f}, {ok}, {info.get('length', 0)} steps")
        if self.pending_export:
            path, self.pending_export = self.pending_export, None
            self.export(path)

    # --- playback
    def show_frame(self, i: int) -> None:
        if not self.frames:
            return
        self.pos = max(0, min(i, len(self.frames) - 1))
        self._sync_scrubber()
        f = np.ascontiguousarray(self.frames[self.pos])
        h, w = f.shape[:2]
        img = QImage(f.data, w, h, 3 * w, QImage.Format_RGB888).copy()
        self.image.setPixmap(QPixmap.fromImage(img).scaled(self.image.size(), Qt.KeepAspectRatio,
                                                           Qt.SmoothTransformation))
        inf = self.infos[self.pos]
        self.counter.setText(f"frame {self.pos} / {len(self.frames) - 1}")
        self.stats.setText(f"step {inf.get('t', 0)}   return {inf.get('return', 0.0):.1f}   "
                           f"success {'yes' if inf.get('success') else 'no'}")

    def _sync_scrubber(self) -> None:
        """Follow the frames and the position without the scrubber's own signal (that is the user's)."""
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(0, max(0, len(self.frames) - 1))
        self.scrubber.setValue(max(0, self.pos))
        self.scrubber.blockSignals(False)

    def _on_scrubbed(self, value: int) -> None:
        self.pause()
        self.show_frame(value)

    def _on_speed_changed(self, i: int) -> None:
        self.timer.setInterval(max(1, round(FRAME_MS / SPEEDS[i])))

    def pause(self) -> None:
        self.playing = False
        self.play_btn.setText("Play")
        self.timer.stop()

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
        self.pause()
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
        if not self.frames:
            self.export_failed.emit("nothing to export: run a policy first")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export rollout", export_name(self.info),
                                              "Video (*.mp4);;GIF (*.gif)")
        if path:
            self.export(path)

    def _drop_pending_export(self) -> None:
        if self.pending_export:
            self.export_failed.emit(f"not exported to {self.pending_export}: the episode was replaced by another "
                                    f"rollout before it ended")
            self.pending_export = None

    def export(self, path: str) -> bool:
        """Write the whole episode to `path`. While it is still running, the file is written when it ends."""
        if not self.frames:
            self.export_failed.emit("nothing to export: run a policy first")
            return False
        if self.live:
            self.pending_export = path
            self.notice.emit(f"the episode is still running: it is exported to {path} when it ends")
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
        self.exported.emit(path)
        self.notice.emit(f"exported {len(self.frames)} frames to {path}")
        return True

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        if self.frames and self.pos >= 0:
            self.show_frame(self.pos)

"""PCA map of a run's latents. Click a point to decode and roll out its policy; shift-click a second
point and move the slider to run a blend of the two latents. Sampled latents show as stars."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from .losses import PALETTE

TASK_COLORS = PALETTE + ("#bcbd22", "#7f7f7f")


class LatentMapView(QWidget):
    point_clicked = Signal(int)                   # index of a training latent
    sample_clicked = Signal(int)                  # index of a sampled latent
    blend_requested = Signal(int, int, float)     # a, b, t in [0, 1]
    samples_requested = Signal()
    HINT = "Select one trained run to see its latents."

    def __init__(self, parent=None):
        super().__init__(parent)
        self.map = None
        self.samples: tuple[np.ndarray, np.ndarray] | None = None   # (z, cond)
        self.sel_a: int | None = None
        self.sel_b: int | None = None
        self.pcx, self.pcy = QComboBox(), QComboBox()
        for c in (self.pcx, self.pcy):
            c.setSizeAdjustPolicy(QComboBox.AdjustToContents)
            c.currentIndexChanged.connect(self._redraw)
        self.sample_btn = QPushButton("Sample from diffusion")
        self.sample_btn.clicked.connect(self.samples_requested.emit)
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>Latent map</b>"))
        top.addStretch(1)
        top.addWidget(QLabel("x"))
        top.addWidget(self.pcx)
        top.addWidget(QLabel("y"))
        top.addWidget(self.pcy)
        top.addWidget(self.sample_btn)
        self.plot = pg.PlotWidget(background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(5, 5), labelTextSize="8pt")
        self.scatter = pg.ScatterPlotItem(size=9, hoverable=True, hoverSize=14, tip=self._tip)
        self.scatter.sigClicked.connect(self._on_scatter_clicked)
        self.sampled = pg.ScatterPlotItem(size=13, symbol="star", hoverable=True, tip=self._sample_tip)
        self.sampled.sigClicked.connect(self._on_sampled_clicked)
        self.marks = pg.ScatterPlotItem(size=22, pen=pg.mkPen("k", width=2), brush=None)
        for it in (self.scatter, self.sampled, self.marks):
            self.plot.addItem(it)
        self.placeholder = pg.TextItem(self.HINT, color="#777", anchor=(0.5, 0.5))
        self.plot.addItem(self.placeholder)
        self.placeholder.setPos(0.5, 0.5)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setEnabled(False)
        self.blend_btn = QPushButton("Run blend")
        self.blend_btn.setEnabled(False)
        self.blend_btn.clicked.connect(self._on_blend_clicked)
        self.blend_label = QLabel("Click a point to run its policy; shift-click a second point to blend.")
        self.blend_label.setStyleSheet("color: #666;")
        self.slider.valueChanged.connect(self._update_blend_label)
        bottom = QHBoxLayout()
        bottom.addWidget(self.blend_label, 1)
        bottom.addWidget(self.slider)
        bottom.addWidget(self.blend_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.plot, 1)
        lay.addLayout(bottom)

    # --- data
    def set_map(self, lmap) -> None:
        self.placeholder.hide()
        self.plot.enableAutoRange()
        self.map = lmap
        self.samples = None
        self.sel_a = self.sel_b = None
        k = lmap.coords.shape[1]
        for c, default in ((self.pcx, 0), (self.pcy, min(1, k - 1))):
            c.blockSignals(True)
            c.clear()
            c.addItems([f"PC{i + 1} ({lmap.explained[i]:.0%})" for i in range(k)])
            c.setCurrentIndex(default)
            c.blockSignals(False)
        self._redraw()

    def set_samples(self, z: np.ndarray, cond: np.ndarray) -> None:
        self.samples = (z, cond)
        self._redraw()

    def clear(self, message: str | None = None) -> None:
        """No map; `message` (default: the hint to select a run) says why."""
        self.placeholder.setText(message or self.HINT)
        self.map = None
        self.samples = None
        self.scatter.clear()
        self.sampled.clear()
        self.marks.clear()
        self.legend.clear()
        self.placeholder.show()
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1))

    def _xy(self, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return coords[:, max(0, self.pcx.currentIndex())], coords[:, max(0, self.pcy.currentIndex())]

    def _redraw(self, *a) -> None:
        if self.map is None:
            return
        m = self.map
        x, y = self._xy(m.coords)
        brushes = [pg.mkBrush(TASK_COLORS[c % len(TASK_COLORS)]) for c in m.label]
        self.scatter.setData(x=x, y=y, brush=brushes, pen=pg.mkPen("w", width=0.5), data=np.arange(len(x)))
        self.legend.clear()
        for c, name in enumerate(m.label_names):
            if (m.label == c).any():
                self.legend.addItem(pg.ScatterPlotItem(brush=pg.mkBrush(TASK_COLORS[c % len(TASK_COLORS)]),
                                                       size=9), name)
        if self.samples is not None:
            z, cond = self.samples
            sx, sy = self._xy(m.project(z))
            self.sampled.setData(x=sx, y=sy, brush=[pg.mkBrush(TASK_COLORS[c % len(TASK_COLORS)]) for c in cond],
                                 pen=pg.mkPen("k", width=1), data=np.arange(len(sx)))
            self.legend.addItem(pg.ScatterPlotItem(symbol="star", brush=pg.mkBrush("#999"), size=12), "sampled")
        else:
            self.sampled.clear()
        sel = [i for i in (self.sel_a, self.sel_b) if i is not None]
        self.marks.setData(x=x[sel], y=y[sel]) if sel else self.marks.clear()

    # --- tooltips and clicks
    def _tip(self, x, y, data) -> str:
        return self.map.tooltip(int(data)) if self.map is not None else ""

    def _sample_tip(self, x, y, data) -> str:
        if self.samples is None or self.map is None:
            return ""
        return f"sampled latent\ncondition: {self.map.label_names[int(self.samples[1][int(data)])]}"

    def click_point(self, i: int, shift: bool = False) -> None:
        if shift and self.sel_a is not None and i != self.sel_a:
            self.sel_b = i
            self.slider.setEnabled(True)
            self.blend_btn.setEnabled(True)
            self._update_blend_label()
        else:
            self.sel_a, self.sel_b = i, None
            self.slider.setEnabled(False)
            self.blend_btn.setEnabled(False)
            self.point_clicked.emit(i)
        self._redraw()

    def _on_scatter_clicked(self, item, points, ev=None) -> None:
        if len(points):
            shift = bool(ev is not None and ev.modifiers() & Qt.ShiftModifier)
            self.click_point(int(points[0].data()), shift)

    def _on_sampled_clicked(self, item, points, ev=None) -> None:
        if len(points):
            self.sample_clicked.emit(int(points[0].data()))

    def _update_blend_label(self, *a) -> None:
        if self.map is not None and self.sel_a is not None and self.sel_b is not None:
            t = self.slider.value() / 100
            self.blend_label.setText(f"blend: {1 - t:.2f} x episode {self.map.episode[self.sel_a]} + "
                                     f"{t:.2f} x episode {self.map.episode[self.sel_b]}")

    def _on_blend_clicked(self) -> None:
        if self.sel_a is not None and self.sel_b is not None:
            self.blend_requested.emit(self.sel_a, self.sel_b, self.slider.value() / 100)

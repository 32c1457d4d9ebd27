"""Live loss curves: reconstruction MSE, KL and diffusion loss, overlaid for the selected runs.
Curves are created once per run and updated with setData from a 25 Hz timer, only when data changed."""
from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

PANELS = (("mse", "VAE reconstruction (action MSE)"), ("kl", "KL"), ("ddpm_loss", "diffusion loss"))
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
# the empty states, written across the middle plot
NO_RUN = "No run selected:\nselect runs in the list\nto see their curves."
NO_RECORDS = "No curves yet:\nstart the run to\nwatch them live."


class LogAxis(pg.AxisItem):
    """Label only 1, 2 and 5 times a power of ten on log axes; pyqtgraph labels every minor tick."""

    def logTickStrings(self, values, scale, spacing):
        strings = super().logTickStrings(values, scale, spacing)
        keep = [round(10 ** (v - np.floor(v + 1e-9)), 6) in (1.0, 2.0, 5.0) for v in values]
        return [s if k else "" for s, k in zip(strings, keep)]


def smooth(y: np.ndarray, alpha: float) -> np.ndarray:
    if alpha <= 0 or len(y) == 0:
        return y
    out = np.empty_like(y)
    acc = y[0]
    for i, v in enumerate(y):  # EMA; a few thousand points at most per run
        acc = alpha * acc + (1 - alpha) * v
        out[i] = acc
    return out


class LossView(QWidget):
    """`fallback`: panel key -> [(phase, metric)] drawn there when a run logs no metric of the panel's own name
    (the method registry's curve_fallbacks(): e.g. a baseline's single "loss")."""

    def __init__(self, parent=None, fallback: dict[str, list[tuple[str, str]]] | None = None):
        super().__init__(parent)
        self.fallback = fallback or {}
        self.log = QCheckBox("log y")
        self.log.setChecked(True)
        self.log.setToolTip("logarithmic y axes")
        self.smoothing = QDoubleSpinBox()
        self.smoothing.setRange(0.0, 0.99)
        self.smoothing.setSingleStep(0.1)
        self.smoothing.setValue(0.6)
        self.smoothing.setToolTip("EMA smoothing of the curves: 0 draws the raw values")
        self.xaxis = QComboBox()
        self.xaxis.addItems(["step", "epoch"])
        self.xaxis.setToolTip("x axis: optimisation steps or epochs")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<b>Training curves</b>"))
        bar.addStretch(1)
        bar.addWidget(self.log)
        bar.addWidget(QLabel("smoothing"))
        bar.addWidget(self.smoothing)
        bar.addWidget(QLabel("x axis"))
        bar.addWidget(self.xaxis)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground("w")
        self.plots: dict[str, pg.PlotItem] = {}
        for i, (key, title) in enumerate(PANELS):
            p = self.glw.addPlot(row=0, col=i, title=title, axisItems={"left": LogAxis("left")})
            p.showGrid(x=True, y=True, alpha=0.3)
            p.setLogMode(y=True)
            self.plots[key] = p
            self.glw.ci.layout.setColumnStretchFactor(i, 1)      # equal widths, whatever each title's length
        # which colour is which run, under the plots (a legend inside covered the curves); shown once curves overlay
        self.key = QLabel("")
        self.key.setWordWrap(True)
        self.key.setVisible(False)
        self.placeholder = pg.TextItem(NO_RUN, color="#777", anchor=(0.5, 0.5))
        self.plots["kl"].addItem(self.placeholder, ignoreBounds=True)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.glw, 1)
        lay.addWidget(self.key)
        self.data: dict[str, list[dict]] = {}        # run path -> metric records
        self.names: dict[str, str] = {}
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self.shown: list[str] = []
        self.colors: dict[str, str] = {}
        self.points_drawn = 0
        self._dirty = False
        self.timer = QTimer(self)
        self.timer.setInterval(40)                     # 25 Hz
        self.timer.timeout.connect(self._on_timer)
        self.timer.start()
        for w in (self.log.toggled, self.smoothing.valueChanged, self.xaxis.currentIndexChanged):
            w.connect(self._on_option_changed)
        self._update_placeholder()

    def show_runs(self, runs: dict[str, tuple[str, list[dict]]]) -> None:
        """runs: path -> (display name, records). Replaces what is shown."""
        for c in self.curves.values():
            c.getViewBox() and c.getViewBox().removeItem(c)
        self.curves.clear()
        self.data = {p: list(recs) for p, (_, recs) in runs.items()}
        self.names = {p: n for p, (n, _) in runs.items()}
        self.shown = list(runs)
        for path in self.shown:
            color = self.color(path)
            for key, plot in self.plots.items():
                c = plot.plot([], [], pen=pg.mkPen(color, width=2), name=self.names[path])
                self.curves[(path, key)] = c
        self.key.setText("&nbsp;&nbsp;&nbsp;".join(f'<span style="color:{self.color(p)}"><b>━━</b></span> '
                                                    f'{html.escape(self.names[p])}' for p in self.shown))
        self.key.setVisible(len(self.shown) > 1)
        self._dirty = True
        self._update_placeholder()

    def color(self, path: str) -> str:
        """A run keeps the colour it was first drawn in, whichever runs are shown beside it."""
        if path not in self.colors:
            self.colors[path] = PALETTE[len(self.colors) % len(PALETTE)]
        return self.colors[path]

    def append(self, path: str, record: dict) -> None:
        if path in self.data:
            self.data[path].append(record)
            self._dirty = True
            if self.placeholder.isVisible():
                self._update_placeholder()

    def _update_placeholder(self) -> None:
        """Say what to do while no shown run has a record; centred in whatever range the plot keeps."""
        empty = not any(self.data.get(p) for p in self.shown)
        self.placeholder.setVisible(empty)
        if empty:
            self.placeholder.setText(NO_RECORDS if self.shown else NO_RUN)
            (x0, x1), (y0, y1) = self.plots["kl"].vb.viewRange()
            self.placeholder.setPos((x0 + x1) / 2, (y0 + y1) / 2)

    def _on_option_changed(self, *a) -> None:
        for p in self.plots.values():
            p.setLogMode(y=self.log.isChecked())
        self._dirty = True

    def _on_timer(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        xk = self.xaxis.currentText()
        alpha = self.smoothing.value()
        n = 0
        for (path, key), curve in self.curves.items():
            recs = [r for r in self.data.get(path, []) if key in r]
            for phase, k2 in self.fallback.get(key, []) if not recs else []:
                recs = [{**r, key: r[k2]} for r in self.data.get(path, []) if r.get("phase") == phase and k2 in r]
                if recs:
                    break
            if not recs:
                curve.setData([], [])
                continue
            x = np.array([r[xk] if xk in r else r["step"] for r in recs], float)
            y = smooth(np.array([r[key] for r in recs], float), alpha)
            if self.log.isChecked():
                keep = y > 0
                x, y = x[keep], y[keep]
            curve.setData(x, y)
            n += len(x)
        self.points_drawn = n

"""PCA map of a run's latents. Click a point to decode and roll out its policy; shift-click a second
point and move the slider to run a blend of the two latents. Sampled latents show as stars, and are clicked and
shift-clicked like points. A new map or new samples drop the blend pair they invalidate."""
from __future__ import annotations

import html

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


SAMPLE_TIP = "draw 8 latents per condition from the diffusion model and show them as stars"
# the empty states: what the map says before it has one to show
NO_RUN = ("No run selected.\nSelect a trained run in the runs list\nto see its demonstrations' latents,\n"
          "then click a point to play its policy.")
SEVERAL = "Several runs selected: their curves\nare overlaid above. Select one run\nto see its latent map."
UNTRAINED = "This run has no latents yet.\nStart or resume it: the map appears\nwhen its VAE phase ends."
LOADING = "Loading the run's latents…"


def empty_state(paths: list[str], trained: bool) -> str:
    """What the map says for the selected runs (`trained`: the one selected run has finished training)."""
    if not paths:
        return NO_RUN
    if len(paths) > 1:
        return SEVERAL
    return LOADING if trained else UNTRAINED


class LatentMapView(QWidget):
    point_clicked = Signal(int)                   # index of a training latent
    sample_clicked = Signal(int)                  # index of a sampled latent
    blend_requested = Signal(object, int, str)    # the blended latent (D,), its condition id, a label
    samples_requested = Signal()
    error = Signal(str)
    HINT = NO_RUN
    BLEND_HINT = "Click a point to run its policy; shift-click a second point to blend."

    def __init__(self, parent=None):
        super().__init__(parent)
        self.map = None
        self.samples: tuple[np.ndarray, np.ndarray] | None = None   # (z, cond)
        self.sel_a: tuple[str, int] | None = None     # ("point", i) a training latent, ("sample", i) a star
        self.sel_b: tuple[str, int] | None = None     # the blend partner
        self.pcx, self.pcy = QComboBox(), QComboBox()
        for c in (self.pcx, self.pcy):
            c.setSizeAdjustPolicy(QComboBox.AdjustToContents)
            c.currentIndexChanged.connect(self._redraw)
        self.sample_btn = QPushButton("Sample from diffusion")
        self.sample_btn.setToolTip(SAMPLE_TIP)
        self.pcx.setToolTip("the principal component on the x axis")
        self.pcy.setToolTip("the principal component on the y axis")
        self.sample_btn.clicked.connect(self.samples_requested.emit)
        top = QHBoxLayout()                           # no title: the tab names the view
        top.addStretch(1)
        top.addWidget(QLabel("x"))
        top.addWidget(self.pcx)
        top.addWidget(QLabel("y"))
        top.addWidget(self.pcy)
        top.addWidget(self.sample_btn)
        self.plot = pg.PlotWidget(background="w")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        # which colour is which condition, under the plot: a legend inside covered points and took their clicks
        self.key = QLabel("")
        self.key.setWordWrap(True)
        self.key.setToolTip("colour: the demonstration's condition (task or behaviour); stars: latents sampled from "
                            "the diffusion model")
        self.scatter = pg.ScatterPlotItem(size=9, hoverable=True, hoverSize=14, tip=self._tip)
        self.scatter.sigClicked.connect(self._on_scatter_clicked)
        self.sampled = pg.ScatterPlotItem(size=13, symbol="star", hoverable=True, tip=self._sample_tip)
        self.sampled.sigClicked.connect(self._on_scatter_clicked)
        self.marks = pg.ScatterPlotItem(size=22, brush=None)
        self.marks.setEnabled(False)           # drawn on top, but the clicks go to the point or star it rings
        for it in (self.scatter, self.sampled, self.marks):
            self.plot.addItem(it)
        self.placeholder = pg.TextItem(self.HINT, color="#777", anchor=(0.5, 0.5))
        self.plot.addItem(self.placeholder)
        self.placeholder.setPos(0.5, 0.5)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setEnabled(False)
        self.slider.setToolTip("how far the blend goes from the first chosen latent (left) to the second (right)")
        self.blend_btn = QPushButton("Run blend")
        self.blend_btn.setToolTip("run the policy decoded from the blended latent (shift-click a second point first)")
        self.blend_btn.setEnabled(False)
        self.blend_btn.clicked.connect(self._on_blend_clicked)
        self.blend_label = QLabel(self.BLEND_HINT)
        self.blend_label.setWordWrap(True)                # two lines in a narrow tab, instead of a cut sentence
        self.slider.setMinimumWidth(80)
        self.blend_label.setProperty("role", "hint")      # dimmed by the theme's style sheet
        self.slider.valueChanged.connect(self._update_blend_label)
        bottom = QHBoxLayout()
        bottom.addWidget(self.blend_label, 1)
        bottom.addWidget(self.slider)
        bottom.addWidget(self.blend_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.key)
        lay.addLayout(bottom)
        for w in (self.sample_btn, self.pcx, self.pcy):        # until a map is shown
            w.setEnabled(False)

    # --- data
    def set_map(self, lmap) -> None:
        self.placeholder.hide()
        self.plot.enableAutoRange()
        self.map = lmap
        self.samples = None
        self._select(None)
        self.set_sampling(getattr(lmap, "can_sample", True))
        self.pcx.setEnabled(True)
        self.pcy.setEnabled(True)
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
        if self.sel_a is not None and self.sel_a[0] == "sample":      # the old stars are gone
            self._select(None)
        elif self.sel_b is not None and self.sel_b[0] == "sample":
            self._select(self.sel_a)
        self._redraw()

    def set_sampling(self, enabled: bool) -> None:
        """"Sample from diffusion" on, or off while the run's diffusion model is still training."""
        from ..latent_preview import NO_DIFFUSION_TIP
        self.sample_btn.setEnabled(enabled)
        self.sample_btn.setToolTip(SAMPLE_TIP if enabled else NO_DIFFUSION_TIP)

    def clear(self, message: str | None = None) -> None:
        """No map; `message` (default: the hint to select a run) says why."""
        self.placeholder.setText(message or self.HINT)
        for w in (self.sample_btn, self.pcx, self.pcy):        # nothing to sample from or to project
            w.setEnabled(False)
        self.map = None
        self.samples = None
        self._select(None)
        self.scatter.clear()
        self.sampled.clear()
        self.marks.clear()
        self.key.setText("")
        self.placeholder.show()
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1))

    def _xy(self, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return coords[:, max(0, self.pcx.currentIndex())], coords[:, max(0, self.pcy.currentIndex())]

    def redraw(self) -> None:
        """Draw again, e.g. in a new theme's colours."""
        self._redraw()

    def _redraw(self, *a) -> None:
        if self.map is None:
            return
        fg = pg.getConfigOption("foreground")       # rings and star outlines contrast with the theme's background
        self.marks.setPen(pg.mkPen(fg, width=2))
        m = self.map
        x, y = self._xy(m.coords)
        brushes = [pg.mkBrush(TASK_COLORS[c % len(TASK_COLORS)]) for c in m.label]
        self.scatter.setData(x=x, y=y, brush=brushes, pen=pg.mkPen("w", width=0.5), data=np.arange(len(x)))
        key = [f'<span style="color:{TASK_COLORS[c % len(TASK_COLORS)]}">●</span>&nbsp;{html.escape(name)}'
               for c, name in enumerate(m.label_names) if (m.label == c).any()]
        if self.samples is not None:
            z, cond = self.samples
            sx, sy = self._xy(m.project(z))
            self.sampled.setData(x=sx, y=sy, brush=[pg.mkBrush(TASK_COLORS[c % len(TASK_COLORS)]) for c in cond],
                                 pen=pg.mkPen(fg, width=1), data=np.arange(len(sx)))
            key.append("★&nbsp;sampled")
        else:
            self.sampled.clear()
        self.key.setText("&nbsp;&nbsp; ".join(key))
        sel = [self._coords(r) for r in (self.sel_a, self.sel_b) if r is not None]
        self.marks.setData(pos=np.array(sel)) if sel else self.marks.clear()

    def _coords(self, ref: tuple[str, int]) -> tuple[float, float]:
        z, _, _ = self.latent(ref)
        x, y = self._xy(self.map.project(z[None]) if ref[0] == "sample" else self.map.coords[ref[1]][None])
        return float(x[0]), float(y[0])

    def latent(self, ref: tuple[str, int]) -> tuple[np.ndarray, int, str]:
        """A selected point's or star's latent, condition id and a short name."""
        kind, i = ref
        if kind == "sample":
            z, cond = self.samples
            return z[i], int(cond[i]), f"sample {i}"
        return self.map.latents[i], int(self.map.label[i]), f"episode {self.map.episode[i]}"

    # --- tooltips and clicks
    def _tip(self, x, y, data) -> str:
        return self.map.tooltip(int(data)) if self.map is not None else ""

    def _sample_tip(self, x, y, data) -> str:
        if self.samples is None or self.map is None:
            return ""
        return f"sampled latent\ncondition: {self.map.label_names[int(self.samples[1][int(data)])]}"

    def _select(self, a: tuple[str, int] | None, b: tuple[str, int] | None = None) -> None:
        """The clicked point or star and its blend partner; Run blend is enabled only for a pair."""
        self.sel_a, self.sel_b = a, b
        pair = a is not None and b is not None
        self.slider.setEnabled(pair)
        self.blend_btn.setEnabled(pair)
        if pair:
            self._update_blend_label()
        else:
            self.blend_label.setText(self.BLEND_HINT)

    def click(self, ref: tuple[str, int], shift: bool = False) -> None:
        """A click on a point ("point", i) or a star ("sample", i) runs it; a shift-click chooses it as the blend
        partner of the last one clicked."""
        if self.map is None:
            return
        if shift and self.sel_a is not None and ref != self.sel_a:
            self._select(self.sel_a, ref)
        else:
            self._select(ref)
            (self.sample_clicked if ref[0] == "sample" else self.point_clicked).emit(ref[1])
        self._redraw()

    def click_point(self, i: int, shift: bool = False) -> None:
        self.click(("point", i), shift)

    def _on_scatter_clicked(self, item, points, ev=None) -> None:
        if len(points):
            shift = bool(ev is not None and ev.modifiers() & Qt.ShiftModifier)
            self.click(("sample" if item is self.sampled else "point", int(points[0].data())), shift)

    def _update_blend_label(self, *a) -> None:
        if self.map is not None and self.sel_a is not None and self.sel_b is not None:
            t = self.slider.value() / 100
            self.blend_label.setText(f"blend: {1 - t:.2f} x {self.latent(self.sel_a)[2]} + "
                                     f"{t:.2f} x {self.latent(self.sel_b)[2]}")

    def _on_blend_clicked(self) -> None:
        if self.map is None or self.sel_a is None or self.sel_b is None:
            self._select(None)
            return
        try:
            t = self.slider.value() / 100
            (za, ca, na), (zb, cb, nb) = self.latent(self.sel_a), self.latent(self.sel_b)
            self.blend_requested.emit((1 - t) * za + t * zb, ca if t < 0.5 else cb,
                                      f"blend {1 - t:.2f}·{na} + {t:.2f}·{nb}")
        except Exception as e:                 # a failure is a message in the app, never only a log line
            self.error.emit(f"blend: {type(e).__name__}: {e}")

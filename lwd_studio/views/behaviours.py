"""Behaviours view (paper Fig. 3-4, Table 1): for the selected run, each trajectory's foot-contact fractions, the
original behaviour policies' against the generated policies', and their returns, per behaviour.

It shows a saved evaluation of the run that carries per-episode foot contacts (the `table1` study's, or one made
here with "Roll out"), so opening it costs nothing; "Roll out" evaluates the run in the background."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from lwd_core.eval.behaviour import js_divergence

from ..workers import eval_worker
from .losses import PALETTE

# saved evaluations in a run's eval/ folder, the newest shown: each is a main file, then files whose extra policy
# kinds (evaluated on request, for the same episodes) are shown beside the main file's
SAVED = (("behaviours.json",), ("table1-lwd.json", "table1-vtrain.json"))
ORIGINAL = "expert"                  # evaluation's name for the suite's own policies: here the behaviours


def load_behaviour_eval(run_dir: str | Path) -> dict | None:
    """The newest saved evaluation of a run with per-episode foot contacts of the originals and generated
    policies, or None."""
    found = []
    for name, *extras in SAVED:
        p = Path(run_dir) / "eval" / name
        ev = _read(p)
        if ev is None or len(ev["methods"]) < 2 or ORIGINAL not in ev["methods"]:
            continue
        for extra in extras:
            more = _read(Path(run_dir) / "eval" / extra)
            if more is not None and more.get("episodes") == ev.get("episodes"):
                ev["methods"].update({k: v for k, v in more["methods"].items() if k not in ev["methods"]})
        found.append((p.stat().st_mtime, ev))
    return max(found, key=lambda x: x[0])[1] if found else None


def _read(path: Path) -> dict | None:
    """A saved evaluation whose every method carries per-episode stats, or None (missing, foreign or damaged)."""
    try:
        ev = json.loads(path.read_text())
        m = ev["methods"]
        if all("episode_stats" in pc for k in m for pc in m[k]["per_condition"].values()):
            return ev
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


class BehavioursView(QWidget):
    error = Signal(str)
    evaluated = Signal(str)                 # the run whose evaluation just finished

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run_dir: str | None = None
        self.result: dict | None = None
        self.worker = None
        self.finished_workers: list = []
        self.episodes = QSpinBox()
        self.episodes.setRange(2, 200)
        self.episodes.setValue(16)
        self.episodes.setToolTip("episodes per behaviour, for the originals and for the generated policies")
        self.roll_btn = QPushButton("Roll out")
        self.roll_btn.setToolTip("roll out the original behaviour policies and LWD's generated ones in the "
                                 "background, and save the result with the run")
        self.roll_btn.clicked.connect(lambda: self.roll_out())     # not clicked(bool)'s `checked` as `workers`
        self.roll_btn.setEnabled(False)
        self.kind = QComboBox()
        self.kind.setToolTip("which of the run's policies to compare with the originals")
        self.kind.currentIndexChanged.connect(lambda _: self.set_result(self.result, keep_kind=True))
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>Behaviours</b>"))
        top.addStretch(1)
        top.addWidget(QLabel("compare"))
        top.addWidget(self.kind)
        top.addWidget(QLabel("episodes"))
        top.addWidget(self.episodes)
        top.addWidget(self.roll_btn)
        self.scatter = pg.PlotWidget(background="w")
        self.scatter.showGrid(x=True, y=True, alpha=0.2)
        self.scatter.setTitle("foot contacts per trajectory: ○ original, ✚ generated", size="9pt")
        self.scatter.setXRange(0, 1)
        self.scatter.setYRange(0, 1)
        self.scatter.addLegend(offset=(5, 5), labelTextSize="8pt", brush=(255, 255, 255, 215), pen=(200, 200, 200))
        self.returns = pg.PlotWidget(background="w")
        self.returns.setTitle("mean return: original (left) and generated (right)", size="9pt")
        self.returns.showGrid(y=True, alpha=0.2)
        plots = QHBoxLayout()
        plots.addWidget(self.scatter, 3)
        plots.addWidget(self.returns, 2)
        self.status = QLabel("Select a trained locomotion run (its conditions are behaviours).")
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(plots, 1)
        lay.addWidget(self.status)

    def set_run(self, run_dir: str | None, trained: bool = True) -> None:
        self.run_dir = run_dir
        self.roll_btn.setEnabled(bool(run_dir) and trained and self.worker is None)
        ev = load_behaviour_eval(run_dir) if run_dir else None
        self.set_result(ev)
        if run_dir and ev is None:
            self.status.setText("No saved behaviour evaluation for this run: press Roll out.")

    def set_result(self, ev: dict | None, keep_kind: bool = False) -> None:
        self.result = ev
        if not keep_kind:
            self.kind.blockSignals(True)
            self.kind.clear()
            self.kind.addItems([k for k in (ev or {}).get("methods", {}) if k != ORIGINAL])
            self.kind.blockSignals(False)
        self.scatter.clear()
        self.scatter.getPlotItem().legend.clear()
        self.returns.clear()
        if not ev:
            return
        m = ev["methods"]
        gen_kind = self.kind.currentText()
        if gen_kind not in m:
            return
        levels = list(m[ORIGINAL]["per_condition"])
        texts, x_ret, h_ret, brushes = [], [], [], []
        for i, lv in enumerate(levels):
            color = PALETTE[i % len(PALETTE)]
            orig = np.asarray(m[ORIGINAL]["per_condition"][lv]["episode_stats"]["foot_contact"])
            gen = np.asarray(m[gen_kind]["per_condition"][lv]["episode_stats"]["foot_contact"])
            for pts, sym, name in ((orig, "o", f"{lv} original"), (gen, "+", f"{lv} LWD")):
                self.scatter.addItem(pg.ScatterPlotItem(pts[:, 1], pts[:, 0], symbol=sym, size=9 if sym == "o" else 12,
                                                        pen=pg.mkPen(color), brush=pg.mkBrush(color + "66"), name=name))
            texts.append(f"{lv}: JS {js_divergence(orig, gen):.3f}")
            x_ret += [3 * i, 3 * i + 1]
            h_ret += [m[ORIGINAL]["per_condition"][lv]["return"], m[gen_kind]["per_condition"][lv]["return"]]
            brushes += [pg.mkBrush(color), pg.mkBrush(color + "88")]
        self.returns.addItem(pg.BarGraphItem(x=x_ret, height=h_ret, width=0.9, brushes=brushes))
        self.returns.getAxis("bottom").setTicks([[(3 * i + 0.5, lv) for i, lv in enumerate(levels)]])
        labels = ev.get("foot_labels") or ["foot 1", "foot 2"]
        self.scatter.setLabel("bottom", f"{labels[1]} contact fraction")
        self.scatter.setLabel("left", f"{labels[0]} contact fraction")
        self.status.setText(f"{ev.get('episodes', '?')} episodes per behaviour; JS divergence of the foot-contact "
                            f"distributions (nats, at most ln 2 = 0.693): " + ", ".join(texts))

    def roll_out(self, workers: int | None = None) -> None:
        if not self.run_dir or self.worker is not None:
            return
        run_dir = self.run_dir
        self.worker = eval_worker(run_dir, self.episodes.value(), None,
                                  Path(run_dir) / "eval" / SAVED[0][0], workers, parent=self)
        self.worker.item_produced.connect(lambda p: self.status.setText(
            f"rolling out {getattr(p, 'method', '')}: {getattr(p, 'done', 0):.1f} / {getattr(p, 'total', 0)}"))
        self.worker.work_finished.connect(lambda st: self._done(run_dir, st))
        self.worker.work_failed.connect(lambda msg: (self._done(run_dir, "failed"), self.error.emit(f"behaviours: {msg}")))
        self.roll_btn.setEnabled(False)
        self.worker.start()

    def _done(self, run_dir: str, status: str) -> None:
        w, self.worker = self.worker, None
        if w is not None:
            w.wait(5000)
            # kept, not deleteLater()'d: deleting a finished QThread that had stepped MuJoCo envs crashed the
            # process (seen under pytest-qt, in processEvents); one small object per roll-out the user asks for
            self.finished_workers.append(w)
        self.roll_btn.setEnabled(bool(self.run_dir))
        if status == "finished" and run_dir == self.run_dir:
            self.set_run(run_dir)
        self.evaluated.emit(run_dir)

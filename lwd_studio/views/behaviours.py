"""Behaviours view (paper Fig. 3-4, Table 1): for the selected run, each trajectory's foot-contact fractions, the
original behaviour policies' against the generated policies', and their returns, per behaviour.

It shows a saved evaluation of the run that carries per-episode foot contacts (the `table1` study's, or one made
here with "Roll out"), so opening it costs nothing. "Roll out" asks for an evaluation of the run (tab_jobs.py runs it
as a job of the window's JobManager); its progress and end come back to roll_out_started(), show_progress() and
roll_out_ended(). The view owns no thread."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from lwd_core.eval.behaviour import js_divergence

from .losses import PALETTE

# saved evaluations in a run's eval/ folder, the newest shown: each is a main file, then files whose extra policy
# kinds (evaluated on request, for the same episodes) are shown beside the main file's
SAVED = (("behaviours.json",), ("table1-lwd.json", "table1-vtrain.json"))
ORIGINAL = "expert"                  # evaluation's name for the suite's own policies: here the behaviours
# the empty states: what the plot says, and the status line under it
NO_RUN = ("No run selected.\nSelect a trained locomotion run\n(HalfCheetah, Walker2d, Ant: its conditions\n"
          "are behaviours) in the runs list.",
          "Select a trained locomotion run to compare its generated policies' foot contacts with the originals'.")
UNTRAINED = ("This run is not trained yet.\nStart or resume it; Roll out opens\nwhen its training has finished.",
             "Roll out opens once the selected run has finished training.")
NO_EVAL = ("No behaviour evaluation saved\nfor this run yet: press Roll out.",
           "Roll out evaluates the run in the background with N episodes per behaviour and saves the result "
           "with the run (`lwd-studio reproduce table1` saves one too).")


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
    roll_out_requested = Signal(str, int, object)   # run folder, episodes per behaviour, workers (None: all cores)
    stop_requested = Signal(str)            # the run whose roll-out should stop
    evaluated = Signal(str)                 # the run whose evaluation just ended

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run_dir: str | None = None
        self.result: dict | None = None
        self.trained = False
        self.busy: str | None = None            # the run being rolled out
        self.episodes = QSpinBox()
        self.episodes.setRange(2, 200)
        self.episodes.setValue(16)
        self.episodes.setToolTip("episodes per behaviour, for the originals and for the generated policies")
        self.roll_btn = QPushButton("Roll out")
        self.roll_btn.setToolTip("roll out the original behaviour policies and LWD's generated ones in the "
                                 "background, and save the result with the run")
        self.roll_btn.clicked.connect(lambda: self.roll_out())     # not clicked(bool)'s `checked` as `workers`
        self.roll_btn.setEnabled(False)
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("stop the roll-out; nothing is saved")
        self.stop_btn.clicked.connect(self.stop_roll_out)
        self.stop_btn.setEnabled(False)
        self.stop_btn.setVisible(False)
        self.kind = QComboBox()
        self.kind.setToolTip("which of the run's policies to compare with the originals")
        self.kind.currentIndexChanged.connect(lambda _: self.set_result(self.result, keep_kind=True))
        top = QHBoxLayout()                           # no title: the tab names the view
        top.addStretch(1)
        top.addWidget(QLabel("compare"))
        top.addWidget(self.kind)
        top.addWidget(QLabel("episodes"))
        top.addWidget(self.episodes)
        top.addWidget(self.roll_btn)
        top.addWidget(self.stop_btn)
        self.scatter = pg.PlotWidget(background="w")
        self.scatter.showGrid(x=True, y=True, alpha=0.2)
        self.scatter.setTitle("foot contacts per trajectory", size="9pt")
        self.scatter.setXRange(0, 1, padding=0.04)       # a trajectory at 0 or 1 stays whole
        self.scatter.setYRange(0, 1, padding=0.04)
        # the key is a line under the plots: a legend inside the scatter covered its points
        self.key = QLabel("")
        self.key.setToolTip("colour: the behaviour; circle: a trajectory of the original policy; cross: one of "
                            "the generated policies")
        self.returns = pg.PlotWidget(background="w")
        self.returns.setTitle("mean return", size="9pt")
        self.returns.setToolTip("per behaviour: the original policies' mean return (left bar) and the generated "
                                "policies' (right bar, lighter)")
        self.returns.showGrid(y=True, alpha=0.2)
        small = QFont()
        small.setPointSize(7)
        self.returns.getAxis("bottom").setStyle(tickFont=small)      # three behaviour names in a narrow plot
        self.placeholder = pg.TextItem(NO_RUN[0], color="#777", anchor=(0.5, 0.5))
        self.scatter.addItem(self.placeholder, ignoreBounds=True)
        self.placeholder.setPos(0.5, 0.5)
        plots = QHBoxLayout()
        plots.addWidget(self.scatter, 3)
        plots.addWidget(self.returns, 2)
        self.status = QLabel(NO_RUN[1])
        self.status.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(plots, 1)
        lay.addWidget(self.key)
        lay.addWidget(self.status)

    def set_run(self, run_dir: str | None, trained: bool = True) -> None:
        self.run_dir = run_dir
        self.trained = bool(run_dir) and trained
        self._update_button()
        ev = load_behaviour_eval(run_dir) if run_dir else None
        self.set_result(ev)
        if ev is None:
            plot_text, status = NO_RUN if not run_dir else UNTRAINED if not trained else NO_EVAL
            self.placeholder.setText(plot_text)
            self.status.setText(status)

    def _update_button(self) -> None:
        self.roll_btn.setEnabled(self.trained and self.busy is None)
        self.stop_btn.setEnabled(self.busy is not None)
        # one in the row at a time: the row sets the tab's narrowest width, and so the runs table's room
        self.roll_btn.setVisible(self.busy is None)
        self.stop_btn.setVisible(self.busy is not None)

    def set_result(self, ev: dict | None, keep_kind: bool = False) -> None:
        self.result = ev
        if not keep_kind:
            self.kind.blockSignals(True)
            self.kind.clear()
            self.kind.addItems([k for k in (ev or {}).get("methods", {}) if k != ORIGINAL])
            self.kind.blockSignals(False)
        self.scatter.clear()
        self.returns.clear()
        self.scatter.addItem(self.placeholder, ignoreBounds=True)
        self.placeholder.setVisible(not ev)
        self.key.setText("")
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
            for pts, sym, name in ((orig, "o", f"{lv} original"), (gen, "+", f"{lv} {gen_kind}")):
                self.scatter.addItem(pg.ScatterPlotItem(pts[:, 1], pts[:, 0], symbol=sym, size=9 if sym == "o" else 12,
                                                        pen=pg.mkPen(color), brush=pg.mkBrush(color + "66"), name=name))
            texts.append(f"{lv}: JS {js_divergence(orig, gen):.3f}")
            x_ret += [3 * i, 3 * i + 1]
            h_ret += [m[ORIGINAL]["per_condition"][lv]["return"], m[gen_kind]["per_condition"][lv]["return"]]
            brushes += [pg.mkBrush(color), pg.mkBrush(color + "88")]
        self.key.setText("&nbsp;&nbsp;".join(f'<span style="color:{PALETTE[i % len(PALETTE)]}">●</span> {lv}'
                                             for i, lv in enumerate(levels))
                         + f"&nbsp;&nbsp;&nbsp;○ original&nbsp;&nbsp;✚ generated ({gen_kind})")
        self.returns.addItem(pg.BarGraphItem(x=x_ret, height=h_ret, width=0.9, brushes=brushes))
        self.returns.getAxis("bottom").setTicks([[(3 * i + 0.5, lv) for i, lv in enumerate(levels)]])
        labels = ev.get("foot_labels") or ["foot 1", "foot 2"]
        self.scatter.setLabel("bottom", f"{labels[1]} contact fraction")
        self.scatter.setLabel("left", f"{labels[0]} contact fraction")
        self.status.setText(f"{ev.get('episodes', '?')} episodes per behaviour; JS divergence of the foot-contact "
                            f"distributions (nats, at most ln 2 = 0.693): " + ", ".join(texts))

    def roll_out(self, workers: int | None = None) -> None:
        """Ask for a roll-out of the selected run (`workers`: evaluation processes; None: as many as the CPU has)."""
        if self.run_dir and self.trained and self.busy is None:
            self.roll_out_requested.emit(self.run_dir, self.episodes.value(), workers)

    def stop_roll_out(self) -> None:
        if self.busy is not None:
            self.status.setText(f"stopping the roll-out of {Path(self.busy).name}…")
            self.stop_requested.emit(self.busy)

    def roll_out_started(self, run_dir: str) -> None:
        self.busy = run_dir
        self._update_button()
        self.status.setText(f"rolling out {Path(run_dir).name}…")

    def show_progress(self, p) -> None:
        self.status.setText(f"rolling out {getattr(p, 'method', '')}: {getattr(p, 'done', 0):.1f} / "
                            f"{getattr(p, 'total', 0)}")

    def roll_out_ended(self, run_dir: str, status: str) -> None:
        self.busy = None
        self._update_button()
        if run_dir == self.run_dir:
            self.set_run(run_dir, self.trained)
            if status in ("cancelled", "failed"):
                self.status.setText("Roll out stopped before the end; nothing was saved." if status == "cancelled"
                                    else "Roll out failed (see the message above); nothing was saved.")
        self.evaluated.emit(run_dir)

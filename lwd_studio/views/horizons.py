"""Action-horizon view (paper Fig. 9): LWD against Diffusion Policy over H_a on PushT, from a `reproduce fig9`
result or from a sweep running in the background. Left: the absolute score (or success rate); right: the score
relative to each method's best H_a, with diffusion queries per episode on a second axis. Dashed: perturbed.
Clicking a point asks for that method to be played at that H_a (the main window routes it to the viewer).

The view runs nothing itself: Start sweep and Stop are requests (tab_jobs.py turns them into a job of the window's
JobManager), and the sweep's progress and end come back to sweep_started(), show_sweep_item() and sweep_ended()."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lwd_core.errors import LWDError

COLORS = {"LWD": "#1f77b4", "DP": "#ff7f0e"}
DASH = {"clean": Qt.SolidLine, "perturbed": Qt.DashLine}
MISSING_PEN = pg.mkPen("#999", width=1.5)           # a point whose run folder is missing: hollow and grey
# the empty state: short in the plot, whole in the status line
EMPTY = ("No result yet:\nopen one, or\nstart a sweep",
         "No result yet. Open fig9 result… shows a saved one; Start sweep runs the study on the sweep folder "
         "(quick: a few minutes on a CPU).")


def load_fig9(path: str | Path) -> dict:
    """A fig9.json written by `lwd-studio reproduce fig9` (its curves), with the folder its runs live in."""
    try:
        res = json.loads(Path(path).read_text())
        if not isinstance(res, dict) or res.get("study") != "fig9":
            raise TypeError("not a fig9 result")
        for by in res["curves"].values():
            for rows in by.values():
                [(r["horizon"], r["score"], r["relative"], r["queries"]) for r in rows]   # noqa: B018 - check keys
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise LWDError(f"{path}: not a fig9 result from `lwd-studio reproduce fig9` ({type(e).__name__})") from None
    res.setdefault("out", str(Path(path).parent))
    return res


def plot_key() -> str:
    """The plots' key, as rich text: the methods' colours, then the conditions' line styles and the floor."""
    methods = "&nbsp;&nbsp;".join(f'<span style="color:{c}"><b>━━</b></span> {m}' for m, c in COLORS.items())
    return (f"{methods}&nbsp;&nbsp;&nbsp;━━ clean&nbsp;&nbsp;╍╍ perturbed&nbsp;&nbsp;&nbsp;"
            '<span style="color:#777">╍╍</span> hold still (floor)')


class Log2Axis(pg.AxisItem):
    """x is log2(H_a); label the ticks with H_a itself."""

    def tickStrings(self, values, scale, spacing):
        return [f"{2 ** v:.0f}" if abs(v - round(v)) < 1e-6 else "" for v in values]


class HorizonView(QWidget):
    play_requested = Signal(dict)        # {"run_dir", "kind", "horizon", "perturb", "label"}
    sweep_requested = Signal(dict)       # {"out", "quick", "perturb", "workers"}
    stop_requested = Signal(str)         # the sweep folder whose sweep should stop
    sweep_finished = Signal(str)         # "finished", "cancelled" or "failed"
    error = Signal(str)

    def __init__(self, runs_dir: str | Path = ".", parent=None):
        super().__init__(parent)
        self.result: dict | None = None
        self.result_dir: Path | None = None      # the folder of the opened fig9.json; its runs are looked for there
        self.running: str | None = None          # the folder of the sweep in progress
        self.items: list = []
        self.floor_lines: list = []          # the reference (hold still) per condition, read off the result
        self.open_btn = QPushButton("Open fig9 result…")
        self.open_btn.clicked.connect(self._on_open_clicked)
        self.open_btn.setToolTip("show a saved `reproduce fig9` result (fig9.json)")
        self.out = QLineEdit(str(Path(runs_dir) / "fig9"))
        self.out.setToolTip("The sweep's folder: its dataset, runs, evaluations and fig9.json. Starting again in "
                            "the same folder resumes it.")
        self.quick = QCheckBox("quick")
        self.quick.setToolTip("smoke scale: a few demonstrations, a few training steps, H_a in {1, 8, 32}")
        self.perturb = QCheckBox("perturbations")
        self.perturb.setChecked(True)
        self.perturb.setToolTip("also evaluate under stochastic perturbations during the episode")
        self.start_btn = QPushButton("Start sweep")
        self.start_btn.clicked.connect(lambda: self._guard(self.start_sweep))
        self.start_btn.setToolTip("run `reproduce fig9` in the background on the sweep folder; it resumes there")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        self.stop_btn.clicked.connect(self.stop_sweep)
        self.stop_btn.setToolTip("stop the sweep, leaving it resumable")
        self.measure = QComboBox()
        self.measure.addItems(["coverage score", "success rate"])
        self.measure.setToolTip("what the plots show per H_a")
        self.measure.currentIndexChanged.connect(self.redraw)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m points")
        self.progress.setToolTip("the sweep's points evaluated so far, of all it will evaluate")
        self.status = QLabel("")
        self.status.setWordWrap(True)

        # three short rows rather than one long one: the tab is about 370 px wide in a 1024-pixel window
        top = QHBoxLayout()                           # no title: the tab names the view
        top.addWidget(self.open_btn)
        top.addStretch(1)
        top.addWidget(QLabel("left plot:"))
        top.addWidget(self.measure)
        folder = QHBoxLayout()
        folder.addWidget(QLabel("sweep folder"))
        folder.addWidget(self.out, 1)
        sweep = QHBoxLayout()
        sweep.addWidget(self.quick)
        sweep.addWidget(self.perturb)
        sweep.addStretch(1)
        sweep.addWidget(self.start_btn)
        sweep.addWidget(self.stop_btn)
        self.abs_plot = pg.PlotWidget(background="w", axisItems={"bottom": Log2Axis("bottom")})
        self.rel_plot = pg.PlotWidget(background="w", axisItems={"bottom": Log2Axis("bottom")})
        for p, title in ((self.abs_plot, "absolute"), (self.rel_plot, "relative")):
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setLabel("bottom", "action horizon H_a")
            p.setTitle(title, size="9pt")
            p.setYRange(0, 1.05)
        # short titles: a title wider than its plot's middle widens the plot past its widget, cutting the right axis
        self.rel_plot.setToolTip("each method's score relative to its best H_a; dotted: diffusion queries per "
                                 "episode, on the logarithmic right axis")
        # the key sits under the plots, not in them: inside, it covered the curves of a 370-pixel-wide tab
        self.key = QLabel(plot_key())
        self.key.setToolTip("colour: the method; line: the condition; grey dashed: an agent that holds still on "
                            "the same start states (the floor every score is read against)")
        self.placeholder = pg.TextItem(EMPTY[0], color="#777", anchor=(0.5, 0.5))
        self.abs_plot.addItem(self.placeholder, ignoreBounds=True)
        self.placeholder.setPos(np.log2(8), 0.5)
        for p in (self.abs_plot, self.rel_plot):
            p.setXRange(0, np.log2(128))
        self.rel_plot.setLabel("right", "queries / episode (dotted)")
        self.rel_plot.getAxis("right").setLogMode(False, True)
        self.queries_box = pg.ViewBox()                       # the relative plot's second y axis
        self.rel_plot.scene().addItem(self.queries_box)
        self.rel_plot.getAxis("right").linkToView(self.queries_box)
        self.queries_box.setXLink(self.rel_plot.getPlotItem())
        self.rel_plot.getPlotItem().vb.sigResized.connect(
            lambda: self.queries_box.setGeometry(self.rel_plot.getPlotItem().vb.sceneBoundingRect()))
        plots = QHBoxLayout()
        plots.addWidget(self.abs_plot)
        plots.addWidget(self.rel_plot)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(folder)
        lay.addLayout(sweep)
        lay.addLayout(plots, 1)
        lay.addWidget(self.key)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        self.status.setText(EMPTY[1])

    # ------------------------------------------------------------------ results
    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as e:                 # bad input shows as a message; the view keeps working
            self.error.emit(str(e).splitlines()[0] if str(e) else type(e).__name__)

    def _on_open_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "fig9 result", self.out.text(), "fig9 result (fig9.json)")
        if path:
            self._guard(self.open_result, path)

    def open_result(self, path: str | Path) -> None:
        """Show a saved result; the sweep folder stays as it was (a result opened from anywhere is not where the
        next sweep should write)."""
        self.set_result(load_fig9(path), Path(path).parent)
        self.status.setText(f"{path}: {self._summary()}")

    def set_result(self, res: dict, folder: Path | None = None) -> None:
        self.result = res
        self.result_dir = folder
        self.redraw()

    def _summary(self) -> str:
        t = (self.result or {}).get("targets", {})
        bits = []
        if "relative_at_64" in t:
            r = t["relative_at_64"]
            bits.append(f"relative at H_a=64: LWD {r['LWD']:.2f}, DP {r['DP']:.2f}")
        if "queries_at_25pct_drop" in t:
            bits.append(f"query ratio at a 25% drop: {t['queries_at_25pct_drop']['ratio']:.2f} (paper 0.25)")
        return "; ".join(bits) or "curves shown; click a point to play it"

    def redraw(self) -> None:
        for p in (self.abs_plot, self.rel_plot):
            for it in [i for i in p.getPlotItem().items
                       if isinstance(i, (pg.PlotDataItem, pg.ScatterPlotItem, pg.InfiniteLine))]:
                p.removeItem(it)
        self.queries_box.clear()
        self.items.clear()
        self.floor_lines.clear()
        self.placeholder.setVisible(not self.result)
        if not self.result:
            return
        for p in (self.abs_plot, self.rel_plot):
            p.enableAutoRange(x=True)                    # the empty state showed a fixed H_a range of 1..128
        key = "score" if self.measure.currentIndex() == 0 else "success"
        self.abs_plot.setLabel("left", "mean coverage score" if key == "score" else "success rate")
        qmin, qmax = 1.0, 1.0
        for cond, fl in self.result.get("floor", {}).items():     # the hold-still reference, same start states
            label = f"{self.result.get('floor_policy', 'floor')} ({cond}): {fl[key]:.3f}"
            # the value only, at either end (the key names the line): two full labels overlapped in a narrow plot
            line = pg.InfiniteLine(fl[key], angle=0, pen=pg.mkPen("#777", width=1.5, style=DASH.get(cond, Qt.SolidLine)),
                                   label=f"{fl[key]:.3f}",
                                   labelOpts={"position": 0.12 if cond == "clean" else 0.88, "color": "#555"})
            line.setToolTip(f"{label}: an agent that holds still, on the same start states")
            self.abs_plot.addItem(line)
            self.floor_lines.append(line)
        for method, by in self.result.get("curves", {}).items():
            for cond, rows in by.items():
                x = np.log2([r["horizon"] for r in rows])
                playable = [self.find_run(r)[0] is not None for r in rows]   # hollow grey: its run is not here
                pen = pg.mkPen(COLORS.get(method, "#444"), width=2, style=DASH.get(cond, Qt.SolidLine))
                name = f"{method} ({cond})"
                for plot, ys in ((self.abs_plot, [r[key] for r in rows]), (self.rel_plot, [r["relative"] for r in rows])):
                    plot.plot(x, ys, pen=pen, name=name)
                    pts = pg.ScatterPlotItem(x=x, y=ys, size=11, hoverable=True, tip=self._tip,
                                             data=[(method, cond, r) for r in rows],
                                             brush=[COLORS.get(method, "#444") if ok else None for ok in playable],
                                             pen=[pg.getConfigOption("foreground") if ok else MISSING_PEN
                                                  for ok in playable])
                    pts.sigClicked.connect(self._on_point_clicked)
                    plot.addItem(pts)
                    self.items.append(pts)
                if cond == "clean":
                    q = np.log10(np.maximum([r["queries"] for r in rows], 1e-3))
                    qmin, qmax = min(qmin, q.min()), max(qmax, q.max())
                    self.queries_box.addItem(pg.PlotDataItem(x, q, pen=pg.mkPen(COLORS.get(method, "#444"),
                                                                                 width=1.5, style=Qt.DotLine)))
        self.queries_box.setYRange(min(0.0, qmin), qmax + 0.1)

    def _tip(self, x, y, data) -> str:
        method, cond, r = data
        run_dir, why = self.find_run(r)
        return (f"{method}, H_a = {r['horizon']} ({cond})\nscore {r['score']:.3f}, success {r['success']:.2f}\n"
                f"relative {r['relative']:.2f}, {r['queries']:.1f} queries per episode\n"
                + ("click to play" if run_dir else f"not playable: {why}"))

    def find_run(self, row: dict) -> tuple[str | None, str]:
        """The folder of the point's run, or None and why not: the runs beside the opened file, else in the
        folder the sweep recorded (a sweep's own result)."""
        runs = row.get("runs") or []
        if not runs or not row.get("kind") or not self.result:
            return None, "this result does not name its runs; rerun the sweep to play its points"
        where = [d for d in (self.result_dir, self.result.get("out")) if d]
        found = [Path(d) / runs[0] for d in where if (Path(d) / runs[0]).is_dir()]
        if not found:
            return None, f"run folder not found at {Path(where[0]) / runs[0] if where else runs[0]}"
        return str(found[0]), ""

    def _on_point_clicked(self, item, points, ev=None) -> None:
        if len(points):
            self.play_point(*points[0].data())

    def play_point(self, method: str, cond: str, row: dict) -> None:
        run_dir, why = self.find_run(row)
        if run_dir is None:
            self.status.setText(why)
            self.error.emit(why)
            return
        self.play_requested.emit({"run_dir": run_dir, "kind": row["kind"], "horizon": row["horizon"],
                                  "perturb": cond == "perturbed", "label": f"{method} at H_a = {row['horizon']} ({cond})"})

    # ------------------------------------------------------------------ background sweep
    def start_sweep(self, workers: int | None = None) -> None:
        """Ask for a sweep on the folder shown (`workers`: evaluation processes; None: as many as the CPU has)."""
        if self.running is not None:
            raise ValueError("a sweep is already running")
        out = self.out.text().strip()
        if not out:
            raise ValueError("choose a folder for the sweep")
        self.sweep_requested.emit({"out": out, "quick": self.quick.isChecked(), "perturb": self.perturb.isChecked(),
                                   "workers": workers})

    def stop_sweep(self) -> None:
        if self.running is not None:
            self.stop_requested.emit(self.running)
            self.status.setText("stopping after the current step; Start sweep again to resume…")

    def sweep_started(self, out: str) -> None:
        self.running = out
        self.start_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        self.progress.reset()
        self.status.setText(f"sweep running in {out}…")

    def show_sweep_item(self, item) -> None:
        if hasattr(item, "points_total"):
            self.progress.setMaximum(item.points_total)
            self.progress.setValue(item.points_done)
            self.set_result(item.result)
        elif hasattr(item, "step") and hasattr(item, "losses"):
            self.status.setText(f"training {item.phase}: step {item.step}/{item.total}")
        elif hasattr(item, "message"):
            self.status.setText(item.message)

    def sweep_ended(self, status: str) -> None:
        out, self.running = self.running, None
        self.start_btn.setEnabled(True)
        self.stop_btn.setEnabled(False)
        done = Path(out or self.out.text()) / "fig9.json"
        if status == "finished" and done.exists():
            self._guard(self.open_result, done)
        elif status == "cancelled":
            self.status.setText("sweep stopped: Start sweep again to resume where it left off")
        elif status == "failed":
            self.status.setText("the sweep failed (see the message above); Start sweep again to retry")
        self.sweep_finished.emit(status)

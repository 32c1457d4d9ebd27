"""Compare view: any study's result. A per-method study (table2.json) shows as a table and a per-task bar chart, ours
beside the paper's; any other study shows the `report` table its JSON carries."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from lwd_core.errors import LWDError

from .losses import PALETTE


def load_study(path: str | Path) -> dict:
    """A study result written by `lwd-studio reproduce`: per-method (methods + tasks) or with a report table."""
    try:
        agg = json.loads(Path(path).read_text())
        if not isinstance(agg, dict):
            raise TypeError("not an object")
        if not ("methods" in agg and "tasks" in agg):
            rep = agg["report"]
            rep["columns"], rep["rows"]  # noqa: B018 - the keys this view needs
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise LWDError(f"{path}: not a study result from `lwd-studio reproduce` ({type(e).__name__})") from None
    return agg


def open_view(agg: dict, parent=None, title: str = "") -> QDialog:
    if "methods" in agg and "tasks" in agg:
        return CompareView(agg, parent, title)
    return ReportView(agg["report"], parent, title)


class ReportView(QDialog):
    """The `report` table of any study: a first column of row labels, then one column per entry."""

    def __init__(self, report: dict, parent=None, title: str = ""):
        super().__init__(parent)
        self.setWindowTitle(f"Compare — {title}" if title else "Compare")
        self.resize(900, 500)
        cols, rows = report["columns"], report["rows"]
        self.table = QTableWidget(len(rows), max(0, len(cols) - 1))
        self.table.setHorizontalHeaderLabels([str(c) for c in cols[1:]])
        self.table.setVerticalHeaderLabels([str(r[0]) for r in rows])
        for i, r in enumerate(rows):
            for j, v in enumerate(r[1:]):
                it = QTableWidgetItem(f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v)))
                it.setTextAlignment(Qt.AlignCenter)
                self.table.setItem(i, j, it)
        self.table.resizeColumnsToContents()
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(str(report.get("title", ""))))
        lay.addWidget(self.table, 1)


class CompareView(QDialog):
    def __init__(self, agg: dict, parent=None, title: str = ""):
        super().__init__(parent)
        self.setWindowTitle(f"Compare — {title}" if title else "Compare")
        self.resize(1200, 800)
        names = [n for n in agg.get("order", agg["methods"]) if n in agg["methods"]]   # the study's own order
        tasks = agg["tasks"]
        M = agg["methods"]
        # Summary rows first, so the headline numbers are visible without scrolling.
        self.table = QTableWidget(len(tasks) + 3, len(names))
        self.table.setHorizontalHeaderLabels(names)
        self.table.setVerticalHeaderLabels(["parameters", "mean ± std over seeds", "paper mean ± std"]
                                           + [t.replace("-v3", "") for t in tasks])
        for j, n in enumerate(names):
            m = M[n]
            cells = [f"{(m.get('params') or 0) / 1e3:.1f}k", f"{m['mean']:.3f} ± {m['std']:.3f}",
                     f"{m.get('paper_mean', float('nan')):.3f}"
                     + (f" ± {m['paper_std']:.3f}" if "paper_std" in m else "")]
            cells += [f"{m['per_task'].get(t, float('nan')):.2f}" for t in tasks]
            for i, c in enumerate(cells):
                it = QTableWidgetItem(c)
                it.setTextAlignment(Qt.AlignCenter)
                if i == 1:
                    f = it.font()
                    f.setBold(True)
                    it.setFont(f)
                self.table.setItem(i, j, it)
        self.table.resizeColumnsToContents()
        # Bars per task, plus a last "mean" group with the seed-to-seed standard deviation as error bars.
        self.plot = pg.PlotWidget(background="w", title="success per task (last group: mean ± std over seeds)")
        self.plot.addLegend(offset=(10, 5), colCount=len(names))
        groups = [t.replace("-v3", "").replace("-topdown", "").replace("-side", "") for t in tasks] + ["mean"]
        w = 0.8 / max(1, len(names))
        x = np.arange(len(groups))
        for j, n in enumerate(names):
            ys = [M[n]["per_task"].get(t, 0.0) for t in tasks] + [M[n]["mean"]]
            xj = x - 0.4 + (j + 0.5) * w
            self.plot.addItem(pg.BarGraphItem(x=xj, height=ys, width=w, brush=PALETTE[j % len(PALETTE)], name=n))
            self.plot.addItem(pg.ErrorBarItem(x=xj[-1:], y=np.array(ys[-1:]), height=np.array([2 * M[n]["std"]]),
                                              beam=w * 0.6, pen=pg.mkPen(pg.getConfigOption("foreground"), width=1.5)))
        self.plot.getAxis("bottom").setTicks([list(enumerate(groups))])
        self.plot.setYRange(0, 1.2)                         # headroom for the one-row legend above the bars
        self.plot.setXRange(-0.6, len(groups) - 0.4)
        info = QLabel(f"seeds {agg.get('seeds')}, {agg.get('episodes_per_task')} episodes per task and seed"
                      f"{' (quick scale)' if agg.get('quick') else ''}")
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        split.setSizes([330, 470])
        lay = QVBoxLayout(self)
        lay.addWidget(info)
        lay.addWidget(split, 1)

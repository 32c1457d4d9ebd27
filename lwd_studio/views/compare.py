"""Compare view: a finished `reproduce table2` result as a table and a per-task bar chart, ours beside the paper's."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QDialog, QLabel, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout
from PySide6.QtCore import Qt

from lwd_core.errors import LWDError

from .losses import PALETTE

ORDER = ["LWD", "MLP 512", "MLP 256", "MLP 128", "DP (large)", "DP (small)"]


def load_table2(path: str | Path) -> dict:
    try:
        agg = json.loads(Path(path).read_text())
        agg["methods"], agg["tasks"]  # noqa: B018 - the keys this view needs
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise LWDError(f"{path}: not a table2.json from `lwd-studio reproduce table2` ({type(e).__name__})") from None
    return agg


class CompareView(QDialog):
    def __init__(self, agg: dict, parent=None, title: str = ""):
        super().__init__(parent)
        self.setWindowTitle(f"Compare — {title}" if title else "Compare")
        self.resize(1200, 800)
        names = [n for n in ORDER if n in agg["methods"]]
        tasks = agg["tasks"]
        M = agg["methods"]
        self.table = QTableWidget(len(tasks) + 3, len(names))
        self.table.setHorizontalHeaderLabels(names)
        self.table.setVerticalHeaderLabels(["parameters"] + [t.replace("-v3", "") for t in tasks] + ["mean", "paper mean"])
        for j, n in enumerate(names):
            cells = [f"{(M[n].get('params') or 0) / 1e3:.1f}k"]
            cells += [f"{M[n]['per_task'].get(t, float('nan')):.2f}" for t in tasks]
            cells += [f"{M[n]['mean']:.3f} ± {M[n]['std']:.3f}", f"{M[n].get('paper_mean', float('nan')):.3f}"]
            for i, c in enumerate(cells):
                it = QTableWidgetItem(c)
                it.setTextAlignment(Qt.AlignCenter)
                self.table.setItem(i, j, it)
        self.plot = pg.PlotWidget(background="w", title="success per task")
        self.plot.addLegend(offset=(5, 5))
        w = 0.8 / max(1, len(names))
        x = np.arange(len(tasks))
        for j, n in enumerate(names):
            ys = [M[n]["per_task"].get(t, 0.0) for t in tasks]
            self.plot.addItem(pg.BarGraphItem(x=x - 0.4 + (j + 0.5) * w, height=ys, width=w,
                                              brush=PALETTE[j % len(PALETTE)], name=n))
            self.plot.plot([], [], pen=None, symbol="s", symbolBrush=PALETTE[j % len(PALETTE)], name=n)
        self.plot.getAxis("bottom").setTicks([[(i, t.replace("-v3", "")) for i, t in enumerate(tasks)]])
        self.plot.setYRange(0, 1.05)
        info = QLabel(f"seeds {agg.get('seeds')}, {agg.get('episodes_per_task')} episodes per task and seed"
                      f"{' (quick scale)' if agg.get('quick') else ''}")
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        lay = QVBoxLayout(self)
        lay.addWidget(info)
        lay.addWidget(split, 1)

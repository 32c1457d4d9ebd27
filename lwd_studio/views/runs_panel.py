"""The run list: every run directory under the runs folder, with the actions on runs."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("name", "dataset", "preset", "status", "steps", "best MSE", "updated")
STATUS_COLORS = {"running": "#1f77b4", "finished": "#2ca02c", "failed": "#d62728", "cancelled": "#ff7f0e",
                 "interrupted": "#9467bd", "broken": "#d62728", "created": "#7f7f7f"}
RESUMABLE = ("cancelled", "interrupted", "failed")      # a checkpoint may exist; Resume continues from it
STATUS_TIPS = {"interrupted": "its training process died (killed or crashed); Resume continues from the last "
                              "checkpoint"}


class RunsPanel(QWidget):
    selection_changed = Signal(list)       # run paths, in table order
    action_requested = Signal(str)         # "new", "start", "stop", "resume", "duplicate", "rename", "delete", "demo"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = QStandardItemModel(0, len(COLUMNS))
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.ElideMiddle)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.Interactive)
        hh.setStretchLastSection(True)
        for col, w in enumerate((90, 110, 80, 86, 90, 72)):       # "interrupted" fits the status column
            self.table.setColumnWidth(col, w)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.buttons: dict[str, QPushButton] = {}
        rows = [("new", "New run…", "demo", "Demo run"),
                ("start", "Start", "stop", "Stop"),
                ("resume", "Resume", "duplicate", "Duplicate"),
                ("rename", "Rename…", "delete", "Delete…")]
        lay = QVBoxLayout(self)
        title = QLabel("<b>Runs</b>")
        lay.addWidget(title)
        lay.addWidget(self.table, 1)
        for a, ta, b, tb in rows:
            h = QHBoxLayout()
            for key, text in ((a, ta), (b, tb)):
                btn = QPushButton(text)
                btn.clicked.connect(lambda _=False, k=key: self.action_requested.emit(k))
                self.buttons[key] = btn
                h.addWidget(btn)
            lay.addLayout(h)
        self.hint = QLabel("Select two or more runs to overlay their curves.")
        self.hint.setStyleSheet("color: #666;")
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        self._paths: list[str] = []
        self._status: dict[str, str] = {}
        self._update_buttons()

    def set_rows(self, rows: list[dict]) -> None:
        selected = set(self.selected_paths())
        self.table.selectionModel().blockSignals(True)
        self.model.removeRows(0, self.model.rowCount())
        self._paths = [r["path"] for r in rows]
        self._status = {r["path"]: r["status"] for r in rows}
        for r in rows:
            phase = "" if r["status"] == "finished" else r["phase"]
            steps = f"{r['step']}/{r['total']} {phase}".strip() if r["total"] else str(r["step"])
            best = "" if r["best"] is None else f"{r['best']:.4f}"
            upd = time.strftime("%m-%d %H:%M", time.localtime(r["updated"])) if r["updated"] else ""
            items = [QStandardItem(str(x)) for x in (r["name"], r["dataset"], r["preset"], r["status"], steps, best, upd)]
            items[3].setForeground(QColor(STATUS_COLORS.get(r["status"], "#000")))
            if r.get("error") or r["status"] in STATUS_TIPS:
                for it in items:
                    it.setToolTip(r.get("error") or STATUS_TIPS[r["status"]])
            self.model.appendRow(items)
        sm = self.table.selectionModel()
        for i, p in enumerate(self._paths):
            if p in selected:
                sm.select(self.model.index(i, 0), sm.SelectionFlag.Select | sm.SelectionFlag.Rows)
        sm.blockSignals(False)
        self._update_buttons()
        if set(self.selected_paths()) != selected:
            self._on_selection_changed()

    def selected_paths(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self._paths[r] for r in rows if r < len(self._paths)]

    def select_path(self, path: str) -> None:
        if path in self._paths:
            self.table.selectRow(self._paths.index(path))

    def _update_buttons(self) -> None:
        """Start for a new run, Resume for one that stopped before finishing, Stop for a running one."""
        sel = [self._status.get(p, "") for p in self.selected_paths()]
        one = sel[0] if len(sel) == 1 else None
        self.buttons["start"].setEnabled(one == "created")
        self.buttons["resume"].setEnabled(one in RESUMABLE)
        self.buttons["stop"].setEnabled(any(s == "running" for s in sel))
        for k in ("duplicate", "rename"):
            self.buttons[k].setEnabled(one is not None)
        self.buttons["delete"].setEnabled(bool(sel))

    def _on_selection_changed(self, *args) -> None:
        self._update_buttons()
        self.selection_changed.emit(self.selected_paths())

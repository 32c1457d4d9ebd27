"""The run list: every run directory under the runs folder, with the actions on runs. Each action is a QAction
that the panel's button and the main window's Run menu share, so both are enabled for the same selection."""
from __future__ import annotations

import time

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QStandardItem, QStandardItemModel
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
WIDTHS = (90, 100, 74, 86, 100, 68, 84)             # "interrupted" and "10000/10000" fit; the name stretches
# Hidden first, in this order, when the table is too narrow for every column (a 1024-pixel-wide window); they come
# back as it widens. Name, status and steps always show.
SHED = ("updated", "preset", "dataset", "best MSE")
STATUS_COLORS = {"running": "#1f77b4", "finished": "#2ca02c", "failed": "#d62728", "cancelled": "#ff7f0e",
                 "interrupted": "#9467bd", "broken": "#d62728", "created": "#7f7f7f"}
RESUMABLE = ("cancelled", "interrupted", "failed")      # a checkpoint may exist; Resume continues from it
STATUS_TIPS = {"interrupted": "its training process died (killed or crashed); Resume continues from the last "
                              "checkpoint"}
# key, menu and button text, shortcut, tooltip
ACTIONS = (("new", "New run…", QKeySequence.New, "make a run folder from a form of the main hyperparameters"),
           ("demo", "Demo run", None, "collect a small MT10 dataset and train a small run on it (about a minute)"),
           ("start", "Start", "Ctrl+Return", "start training the selected new run"),
           ("stop", "Stop", "Ctrl+.",
            "stop the selected running runs at their next step, leaving a resumable checkpoint"),
           ("resume", "Resume", "Ctrl+Shift+Return", "continue the selected stopped run from its last checkpoint"),
           ("duplicate", "Duplicate", "Ctrl+D", "a new, untrained run with the selected run's config"),
           ("rename", "Rename…", Qt.Key_F2, "rename the selected run's folder"),
           ("delete", "Delete…", QKeySequence.Delete, "delete the selected runs from disk, after confirmation"))
NO_RUNS = ("No runs yet. Press “Demo run” to collect a small MT10 dataset (50 scripted-expert episodes) and train "
           "on it; curves, latent map and rollouts fill in as it goes. It takes about a minute.")
HINT = "Select two or more runs to overlay their curves."


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
        hh.setSectionResizeMode(0, QHeaderView.Stretch)    # the name takes the room the other columns leave
        for col, w in enumerate(WIDTHS):
            self.table.setColumnWidth(col, w)
        self.table.viewport().installEventFilter(self)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.setToolTip("every run folder; select several runs to overlay their curves")
        self.actions: dict[str, QAction] = {}
        self._busy: set[str] = set()
        self.rows: list[dict] = []                 # the rows last shown, as given
        self.buttons: dict[str, QPushButton] = {}
        for key, text, shortcut, tip in ACTIONS:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(QKeySequence(shortcut))
            act.setToolTip(tip)
            act.setStatusTip(tip)
            act.triggered.connect(lambda _=False, k=key: self.action_requested.emit(k))
            btn = QPushButton(text)
            btn.setToolTip(tip + (f" ({act.shortcut().toString(QKeySequence.NativeText)})"
                                  if shortcut is not None else ""))
            btn.clicked.connect(act.trigger)
            act.changed.connect(lambda b=btn, a=act: b.setEnabled(a.isEnabled()))
            self.actions[key], self.buttons[key] = act, btn
        lay = QVBoxLayout(self)
        title = QLabel("<b>Runs</b>")
        lay.addWidget(title)
        lay.addWidget(self.table, 1)
        for a, b in (("new", "demo"), ("start", "stop"), ("resume", "duplicate"), ("rename", "delete")):
            h = QHBoxLayout()
            h.addWidget(self.buttons[a])
            h.addWidget(self.buttons[b])
            lay.addLayout(h)
        self.hint = QLabel(HINT)
        self.hint.setProperty("role", "hint")            # dimmed by the theme's style sheet
        self.hint.setWordWrap(True)
        lay.addWidget(self.hint)
        self._paths: list[str] = []
        self._status: dict[str, str] = {}
        self._update_buttons()

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Resize and obj is self.table.viewport():
            self._fit_columns()
        return False

    def _fit_columns(self) -> None:
        """Hide the columns of SHED, in order, until the rest fit the table's width."""
        room = self.table.viewport().width()
        hidden: set[str] = set()
        for name in SHED:
            if sum(w for c, w in zip(COLUMNS, WIDTHS) if c not in hidden) <= room:
                break
            hidden.add(name)
        for col, name in enumerate(COLUMNS):
            if self.table.isColumnHidden(col) != (name in hidden):
                self.table.setColumnHidden(col, name in hidden)

    def set_rows(self, rows: list[dict]) -> None:
        """Rows already listed keep their place, so a run that writes a step does not jump to the top; runs new to
        the list come first, most recently updated first (the order `rows` comes in)."""
        self.rows = list(rows)
        selected = set(self.selected_paths())
        known = {p: i for i, p in enumerate(self._paths)}
        rows = [r for r in rows if r["path"] not in known] + \
            sorted((r for r in rows if r["path"] in known), key=lambda r: known[r["path"]])
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
        self._show_empty_state(not rows)
        self._update_buttons()
        if set(self.selected_paths()) != selected:
            self._on_selection_changed()

    def selected_paths(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self._paths[r] for r in rows if r < len(self._paths)]

    def select_path(self, path: str) -> None:
        if path in self._paths:
            # not selectRow(): in extended selection it adds to the selection while a modifier key is held
            idx = self.model.index(self._paths.index(path), 0)
            sm = self.table.selectionModel()
            sm.setCurrentIndex(idx, sm.SelectionFlag.ClearAndSelect | sm.SelectionFlag.Rows)

    def _show_empty_state(self, empty: bool) -> None:
        """With no run, the hint and a bold default button point at the demo; the first run ends that."""
        self.hint.setText(NO_RUNS if empty else HINT)
        demo = self.buttons["demo"]
        demo.setDefault(empty)
        font = demo.font()
        font.setBold(empty)
        demo.setFont(font)

    def set_busy(self, paths: set[str]) -> None:
        """The folders a background job uses (a training, a roll-out): they cannot be renamed or deleted."""
        self._busy = set(paths)
        self._update_buttons()

    def _update_buttons(self) -> None:
        """Start for a new run, Resume for one that stopped before finishing, Stop for a running one; Rename and
        Delete only for runs no job uses."""
        paths = self.selected_paths()
        sel = [self._status.get(p, "") for p in paths]
        one = sel[0] if len(sel) == 1 else None
        free = not any(p in self._busy for p in paths)
        self.actions["start"].setEnabled(one == "created")
        self.actions["resume"].setEnabled(one in RESUMABLE)
        self.actions["stop"].setEnabled(any(s == "running" for s in sel))
        self.actions["duplicate"].setEnabled(one is not None)
        self.actions["rename"].setEnabled(one is not None and free)
        self.actions["delete"].setEnabled(bool(sel) and free)

    def _on_selection_changed(self, *args) -> None:
        self._update_buttons()
        self.selection_changed.emit(self.selected_paths())

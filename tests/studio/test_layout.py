"""The main window at 1024x700, the smallest size it is laid out for: on every tab, no button, label or combo box
is narrower than its text needs, and the runs table shows whole columns, without a horizontal scroll bar. The tabs
are chosen by clicking them."""
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QWidget  # noqa: E402

from lwd_studio.main_window import MainWindow  # noqa: E402
from lwd_studio.views.runs_panel import COLUMNS  # noqa: E402


def clipped(w: QWidget) -> list[str]:
    """The shown controls and labels of the window that are narrower (or, wrapped, lower) than their content."""
    out = []
    for c in w.findChildren(QWidget):
        if not c.isVisibleTo(w) or c.objectName().startswith("qt_") or c.visibleRegion().isEmpty():
            continue
        if isinstance(c, QLabel) and not c.pixmap().isNull():
            continue
        if isinstance(c, QLabel) and c.wordWrap():
            if c.height() < c.heightForWidth(c.width()):
                out.append(f"{type(c).__name__} {c.text()[:40]!r}: {c.height()} px high, needs "
                           f"{c.heightForWidth(c.width())}")
        elif isinstance(c, (QAbstractButton, QLabel, QComboBox)) and c.width() < c.sizeHint().width():
            text = c.currentText() if isinstance(c, QComboBox) else c.text()
            out.append(f"{type(c).__name__} {text[:40]!r}: {c.width()} px wide, needs {c.sizeHint().width()}")
    return out


@pytest.fixture
def window(qtbot, tmp_path):
    for name in ("a-run-with-a-long-name", "b"):
        (tmp_path / "runs" / name).mkdir(parents=True)          # listed as broken runs: rows in the table
    w = MainWindow(tmp_path / "runs", confirm=lambda t: True)
    qtbot.addWidget(w)
    w.resize(1024, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def test_at_1024x700_nothing_is_clipped_on_any_tab(qtbot, window):
    w = window
    assert (w.width(), w.height()) == (1024, 700)          # the window's minimum size lets it be this small
    bar = w.tabs.tabBar()
    for i in range(w.tabs.count()):
        qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(i).center())
        assert w.tabs.currentIndex() == i
        qtbot.wait(50)
        assert clipped(w) == [], w.tabs.tabText(i)
    table = w.runs.table
    shown = [c for i, c in enumerate(COLUMNS) if not table.isColumnHidden(i)]
    assert {"name", "status", "steps"} <= set(shown)
    assert not table.horizontalScrollBar().isVisible(), shown
    assert sum(table.columnWidth(i) for i in range(len(COLUMNS)) if not table.isColumnHidden(i)) \
        <= table.viewport().width()


def test_the_runs_table_shows_every_column_again_when_its_splitter_is_dragged_wider(qtbot, window):
    w = window
    table = w.runs.table
    assert any(table.isColumnHidden(i) for i in range(len(COLUMNS)))
    w.resize(1600, 950)
    handle = w.runs.parentWidget().handle(1)          # between the runs panel and the rest
    start = handle.rect().center()
    qtbot.mousePress(handle, Qt.LeftButton, pos=start)
    qtbot.mouseMove(handle, start + QPoint(400, 0))
    qtbot.mouseRelease(handle, Qt.LeftButton, pos=start + QPoint(400, 0))
    qtbot.waitUntil(lambda: not any(table.isColumnHidden(i) for i in range(len(COLUMNS))), timeout=2000)
    assert not table.horizontalScrollBar().isVisible()

"""The run list follows the runs folder through a file system watch: a run copied in, updated or deleted shows
within a second, with the periodic rescan stopped."""
import json
import os
import shutil

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from lwd_studio.main_window import MainWindow  # noqa: E402
from lwd_studio.views.runs_panel import COLUMNS  # noqa: E402
from tests.helpers import toy_run  # noqa: E402


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    return toy_run(tmp_path_factory.mktemp("toy"))


def names(w):
    return [w.runs.model.item(i, 0).text() for i in range(w.runs.model.rowCount())]


def status(w, name):
    return w.runs.model.item(names(w).index(name), COLUMNS.index("status")).text()


def test_a_run_copied_in_updated_and_deleted_shows_at_once(qtbot, tmp_path, finished_run):
    w = MainWindow(tmp_path / "runs", confirm=lambda text: True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.refresh_timer.stop()                      # only the watch can refresh the table now
    assert w.refresh_timer.interval() >= 10_000 and names(w) == []
    shutil.copytree(finished_run, w.runs_dir / "copied")
    qtbot.waitUntil(lambda: names(w) == ["copied"], timeout=1000)
    qtbot.waitUntil(lambda: status(w, "copied") == "finished", timeout=1000)
    # a status.json rewritten the way runs write it (a new file renamed over the old one)
    st_path = w.runs_dir / "copied" / "status.json"
    st = json.loads(st_path.read_text())
    st["status"] = "cancelled"
    (w.runs_dir / "copied" / "status.tmp").write_text(json.dumps(st))
    os.replace(w.runs_dir / "copied" / "status.tmp", st_path)
    qtbot.waitUntil(lambda: status(w, "copied") == "cancelled", timeout=1000)
    # the row can be clicked like any other, and a second update still shows (the watch follows the new file)
    t = w.runs.table
    qtbot.mouseClick(t.viewport(), Qt.LeftButton, pos=t.visualRect(w.runs.model.index(0, 0)).center())
    assert w.runs.selected_paths() == [str(w.runs_dir / "copied")] and w.runs.buttons["resume"].isEnabled()
    st["status"] = "finished"
    st_path.write_text(json.dumps(st))
    qtbot.waitUntil(lambda: status(w, "copied") == "finished", timeout=1000)
    shutil.rmtree(w.runs_dir / "copied")
    qtbot.waitUntil(lambda: names(w) == [], timeout=1000)
    w.shutdown()

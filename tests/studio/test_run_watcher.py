"""The run list follows the runs folder through a file system watch: a run copied in, updated or deleted shows
within a second, with the periodic rescan stopped."""
import json
import shutil

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from lwd_core.io import atomic_write_json  # noqa: E402
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


def set_status(run_dir, value: str) -> dict:
    """Rewrite a run's status.json the way runs write it: a new file renamed over the old one."""
    st = json.loads((run_dir / "status.json").read_text())
    st["status"] = value
    atomic_write_json(run_dir / "status.json", st)
    return st


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
    st = set_status(w.runs_dir / "copied", "cancelled")
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


def test_a_run_that_writes_its_status_is_the_only_run_read_again(qtbot, tmp_path, finished_run, monkeypatch):
    """The watch says which path changed: a training's status.json re-reads that run, not every run of the folder
    (which a refresh every 200 ms while a run trains once did)."""
    from lwd_core.runs import RunDir
    for i in range(5):
        shutil.copytree(finished_run, tmp_path / "runs" / f"r{i}")
    w = MainWindow(tmp_path / "runs", confirm=lambda text: True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.refresh_timer.stop()
    assert sorted(names(w)) == [f"r{i}" for i in range(5)]
    reads = []
    state = RunDir.state
    monkeypatch.setattr(RunDir, "state", lambda self: reads.append(self.path.name) or state(self))
    set_status(w.runs_dir / "r3", "cancelled")
    qtbot.waitUntil(lambda: status(w, "r3") == "cancelled", timeout=1000)
    qtbot.wait(400)                                     # any further refresh of the burst
    assert set(reads) == {"r3"}
    shutil.copytree(finished_run, w.runs_dir / "new")   # a new run: the folder's entries changed, all are read
    qtbot.waitUntil(lambda: "new" in names(w), timeout=1000)
    assert {f"r{i}" for i in range(5)} <= set(reads)
    w.shutdown()

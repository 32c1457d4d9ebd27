"""pytest-qt tests of the runs table's columns, with runs made through the real New run form, the Duplicate and
Start buttons, and `lwd-studio train --preset`."""
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialogButtonBox  # noqa: E402

from lwd_core.config import preset  # noqa: E402
from lwd_core.runs import RunDir  # noqa: E402
from lwd_studio.main_window import MainWindow  # noqa: E402
from lwd_studio.views.run_form import RunForm  # noqa: E402
from lwd_studio.views.runs_panel import COLUMNS  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(tmp_path / "runs", confirm=lambda text: True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def cell(w, name, column):
    return w.runs.model.item(w.runs._paths.index(str(w.runs_dir / name)), COLUMNS.index(column)).text()


def click_row(qtbot, w, name):
    t = w.runs.table
    idx = w.runs.model.index(w.runs._paths.index(str(w.runs_dir / name)), 0)
    qtbot.mouseClick(t.viewport(), Qt.LeftButton, pos=t.visualRect(idx).center())


def test_the_preset_column_shows_the_preset_a_run_was_made_from(qtbot, window, synthetic_file):
    w = window
    # a run made before presets were recorded shows none (the column once showed the run's name)
    RunDir(w.runs_dir / "old").create(preset("tiny").replace(name="old", env_id="toy-maps",
                                                              data={"dataset": str(synthetic_file)}))

    def fill_in_the_form():
        form = QApplication.activeModalWidget()
        if not isinstance(form, RunForm):
            QTimer.singleShot(20, fill_in_the_form)
            return
        form.base.setCurrentText("tiny")
        form.dataset.setText(str(synthetic_file))
        form.name.setText("mine")
        form.steps.setValue(5)
        form.ddpm_steps.setValue(5)
        qtbot.mouseClick(form.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)

    QTimer.singleShot(0, fill_in_the_form)
    qtbot.mouseClick(w.runs.buttons["new"], Qt.LeftButton)          # returns when the form is accepted
    assert w.runs.selected_paths() == [str(w.runs_dir / "mine")]
    assert cell(w, "mine", "name") == "mine" and cell(w, "mine", "preset") == "tiny"
    assert cell(w, "old", "preset") == ""
    # a duplicate keeps it, and so does training (every status write keeps the key)
    qtbot.mouseClick(w.runs.buttons["duplicate"], Qt.LeftButton)
    assert cell(w, "mine-copy", "preset") == "tiny"
    click_row(qtbot, w, "mine")
    with qtbot.waitSignal(w.run_finished, timeout=60_000) as sig:
        qtbot.mouseClick(w.runs.buttons["start"], Qt.LeftButton)
    assert sig.args[1] == "finished"
    w.refresh()
    assert cell(w, "mine", "status") == "finished" and cell(w, "mine", "preset") == "tiny"
    # `lwd-studio train --preset NAME` records it too
    from lwd_studio.cli import main
    assert main(["train", "--preset", "tiny", "--dataset", str(synthetic_file), "--run-dir",
                 str(w.runs_dir / "from-cli"), "--set", "vae.steps=3", "--set", "ddpm.steps=3"]) == 0
    w.refresh()
    assert cell(w, "from-cli", "name") == "from-cli" and cell(w, "from-cli", "preset") == "tiny"


def test_a_run_keeps_its_row_and_its_curve_colour_as_runs_update(qtbot, window, synthetic_file):
    w = window
    for name in ("a", "b", "c"):
        RunDir(w.runs_dir / name).create(preset("tiny").replace(name=name, env_id="toy-maps",
                                                                data={"dataset": str(synthetic_file)}))
    w.refresh()
    order = list(w.runs._paths)
    click_row(qtbot, w, "a")
    qtbot.mouseClick(w.runs.table.viewport(), Qt.LeftButton, Qt.ControlModifier,
                     w.runs.table.visualRect(w.runs.model.index(order.index(str(w.runs_dir / "b")), 0)).center())
    colours = {p: w.losses.curves[(p, "mse")].opts["pen"].color().name() for p in w.losses.shown}
    assert len(colours) == 2 and len(set(colours.values())) == 2
    # the key under the curves says which colour is which run (a legend inside the plot covered the curves)
    assert w.losses.key.isVisible() and all(c in w.losses.key.text() for c in colours.values())
    assert sorted(Path(p).name for p in colours) == ["a", "b"] and " a" in w.losses.key.text() \
        and " b" in w.losses.key.text()
    assert not [it for it in w.losses.glw.scene().items() if isinstance(it, pg.LegendItem) and it.isVisible()]
    # "a" trains (its status and metrics files change): its row stays where it was
    with qtbot.waitSignal(w.run_finished, timeout=60_000):
        w.start_training(str(w.runs_dir / "a"), cfg=RunDir(w.runs_dir / "a").config().replace(
            vae={"steps": 3}, ddpm={"steps": 3}))
    w.refresh()
    assert w.runs._paths == order
    second = list(colours)[1]                  # drawn second beside the other, then alone: the same colour
    click_row(qtbot, w, second.rsplit("/", 1)[-1])
    assert w.losses.shown == [second] and w.losses.curves[(second, "mse")].opts["pen"].color().name() == \
        colours[second]
    assert not w.losses.key.isVisible()                 # one run: its name is the selected row


def test_a_long_finished_run_shows_its_whole_step_count(qtbot, window, synthetic_file):
    w = window
    run = RunDir(w.runs_dir / "long")
    run.create(preset("tiny").replace(name="long", env_id="toy-maps", data={"dataset": str(synthetic_file)}))
    run.set_status("finished", step=10000, total=10000)
    w.resize(1600, 950)                                   # wide enough that every column shows
    w.refresh()
    t = w.runs.table
    col = COLUMNS.index("steps")
    assert not t.isColumnHidden(col)
    text = cell(w, "long", "steps")
    assert text == "10000/10000"
    # the cell's text fits its column: the view elides nothing (Qt pads a cell by a few pixels each side)
    assert t.fontMetrics().horizontalAdvance(text) + 12 <= t.columnWidth(col)

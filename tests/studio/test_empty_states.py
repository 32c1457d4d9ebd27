"""Every empty panel says what comes next: the curves, the latent map, the Action horizons tab and the Behaviours tab,
before a run is selected, for a run not trained yet, and for several runs. Runs are chosen by clicking their rows,
tabs by clicking the tab bar."""
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from lwd_core.config import preset  # noqa: E402
from lwd_core.runs import RunDir  # noqa: E402
from lwd_studio.main_window import MainWindow  # noqa: E402


def text(item) -> str:
    return item.toPlainText() if item.isVisible() else ""


def click_row(qtbot, w, name, modifier=Qt.NoModifier):
    table = w.runs.table
    row = w.runs._paths.index(str(w.runs_dir / name))
    qtbot.mouseClick(table.viewport(), Qt.LeftButton, modifier, table.visualRect(w.runs.model.index(row, 0)).center())


def click_tab(qtbot, w, page):
    bar = w.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(w.tabs.indexOf(page)).center())
    assert w.tabs.currentWidget() is page


def test_each_empty_panel_says_what_comes_next(qtbot, tmp_path, synthetic_file):
    for name in ("new-a", "new-b"):
        cfg = preset("tiny").replace(name=name, env_id="toy-maps", data={"dataset": str(synthetic_file)})
        RunDir(tmp_path / "runs" / name).create(cfg)
    w = MainWindow(tmp_path / "runs", confirm=lambda t: True)
    qtbot.addWidget(w)
    w.resize(1024, 700)
    w.show()
    qtbot.waitExposed(w)
    try:
        # nothing selected
        assert "Select a trained run" in text(w.latents.placeholder)
        assert not any(c.isEnabled() for c in (w.latents.sample_btn, w.latents.pcx, w.latents.pcy))
        assert "select runs in the list" in text(w.losses.placeholder)
        click_tab(qtbot, w, w.horizons)
        assert "start a sweep" in text(w.horizons.placeholder) and "Start sweep runs" in w.horizons.status.text()
        click_tab(qtbot, w, w.behaviours)
        assert "Select a trained locomotion run" in text(w.behaviours.placeholder)
        # one run, not trained yet
        click_row(qtbot, w, "new-a")
        assert "not trained yet" in text(w.behaviours.placeholder) and not w.behaviours.roll_btn.isEnabled()
        click_tab(qtbot, w, w.latents)
        assert "no latents yet" in text(w.latents.placeholder) and "VAE phase" in text(w.latents.placeholder)
        assert "start the run" in text(w.losses.placeholder)
        # two runs
        click_row(qtbot, w, "new-b", Qt.ControlModifier)
        assert len(w.runs.selected_paths()) == 2
        assert "Select one run" in text(w.latents.placeholder)
        # none again
        w.runs.table.clearSelection()
        assert "Select a trained run" in text(w.latents.placeholder)
        assert not any(c.isEnabled() for c in (w.latents.sample_btn, w.latents.pcx, w.latents.pcy))
    finally:
        w.shutdown()


def test_a_saved_fig9_result_replaces_the_horizons_empty_state(qtbot, tmp_path):
    from tests.studio.test_horizons import _result
    w = MainWindow(tmp_path / "runs", confirm=lambda t: True)
    qtbot.addWidget(w)
    try:
        w.open_result(_result(tmp_path / "res"))
        assert w.tabs.currentWidget() is w.horizons and not w.horizons.placeholder.isVisible()
    finally:
        w.shutdown()

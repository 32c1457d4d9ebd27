"""The menu bar and the shortcuts, pressed for real: key clicks on the window, and menu items triggered through the
QAction their menu holds."""
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, QUrl, Slot  # noqa: E402
from PySide6.QtGui import QDesktopServices, QPalette  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QWidget,
    QAbstractButton,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialogButtonBox,
    QInputDialog,
    QLineEdit,
    QMessageBox,
)

from lwd_studio.main_window import MainWindow  # noqa: E402
from lwd_studio.views.run_form import RunForm  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path):
    """The real confirmation dialog (no `confirm` passed), and settings of its own."""
    w = MainWindow(tmp_path / "runs", settings=QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    activate(qtbot, w)
    yield w
    w.shutdown()
    w.menus.set_theme("system")


def menu_action(w, menu, text):
    """The QAction that the menu bar's `menu` holds for `text`."""
    m = next(a.menu() for a in w.menuBar().actions() if a.text().replace("&", "") == menu)
    found = {a.text(): a for a in m.actions()}
    for a in m.actions():
        if a.menu() is not None:
            found.update({b.text(): b for b in a.menu().actions()})
    return found[text]


def activate(qtbot, w):
    """Give the window back the focus a closed dialog took (a window manager does this; offscreen does not):
    shortcuts reach only the active window."""
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=2000)


def when_modal(kind, do):
    """Run do(dialog) once a modal dialog of `kind` is up."""
    def poll():
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, kind):
            QTimer.singleShot(20, poll)
            return
        do(dlg)
    QTimer.singleShot(0, poll)


def test_run_menu_and_shortcuts_follow_the_selection(qtbot, window, synthetic_file):
    w = window
    assert "No runs yet" in w.runs.hint.text() and w.runs.buttons["demo"].isDefault()
    run_items = ("Start", "Stop", "Resume", "Duplicate", "Rename…", "Delete…")
    assert not any(menu_action(w, "Run", t).isEnabled() for t in run_items)

    def fill_in(form):
        form.base.setCurrentText("tiny")
        form.dataset.setText(str(synthetic_file))
        form.name.setText("mine")
        form.steps.setValue(100_000)
        qtbot.mouseClick(form.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)
    when_modal(RunForm, fill_in)
    qtbot.keyClick(w, Qt.Key_N, Qt.ControlModifier)                  # returns once the form is accepted
    assert w.runs.selected_paths() == [str(w.runs_dir / "mine")]
    # the empty state is gone with the first run
    assert "No runs yet" not in w.runs.hint.text() and not w.runs.buttons["demo"].isDefault()
    assert "No runs yet" not in w.statusBar().currentMessage()
    enabled = {t: menu_action(w, "Run", t).isEnabled() for t in run_items}
    assert enabled == {"Start": True, "Stop": False, "Resume": False, "Duplicate": True, "Rename…": True,
                       "Delete…": True}
    assert all(w.runs.buttons[k].isEnabled() == menu_action(w, "Run", t).isEnabled()
               for k, t in (("start", "Start"), ("stop", "Stop"), ("delete", "Delete…")))
    # Start from the menu; Stop is enabled while it runs and stops it from the menu too
    with qtbot.waitSignal(w.training_started, timeout=5000):
        menu_action(w, "Run", "Start").trigger()
    assert menu_action(w, "Run", "Stop").isEnabled() and not menu_action(w, "Run", "Start").isEnabled()
    with qtbot.waitSignal(w.run_finished, timeout=30_000) as sig:
        menu_action(w, "Run", "Stop").trigger()
    assert sig.args[1] == "cancelled"
    w.refresh()
    assert menu_action(w, "Run", "Resume").isEnabled() and not menu_action(w, "Run", "Stop").isEnabled()
    menu_action(w, "Run", "Duplicate").trigger()
    assert (w.runs_dir / "mine-copy").is_dir() and w.runs.selected_paths() == [str(w.runs_dir / "mine-copy")]
    # F2 renames the selected run
    when_modal(QInputDialog, lambda d: (d.setTextValue("other"), d.accept()))
    activate(qtbot, w)
    qtbot.keyClick(w.runs.table, Qt.Key_F2)
    assert (w.runs_dir / "other").is_dir() and not (w.runs_dir / "mine-copy").exists()
    # Del asks first, and the question defaults to No: Return keeps the run
    asked = []

    def answer(box, key):
        asked.append((box.text(), box.defaultButton() is box.button(QMessageBox.No)))
        qtbot.keyClick(box, key)
    when_modal(QMessageBox, lambda b: answer(b, Qt.Key_Return))
    activate(qtbot, w)
    qtbot.keyClick(w.runs.table, Qt.Key_Delete)
    assert asked and "Delete other?" in asked[0][0] and asked[0][1]
    assert (w.runs_dir / "other").is_dir()
    when_modal(QMessageBox, lambda b: qtbot.mouseClick(b.button(QMessageBox.Yes), Qt.LeftButton))
    activate(qtbot, w)
    qtbot.keyClick(w.runs.table, Qt.Key_Delete)
    assert not (w.runs_dir / "other").exists()
    w.runs.table.clearSelection()
    assert not any(menu_action(w, "Run", t).isEnabled() for t in run_items)


def test_view_theme_colours_windows_and_plots(qtbot, window):
    w = window
    menu_action(w, "View", "Dark").trigger()
    assert QApplication.instance().palette().color(QPalette.Window).lightness() < 128
    for view in (w.latents.plot, w.losses.glw, w.horizons.abs_plot, w.behaviours.scatter):
        assert view.backgroundBrush().color().lightness() < 64
    assert w.latents.plot.getAxis("left").textPen().color().lightness() > 160
    assert w.settings.value("theme") == "dark"
    menu_action(w, "View", "Light").trigger()
    assert QApplication.instance().palette().color(QPalette.Window).lightness() > 128
    assert w.latents.plot.backgroundBrush().color().name() == "#ffffff"
    assert w.latents.plot.getAxis("left").textPen().color().name() == "#000000"
    assert menu_action(w, "View", "Light").isChecked() and not menu_action(w, "View", "Dark").isChecked()


def test_the_system_theme_follows_the_desktop_switching_to_dark_and_back(qtbot, window, monkeypatch):
    from lwd_studio import theme
    w = window
    hints = QApplication.instance().styleHints()
    menu_action(w, "View", "System").trigger()
    assert not theme.is_dark(QApplication.instance().palette())             # the offscreen desktop is light
    for scheme, dark in ((Qt.ColorScheme.Dark, True), (Qt.ColorScheme.Light, False)):
        monkeypatch.setattr(theme, "system_scheme", lambda s=scheme: s)
        hints.colorSchemeChanged.emit(scheme)
        assert theme.is_dark(QApplication.instance().palette()) == dark
        assert (w.latents.plot.backgroundBrush().color().lightness() < 64) == dark
    menu_action(w, "View", "Light").trigger()                                # a chosen theme stays put
    monkeypatch.setattr(theme, "system_scheme", lambda: Qt.ColorScheme.Dark)
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert not theme.is_dark(QApplication.instance().palette())


def test_space_plays_and_pauses_the_viewer_once_it_has_frames(qtbot, window):
    import numpy as np
    v = window.viewer
    play = menu_action(window, "View", "Play / pause rollout")
    assert not play.isEnabled() and not v.play_btn.isEnabled() and not v.export_btn.isEnabled()
    qtbot.keyClick(window, Qt.Key_Space)                 # nothing to play: nothing happens
    assert v.playing
    info = {"generation": None, "condition": "c", "seed": 0}
    v._on_rollout_started(info)                         # what the rollout lane sends, as a rollout starts
    v._on_frame_rendered(np.zeros((8, 8, 3), np.uint8), info)
    assert play.isEnabled() and v.play_btn.isEnabled() and v.export_btn.isEnabled()
    assert v.play_btn.text() == "Pause"
    qtbot.keyClick(window, Qt.Key_Space)
    assert not v.playing and v.play_btn.text() == "Play"
    qtbot.keyClick(window, Qt.Key_Space)
    assert v.playing and v.play_btn.text() == "Pause"
    v._on_frame_rendered(np.ones((8, 8, 3), np.uint8), info)
    v._on_rollout_finished({**info, "return": 1.0, "length": 1})   # shown to its last frame: the button offers Play
    assert v.pos == 1 and not v.playing and v.play_btn.text() == "Play"
    qtbot.keyClick(window, Qt.Key_Space)                 # and Space replays it from the start
    qtbot.waitUntil(lambda: v.pos == 1 and not v.playing, timeout=2000)
    assert v.play_btn.text() == "Play"


def test_help_opens_the_docs_and_about_names_the_versions(qtbot, window):
    from importlib import metadata
    opened = []

    class Catcher(QObject):
        @Slot(QUrl)
        def open(self, url):
            opened.append(url)
    catcher = Catcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        menu_action(window, "Help", "Documentation").trigger()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert len(opened) == 1
    path = opened[0].toLocalFile()
    assert path.endswith("site/index.html") or path.endswith("docs"), path
    text = []
    when_modal(QMessageBox, lambda b: (text.append(b.text()), b.accept()))
    menu_action(window, "Help", "About LWD Studio").trigger()
    for name, version in (("torch", metadata.version("torch")), ("MuJoCo", metadata.version("mujoco")),
                          ("PySide6", metadata.version("PySide6_Essentials")), ("LWD Studio", "0.1.0")):
        assert name in text[0] and version.split("+")[0] in text[0], (name, text[0])


def test_file_menu_opens_results_and_runs_folders_and_lists_them_as_recent(qtbot, window, tmp_path):
    import json

    from PySide6.QtWidgets import QFileDialog

    from lwd_core.studies.common import report_table
    w = window
    res = tmp_path / "fig8.json"
    res.write_text(json.dumps({"study": "fig8", "report": report_table("Fig. 8", ["window", "x"], [["a", 0.5]])}))
    when_modal(QFileDialog, lambda d: (d.selectFile(str(res)), d.accept()))
    menu_action(w, "File", "Open result…").trigger()
    assert len(w.compare_views) == 1 and w.compare_views[0].table.item(0, 0).text() == "0.500"
    other = tmp_path / "other-runs"
    (other / "r").mkdir(parents=True)
    when_modal(QFileDialog, lambda d: (d.selectFile(str(other)), d.accept()))
    menu_action(w, "File", "Open runs folder…").trigger()
    assert w.runs_dir == other and w.runs._paths == [str(other / "r")]
    recent = menu_action(w, "File", "Open recent").menu()
    recent.aboutToShow.emit()
    assert [a.toolTip() for a in recent.actions()] == [str(other), str(res)]
    recent.actions()[1].trigger()                                  # the result again, from the recent list
    assert len(w.compare_views) == 2


def test_every_control_has_a_tooltip(qtbot, window):
    """Every control the app made; Qt's own (a tab bar's scroll arrows, a toolbar's overflow button) are named or
    parented "qt_…", and a spin box's line edit or a combo box's view belong to their control."""
    kinds = (QAbstractButton, QComboBox, QAbstractSpinBox, QAbstractSlider, QLineEdit)

    def qt_own(c):
        return any(o is not None and o.objectName().startswith("qt_") for o in (c, c.parent()))
    def bare(root):
        return [f"{type(c).__name__} {getattr(c, 'text', lambda: '')()!r}" for c in root.findChildren(QWidget)
                if isinstance(c, kinds) and not c.toolTip() and not qt_own(c) and not isinstance(c.parent(), kinds)
                and type(c).__name__ != "QScrollBar"]
    assert bare(window) == []
    assert bare(RunForm(window.runs_dir, window)) == []                    # the New run form's own buttons too
    tabs = window.tabs
    assert all(tabs.tabToolTip(i) for i in range(tabs.count()))

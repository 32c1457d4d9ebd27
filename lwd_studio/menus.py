"""The main window's menu bar: File, Run, View and Help. The Run menu holds the runs panel's own actions (the ones
its buttons trigger), so a menu item and its button are enabled for the same selection and do the same thing."""
from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QObject, Qt, QUrl, qVersion
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from . import theme

MAX_RECENT = 8
REPO = Path(__file__).resolve().parent.parent      # docs/ and a built site/ sit here in a source checkout


def docs_url() -> QUrl | None:
    """The documentation to open: the site `mkdocs build` wrote, else the docs/ folder; None when the package is
    installed without them."""
    site = REPO / "site" / "index.html"
    if site.is_file():
        return QUrl.fromLocalFile(str(site))
    if (REPO / "docs" / "index.md").is_file():
        return QUrl.fromLocalFile(str(REPO / "docs"))
    return None


def versions() -> dict[str, str]:
    """Versions from the installed distributions' metadata: asking torch itself would import it here."""
    def dist(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"
    return {"LWD Studio": dist("lwd-studio"), "torch": dist("torch"), "MuJoCo": dist("mujoco"),
            "PySide6": f"{pyside_version} (Qt {qVersion()})", "Python": sys.version.split()[0]}


class AppMenus(QObject):
    """Builds the menu bar of `win` (a MainWindow) and owns its actions; `settings` keeps the recent files and
    the theme between sessions."""

    def __init__(self, win, settings):
        super().__init__(win)
        self.win = win
        self.settings = settings
        bar = win.menuBar()

        file = bar.addMenu("&File")
        self.open_result = self._action(file, "Open result…", self._on_open_result, QKeySequence.Open,
                                        "open a `reproduce` study result (table2.json, fig9.json, …)")
        self.open_runs = self._action(file, "Open runs folder…", self._on_open_runs, "Ctrl+Shift+O",
                                      "show the runs of another folder")
        self.recent = file.addMenu("Open recent")
        self.recent.setToolTipsVisible(True)
        self.recent.aboutToShow.connect(self._fill_recent)
        self._fill_recent()
        file.addSeparator()
        self.quit = self._action(file, "Quit", win.close, "Ctrl+Q", "close the app; running jobs are "
                                 "stopped, training at a resumable checkpoint")

        run = bar.addMenu("&Run")
        acts = win.runs.actions
        for keys in (("new", "demo"), ("start", "stop", "resume"), ("duplicate", "rename", "delete")):
            for k in keys:
                run.addAction(acts[k])
            run.addSeparator()
        self.stop_all = self._action(run, "Stop all jobs", self._stop_all, "Ctrl+Shift+.", "stop every background job: "
                                     "trainings at a resumable checkpoint, sweeps resumable, roll-outs unsaved")
        self.stop_all.setEnabled(False)
        win.jobs.changed.connect(lambda: self.stop_all.setEnabled(bool(win.jobs.running())))

        view = bar.addMenu("&View")
        themes = view.addMenu("Theme")
        self.theme_group = QActionGroup(self)
        self.themes: dict[str, QAction] = {}
        for name in theme.THEMES:
            a = themes.addAction(name.capitalize())
            a.setCheckable(True)
            a.setStatusTip(f"{name} colours, for the windows and the plots")
            a.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            self.theme_group.addAction(a)
            self.themes[name] = a
        view.addSeparator()
        self.play = self._action(view, "Play / pause rollout", win.viewer.toggle_play, Qt.Key_Space,
                                 "play or pause the MuJoCo view")
        self.play.setEnabled(bool(win.viewer.frames))
        win.viewer.playable.connect(self.play.setEnabled)

        helpm = bar.addMenu("&Help")
        self.docs = self._action(helpm, "Documentation", self.show_docs, QKeySequence.HelpContents,
                                 "open the documentation (the built site, else the docs/ folder)")
        self.about = self._action(helpm, "About LWD Studio", self.show_about, None,
                                  "versions of the app, torch, MuJoCo and PySide6")
        self.set_theme(str(settings.value("theme", "system")))
        theme.follow_system(self._on_system_scheme)

    def _action(self, menu, text, slot, shortcut, tip) -> QAction:
        a = menu.addAction(text)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.setStatusTip(tip)
        a.setToolTip(tip)
        a.triggered.connect(lambda _=False: slot())
        return a

    # --- File
    def _on_open_result(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.win, "Open study result", str(self.win.runs_dir),
                                              "study result (*.json)")
        if path:
            self.open_path(path)

    def _on_open_runs(self) -> None:
        path = QFileDialog.getExistingDirectory(self.win, "Open runs folder", str(self.win.runs_dir))
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> None:
        """A folder is a runs folder; a file is a study result. Either goes to the top of Open recent."""
        try:
            if Path(path).is_dir():
                self.win.set_runs_dir(path)
            else:
                self.win.open_result(path)
        except Exception as e:                 # a bad file is a message in the app, never a crash
            self.win.show_error(str(e).splitlines()[0] if str(e) else type(e).__name__)
            return
        self.remember(path)

    def remember(self, path: str) -> None:
        recent = [str(path)] + [p for p in self.recent_paths() if p != str(path)]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._fill_recent()

    def recent_paths(self) -> list[str]:
        v = self.settings.value("recent", [])
        return [v] if isinstance(v, str) else list(v or [])

    def _fill_recent(self) -> None:
        self.recent.clear()
        paths = [p for p in self.recent_paths() if Path(p).exists()]
        for p in paths:
            a = self.recent.addAction(("runs folder: " if Path(p).is_dir() else "") + Path(p).name)
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda _=False, q=p: self.open_path(q))
        self.recent.setEnabled(bool(paths))

    # --- Run
    def _stop_all(self) -> None:
        n = self.win.jobs.cancel_all()
        self.win.statusBar().showMessage(f"stopping {n} job{'s' if n != 1 else ''} after their current step…")

    # --- View
    def _on_system_scheme(self, _scheme) -> None:
        if self.themes["system"].isChecked():
            self.win.apply_theme("system")

    def set_theme(self, name: str) -> None:
        if name not in theme.THEMES:
            name = "system"
        self.themes[name].setChecked(True)
        self.settings.setValue("theme", name)
        self.win.apply_theme(name)

    # --- Help
    def show_docs(self) -> bool:
        url = docs_url()
        if url is None or not QDesktopServices.openUrl(url):
            self.win.show_error("the documentation is not installed with this copy: see the docs/ folder of "
                                "the source repository")
            return False
        self.win.statusBar().showMessage(f"opened {url.toLocalFile()}", 5000)
        return True

    def show_about(self) -> None:
        rows = "".join(f"<tr><td>{k}</td><td>&nbsp;{v}</td></tr>" for k, v in versions().items())
        QMessageBox.about(self.win, "About LWD Studio",
                          "<b>LWD Studio</b>: Latent Weight Diffusion (Hegde et al.), trained, evaluated and "
                          f"played in MuJoCo.<table>{rows}</table>")


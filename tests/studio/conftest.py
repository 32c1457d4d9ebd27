"""Keep the app's QSettings (recent files, theme) away from the user's own: the studio tests write them in a
temporary folder. Collect garbage on the GUI thread, as the app does."""
import gc

import pytest

pytest.importorskip("PySide6")
from PySide6.QtCore import QSettings  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _private_settings(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("qsettings"))
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, folder)
    yield


@pytest.fixture(autouse=True, scope="session")
def _garbage_on_the_gui_thread(qapp):
    """As in the app (MainWindow does the same): cyclic garbage, closed windows included, is freed on the GUI
    thread only, so that no worker thread destroys widgets."""
    from lwd_studio.workers import collect_garbage_on_gui_thread
    collect_garbage_on_gui_thread()
    yield


@pytest.fixture(autouse=True)
def _free_closed_windows():
    """Free each test's closed windows before the next test starts, on the GUI thread."""
    yield
    gc.collect()

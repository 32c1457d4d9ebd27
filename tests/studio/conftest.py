"""Keep the app's QSettings (recent files, theme) away from the user's own: the studio tests write them in a
temporary folder."""
import pytest

pytest.importorskip("PySide6")
from PySide6.QtCore import QSettings  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _private_settings(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("qsettings"))
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, folder)
    yield

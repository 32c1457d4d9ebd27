"""Light, dark or the system's look, for the widgets and for the pyqtgraph plots, which draw their own colours and
do not follow the Qt palette by themselves."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory, QWidget

THEMES = ("system", "light", "dark")
_system: tuple[str, QPalette] | None = None     # the style and palette the app started with


def _dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor("#2b2b2b"), QColor("#1e1e1e"), QColor("#e6e6e6")
    for role, c in ((QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
                    (QPalette.AlternateBase, QColor("#262626")), (QPalette.ToolTipBase, QColor("#3a3a3a")),
                    (QPalette.ToolTipText, text), (QPalette.Text, text), (QPalette.Button, QColor("#353535")),
                    (QPalette.ButtonText, text), (QPalette.BrightText, QColor("#ff6b6b")),
                    (QPalette.Highlight, QColor("#2f6db5")), (QPalette.HighlightedText, QColor("#ffffff")),
                    (QPalette.Link, QColor("#6aa9ff")), (QPalette.PlaceholderText, QColor("#8c8c8c")),
                    (QPalette.Light, QColor("#505050")), (QPalette.Midlight, QColor("#404040")),
                    (QPalette.Mid, QColor("#303030")), (QPalette.Dark, QColor("#1a1a1a")),
                    (QPalette.Shadow, QColor("#000000"))):
        p.setColor(role, c)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, QColor("#7a7a7a"))
    return p


def system_scheme() -> Qt.ColorScheme:
    """Light or dark, as the desktop says now (Unknown where the platform does not say)."""
    return QApplication.instance().styleHints().colorScheme()


def follow_system(slot) -> None:
    """Call slot(scheme) whenever the desktop switches between light and dark; `slot` is a QObject's method, so
    that the connection ends with its object."""
    QApplication.instance().styleHints().colorSchemeChanged.connect(slot)


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.Window).lightness() < 128


def plot_colors(palette: QPalette) -> tuple[str, str]:
    """(background, foreground) of the plots: white and black on a light palette, as the app always drew them."""
    return ("#1e1e1e", "#d0d0d0") if is_dark(palette) else ("w", "k")


def apply(name: str, roots: list[QWidget]) -> None:
    """Set the theme on the application, and on every plot under `roots` (windows); plots made later take it from
    pyqtgraph's config options, and style_plots() restyles a window opened later."""
    global _system
    if name not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, got {name!r}")
    app = QApplication.instance()
    if _system is None:
        _system = (app.style().name(), QPalette(app.palette()))
    if name == "system":
        scheme = system_scheme()
        if scheme == Qt.ColorScheme.Unknown or (scheme == Qt.ColorScheme.Dark) == is_dark(_system[1]):
            app.setStyle(QStyleFactory.create(_system[0]))
            palette = QPalette(_system[1])
        else:
            # the desktop switched between light and dark after start-up; its new palette cannot be read back once
            # the app has set one, so the matching one of ours stands in
            app.setStyle(QStyleFactory.create("Fusion"))
            palette = _dark_palette() if scheme == Qt.ColorScheme.Dark else app.style().standardPalette()
    else:
        # Fusion draws every palette colour it is given; native styles may ignore a dark palette
        app.setStyle(QStyleFactory.create("Fusion"))
        palette = _dark_palette() if name == "dark" else app.style().standardPalette()
    app.setPalette(palette)
    bg, fg = plot_colors(palette)
    pg.setConfigOptions(background=bg, foreground=fg)
    dim = "#9a9a9a" if is_dark(palette) else "#666666"
    banner = ("background: #4a2323; color: #f3c4c4; border: 1px solid #7a3a3a;" if is_dark(palette)
              else "background: #fdecea; color: #8a1c1c; border: 1px solid #f5c6cb;")
    app.setStyleSheet(f'QLabel[role="hint"] {{ color: {dim}; }}\n'
                      f'QLabel[role="banner"] {{ {banner} padding: 6px; }}')
    for root in roots:
        style_plots(root)


def style_plots(root: QWidget) -> None:
    """Background, axes, titles and legends of every pyqtgraph view under `root`, in the current theme's colours."""
    bg, fg = pg.getConfigOption("background"), pg.getConfigOption("foreground")
    for view in root.findChildren(pg.GraphicsView):
        view.setBackground(bg)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                item.setPen(fg)
                item.setTextPen(fg)
            elif isinstance(item, pg.LegendItem):
                item.setLabelTextColor(fg)
                if item.opts.get("brush") is not None:     # a filled legend keeps its text readable
                    fill = pg.mkColor(bg)
                    fill.setAlpha(215)
                    item.setBrush(fill)
            elif isinstance(item, pg.LabelItem):
                item.setText(item.text, color=fg)

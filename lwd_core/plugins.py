"""Registry discovery: every module of a registry's package is imported once, and so are the modules named in
LWD_PLUGINS (comma-separated), so a suite, collector, preset, method or study can live in a user's own package and
register itself there."""
from __future__ import annotations

import importlib
import os
import pkgutil
from types import ModuleType

from .errors import LWDError

_LOADED: set[str] = set()


def load_plugins() -> None:
    for name in (n.strip() for n in os.environ.get("LWD_PLUGINS", "").split(",")):
        if name and name not in _LOADED:
            _LOADED.add(name)
            try:
                importlib.import_module(name)
            except ImportError as e:
                raise LWDError(f"LWD_PLUGINS names {name!r}, which cannot be imported ({e})") from None


_DISCOVERED: set[str] = set()


def discover(package: ModuleType, skip: tuple[str, ...] = (), packages_only: bool = False) -> None:
    """Import every module (or sub-package) of `package` except `skip`, once, after the plugins."""
    if package.__name__ in _DISCOVERED:
        return
    _DISCOVERED.add(package.__name__)
    load_plugins()
    for m in pkgutil.iter_modules(package.__path__):
        if m.name not in skip and (m.ispkg or not packages_only):
            importlib.import_module(f"{package.__name__}.{m.name}")

"""Plugins: modules named in LWD_PLUGINS (comma-separated) are imported before any registry is read, so a suite,
collector, preset, method or study can live in a user's own package and register itself there."""
from __future__ import annotations

import importlib
import os

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

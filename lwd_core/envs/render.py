"""Rendering is set up only when frames are asked for, so headless commands never touch OpenGL.

MuJoCo picks its GL back-end when `mujoco` is first imported, from MUJOCO_GL: with it unset, nothing loads libEGL or
libGL until a renderer is created. A command that does render calls `require_gl()` before anything imports mujoco."""
from __future__ import annotations

import ctypes
import os
import sys

from ..errors import LWDError

_LIBS = {"egl": ("libEGL.so.1", "libEGL.so"), "osmesa": ("libOSMesa.so.8", "libOSMesa.so.6", "libOSMesa.so"),
         "glx": ("libGL.so.1", "libGL.so")}
_INSTALL = {"egl": "install libEGL (Debian: apt-get install libegl1 libgl1-mesa-dri)",
            "osmesa": "install OSMesa (Debian: apt-get install libosmesa6)",
            "glx": "install libGL and run under a display (Debian: apt-get install libgl1 xvfb)"}


def require_gl() -> str:
    """Choose MuJoCo's offscreen back-end (EGL unless MUJOCO_GL says otherwise) and check that its library loads.
    Raises one clear LWDError naming what to install instead of failing deep inside PyOpenGL."""
    backend = os.environ.get("MUJOCO_GL", "").lower().strip()
    if not backend:
        if "mujoco" in sys.modules:
            raise LWDError("rendering was requested after MuJoCo was loaded without a GL back-end; "
                           "set MUJOCO_GL=egl (or osmesa) before starting")
        backend = "egl"
        os.environ["MUJOCO_GL"] = backend
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    for name in _LIBS.get(backend, ()):
        try:
            ctypes.CDLL(name)
            return backend
        except OSError:
            continue
    if backend in _LIBS:
        raise LWDError(f"rendering needs OpenGL, but {_LIBS[backend][0]} (MUJOCO_GL={backend}) cannot be loaded: "
                       f"{_INSTALL[backend]}")
    return backend

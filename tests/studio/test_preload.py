"""The app imports at start-up what training imports, so a run's worker thread imports nothing new: an import holds
the GIL, and one on a worker thread froze the app's event loop for up to a third of a second (hypnettorch pulling in
matplotlib). Checked in a fresh interpreter, where nothing else has imported those packages yet."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import importlib.abc, json, sys, tempfile, threading
    from pathlib import Path
    from lwd_studio.workers import preload
    from tests.toy_suite import make_synthetic
    from lwd_core.config import preset
    from lwd_core.data.hdf5 import save_dataset
    from lwd_core.methods.registry import train_run
    tmp = Path(tempfile.mkdtemp())
    save_dataset(make_synthetic(), tmp / "d.h5")
    cfg = preset("tiny").replace(env_id="toy-maps", data={"dataset": str(tmp / "d.h5")}, vae={"steps": 3},
                                 ddpm={"steps": 3}, checkpoint_every=2)
    if sys.argv[1] == "preload":
        preload()
    imported = []

    class OnWorkerThreads(importlib.abc.MetaPathFinder):    # asked only for modules not imported yet
        def find_spec(self, name, path, target=None):
            if threading.current_thread() is not threading.main_thread() and "." not in name:
                imported.append(name)
            return None

    sys.meta_path.insert(0, OnWorkerThreads())
    t = threading.Thread(target=lambda: list(train_run(str(tmp / "run"), cfg)))
    t.start()
    t.join()
    print(json.dumps(imported))
""")


def _packages_a_training_thread_imports(mode: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True, timeout=240,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_after_preload_a_training_thread_imports_no_package():
    assert _packages_a_training_thread_imports("preload") == []
    # and the probe sees such imports when they happen: without the preload, training imports hypnettorch itself
    assert "hypnettorch" in _packages_a_training_thread_imports("none")

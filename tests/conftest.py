import os

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
# Under pytest-xdist (the README's command: one test process per core) each process, and every subprocess it starts,
# gets one torch thread: two 2-thread torch processes on 2 cores slow each other down far more than they gain.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the test-only demonstration suite (tests/toy_suite.py) registers itself in every process, subprocesses included
os.environ["LWD_PLUGINS"] = "tests.toy_suite"
os.environ["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                            os.environ.get("PYTHONPATH", "")])

from tests.toy_suite import make_synthetic  # noqa: E402,F401  (re-exported for the tests)


@pytest.fixture
def synthetic():
    return make_synthetic()


@pytest.fixture
def synthetic_file(tmp_path, synthetic):
    from lwd_core.data.hdf5 import save_dataset
    p = tmp_path / "synth.h5"
    save_dataset(synthetic, p)
    return p

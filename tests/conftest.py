import os

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
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

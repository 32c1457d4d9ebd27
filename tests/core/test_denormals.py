"""Training flushes subnormal floats to zero in every torch thread, so that Adam moments decaying towards zero do not
slow training down (see lwd_core/train/engine.py). Checked in a fresh process: the setting is per thread, and torch's
OpenMP threads only inherit it when they start after it."""
import subprocess
import sys

PROBE = """
import torch
torch.set_num_threads(2)
import lwd_core.train.engine  # noqa: F401
x = torch.full((4_000_000,), 1e-39)          # subnormal in float32; the multiply runs in both threads
print(int((x * 1.0).count_nonzero()))
"""


def test_subnormals_are_flushed_to_zero_in_every_training_thread():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) == 0

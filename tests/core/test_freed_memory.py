"""Training keeps freed memory in glibc's heap, so a step that frees and re-allocates a large gradient does not
page-fault its way through it again every step (see lwd_core/train/engine.py). Checked in a fresh process, whose
allocator settings are its own."""
import platform
import subprocess
import sys

PROBE = """
import resource
import torch
import lwd_core.train.engine as engine

def churn():
    x = torch.empty(16_000_000)              # 64 MB: above any mmap threshold glibc would pick by itself
    x.fill_(1.0)                             # touch every page
    del x

for _ in range(10):                          # the heap settles (blocks allocated in between move its top) first
    churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    churn()
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(engine.KEEPS_FREED_MEMORY, (after - before) / 5)
"""


def test_a_freed_gradient_sized_block_is_reused_without_page_faults():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    kept, faults_per_round = out.stdout.split()[-2:]
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert kept == "True"
        # 64 MB is 15,625 pages of 4 KB: returned to the system, every round would fault them all again
        assert float(faults_per_round) < 500, faults_per_round
    else:
        assert kept == "False"

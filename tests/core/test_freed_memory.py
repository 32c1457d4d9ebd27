"""Training keeps freed memory in glibc's heap, so a step that frees and re-allocates a large gradient does not
page-fault its way through it again every step (see lwd_core/train/engine.py). Checked in a fresh process, whose
allocator settings are its own."""
import os
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


GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def probe(**env) -> tuple[str, float]:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr[-2000:]
    kept, faults_per_round = out.stdout.split()[-2:]
    return kept, float(faults_per_round)


def test_a_freed_gradient_sized_block_is_reused_without_page_faults():
    kept, faults = probe()
    assert kept == str(GLIBC)
    if GLIBC:
        # 64 MB is 15,625 pages of 4 KB: returned to the system, every round would fault them all again
        assert faults < 500, faults


def test_the_setting_can_be_turned_off_and_then_the_faults_come_back():
    kept, faults = probe(LWD_KEEP_FREED_MEMORY="0")
    assert kept == "False"
    if GLIBC:            # the probe sees the faults the setting saves: glibc maps and unmaps the block every round
        assert faults > 10_000, faults

"""Units for the scheduling tests: each sleeps, and leaves when it started and ended in a file of its own, so a test
can read what ran at the same time as what."""
import json
import time
from pathlib import Path


def nap(name: str, seconds: float, log_dir: str, cancel=lambda: False):
    start = time.time()
    yield from ()                                   # a unit is a generator
    time.sleep(seconds)
    Path(log_dir, f"{name}.json").write_text(json.dumps({"start": start, "end": time.time()}))
    return name

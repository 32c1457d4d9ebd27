"""Progress of a long command: tqdm bars on a terminal; on a pipe or a file, one plain line every few seconds and a
last one at the end, so that a log keeps a readable history instead of a carriage-return frame per update."""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, TextIO

from tqdm import tqdm

INTERVAL = 5.0                     # seconds between two plain lines
# tqdm's own line without the bar: "eval: 40%| 2/5 [00:03<00:04, 1.52cond/s, cond=b1]"
PLAIN_FORMAT = "{l_bar} {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


def is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):          # no isatty(), or a closed stream
        return False


class PlainProgress:
    """What drive() uses of a tqdm bar (n, update, set_postfix, close), writing whole lines to a stream that is not
    a terminal: one when `interval` seconds have passed since the last (or since the start), and one on close
    unless the last line already said it all. `clock` is injectable for tests."""

    def __init__(self, total: float, desc: str = "", unit: str = "it", initial: float = 0, file: TextIO | None = None,
                 interval: float = INTERVAL, clock: Callable[[], float] = time.monotonic):
        self.total, self.desc, self.unit, self.initial = total, desc, unit, initial
        self.n = initial
        self.file = file if file is not None else sys.stderr
        self.interval, self.clock = interval, clock
        self.start = self.last = clock()
        self.postfix = ""
        self.written: tuple | None = None             # (n, postfix) of the last line written

    def set_postfix(self, ordered_dict: dict | None = None, refresh: bool = True, **kwargs) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in {**(ordered_dict or {}), **kwargs}.items())

    def update(self, n: float = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self.last >= self.interval:
            self._write(now)

    def close(self) -> None:
        if self.written != (self.n, self.postfix):
            self._write(self.clock())

    def _write(self, now: float) -> None:
        self.last, self.written = now, (self.n, self.postfix)
        # evaluation counts conditions in fractions: 1.6666666666666667 would be noise in a log
        n = int(self.n) if float(self.n).is_integer() else round(self.n, 2)
        line = tqdm.format_meter(n, self.total, now - self.start, prefix=self.desc, unit=self.unit,
                                 postfix=self.postfix, bar_format=PLAIN_FORMAT, initial=self.initial)
        print(line, file=self.file, flush=True)


def progress_bar(total: float, desc: str, unit: str, initial: float = 0, file: TextIO | None = None,
                 clock: Callable[[], float] | None = None) -> tqdm | PlainProgress:
    """A tqdm bar where `file` (default stderr) is a terminal, else a PlainProgress."""
    file = file if file is not None else sys.stderr
    if is_terminal(file):
        return tqdm(total=total, desc=desc, unit=unit, initial=initial, file=file)
    return PlainProgress(total, desc, unit, initial, file, clock=clock or time.monotonic)

"""Progress output: tqdm bars on a terminal; on a pipe or a file, one plain line every few seconds and the last,
never one update written twice. Time is a fake clock, so nothing sleeps."""
import io

from tqdm import tqdm

from lwd_core.eval.evaluate import EvalProgress
from lwd_core.train.engine import StepRecord
from lwd_studio.cli.common import drive
from lwd_studio.cli.progress import INTERVAL, PlainProgress, progress_bar


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def training(clock: Clock, n: int, dt: float):
    """A training phase of n steps, dt seconds each, as lwd_core's loops yield it."""
    for i in range(1, n + 1):
        clock.now += dt
        yield StepRecord("vae", i, n, 0.0, {"vae_loss": 1.0 / i, "kl": 3.0})
    return "finished"


def test_piped_progress_is_one_plain_line_every_few_seconds_and_the_last():
    clock, err = Clock(), io.StringIO()
    assert drive(training(clock, 100, 0.5), file=err, clock=clock) == "finished"
    text = err.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and "\x1b" not in text
    # the bar starts at step 1; a line each time INTERVAL (5 s = 10 steps) has passed since the last, then the last
    expected = list(range(1 + int(INTERVAL / 0.5), 100, int(INTERVAL / 0.5))) + [100]
    assert [int(ln.split("| ")[1].split("/")[0]) for ln in lines] == expected, text
    assert len(set(lines)) == len(lines)
    assert lines[0].startswith("vae:  11%| 11/100 [") and "vae_loss=0.09091" in lines[0]   # that step's own loss
    assert "kl=" not in text and lines[-1].startswith("vae: 100%| 100/100 [") and "vae_loss=0.01" in lines[-1]


def test_a_short_phase_piped_is_one_line():
    clock, err = Clock(), io.StringIO()
    drive(training(clock, 20, 0.01), file=err, clock=clock)
    assert err.getvalue().count("\n") == 1 and "20/20" in err.getvalue()


def test_evaluation_counts_in_fractions_print_rounded():
    clock, err = Clock(), io.StringIO()

    def evaluation():
        for done in (0.5, 1 / 3 + 1, 2.0):
            clock.now += INTERVAL
            yield EvalProgress("b0", "lwd", done, 4, None, 0.0)
    drive(evaluation(), desc="eval", file=err, clock=clock)           # the bar starts at 0.5: no line for it
    assert [ln.split("| ")[1].split(" ")[0] for ln in err.getvalue().splitlines()] == ["1.33/4", "2/4"]


def test_a_terminal_gets_a_tqdm_bar_drawn_once_per_update_at_most():
    assert isinstance(progress_bar(10, "x", "step", file=io.StringIO()), PlainProgress)
    bar = progress_bar(10, "x", "step", file=Terminal())
    assert isinstance(bar, tqdm)
    bar.close()
    tty = Terminal()
    drive(training(Clock(), 200, 0.0), file=tty)
    frames = [f for f in tty.getvalue().split("\r") if f.strip()]
    # each step used to be drawn twice (update, then set_postfix); now tqdm draws at most one frame per 0.1 s
    assert 2 <= len(frames) < 50 and frames[-1].startswith("vae: 100%|#") and "200/200" in frames[-1]

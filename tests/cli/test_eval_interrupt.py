"""An evaluation stopped by Ctrl-C or SIGTERM says so in one line and exits 130 or 143, and its worker processes
neither die of a Ctrl-C meant for the main process nor pass for dead when a signal stopped them. An evaluation
stopped at its first step also tells how many torch threads it runs its inference on."""
import os
import signal
import time
from types import SimpleNamespace

import pytest

from lwd_core.envs.registry import get_suite
from lwd_core.errors import Interrupted, LWDError
from lwd_core.eval import evaluate
from lwd_core.eval.parallel import EnvPool, _death
from lwd_studio.cli import main
from tests.helpers import toy_run
from tests.toy_suite import ENV_ID


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return toy_run(tmp_path_factory.mktemp("interrupt"))


class NotHandled(Exception):
    """Raised by the test's own SIGTERM handler, should `eval` not install one (rather than killing pytest)."""


def stop_by_ctrl_c(*a, **k):
    raise KeyboardInterrupt


def stop_by_sigterm(*a, **k):
    os.kill(os.getpid(), signal.SIGTERM)
    deadline = time.monotonic() + 10          # the handler runs in this thread, at the latest during the sleeps
    while time.monotonic() < deadline:
        time.sleep(0.01)
    raise AssertionError("SIGTERM did not interrupt the evaluation")


def stop_by_sigterm_to_a_worker(*a, **k):
    raise Interrupted("SIGTERM to an environment worker process", signal.SIGTERM)


@pytest.mark.parametrize("stop, rc, how", [(stop_by_ctrl_c, 130, "Ctrl-C"), (stop_by_sigterm, 143, "SIGTERM"),
                                           (stop_by_sigterm_to_a_worker, 143,
                                            "SIGTERM to an environment worker process")])
def test_an_interrupted_eval_says_so_in_one_line(run, capsys, monkeypatch, stop, rc, how):
    monkeypatch.setattr(evaluate, "rollout_pool_steps", stop)

    def not_handled(signum, frame):
        raise NotHandled
    before = signal.signal(signal.SIGTERM, not_handled)
    try:
        got = main(["eval", str(run), "--episodes", "2", "--workers", "1"])
        assert signal.getsignal(signal.SIGTERM) is not_handled          # eval put the handler back
    finally:
        signal.signal(signal.SIGTERM, before)
    err = capsys.readouterr().err
    assert (got, err) == (rc, f"lwd-studio: evaluation interrupted by {how}\n")
    assert not (run / "eval" / "eval_seed0.json").exists()


def test_workers_ignore_ctrl_c_and_one_stopped_by_sigterm_reads_as_an_interruption():
    with EnvPool(get_suite(ENV_ID), workers=2) as pool:
        pool.open("b0", 4)
        worker = pool._procs[0]
        os.kill(worker.pid, signal.SIGINT)             # a terminal's Ctrl-C reaches the whole process group
        assert pool.reset(range(4)).shape[0] == 4 and worker.is_alive()
        os.kill(worker.pid, signal.SIGTERM)
        worker.join(30)
        with pytest.raises(Interrupted, match="interrupted by SIGTERM to an environment worker process"):
            pool.reset(range(4))


@pytest.mark.parametrize("code, message", [(-signal.SIGKILL, "died (killed by SIGKILL, perhaps for lack of memory)"),
                                           (1, "died (exit code 1)")])
def test_a_worker_that_died_otherwise_is_still_a_dead_worker(code, message):
    err = _death(SimpleNamespace(join=lambda timeout: None, exitcode=code))
    assert isinstance(err, LWDError) and not isinstance(err, Interrupted)
    assert str(err) == f"an environment worker process {message}"


@pytest.mark.parametrize("flags, want", [(["--workers", "1"], 1), ([], 2)])
def test_eval_runs_its_inference_on_no_more_threads_than_workers(run, monkeypatch, flags, want):
    """More torch threads than the cores asked for spin against whatever else runs there: `eval --workers 1` beside
    a one-thread training once ran several times slower than alone. Without --workers, torch keeps its own count."""
    import torch
    seen = []

    def record(*a, **k):
        seen.append(torch.get_num_threads())
        raise KeyboardInterrupt
    monkeypatch.setattr(evaluate, "rollout_pool_steps", record)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert main(["eval", str(run), "--episodes", "2", *flags]) == 130
    finally:
        torch.set_num_threads(before)
    assert seen == [want]

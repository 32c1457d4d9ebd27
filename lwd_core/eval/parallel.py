"""Episodes stepped in lock-step across worker processes.

The main process computes every episode's action in one batched call (for LWD: one matmul per layer over all
generated policies), then each worker steps its share of the environments. The first share is stepped by the main
process itself while the other workers step theirs, so N workers are N - 1 spawned processes plus this one: no
core waits on a process that only relays messages. Every episode is seeded on its own, so results do not depend on
the number of workers. Workers are spawned, not forked: the parent may hold torch threads or a Qt event loop.

Workers ignore Ctrl-C. A terminal sends SIGINT to the whole process group, and the main process alone decides what
it means (stop now, or finish the step first), then closes its workers; a worker that died of it would make the
main process report a dead worker instead of an interruption.

One batch may mix conditions (evaluation steps every condition's episodes at once), and episodes are dealt to the
shards in turn rather than in blocks: fewer, larger messages per control step, and no shard left holding only the
slow tasks."""
from __future__ import annotations

import multiprocessing as mp
import signal
import threading
from typing import Any, Sequence

import numpy as np

from ..errors import Interrupted, LWDError
from ..types import EnvSuite


class _Shard:
    """The environments of one worker (or of this process), and their scripted experts when asked for."""

    def __init__(self, suite: EnvSuite):
        self.suite = suite
        self.cache: dict[str, list] = {}          # condition -> envs, reused across calls
        self.envs: list = []
        self.experts: list = []
        self.obs: np.ndarray | None = None

    def open(self, conditions: Sequence[str], experts: bool) -> None:
        """One environment per slot, of that slot's condition, reused from earlier calls where possible."""
        used: dict[str, int] = {}
        self.envs = []
        for c in conditions:
            envs, i = self.cache.setdefault(c, []), used.get(c, 0)
            if i == len(envs):
                envs.append(self.suite.make(c))
            self.envs.append(envs[i])
            used[c] = i + 1
        self.experts = [self.suite.expert(c) for c in conditions] if experts else []

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        for e in self.experts:
            e.reset()
        self.obs = np.stack([e.reset(seed=int(s))[0] for e, s in zip(self.envs, seeds)]) if self.envs else None
        return self.obs

    def step(self, actions: np.ndarray | None, alive: np.ndarray) -> tuple:
        if actions is None:                        # the scripted experts act, here beside their envs
            actions = np.stack([x.act(o) for x, o in zip(self.experts, self.obs)]).astype(np.float32)
        k = len(self.envs)
        rew, term, trunc, succ = np.zeros(k), np.zeros(k, bool), np.zeros(k, bool), np.zeros(k, bool)
        for i in np.flatnonzero(alive):
            o, r, te, tr, info = self.envs[i].step(actions[i])
            self.obs[i] = o
            rew[i], term[i], trunc[i] = r, te, tr
            succ[i] = bool(info.get("success", info.get("is_success", False)))
        return self.obs.copy(), rew, term, trunc, succ, actions

    def stats(self) -> list[dict]:
        """Each env's statistics of its current episode (suites whose envs offer `episode_stats()`)."""
        return [e.episode_stats() if hasattr(e, "episode_stats") else {} for e in self.envs]

    def close(self) -> None:
        for envs in self.cache.values():
            for e in envs:
                e.close()
        self.cache.clear()


def _worker(conn, suite: EnvSuite) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # already so when the pool was made in the main thread
    shard = _Shard(suite)
    try:
        while True:
            cmd, args = conn.recv()
            if cmd == "close":
                break
            try:
                conn.send(("ok", getattr(shard, cmd)(*args)))
            except Exception as e:  # reported to the main process, which raises it as one line
                conn.send(("error", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"))
    except (EOFError, KeyboardInterrupt):
        pass
    finally:
        shard.close()


def _start_ignoring_sigint(proc) -> None:
    """Start a worker with SIGINT ignored from its first instruction (a spawned interpreter keeps an ignored SIGINT
    ignored), so a Ctrl-C while it imports cannot kill it either. Only the main thread may change a signal handler;
    a pool made in another thread (the app's) leaves it to _worker. A Ctrl-C during start() itself is lost."""
    if threading.current_thread() is not threading.main_thread():
        proc.start()
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc.start()
    finally:
        signal.signal(signal.SIGINT, old if old is not None else signal.default_int_handler)


def _death(proc) -> LWDError:
    """Why a worker's pipe closed: a signal from outside (SIGTERM or SIGHUP to the process group, say) is an
    interruption, anything else a dead worker."""
    proc.join(timeout=5)
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:                         # a real-time signal, say
            name = f"signal {-code}"
        if -code in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            return Interrupted(f"{name} to an environment worker process", -code)
        hint = ", perhaps for lack of memory" if -code == signal.SIGKILL else ""
        return LWDError(f"an environment worker process died (killed by {name}{hint})")
    return LWDError("an environment worker process died" + (f" (exit code {code})" if code is not None else ""))


class EnvPool:
    """A batch of episodes (of one condition or several) spread over `workers` processes; episode i is stepped by
    shard i % workers."""

    def __init__(self, suite: EnvSuite, workers: int = 1):
        self.suite, self.workers = suite, max(1, int(workers))
        self._local = _Shard(suite)                # shard 0, stepped here
        self._procs: list = []
        self._conns: list = []                     # shards 1.. in worker processes
        self._split: list[np.ndarray] = []        # shard -> its episodes' indices in the batch
        if self.workers > 1:
            ctx = mp.get_context("spawn")
            for _ in range(self.workers - 1):
                a, b = ctx.Pipe()
                p = ctx.Process(target=_worker, args=(b, suite), daemon=True)
                _start_ignoring_sigint(p)
                self._procs.append(p)
                self._conns.append(a)

    def __enter__(self) -> "EnvPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, cmd: str, per_shard: list[tuple], shards: list[int] | None = None) -> list[Any]:
        """Run cmd on the given shards (default: all), each with its own arguments, and gather the answers in shard
        order: the workers' shards are sent first, then shard 0 runs here while they work."""
        shards = list(range(self.workers)) if shards is None else shards
        remote = [i for i in shards if i > 0]
        for i, args in zip(shards, per_shard):
            if i > 0:
                try:
                    self._conns[i - 1].send((cmd, args))
                except OSError:                   # BrokenPipeError: it died since the last call
                    raise _death(self._procs[i - 1]) from None
        out = [getattr(self._local, cmd)(*per_shard[0])] if shards and shards[0] == 0 else []
        for i in remote:
            try:
                status, value = self._conns[i - 1].recv()
            except EOFError:                      # it died during this call
                raise _death(self._procs[i - 1]) from None
            if status == "error":
                raise LWDError(f"environment worker: {value}")
            out.append(value)
        return out

    def open(self, conditions: str | Sequence[str], n: int | None = None, experts: bool = False) -> None:
        """Make (or reuse) one environment per episode: `open("push-v3", 10)` or one condition name per episode,
        `open(["reach-v3", "reach-v3", "push-v3"])`. experts=True also gives each its scripted expert."""
        conds = [conditions] * int(n) if isinstance(conditions, str) else list(conditions)
        self.n = len(conds)
        self._split = [np.arange(i, self.n, self.workers) for i in range(self.workers)]
        self._busy = [i for i, idx in enumerate(self._split) if len(idx)]   # fewer episodes than workers: some idle
        self._call("open", [([conds[j] for j in self._split[i]], experts) for i in self._busy], self._busy)

    def _gather(self, parts: list[np.ndarray]) -> np.ndarray:
        """Shard-ordered answers -> one array in episode order."""
        out = np.empty((self.n,) + parts[0].shape[1:], parts[0].dtype)
        for i, p in zip(self._busy, parts):
            out[self._split[i]] = p
        return out

    def reset(self, seeds: Sequence[int]) -> np.ndarray:
        seeds = np.asarray(seeds, dtype=np.int64)
        out = self._call("reset", [([int(s) for s in seeds[self._split[i]]],) for i in self._busy], self._busy)
        return self._gather(out)                                                     # (n, obs_dim)

    def step(self, actions: np.ndarray | None, alive: np.ndarray):
        """actions (n, act_dim), or None for the scripted experts -> obs, reward, terminated, truncated,
        success, the actions taken; envs that are not alive do not step."""
        out = self._call("step", [(None if actions is None else actions[self._split[i]], alive[self._split[i]])
                                  for i in self._busy], self._busy)
        return tuple(self._gather([o[j] for o in out]) for j in range(6))

    def stats(self) -> list[dict]:
        """Per episode (in episode order): its env's statistics, e.g. {"foot_contact": [...]} for locomotion."""
        parts = self._call("stats", [() for _ in self._busy], self._busy)
        out: list[dict] = [{} for _ in range(self.n)]
        for i, p in zip(self._busy, parts):
            for j, s in zip(self._split[i], p):
                out[j] = s
        return out

    def close(self) -> None:
        self._local.close()
        for c in self._conns:
            try:
                c.send(("close", ()))
            except (BrokenPipeError, OSError):
                pass
        for p in self._procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
        self._procs, self._conns = [], []

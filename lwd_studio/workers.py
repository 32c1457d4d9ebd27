"""Background work for the app: the thread that runs a job's lwd_core generator (jobs.py starts and tracks every
job), the jobs' generators, and the rollout thread owning the envs. Workers talk to the GUI only through queued
signals. Views never call torch; these workers do."""
from __future__ import annotations

import gc
import os
import queue
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
from PySide6.QtCore import QThread, Signal


def preload() -> None:
    """Import the heavy modules once on the GUI thread at start-up. An import in a worker thread holds
    the GIL for tens of milliseconds (hypnettorch pulls in matplotlib), which would stall the event loop;
    warm_up imports every method's training and inference code and takes one tiny training step."""
    import sklearn.decomposition  # noqa: F401

    import lwd_core.demo  # noqa: F401
    import lwd_core.eval.evaluate  # noqa: F401
    import lwd_core.eval.latents  # noqa: F401
    import lwd_core.eval.play  # noqa: F401
    from lwd_core.envs.registry import suite_names
    from lwd_core.methods.registry import warm_up
    suite_names()                         # import every registered suite module now
    warm_up()
    _freeze_what_lives_for_good()


def _freeze_what_lives_for_good() -> None:
    """Move every object alive after the start-up imports (about 400k: modules, functions, classes) out of the
    garbage collector's reach, once per process. Each full collection scanned them all: 215 ms on the GUI thread
    (collect_garbage_on_gui_thread), about 300 ms with the other core busy, and the event loop froze for as long.
    Frozen, a full collection scans only what the app made since: under a millisecond right after start-up."""
    if gc.get_freeze_count() == 0:
        gc.collect()                      # what is garbage now is not kept for good
        gc.freeze()


_gui_gc = None


def collect_garbage_on_gui_thread() -> None:
    """Run Python's cyclic garbage collector only on the GUI thread, on a 1 s timer (pyqtgraph's GarbageCollector).

    Left automatic, a collection runs in whichever thread happens to allocate, often a worker, and then destroys
    the Qt widgets of a closed window there. Destroying a QObject locks its connections and calls back into
    Python, while the GUI thread may hold the GIL and wait for that same lock: the app then hangs for good
    (seen in the test suite: a worker freeing a closed window's menus while the GUI thread freed another's)."""
    global _gui_gc
    if _gui_gc is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector
        _gui_gc = GarbageCollector(interval=1.0)


# How long a cancelled training or study may take to save its resumable state: one training step and a checkpoint
# are well under this on a CPU, and shutdown() promises to return within 5 s.
CANCEL_GRACE_S = 3.0


class GeneratorWorker(QThread):
    """Iterate a generator in a thread. `make(cancel)` builds it; cancel() stops it between items.

    `grace_s`: how long after cancel() a generator that honours `cancel` itself may go on, so that it ends on
    its own terms (training saves a resumable checkpoint and yields a "cancelled" record; a study stops at its
    next step). A generator that ignores `cancel` (grace_s=0, the default) is closed at its next item, which
    runs its `finally` blocks and leaves no partial file behind (every file is written atomically at the end)."""

    item_produced = Signal(object)
    work_finished = Signal(str)          # final status: "finished" or "cancelled"
    work_failed = Signal(str)            # one-line message

    def __init__(self, make: Callable[[Callable[[], bool]], Iterator], parent=None, grace_s: float = 0.0):
        super().__init__(parent)
        self._make = make
        self._cancel = threading.Event()
        self._cancelled_at: float | None = None
        self.grace_s = grace_s
        self.status = "running"

    def cancel(self) -> None:
        if self._cancelled_at is None:
            self._cancelled_at = time.monotonic()
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _past_grace(self) -> bool:
        return self._cancelled_at is not None and time.monotonic() - self._cancelled_at >= self.grace_s

    def run(self) -> None:
        status = "finished"
        gen = None
        try:
            gen = self._make(self._cancel.is_set)
            for item in gen:
                self.item_produced.emit(item)
                if getattr(item, "status", None) == "cancelled":
                    status = "cancelled"
                if self._cancel.is_set() and self._past_grace():
                    status = "cancelled"
                    break
            gen.close()
        except Exception as e:  # the app must survive any training failure
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            self.status = "failed"
            if os.environ.get("LWD_DEBUG"):
                traceback.print_exc()
            self.work_failed.emit(f"{type(e).__name__}: {msg}")
            return
        self.status = status
        self.work_finished.emit(status)


def study_steps(name: str, out, quick: bool = False, seeds: int | None = None, episodes: int | None = None,
                options: dict | None = None, workers: int | None = None):
    """A registered study (`reproduce NAME`) as a job: `make(cancel)` for JobManager.start (with CANCEL_GRACE_S,
    as it honours cancel itself). Stopping it leaves it resumable: starting it again on the same folder reuses
    what it finished."""
    def make(cancel):
        from lwd_core.envs.collect import check_workers
        from lwd_core.studies.common import StudyEvent
        from lwd_core.studies.registry import StudyArgs, get_study
        st = get_study(name)
        args = StudyArgs(out, quick, seeds or st.default("seeds"), episodes or st.default("episodes"),
                         check_workers(workers), {**{k: d for k, (_, d, _) in st.options.items()}, **(options or {})},
                         cancel)
        st.validate(args)
        res = yield from st.run(args)
        if not res.ok:
            yield StudyEvent(f"{name} stopped; start it again to resume", status="cancelled")
    return make


def evaluation_steps(run_dir: str, episodes: int, kinds, out_path, workers: int | None = None):
    """Evaluate a run's policy kinds (None: all of them, with the suite's expert) with its own eval settings and
    `episodes` per condition, as a job (`make(cancel)` for JobManager.start); the result is written (atomically)
    to out_path once every episode has run, so a cancelled evaluation leaves no file."""
    def make(cancel):
        import dataclasses

        from lwd_core.eval.evaluate import evaluate_run
        from lwd_core.io import atomic_write_json
        from lwd_core.runs import RunDir
        ecfg = dataclasses.replace(RunDir(run_dir).config().eval, episodes=int(episodes))
        res: dict = {}
        yield from evaluate_run(run_dir, ecfg, None, tuple(kinds) if kinds else None, workers, result=res)
        os.makedirs(os.path.dirname(os.fspath(out_path)), exist_ok=True)
        atomic_write_json(out_path, res)
    return make


def play_seed(env_id: str) -> int:
    """A random held-out start state of the viewer's own stream; keys below 10^6 keep the seed within the 64 bits
    a Qt signal carries."""
    from lwd_core.envs.registry import get_suite
    from lwd_core.seeds import suite_start_seed
    return suite_start_seed(get_suite(env_id), "play", 0, int(np.random.randint(0, 1_000_000)))


@dataclass
class RolloutJob:
    run_dir: str
    condition: str
    seed: int
    latent: np.ndarray | None = None     # (latent_dim,) to decode, for runs with a latent map; None = the run's policy
    label: str = ""
    kind: str = ""                       # with latent=None: the policy kind to play ("": the method's first)
    episode: int | None = None           # the demonstration a latent map point encodes (names exported videos)


@dataclass
class PlayJob:
    """Play a trained run's policy kind at action horizon H_a (the horizon view's points)."""
    run_dir: str
    kind: str
    horizon: int
    seed: int | None = None              # None: a held-out start state at random
    perturb: bool = False
    label: str = ""


class RolloutService(QThread):
    """One long-lived thread that owns the rendering envs (an EGL context belongs to its thread) and the
    loaded run. Jobs: prepare a run (load it, build its latent map, warm an env) and roll out a latent.

    Every request takes a new generation number. A rollout plays only while its generation is the newest: a
    newer request (another click, a run selected, samples asked for) stops it between steps, and a rollout still
    queued behind a newer request is dropped unplayed. Its signals carry its generation, so a view can ignore
    whatever a superseded rollout emitted before it stopped."""

    run_loaded = Signal(dict)            # {"run_dir", "env_id", "conditions", "kinds", "latent_map": bool, "method"}
    map_ready = Signal(object)           # LatentMap, for runs whose method has a latent space
    samples_ready = Signal(object)       # (z (n, D), cond ids (n,))
    frame_rendered = Signal(object, dict)  # frame (H, W, 3) uint8, {"t", "return", "success"}
    rollout_started = Signal(dict)
    rollout_finished = Signal(dict)
    envs_warmed = Signal(str)            # run dir: every condition's renderer is ready
    service_failed = Signal(str)

    def __init__(self, parent=None, width: int = 480, height: int = 360):
        super().__init__(parent)
        self._jobs: queue.Queue = queue.Queue()
        self._generation = 0                 # written by the GUI thread only; an int read is atomic
        self._trained = None
        self._run_dir = ""
        self._partial = False                # the loaded run lacks its diffusion model (latent_preview.py)
        self._envs: dict[str, object] = {}
        self.size = (width, height)
        self.max_steps: int | None = None    # None: the env's own episode length
        self.frame_every = 2                 # render every 2nd step: MT10 renders at ~12 frames/s on a CPU

    # --- called from the GUI thread
    def _request(self, kind: str, arg) -> int:
        self._generation += 1
        self._jobs.put((kind, self._generation, arg))
        return self._generation

    def prepare(self, run_dir: str) -> int:
        return self._request("prepare", run_dir)

    def preview(self, run_dir: str) -> int:
        """Like prepare, for an LWD run whose latents exist but whose diffusion model is still training."""
        return self._request("preview", run_dir)

    def sample(self, run_dir: str, per_condition: int = 8) -> int:
        # one thread owns the run: this stops the rollout in progress (its frames stay replayable)
        return self._request("sample", (run_dir, per_condition))

    def roll(self, job: RolloutJob) -> int:
        return self._request("roll", job)

    def play(self, job: PlayJob) -> int:
        return self._request("play", job)

    def stop(self, wait_ms: int = 10_000) -> bool:
        """Stop the rollout in progress and end the thread; False when it is still busy after wait_ms."""
        self._request("quit", None)
        return self.wait(wait_ms)

    def _superseded(self, generation: int) -> bool:
        return generation != self._generation

    # --- the thread
    def run(self) -> None:
        try:
            while True:
                kind, generation, arg = self._jobs.get()
                if kind == "quit":
                    break
                if kind in ("roll", "play") and self._superseded(generation):
                    continue                 # a newer request came in while this one waited: never show it
                try:
                    getattr(self, f"_do_{kind}")(arg, generation)
                except Exception as e:
                    msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                    self.service_failed.emit(f"{type(e).__name__}: {msg}")
        finally:
            for env in self._envs.values():
                env.close()
            self._envs.clear()

    def _load(self, run_dir: str):
        """The run's TrainedMethod, whatever its method, through the method registry."""
        from lwd_core.methods.registry import is_trained, load_trained
        if self._trained is None or self._run_dir != run_dir or (self._partial and is_trained(run_dir)):
            self._trained = load_trained(run_dir)
            self._run_dir = run_dir
            self._partial = False
        return self._trained

    @staticmethod
    def _has_latents(trained) -> bool:
        """The run's method decodes policies from a latent space it learnt (the latent map's clicks and samples)."""
        return all(callable(getattr(trained, f, None)) for f in ("training_latents", "sample_latents", "decode",
                                                                  "policy_batch")) \
            and getattr(trained, "latents", None) is not None

    def _env(self, env_id: str, condition: str):
        key = f"{env_id}/{condition}"
        if key not in self._envs:
            from lwd_core.envs.registry import get_suite
            self._envs[key] = get_suite(env_id).make(condition, render_mode="rgb_array", size=self.size)
        return self._envs[key]

    def _do_preview(self, run_dir: str, generation: int) -> None:
        from lwd_core.methods.registry import load_partial
        self._trained, self._run_dir, self._partial = load_partial(run_dir), run_dir, True
        self._do_prepare(run_dir, generation)

    def _do_prepare(self, run_dir: str, generation: int) -> None:
        trained = self._load(run_dir)
        latents = self._has_latents(trained)
        can_sample = getattr(trained, "diffusion", True) is not None     # None: an LWD run still training it
        from lwd_core.methods.registry import get_method
        self.run_loaded.emit({"run_dir": run_dir, "env_id": trained.env_id, "conditions": list(trained.label_names),
                              "kinds": list(trained.policy_kinds), "latent_map": latents,
                              "method": get_method(trained.cfg.method).label, "can_sample": can_sample})
        if latents:
            from lwd_core.eval.latents import latent_map
            lmap = latent_map(trained)
            lmap.can_sample = can_sample     # the view greys out "Sample from diffusion" when False
            self.map_ready.emit(lmap)
        # Warm one renderer per condition (about 0.5 s each: env, EGL context, first frame) so that a
        # click starts drawing at once; a click that arrives meanwhile is served after the current warm-up.
        for c in trained.label_names:
            if not self._jobs.empty():
                return
            env = self._env(trained.env_id, c)
            env.reset(seed=0)
            env.render()
        self.envs_warmed.emit(run_dir)

    def _do_sample(self, arg, generation: int) -> None:
        run_dir, n = arg
        trained = self._load(run_dir)
        if not self._has_latents(trained):
            raise RuntimeError("this run's method has no latent space to sample")
        if getattr(trained, "diffusion", True) is None:
            raise RuntimeError("the diffusion model is still training: no samples until its checkpoint exists")
        cond = np.repeat(np.arange(len(trained.label_names)), n)
        z = trained.sample_latents(cond, "ddim", trained.cfg.eval.ddim_steps, seed=int(time.time()) % 100_000)
        self.samples_ready.emit((z.numpy(), cond))

    def _do_roll(self, job: RolloutJob, generation: int) -> None:
        from lwd_core.eval.play import OneEpisode
        from lwd_core.eval.rollout import rollout
        trained = self._load(job.run_dir)
        env = self._env(trained.env_id, job.condition)
        cid = trained.condition_id(job.condition)
        if job.latent is None:           # any method: the policy evaluation runs, built at the first observation
            policy = OneEpisode(trained, job.kind or trained.policy_kinds[0], cid, trained.cfg.eval, job.seed)
        else:
            import torch
            if not self._has_latents(trained):
                raise RuntimeError("this run's method has no latent space to decode")
            z = torch.as_tensor(np.asarray(job.latent, np.float32))[None]
            policy = trained.policy_batch(trained.decode(z)).policy(0)
        info = {"condition": job.condition, "seed": job.seed, "label": job.label, "episode": job.episode,
                "generation": generation}
        self.rollout_started.emit(info)
        out = rollout(env, policy, job.seed, on_frame=self._frame_sender(generation), max_steps=self.max_steps,
                      frame_every=self.frame_every, should_stop=lambda: self._superseded(generation))
        self.rollout_finished.emit({**info, **out})

    def _frame_sender(self, generation: int):
        return lambda f, st: self.frame_rendered.emit(f, {**st, "generation": generation})

    def _do_play(self, job: PlayJob, generation: int) -> None:
        from lwd_core.eval.play import horizon_player
        from lwd_core.eval.rollout import rollout
        env, policy, cond, seed = horizon_player(job.run_dir, job.kind, job.horizon, job.seed, job.perturb,
                                                 size=self.size)
        info = {"condition": cond, "seed": seed, "label": job.label, "generation": generation}
        self.rollout_started.emit(info)
        try:
            out = rollout(env, policy, seed, on_frame=self._frame_sender(generation), max_steps=self.max_steps,
                          frame_every=1, should_stop=lambda: self._superseded(generation))
        finally:
            env.close()
        self.rollout_finished.emit({**info, **out, "queries": policy.queries})

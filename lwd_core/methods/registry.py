"""Methods by name (the `method` config value), as LeRobot registers its policies.

Each package in `lwd_core/methods/` registers a MethodSpec in its `__init__.py`. The spec names its trainer and its
inference loader as "module:function" strings, resolved on use, so loading a trained policy never imports training
code, and listing methods imports neither.

The app and the CLI reach every method through here alone (an import-linter contract in pyproject.toml forbids them
the method packages): `load_trained` for evaluation and the viewer, `sample_policy` for one standalone policy file,
`is_trained` to know whether a run's policies can be loaded, `warm_up` before the first training in a thread."""
from __future__ import annotations

import importlib
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..config import RunConfig
from ..errors import ConfigError, LWDError
from ..plugins import discover
from ..runs import RunDir, list_runs, summarize_run
from ..train.engine import guarded, open_run
from ..types import TrainedMethod

_METHODS: dict[str, "MethodSpec"] = {}


@dataclass(frozen=True)
class MethodSpec:
    name: str                        # the config's `method` value
    label: str                       # how tables and the app show it
    order: int                       # display order in tables and the app (ascending)
    phases: tuple[str, ...]          # training phases in order; each logs metrics under its name
    checkpoints: tuple[str, ...]     # checkpoint file stems, one per phase
    best: tuple[str, str]            # (phase, metric) whose minimum is the run list's "best" column
    trainer: str                     # "module:function": train(run, cfg, resume, cancel) -> Iterator[records]
    inference: str                   # "module:function": load(run_dir) -> TrainedMethod
    # where the app draws this method's metrics when they are not LWD's own: (phase, metric) -> LWD's metric name
    curves: dict[tuple[str, str], str] = field(default_factory=dict)
    train_section: str = "baseline"  # config section with its main optimiser's `steps` and `batch_size`
    kinds: dict[str, str] = field(default_factory=dict)   # policy kinds its evaluation reports -> display label
    # modules its code imports only when first used (to keep a CLI's start-up short); the app imports them at start-up
    lazy_imports: tuple[str, ...] = ()
    description: str = ""

    def train_fn(self) -> Callable[..., Iterator[Any]]:
        return _resolve(self.trainer)

    def load(self, run_dir) -> TrainedMethod:
        return _resolve(self.inference)(run_dir)


def _resolve(ref: str):
    mod, fn = ref.split(":")
    return getattr(importlib.import_module(mod), fn)


def register_method(spec: MethodSpec) -> None:
    _METHODS[spec.name] = spec


def _discover() -> None:
    from .. import methods
    discover(methods, packages_only=True)


def get_method(name: str) -> MethodSpec:
    _discover()
    if name not in _METHODS:
        raise ConfigError(f"unknown method {name!r}; choose from {', '.join(method_names())}")
    return _METHODS[name]


def method_names() -> list[str]:
    """Registered methods in display order."""
    _discover()
    return [m.name for m in sorted(_METHODS.values(), key=lambda m: m.order)]


def kind_labels() -> dict[str, str]:
    """Display label of every policy kind of every method, plus the suites' scripted experts."""
    _discover()
    out = {}
    for m in sorted(_METHODS.values(), key=lambda m: m.order):
        out.update(m.kinds)
    return {**out, "expert": "scripted expert"}


def curve_fallbacks() -> dict[str, list[tuple[str, str]]]:
    """LWD metric name -> the (phase, metric) pairs of other methods drawn on the same panel."""
    _discover()
    out: dict[str, list[tuple[str, str]]] = {}
    for m in _METHODS.values():
        for src, dst in m.curves.items():
            out.setdefault(dst, []).append(src)
    return out


def train_run(run_dir: str, cfg: RunConfig | None = None, resume: bool = False,
              cancel: Callable[[], bool] = lambda: False) -> Iterator[Any]:
    """Train (or resume) a run of its configured method: StepRecord and PhaseEvent records. On resume, `cfg` may
    carry changes to the stored config (see train/engine.py:open_run for which are allowed)."""
    spec = get_method(cfg.method) if cfg is not None else None
    if resume and cfg is None and RunDir(run_dir).exists():
        spec = get_method(RunDir(run_dir).config().method)
    ckpts = tuple(f"{c}.safetensors" for c in spec.checkpoints) if spec else ()
    run, cfg = open_run(run_dir, cfg, resume, ckpts)
    return guarded(run, spec.train_fn()(run, cfg, resume, cancel))


def load_trained(run_dir) -> TrainedMethod:
    return get_method(RunDir(run_dir).config().method).load(run_dir)


def is_trained(run_dir) -> bool:
    """Every checkpoint of the run's method is on disk, so its policies can be loaded."""
    run = RunDir(run_dir)
    try:
        spec = get_method(run.config().method)
    except LWDError:
        return False
    return all((run.ckpt_dir / f"{c}.safetensors").exists() for c in spec.checkpoints)


def preview_ready(run_dir) -> bool:
    """A run still training whose first phase already wrote its training latents (LWD after its VAE phase): its
    latent map can be drawn and its points decoded before the diffusion model exists."""
    run = RunDir(run_dir)
    # the app asks at every training record: two file checks first, the config only once the files are there
    if not (run.latents_path.exists() and run.vae_ckpt.exists()):
        return False
    try:
        spec = get_method(run.config().method)
    except (LWDError, OSError, ValueError):
        return False
    return spec.name == "lwd" and not is_trained(run_dir)


def load_partial(run_dir) -> TrainedMethod:
    """The run's trained parts so far (preview_ready): the VAE and latents of an LWD run, without sampling."""
    from .lwd.inference import TrainedLWD
    return TrainedLWD(run_dir, need_diffusion=False)


def sample_policy(trained: TrainedMethod, condition: str, seed: int = 0, sampler: str | None = None,
                  first_obs: Callable[[], Any] | None = None) -> Any:
    """One standalone policy of a trained run for `condition`: reset()/act(obs), `save(path, info)` writing one
    policy file (policy_file.py, with `info` in its JSON where the method's format has room for it) and `n_params`
    where known. A method offers it as `single_policy(cid, seed, sampler, first_obs)` on its trained object;
    `sampler` (None: the run's own) picks a diffusion sampler where the method has one, and `first_obs()` gives the
    episode's first observation, asked for only by methods that condition on it."""
    make = getattr(trained, "single_policy", None)
    if make is None:
        cfg = getattr(trained, "cfg", None)
        name = get_method(cfg.method).label if cfg is not None else type(trained).__name__
        raise LWDError(f"{name} cannot write its policy as one policy file")
    return make(trained.condition_id(condition), seed, sampler, first_obs)


def warm_up() -> None:
    """Import every method's trainer and inference modules and take one tiny training step, so that the first
    training in a worker thread does not stall the caller's (the app's GUI thread): an import holds the GIL for tens
    of milliseconds (hypnettorch pulls in matplotlib), and torch initialises its CPU kernels (oneDNN, batched
    matmuls, fused Adam) lazily, under the GIL."""
    import torch
    _discover()
    for m in _METHODS.values():
        for mod in (m.trainer.split(":")[0], m.inference.split(":")[0], *m.lazy_imports):
            importlib.import_module(mod)
    lin = torch.nn.Linear(3, 4)
    W = torch.zeros(2, 4, 2, requires_grad=True)
    opt = torch.optim.Adam([*lin.parameters(), W], fused=True)
    h = torch.relu(lin(torch.zeros(2, 5, 3)))
    torch.baddbmm(torch.zeros(2, 1, 2), h, W).square().mean().backward()
    opt.step()


def run_rows(runs_dir) -> list[dict[str, Any]]:
    """The run list with each method's best metric."""
    _discover()
    return list_runs(runs_dir, {m.name: m.best for m in _METHODS.values()})


def run_row(run_dir) -> dict[str, Any]:
    """One run's row of that list, read again (after its files changed)."""
    _discover()
    return summarize_run(Path(run_dir), {m.name: m.best for m in _METHODS.values()})

"""One validated dataclass config per component; a run's whole config lives in config.json."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .plugins import load_plugins

# Hypernetwork hidden layers per decoder size (paper appendix C.1, Table 3).
DECODER_SIZES: dict[str, tuple[int, int]] = {"xs": (50, 50), "s": (100, 100), "m": (200, 200), "l": (400, 400)}


def _pos(obj, name: str, integer: bool = True, allow_zero: bool = False) -> None:
    v = getattr(obj, name)
    kind = int if integer else (int, float)
    if isinstance(v, bool) or not isinstance(v, kind):
        raise ConfigError(f"`{name}` must be {'an integer' if integer else 'a number'}, got {v!r}")
    if v < 0 or (v == 0 and not allow_zero):
        raise ConfigError(f"`{name}` must be {'>= 0' if allow_zero else '> 0'}, got {v}")


def _choice(obj, name: str, choices) -> None:
    v = getattr(obj, name)
    if v not in choices:
        raise ConfigError(f"`{name}` must be one of {sorted(choices)}, got {v!r}")


@dataclass
class DataConfig:
    dataset: str = ""                 # HDF5 file in D4RL layout
    window: int = 0                   # L; 0 = whole episodes (paper MT10: 500)
    stride: int = 0                   # snippet stride; 0 = window (non-overlapping)
    short_episodes: str = "pad"       # "pad" (mask the padding) or "refuse"
    use_action_labels: bool = True    # train on infos/action_labels when the file has them
    holdout_fraction: float = 0.0     # episodes kept out of training, for reconstruction checks

    def __post_init__(self):
        _pos(self, "window", allow_zero=True)
        _pos(self, "stride", allow_zero=True)
        _choice(self, "short_episodes", {"pad", "refuse"})
        if not 0.0 <= float(self.holdout_fraction) < 1.0:
            raise ConfigError(f"`holdout_fraction` must be in [0, 1), got {self.holdout_fraction}")


@dataclass
class VAEConfig:
    latent_dim: int = 256
    encoder_hidden: tuple[int, ...] = (1024, 512)
    decoder_size: str = "xs"
    policy_hidden: tuple[int, ...] = (256, 256)
    output_activation: str = "auto"   # "tanh", "none", or "auto" (tanh when all actions lie in [-1, 1])
    beta_kl: float = 1e-8
    lr: float = 1e-4
    batch_size: int = 32
    steps: int = 4000
    states_per_window: int = 0        # states scored per window per step; 0 = all (unbiased subsample otherwise)
    lr_schedule: str = "constant"     # "constant" or "cosine" (decays to 10% of lr at the last step)

    def __post_init__(self):
        _choice(self, "lr_schedule", {"constant", "cosine"})
        self.encoder_hidden = tuple(self.encoder_hidden)
        self.policy_hidden = tuple(self.policy_hidden)
        for n in ("latent_dim", "batch_size", "steps"):
            _pos(self, n)
        _pos(self, "states_per_window", allow_zero=True)
        _choice(self, "decoder_size", set(DECODER_SIZES))
        _choice(self, "output_activation", {"tanh", "none", "auto"})
        if not self.policy_hidden or any((not isinstance(h, int)) or h <= 0 for h in self.policy_hidden):
            raise ConfigError(f"`policy_hidden` must be positive integers, got {self.policy_hidden}")
        if any((not isinstance(h, int)) or h <= 0 for h in self.encoder_hidden):
            raise ConfigError(f"`encoder_hidden` must be positive integers, got {self.encoder_hidden}")
        if not (isinstance(self.beta_kl, (int, float)) and self.beta_kl >= 0):
            raise ConfigError(f"`beta_kl` must be >= 0, got {self.beta_kl!r}")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 1):
            raise ConfigError(f"`lr` must be in (0, 1), got {self.lr!r}")


@dataclass
class DDPMConfig:
    n_steps: int = 1000               # T, as in labml's DDPM
    beta_start: float = 1e-4
    beta_end: float = 0.02
    hidden: int = 512
    n_blocks: int = 4
    cond_dim: int = 64                # condition-id embedding size
    state_condition: bool = False     # also condition on the episode's initial observation
    lr: float = 3e-4
    batch_size: int = 256
    steps: int = 6000
    clip_x0: bool = True              # clip predicted x0 to the (normalised) data range
    latent_samples_per_window: int = 8  # z ~ q(z|tau) draws per window used as diffusion data
    lr_schedule: str = "constant"     # "constant" or "cosine"

    def __post_init__(self):
        _choice(self, "lr_schedule", {"constant", "cosine"})
        for n in ("n_steps", "hidden", "n_blocks", "cond_dim", "batch_size", "steps", "latent_samples_per_window"):
            _pos(self, n)
        if not (0 < self.beta_start < self.beta_end < 1):
            raise ConfigError(f"need 0 < `beta_start` < `beta_end` < 1, got {self.beta_start}, {self.beta_end}")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 1):
            raise ConfigError(f"`lr` must be in (0, 1), got {self.lr!r}")


@dataclass
class BaselineConfig:
    """Table 2 baselines: multi-task MLP behaviour cloning and Diffusion Policy (appendix C.6)."""
    width: int = 512                  # MLP hidden width (5 hidden layers)
    dp_size: str = "large"            # Diffusion Policy size: "small" or "large"
    horizon: int = 16                 # DP prediction horizon
    n_obs: int = 2                    # DP observation steps
    n_action: int = 8                 # DP action horizon
    dp_train_steps: int = 100         # DP diffusion steps
    ddim_steps: int = 10              # DP inference steps (DDIM); 0 = full DDPM chain
    lr: float = 1e-4
    batch_size: int = 256
    steps: int = 20000

    def __post_init__(self):
        for n in ("width", "horizon", "n_obs", "n_action", "dp_train_steps", "batch_size", "steps"):
            _pos(self, n)
        _pos(self, "ddim_steps", allow_zero=True)
        _choice(self, "dp_size", {"small", "large"})
        if self.n_obs > self.horizon or self.n_obs - 1 + self.n_action > self.horizon:
            raise ConfigError(f"need n_obs - 1 + n_action <= horizon, got {self.n_obs}, {self.n_action}, {self.horizon}")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 1):
            raise ConfigError(f"`lr` must be in (0, 1), got {self.lr!r}")


@dataclass
class EvalConfig:
    episodes: int = 10                # per condition
    seed: int = 0
    sampler: str = "ddim"
    ddim_steps: int = 50
    max_steps: int = 500

    def __post_init__(self):
        for n in ("episodes", "ddim_steps", "max_steps"):
            _pos(self, n)
        _pos(self, "seed", allow_zero=True)
        _choice(self, "sampler", {"ddim", "ddpm"})


@dataclass
class RunConfig:
    name: str = "run"
    env_id: str = ""                  # "mt10" or a gymnasium id; taken from the dataset when empty
    seed: int = 0
    device: str = "auto"              # "auto" = CUDA when available, else CPU
    log_every: int = 10
    checkpoint_every: int = 500
    data: DataConfig = field(default_factory=DataConfig)
    vae: VAEConfig = field(default_factory=VAEConfig)
    ddpm: DDPMConfig = field(default_factory=DDPMConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    method: str = "lwd"               # "lwd", "mlp_bc" or "diffusion_policy"
    baseline: BaselineConfig = field(default_factory=BaselineConfig)

    def __post_init__(self):
        # the method name is resolved by the method registry (`methods/registry.py`) when a run is trained
        if not isinstance(self.method, str) or not self.method:
            raise ConfigError(f"`method` must be a method name, got {self.method!r}")
        _pos(self, "seed", allow_zero=True)
        _pos(self, "log_every")
        _pos(self, "checkpoint_every")
        _choice(self, "device", {"auto", "cpu", "cuda"})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        if not isinstance(d, dict):
            raise ConfigError("config must be a JSON object")
        sub = {"data": DataConfig, "vae": VAEConfig, "ddpm": DDPMConfig, "eval": EvalConfig,
               "baseline": BaselineConfig}
        kw = {}
        known = {f.name for f in fields(cls)}
        for k, v in d.items():
            if k not in known:
                raise ConfigError(f"unknown config key `{k}`")
            if k in sub:
                if not isinstance(v, dict):
                    raise ConfigError(f"`{k}` must be an object")
                sknown = {f.name for f in fields(sub[k])}
                bad = set(v) - sknown
                if bad:
                    raise ConfigError(f"unknown config key `{k}.{sorted(bad)[0]}`")
                try:
                    kw[k] = sub[k](**v)
                except TypeError as e:
                    raise ConfigError(f"`{k}`: {e}") from None
            else:
                kw[k] = v
        return cls(**kw)

    @classmethod
    def from_file(cls, path: str | Path) -> "RunConfig":
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not valid JSON ({e})") from None
        return cls.from_dict(d)

    def replace(self, **sections: dict[str, Any]) -> "RunConfig":
        """Return a copy with some fields overridden, e.g. replace(vae={"steps": 10})."""
        d = self.to_dict()
        for k, v in sections.items():
            if isinstance(v, dict):
                d[k].update(v)
            else:
                d[k] = v
        return RunConfig.from_dict(d)


# Presets as data: each entry overrides the defaults above. A suite module adds its own with register_preset().
PRESET_TABLE: dict[str, dict[str, Any]] = {
    # the paper's MT10 set-up scaled to a 2-core CPU
    "mt10": {"name": "mt10", "env_id": "mt10", "data": {"window": 500},
             "vae": {"steps": 10000, "states_per_window": 100}},
    # diffusion also conditioned on the episode's first observation (paper §3.3)
    "mt10-state": {"name": "mt10-state", "env_id": "mt10", "data": {"window": 500},
                   "vae": {"steps": 10000, "states_per_window": 100}, "ddpm": {"state_condition": True}},
    "mt10-snippets": {"name": "mt10-snippets", "env_id": "mt10", "data": {"window": 50},
                      "vae": {"steps": 4000, "states_per_window": 50}},
    "mt10-quick": {"name": "mt10-quick", "env_id": "mt10", "data": {"window": 500},
                   "vae": {"steps": 300, "states_per_window": 100, "encoder_hidden": [512, 256]},
                   "ddpm": {"steps": 800, "hidden": 256, "n_blocks": 2}, "eval": {"episodes": 2}},
    "tiny": {"name": "tiny", "log_every": 1, "checkpoint_every": 5, "data": {"window": 0},
             "vae": {"latent_dim": 16, "encoder_hidden": [64], "policy_hidden": [32, 32], "steps": 20,
                     "batch_size": 4, "states_per_window": 16},
             "ddpm": {"n_steps": 50, "hidden": 64, "n_blocks": 1, "cond_dim": 8, "steps": 20, "batch_size": 16,
                      "latent_samples_per_window": 2},
             "eval": {"episodes": 1, "ddim_steps": 5, "max_steps": 20}},
}


def register_preset(name: str, overrides: dict[str, Any]) -> None:
    RunConfig().replace(**json.loads(json.dumps(overrides)))      # validate now, not when first used
    PRESET_TABLE[name] = overrides


def preset(name: str) -> RunConfig:
    load_plugins()
    if name not in PRESET_TABLE:
        raise ConfigError(f"unknown preset {name!r}; choose from {', '.join(PRESET_TABLE)}")
    return RunConfig().replace(**json.loads(json.dumps(PRESET_TABLE[name])))   # a deep copy of the entry


def preset_names() -> list[str]:
    load_plugins()
    return list(PRESET_TABLE)

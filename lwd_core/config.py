"""One dataclass config per component, each field checked by `schema.py`; a run's whole config lives in
config.json."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .errors import ConfigError
from .plugins import load_plugins
from .schema import build, check_fields, describe, setting

# Hypernetwork hidden layers per decoder size (paper appendix C.1, Table 3).
DECODER_SIZES: dict[str, tuple[int, int]] = {"xs": (50, 50), "s": (100, 100), "m": (200, 200), "l": (400, 400)}


@dataclass
class DataConfig:
    _section: ClassVar[str] = "data."
    dataset: str = setting("", "a D4RL-layout HDF5 file, a Minari dataset folder, or a labelled mixture "
                                "PATH:NAME|PATH:NAME (paths stored absolute in a run's config)")
    window: int = setting(0, "window length L in steps; 0 = whole episodes (paper MT10: 500)", ge=0)
    stride: int = setting(0, "window stride in steps; 0 = the window length (non-overlapping)", ge=0)
    short_episodes: str = setting("pad", "episodes shorter than the window: pad (masked) or refuse",
                                  choices=("pad", "refuse"))
    use_action_labels: bool = setting(True, "train on infos/action_labels (clean expert actions) when present")
    holdout_fraction: float = setting(0.0, "fraction of each condition's episodes kept out of training", ge=0.0,
                                      lt=1.0)

    def __post_init__(self):
        check_fields(self, self._section)


@dataclass
class VAEConfig:
    _section: ClassVar[str] = "vae."
    latent_dim: int = setting(256, "latent size", gt=0)
    encoder: str = setting("flat", "trajectory encoder: flat (the paper's: the whole window flattened into an MLP), "
                                   "conv (strided 1D convolutions over time, masked mean and max pooling, then an "
                                   "MLP head of encoder_hidden; far fewer weights for long windows) or patch (like "
                                   "conv, but each layer maps patch_sizes[i] consecutive steps to one, without "
                                   "overlap)",
                           choices=("flat", "conv", "patch"))
    encoder_hidden: tuple[int, ...] = setting(default_factory=lambda: (1024, 512), help="encoder MLP widths (conv "
                                              "and patch: of the head after pooling)", gt=0)
    conv_channels: tuple[int, ...] = setting(default_factory=lambda: (128, 128, 256, 256),
                                             help="conv encoder: channels of each stride-2 layer", gt=0,
                                             nonempty=True)
    conv_kernel: int = setting(5, "conv encoder: kernel size over time", gt=0)
    patch_sizes: tuple[int, ...] = setting(default_factory=lambda: (5, 5), help="patch encoder: steps each layer "
                                           "merges into one", gt=0, nonempty=True)
    patch_channels: tuple[int, ...] = setting(default_factory=lambda: (64, 128), help="patch encoder: channels of "
                                              "each layer (as many as patch_sizes)", gt=0, nonempty=True)
    decoder_size: str = setting("xs", "hypernetwork size (paper Table 3)", choices=tuple(DECODER_SIZES))
    policy_hidden: tuple[int, ...] = setting(default_factory=lambda: (256, 256), help="generated policy widths",
                                             gt=0, nonempty=True)
    output_activation: str = setting("auto", "policy output: tanh, none, or auto (tanh when all actions lie in "
                                     "[-1, 1])", choices=("tanh", "none", "auto"))
    decoder_bf16: bool = setting(False, "in a bf16 run (precision bf16, or auto on a device with native bf16), compute "
                                 "the hypernetwork and the generated policies in bf16 too; off keeps them fp32")
    compile: bool = setting(False, "compile the training step (forward and backward) with torch.compile: the first "
                            "step then takes about half a minute longer on 2 cores (seconds once cached), each "
                            "later one less; where it cannot compile (no C++ compiler for a CPU) it trains without")
    beta_kl: float = setting(1e-8, "KL weight", ge=0.0)
    lr: float = setting(1e-4, "Adam learning rate", gt=0.0, lt=1.0)
    batch_size: int = setting(32, "windows per step", gt=0)
    steps: int = setting(4000, "training steps", gt=0)
    states_per_window: int = setting(0, "states scored per window per step; 0 = all", ge=0)
    lr_schedule: str = setting("constant", "constant, or cosine (decays to 10% of lr)",
                               choices=("constant", "cosine"))

    def __post_init__(self):
        check_fields(self, self._section)
        if self.conv_kernel % 2 == 0:
            raise ConfigError(f"`vae.conv_kernel` must be odd (centred on each step), got {self.conv_kernel}")
        if len(self.patch_sizes) != len(self.patch_channels):
            raise ConfigError(f"`vae.patch_sizes` and `vae.patch_channels` need one entry per layer each, got "
                              f"{len(self.patch_sizes)} and {len(self.patch_channels)}")


@dataclass
class DDPMConfig:
    _section: ClassVar[str] = "ddpm."
    n_steps: int = setting(1000, "diffusion steps T", gt=0)
    beta_start: float = setting(1e-4, "beta_1 of the linear schedule", gt=0.0, lt=1.0)
    beta_end: float = setting(0.02, "beta_T of the linear schedule", gt=0.0, lt=1.0)
    hidden: int = setting(512, "denoiser width", gt=0)
    n_blocks: int = setting(4, "denoiser residual blocks", gt=0)
    cond_dim: int = setting(64, "condition-id embedding size", gt=0)
    state_condition: bool = setting(False, "also condition on the window's first observation (paper 3.3)")
    lr: float = setting(3e-4, "Adam learning rate", gt=0.0, lt=1.0)
    batch_size: int = setting(256, "latents per step", gt=0)
    steps: int = setting(6000, "training steps", gt=0)
    clip_x0: bool = setting(True, "clip the predicted x0 to the normalised data range")
    latent_samples_per_window: int = setting(8, "z ~ q(z|tau) draws per window used as diffusion data", gt=0)
    lr_schedule: str = setting("constant", "constant or cosine", choices=("constant", "cosine"))
    ema: bool = setting(False, "keep an exponential moving average of the denoiser's weights (Diffusion Policy's "
                               "schedule: power 0.75, at most 0.9999) and sample with it")

    def __post_init__(self):
        check_fields(self, self._section)
        if not self.beta_start < self.beta_end:
            raise ConfigError(f"need `ddpm.beta_start` < `ddpm.beta_end`, got {self.beta_start}, {self.beta_end}")


@dataclass
class BaselineConfig:
    """Table 2 baselines: multi-task MLP behaviour cloning and Diffusion Policy (appendix C.6)."""
    _section: ClassVar[str] = "baseline."
    width: int = setting(512, "MLP-BC hidden width (5 hidden layers)", gt=0)
    dp_size: str = setting("large", "Diffusion Policy size: small, large (LWD Table 8), or chi (Chi et al.'s PushT "
                                    "U-Net, widths 256/512/1024: 65.8M parameters, for GPUs)",
                           choices=("small", "large", "chi"))
    horizon: int = setting(16, "Diffusion Policy prediction horizon", gt=0)
    n_obs: int = setting(2, "Diffusion Policy observation steps", gt=0)
    n_action: int = setting(8, "Diffusion Policy action horizon H_a", gt=0)
    dp_train_steps: int = setting(100, "Diffusion Policy diffusion steps", gt=0)
    ddim_steps: int = setting(10, "Diffusion Policy DDIM inference steps; 0 = the full DDPM chain", ge=0)
    dp_warmup: int = setting(500, "Diffusion Policy learning-rate warm-up steps (linear from 0, at most half the "
                                  "steps), then a cosine to 0", ge=0)
    lr: float = setting(1e-4, "Adam learning rate (Diffusion Policy: AdamW, betas 0.95/0.999, weight decay 1e-6)",
                        gt=0.0, lt=1.0)
    batch_size: int = setting(256, "samples per step", gt=0)
    steps: int = setting(20000, "training steps", gt=0)

    def __post_init__(self):
        check_fields(self, self._section)
        if self.n_obs > self.horizon or self.n_obs - 1 + self.n_action > self.horizon:
            raise ConfigError(f"need n_obs - 1 + n_action <= horizon, got {self.n_obs}, {self.n_action}, {self.horizon}")


@dataclass
class EvalConfig:
    _section: ClassVar[str] = "eval."
    episodes: int = setting(10, "evaluation episodes per condition", gt=0)
    seed: int = setting(0, "evaluation seed (held-out episodes)", ge=0)
    sampler: str = setting("ddim", "latent sampler", choices=("ddim", "ddpm"))
    ddim_steps: int = setting(50, "DDIM steps", gt=0)
    max_steps: int = setting(500, "steps per episode at most", gt=0)
    perturb: bool = setting(False, "perturb episodes at random, seeded moments (suites that offer it: pusht)")
    action_horizon: int = setting(0, "H_a. LWD: re-sample the policy for the current state every H_a steps (needs "
                                     "ddpm.state_condition); Diffusion Policy: actions executed per predicted chunk; "
                                     "0 = the run's own (LWD: one policy per episode)", ge=0)
    start_states: str = setting("eval", "start-state stream of the episodes (seeds.py): eval, or reference for a "
                                        "second held-out set disjoint from it", choices=("eval", "reference"))

    def __post_init__(self):
        check_fields(self, self._section)


# Keys added after runs existed, with the value every run saved without them was trained with: a missing
# `vae.encoder` is the paper's flattened encoder and a missing `precision` is fp32, whatever the defaults become.
SAVED_DEFAULTS: dict[str, Any] = {"vae.encoder": "flat", "precision": "fp32"}


@dataclass
class RunConfig:
    name: str = setting("run", "run name", nonempty=True)
    env_id: str = setting("", "environment: mt10 or a gymnasium id; taken from the dataset when empty")
    seed: int = setting(0, "training seed", ge=0)
    device: str = setting("auto", "auto (CUDA when available), cpu or cuda", choices=("auto", "cpu", "cuda"))
    precision: str = setting("fp32", "training arithmetic: fp32, bf16 (autocast around each step's forward pass "
                                     "and loss; weights, optimizer state and checkpoints stay fp32), or auto (bf16 "
                                     "where the device has native bf16: CUDA, or a CPU with avx512_bf16/AMX, "
                                     "detected at run time; fp32 elsewhere). The MT10 presets (not mt10-paper) and "
                                     "PushT's Diffusion Policy use auto; fp32 where a preset does not say",
                     choices=("auto", "fp32", "bf16"))
    log_every: int = setting(10, "steps between logged metrics", gt=0)
    checkpoint_every: int = setting(500, "steps between checkpoints", gt=0)
    data: DataConfig = setting(default_factory=DataConfig)
    vae: VAEConfig = setting(default_factory=VAEConfig)
    ddpm: DDPMConfig = setting(default_factory=DDPMConfig)
    eval: EvalConfig = setting(default_factory=EvalConfig)
    # the method name is resolved by the method registry (`methods/registry.py`) when a run is trained
    method: str = setting("lwd", "method: lwd, mlp_bc, diffusion_policy or a registered plugin", nonempty=True)
    baseline: BaselineConfig = setting(default_factory=BaselineConfig)

    def __post_init__(self):
        check_fields(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        return build(cls, d)

    @classmethod
    def from_saved(cls, d: dict[str, Any]) -> "RunConfig":
        """A run's own config.json: a key it lacks was added after the run was made, and takes the value the run
        was trained with (SAVED_DEFAULTS), not today's default, so that changing a default never changes an
        existing run."""
        if isinstance(d, dict):
            d = json.loads(json.dumps(d))
            for key, value in SAVED_DEFAULTS.items():
                *sections, leaf = key.split(".")
                sec = d
                for name in sections:
                    sec = sec.get(name) if isinstance(sec, dict) else None
                if isinstance(sec, dict):
                    sec.setdefault(leaf, value)
        return build(cls, d)

    @classmethod
    def from_file(cls, path: str | Path) -> "RunConfig":
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not valid JSON ({e})") from None
        except OSError as e:
            raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
        return cls.from_dict(d)

    def replace(self, **sections: Any) -> "RunConfig":
        """Return a copy with some fields overridden, e.g. replace(vae={"steps": 10}) or replace(seed=3)."""
        d = self.to_dict()
        for k, v in sections.items():
            if k not in d:
                return build(RunConfig, {k: v})            # raises, naming the unknown key
            if isinstance(d[k], dict):
                if not isinstance(v, dict):
                    raise ConfigError(f"`{k}` is a section; set its keys, e.g. {k}.{next(iter(d[k]))}=...")
                d[k].update(v)
            elif isinstance(v, dict):
                raise ConfigError(f"`{k}` is a value, not a section; got {v!r}")
            else:
                d[k] = v
        return RunConfig.from_dict(d)

    def differences(self, other: "RunConfig") -> list[str]:
        """Keys whose values differ, e.g. ["data.window", "vae.steps"]."""
        a, b = _flat(self.to_dict()), _flat(other.to_dict())
        return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def _flat(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = list(v) if isinstance(v, tuple) else v
    return out


def config_docs() -> list:
    """Every config key with its type, default, limits and help (for `train --help` and the app's form)."""
    return describe(RunConfig)


# A temporal encoder over MT10-length windows (docs/performance.md): half the conv defaults' channels, whose steps
# measured 4-33% slower on a 2-core CPU. The locomotion presets and `mt10-snippets` keep it.
MT10_CONV: dict[str, Any] = {"encoder": "conv", "conv_channels": [64, 64, 128, 128]}
# MT10's encoder: patches of 5 steps, then of 5 of those, 64 and 128 channels, a 512-256 head. On Table 2's protocol
# (3 seeds, 450 held-out episodes, bf16) with a 1024-512 head: LWD 0.918 and VAE reconstruction 0.973 where MT10_CONV
# gave 0.920 and 0.971; its VAE step is 1.21-1.28x as fast in bf16 and 1.44-1.62x in fp32 (no convolution kernels:
# one matmul per layer). The narrower head (0.45M parameters instead of 1.1M) came with MT10_BF16_DECODER, below.
MT10_PATCH: dict[str, Any] = {"encoder": "patch", "patch_sizes": [5, 5], "patch_channels": [64, 128],
                              "encoder_hidden": [512, 256]}
# MT10's bf16 runs compute the hypernetwork and the generated policies in bf16 too: the policies' batched matmuls
# are compute-bound, and AMX runs them several times faster. With MT10_PATCH's narrower head, Table 2's protocol gave
# LWD 0.929 and VAE reconstruction 0.978, and the VAE step ran 1.26-1.36x as fast (docs/performance.md).
MT10_BF16_DECODER: dict[str, Any] = {"decoder_bf16": True}
# MT10's VAE step compiled with torch.compile (not `mt10-quick`'s 300 steps, which the compilation would outlast):
# 1.25x the steps/s in training after a compilation of about 30 s on 2 cores (seconds once cached); on Table 2's
# protocol LWD 0.931 and VAE reconstruction 0.971 against 0.929 and 0.978 uncompiled (docs/performance.md)
MT10_COMPILE: dict[str, Any] = {"compile": True}
# MT10's latent denoiser: 2 residual blocks of 512 instead of 4. On the same trained VAE, 4, 2 and 1 blocks sampled
# policies that succeeded 0.935, 0.93 and 0.915 of 200 held-out episodes, and a width of 256 0.80; 2 blocks train
# 1.75x as fast (docs/performance.md)
MT10_DDPM: dict[str, Any] = {"n_blocks": 2}
MT10_VAE: dict[str, Any] = {"steps": 6000, "lr": 2e-4, "lr_schedule": "cosine", "states_per_window": 100,
                            **MT10_PATCH, **MT10_BF16_DECODER, **MT10_COMPILE}
# The MT10 presets' arithmetic (not `mt10-paper`'s): bf16 where the device has it natively. With MT10_VAE's schedule,
# Table 2's protocol (3 seeds, 450 held-out episodes each way) gave LWD 0.920 in bf16 and in fp32, VAE reconstruction
# 0.971 and 0.980, and bf16 trained in 0.8x the time on an AMX CPU. (With the previous constant schedule bf16 had cost
# 0.89 / 0.92 against 0.94 / 0.95 at the demo's scale; docs/performance.md)
MT10_PRECISION = "auto"
# Diffusion Policy on PushT (`pusht-dp`, `pusht-dp-long`): bf16 where the device has it natively, for every model
# of the Fig. 9 sweep alike. The U-Net's training step gains with the chunk it predicts (1.13x at a prediction horizon
# of 16, 1.42x at 68, 1.62x at 132 on an AMX CPU, one thread), and the bf16 models scored within noise of the fp32
# ones trained beside them on the same data (docs/performance.md). Table 2's MT10 baselines stay fp32.
PUSHT_DP_PRECISION = "auto"

# The locomotion presets' shared sections; they differ in the encoder only.
LOCOMOTION: dict[str, Any] = {"data": {"window": 0}, "ddpm": {"steps": 3000},
                              "eval": {"episodes": 32, "max_steps": 1000}}
LOCOMOTION_VAE: dict[str, Any] = {"steps": 3000, "states_per_window": 100, "encoder_hidden": [512, 256]}

# Presets as data: each entry overrides the defaults above. A suite module adds its own with register_preset().
PRESET_TABLE: dict[str, dict[str, Any]] = {
    # the paper's MT10 set-up scaled to a 2-core CPU, with a temporal encoder (`mt10-paper`: the paper's encoder).
    # The VAE: 6000 steps at lr 2e-4 with a cosine decay. On the demo's data it reconstructed 0.96 where 10k steps
    # at a constant 1e-4 reached 0.93, in 40% fewer steps; LWD 0.90 against 0.91 with the same denoiser. The
    # denoiser keeps its 6k constant-lr steps: 4k and 2.5k cosine-decayed ones sampled 0.87 and 0.76
    "mt10": {"name": "mt10", "env_id": "mt10", "precision": MT10_PRECISION, "data": {"window": 500},
             "vae": MT10_VAE, "ddpm": MT10_DDPM},
    # the paper's set-up: the whole 500-step window flattened into the encoder MLP, fp32, the 4-block denoiser
    "mt10-paper": {"name": "mt10-paper", "env_id": "mt10", "precision": "fp32", "data": {"window": 500},
                   "vae": {"steps": 10000, "states_per_window": 100, "encoder": "flat"}},
    # diffusion also conditioned on the episode's first observation (paper §3.3)
    "mt10-state": {"name": "mt10-state", "env_id": "mt10", "precision": MT10_PRECISION, "data": {"window": 500},
                   "vae": MT10_VAE,
                   "ddpm": {**MT10_DDPM, "state_condition": True}},
    "mt10-snippets": {"name": "mt10-snippets", "env_id": "mt10", "precision": MT10_PRECISION, "data": {"window": 50},
                      "vae": {"steps": 4000, "states_per_window": 50, **MT10_CONV}, "ddpm": MT10_DDPM},
    "mt10-quick": {"name": "mt10-quick", "env_id": "mt10", "precision": MT10_PRECISION, "data": {"window": 500},
                   "vae": {"steps": 300, "states_per_window": 100, **MT10_PATCH, **MT10_BF16_DECODER},
                   "ddpm": {"steps": 800, "hidden": 256, "n_blocks": 2}, "eval": {"episodes": 2}},
    # state-conditioned LWD on PushT (paper §3.3, Fig. 9): 32-step windows every 8 steps, so a generated policy is
    # trained on the stretch it runs for at H_a <= 32; diffusion conditioned on each window's first state, and at
    # run time on the current state every H_a steps (eval.action_horizon). The VAE at lr 1e-3 with a cosine decay
    # for 8000 steps, chosen by its generated policies' action error near the goal: 6.0 px RMS, against 11.4 px for
    # the 4000 steps at a constant 1e-4 it had before (window 16, or a decoder twice as wide, did not help). The
    # denoiser with a cosine decay and sampled from the average of its weights: success 0.33 over 150 held-out
    # episodes at H_a = 8, against 0.23 at a constant lr without the average, 0.25 and 0.29 with either alone
    "pusht-state": {"name": "pusht-state", "env_id": "pusht", "data": {"window": 32, "stride": 8},
                    "vae": {"encoder_hidden": [512, 256], "states_per_window": 32, "steps": 8000, "lr": 1e-3,
                            "lr_schedule": "cosine", "output_activation": "tanh"},
                    "ddpm": {"state_condition": True, "steps": 6000, "lr_schedule": "cosine", "ema": True},
                    "eval": {"episodes": 50, "max_steps": 300, "action_horizon": 8}},
    # Diffusion Policy on PushT, Chi et al.'s low-dim set-up (2 observation steps, prediction horizon 16, 100
    # squared-cosine diffusion steps; AdamW at 1e-4 with 500 warm-up steps then a cosine, EMA weights, min-max
    # normalisation) and their inference: the full 100-step DDPM chain (ddim_steps=0), which scores 0.63 where DDIM-10
    # scores 0.52 on the same weights. DP-large (2M parameters) for 8000 steps at batch 256 (60 epochs) fits a 2-core
    # CPU; baseline.dp_size=chi is Chi et al.'s 65.8M U-Net, for GPUs
    "pusht-dp": {"name": "pusht-dp", "env_id": "pusht", "method": "diffusion_policy", "precision": PUSHT_DP_PRECISION,
                 "baseline": {"dp_size": "large", "horizon": 16, "n_obs": 2, "n_action": 8, "steps": 8000,
                              "batch_size": 256, "lr": 1e-4, "ddim_steps": 0},
                 "eval": {"episodes": 50, "max_steps": 300}},
    # the same for long chunks: a prediction horizon of 132 (>= n_obs - 1 + 128, a multiple of 4 for the U-Net). The
    # Fig. 9 sweep trains one per H_a > 15, with the horizon set to that H_a's chunk, on pusht-dp's budget: at half
    # the steps and half the batch the 16-step model itself scores 0.21 instead of 0.64, so a smaller budget for the
    # long chunks would make DP's drop over H_a a drop in training
    "pusht-dp-long": {"name": "pusht-dp-long", "env_id": "pusht", "method": "diffusion_policy",
                      "precision": PUSHT_DP_PRECISION,
                      "baseline": {"dp_size": "large", "horizon": 132, "n_obs": 2, "n_action": 8, "steps": 8000,
                                   "batch_size": 256, "lr": 1e-4, "ddim_steps": 0},
                      "eval": {"episodes": 50, "max_steps": 300}},
    # locomotion behaviours (paper §4.1, Table 1): whole 1000-step trajectories, behaviour-conditioned diffusion.
    # MT10's temporal encoder: on HalfCheetah it reconstructs held-out rollouts of the expert and medium behaviours
    # at the noise floor, where the flattened one is 0.07 and 0.38 nats off (docs/results/table1.md)
    "locomotion": {"name": "locomotion", **LOCOMOTION, "vae": {**LOCOMOTION_VAE, **MT10_CONV}},
    # the paper's set-up: the whole trajectory flattened into the encoder MLP, smaller than MT10's since Ant's is
    # 111k numbers
    "locomotion-paper": {"name": "locomotion-paper", **LOCOMOTION, "vae": {**LOCOMOTION_VAE, "encoder": "flat"}},
    # the paper's baseline: a behaviour-conditioned MLP, 5 hidden layers of 512, MSE on the same mixture
    "locomotion-mlp": {"name": "locomotion-mlp", "method": "mlp_bc", "data": {"window": 0},
                       "baseline": {"width": 512, "steps": 10000, "batch_size": 256},
                       "eval": {"episodes": 32, "max_steps": 1000}},
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

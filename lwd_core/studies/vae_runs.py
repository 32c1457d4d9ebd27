"""The VAE-only MT10 runs that fig7 and fig8 share: one per decoder size and window length."""
from __future__ import annotations

from pathlib import Path

from ..config import RunConfig, preset
from ..errors import ConfigError
from .registry import StudyArgs

WINDOWS = {500: "full", 50: "snippets"}       # full 500-step trajectories and 50-step snippets (paper §4.2)
VAE_STEPS_OPTION = {"vae_steps": (str, None, "VAE training steps for full trajectories and snippets, "
                                            "FULL[,SNIPPETS] (default: the mt10 and mt10-snippets presets' steps)")}


def vae_steps(a: StudyArgs) -> dict[int, int]:
    """--vae-steps FULL[,SNIPPETS]: override the presets' VAE training steps (`mt10` for full windows, `mt10-snippets`
    for snippets)."""
    spec = a.options.get("vae_steps")
    if not spec:
        return {}
    try:
        vals = [int(v) for v in str(spec).split(",")]
    except ValueError:
        raise ConfigError(f"--vae-steps wants one or two integers like 3000,4000, not {spec!r}") from None
    if not 1 <= len(vals) <= 2 or min(vals) < 1:
        raise ConfigError(f"--vae-steps wants one or two positive integers like 3000,4000, not {spec!r}")
    return {500: vals[0], 50: vals[-1]}


def vae_config(window: int, size: str, data: Path, quick: bool, steps: dict | None = None) -> RunConfig:
    cfg = preset("mt10" if window >= 500 else "mt10-snippets").replace(
        name=f"{size}-w{window}", data={"dataset": str(data), "window": window},
        vae={"decoder_size": size}, ddpm={"steps": 1})   # these studies look at the VAE only
    if quick:                                            # 20 steps: not worth compiling
        cfg = cfg.replace(vae={"steps": 20, "encoder_hidden": [256], "compile": False})
    elif steps and steps.get(window):
        cfg = cfg.replace(vae={"steps": steps[window]})
    return cfg

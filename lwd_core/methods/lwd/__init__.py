"""Latent Weight Diffusion: a trajectory VAE with a hypernetwork decoder, then a latent DDPM (paper §3)."""
from ..registry import MethodSpec, register_method

register_method(MethodSpec(
    name="lwd", label="LWD", order=0, phases=("vae", "ddpm"), checkpoints=("vae", "ddpm"), best=("vae", "mse"),
    trainer="lwd_core.methods.lwd.trainer:train", inference="lwd_core.methods.lwd.inference:TrainedLWD",
    train_section="vae",
    kinds={"lwd": "LWD (sampled)", "vae": "VAE recon", "vae_train": "VAE decode (training latents)"},
    description="VAE whose decoder writes a small MLP policy, plus a DDPM over its latents"))

"""Latent Weight Diffusion: a trajectory VAE with a hypernetwork decoder, then a latent DDPM (paper §3)."""
from ..registry import MethodSpec, register_method

register_method(MethodSpec(
    name="lwd", label="LWD", order=0, phases=("vae", "ddpm"), checkpoints=("vae", "ddpm"), best=("vae", "mse"),
    trainer="lwd_core.methods.lwd.trainer:train", inference="lwd_core.methods.lwd.inference:TrainedLWD",
    train_section="vae",
    # the decoder's hypnettorch pulls in matplotlib; imported by a first training's thread, it stalled the app 0.34 s
    lazy_imports=("hypnettorch.hnets",),
    kinds={"lwd": "LWD (sampled)", "vae": "VAE recon", "vae_train": "VAE decode (training latents)"},
    description="VAE whose decoder writes a small MLP policy, plus a DDPM over its latents"))

"""Latent Weight Diffusion: the Qt-free core library of LWD Studio."""

__version__ = "0.1.0"

"""Diffusion Policy (Chi et al. 2024) with a 1-D temporal U-Net (paper Table 2 baseline)."""
from ..registry import MethodSpec, register_method

register_method(MethodSpec(
    name="diffusion_policy", label="Diffusion Policy", order=2, phases=("diffusion_policy",),
    checkpoints=("diffusion_policy",), best=("diffusion_policy", "loss"),
    trainer="lwd_core.methods.diffusion_policy.trainer:train",
    inference="lwd_core.methods.diffusion_policy.inference:TrainedDP",
    curves={("diffusion_policy", "loss"): "ddpm_loss"},  # its action MSE / its diffusion loss
    kinds={"diffusion_policy": "Diffusion Policy"},
    description="action chunks denoised by a temporal U-Net, executed receding-horizon"))

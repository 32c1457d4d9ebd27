"""Multi-task MLP behaviour cloning (paper Table 2 baseline)."""
from ..registry import MethodSpec, register_method

register_method(MethodSpec(
    name="mlp_bc", label="MLP-BC", order=1, phases=("mlp_bc",), checkpoints=("mlp_bc",), best=("mlp_bc", "loss"),
    trainer="lwd_core.methods.mlp_bc.trainer:train", inference="lwd_core.methods.mlp_bc.inference:TrainedMLPBC",
    curves={("mlp_bc", "loss"): "mse"},  # its action MSE / its diffusion loss
    kinds={"mlp_bc": "MLP-BC"},
    description="5 hidden layers, task one-hot appended to the observation"))

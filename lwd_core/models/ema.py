"""The exponential moving average of a model's weights, as Chi et al. train Diffusion Policy (their EMAModel with
power 0.75, max 0.9999, min 0, inv_gamma 1, update_after_step 0): the averaged weights are the ones evaluated."""
from __future__ import annotations

import copy
from collections import OrderedDict

import torch
import torch.nn as nn

from ..errors import RunError

POWER, INV_GAMMA, MIN_DECAY, MAX_DECAY, UPDATE_AFTER = 0.75, 1.0, 0.0, 0.9999, 0
PREFIX = "ema."


def ema_decay(step: int) -> float:
    """The decay of the average's update after optimisation step `step` (0-based: the number of updates before
    it): 0 for steps 0 and 1, then 1 - step ** -0.75 (1 - (1 + (step - 1) / inv_gamma) ** -power), at most 0.9999."""
    s = max(0, step - UPDATE_AFTER - 1)
    if s <= 0:
        return 0.0
    return max(MIN_DECAY, min(1 - (1 + s / INV_GAMMA) ** -POWER, MAX_DECAY))


class EMA(nn.Module):
    """A model and the average of its weights, as one module for the engine's checkpoints: its state dict holds
    the model's own entries under their own names and the average's under `ema.`, so a checkpoint keeps the trained
    weights where they always were, with the average beside them, and a resume restores both exactly."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.ema = copy.deepcopy(model).requires_grad_(False).eval()

    def state_dict(self, *args, **kwargs) -> "OrderedDict[str, torch.Tensor]":
        out = OrderedDict(self.model.state_dict())
        out.update((PREFIX + k, v) for k, v in self.ema.state_dict().items())
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        own = {k: v for k, v in state_dict.items() if not k.startswith(PREFIX)}
        avg = {k[len(PREFIX):]: v for k, v in state_dict.items() if k.startswith(PREFIX)}
        if strict and not avg:
            raise RuntimeError("Missing key(s) in state_dict: the weights' average (ema.*)")
        a = self.model.load_state_dict(own, strict=strict, assign=assign)
        b = self.ema.load_state_dict(avg, strict=strict, assign=assign)
        return type(a)(a.missing_keys + [PREFIX + k for k in b.missing_keys],
                       a.unexpected_keys + [PREFIX + k for k in b.unexpected_keys])

    def train(self, mode: bool = True) -> "EMA":
        self.model.train(mode)                     # the average stays in eval mode
        return self

    @torch.no_grad()
    def update(self, step: int) -> float:
        """Fold the model's weights after optimisation step `step` into the average; returns the decay used.
        Trained parameters: avg = decay * avg + (1 - decay) * w; everything else (buffers, frozen parameters) is
        copied, as Chi et al.'s EMAModel does for parameters without gradients."""
        d = ema_decay(step)
        pairs = list(zip(self.model.parameters(), self.ema.parameters()))
        live = [p for p, _ in pairs if p.requires_grad]
        avg = [e for p, e in pairs if p.requires_grad]
        if live:                                   # one fused kernel per op for all tensors (65.8M weights: "chi")
            torch._foreach_mul_(avg, d)
            torch._foreach_add_(avg, live, alpha=1 - d)
        for p, e in pairs:
            if not p.requires_grad:
                e.copy_(p)
        for src, dst in zip(self.model.buffers(), self.ema.buffers()):
            dst.copy_(src)
        return d


def resumed_ema_step(ckpt, meta: dict) -> int:
    """The step of the average saved in checkpoint `ckpt` (its metadata `meta`), which must be the checkpoint's own:
    weights and average are written together, so any other value means the file was tampered with."""
    if int(meta["ema_step"]) != int(meta["step"]):
        raise RunError(f"{ckpt}: inconsistent checkpoint (EMA at step {meta['ema_step']}, checkpoint says "
                       f"{meta['step']}); delete it to retrain that phase")
    return int(meta["ema_step"])

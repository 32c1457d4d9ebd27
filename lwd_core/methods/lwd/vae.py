"""Trajectory VAE whose decoder is a hypernetwork writing the weights of a small MLP policy (paper §3.2)."""
from __future__ import annotations

import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...config import DECODER_SIZES, VAEConfig
from ...models.policy import PolicySpec, batched_policy


def mlp(dims: list[int], activation: type[nn.Module]) -> nn.Sequential:
    """Linear layers between consecutive `dims`, each followed by `activation` (an encoder's body)."""
    layers: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), activation()]
    return nn.Sequential(*layers)


class TrajectoryEncoder(nn.Module):
    """Flattened (L, obs+act) window -> MLP -> (mu, logvar)."""

    def __init__(self, window: int, obs_dim: int, act_dim: int, hidden: tuple[int, ...], latent_dim: int):
        super().__init__()
        dims = [window * (obs_dim + act_dim), *hidden]
        self.body = mlp(dims, nn.ReLU)
        self.head = nn.Linear(dims[-1], 2 * latent_dim)

    def forward(self, obs_n: torch.Tensor, act: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        # obs_n (B, L, obs_dim) normalised and zero-padded, act (B, L, act_dim); the padding is zero already
        x = torch.cat([obs_n, act], dim=-1).flatten(1)  # (B, L*(obs+act))
        mu, logvar = self.head(self.body(x)).chunk(2, dim=-1)
        return mu, logvar.clamp(-30.0, 20.0)


class ConvTrajectoryEncoder(nn.Module):
    """(L, obs+act) window -> stride-2 1D convolutions over time -> masked mean and max pooling over time -> MLP ->
    (mu, logvar). Takes windows of any length (a 32-step PushT window, a whole 500-step MT10 episode) with the same
    weights, whose number does not grow with the window.

    Padded steps never reach the latent: the inputs arrive zeroed there, every layer's output is zeroed again where
    it covers no real step (the mask is max-pooled by 2 with each layer), and the pooling counts real positions
    only; a padded step therefore acts as the convolutions' own zero padding."""

    def __init__(self, obs_dim: int, act_dim: int, channels: tuple[int, ...], kernel: int,
                 hidden: tuple[int, ...], latent_dim: int):
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"conv encoder kernel must be odd, got {kernel}")
        c_in, convs = obs_dim + act_dim, []
        for c in channels:
            convs.append(nn.Conv1d(c_in, c, kernel, stride=2, padding=kernel // 2))   # length L -> ceil(L / 2)
            c_in = c
        self.convs = nn.ModuleList(convs)
        dims = [2 * c_in, *hidden]                               # mean and max of the last layer's channels
        self.body = mlp(dims, nn.GELU)
        self.head = nn.Linear(dims[-1], 2 * latent_dim)

    def forward(self, obs_n: torch.Tensor, act: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([obs_n, act], dim=-1).transpose(1, 2)    # (B, C, L)
        m = (torch.ones_like(x[:, :1]) if mask is None else mask.unsqueeze(1).to(x.dtype))   # (B, 1, L)
        x = x * m
        for conv in self.convs:
            m = F.max_pool1d(m, 2, 2, ceil_mode=True)          # (B, 1, ceil(L / 2)): covers a real step
            x = F.gelu(conv(x))
            x = x * m.to(x.dtype)
        mu, logvar = self.head(self.body(masked_mean_max(x, m, dim=-1))).chunk(2, dim=-1)
        return mu, logvar.clamp(-30.0, 20.0)


class PatchTrajectoryEncoder(nn.Module):
    """(L, obs+act) window -> layers that each map p consecutive steps to one, without overlap -> masked mean and
    max pooling over time -> MLP -> (mu, logvar). A layer is a convolution whose stride is its kernel, computed
    channels-last as one linear map of each patch: no convolution kernels, no layout changes. Windows of any length
    (the last patch of a layer is zero-padded); padding is kept out as in ConvTrajectoryEncoder."""

    def __init__(self, obs_dim: int, act_dim: int, patches: tuple[int, ...], channels: tuple[int, ...],
                 hidden: tuple[int, ...], latent_dim: int):
        super().__init__()
        c_in, layers = obs_dim + act_dim, []
        for p, c in zip(patches, channels, strict=True):
            layers.append(nn.Linear(p * c_in, c))              # length L -> ceil(L / p)
            c_in = c
        self.patches = tuple(patches)
        self.layers = nn.ModuleList(layers)
        dims = [2 * c_in, *hidden]
        self.body = mlp(dims, nn.GELU)
        self.head = nn.Linear(dims[-1], 2 * latent_dim)

    def forward(self, obs_n: torch.Tensor, act: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([obs_n, act], dim=-1)                    # (B, L, C)
        m = (torch.ones_like(x[..., :1]) if mask is None else mask.unsqueeze(-1).to(x.dtype))   # (B, L, 1)
        x = x * m
        for p, layer in zip(self.patches, self.layers):
            B, L, C = x.shape
            n = -(-L // p)                                     # patches, the last one padded
            if n * p != L:
                x, m = F.pad(x, (0, 0, 0, n * p - L)), F.pad(m, (0, 0, 0, n * p - L))
            m = m.reshape(B, n, p).amax(-1, keepdim=True)      # (B, n, 1): the patch covers a real step
            x = F.gelu(layer(x.reshape(B, n, p * C))) * m.to(x.dtype)   # (B, n, c)
        mu, logvar = self.head(self.body(masked_mean_max(x, m, dim=1))).chunk(2, dim=-1)
        return mu, logvar.clamp(-30.0, 20.0)


def masked_mean_max(x: torch.Tensor, m: torch.Tensor, dim: int) -> torch.Tensor:
    """Mean and max over the real positions along time (`dim`, where m > 0) -> (B, 2 * channels). An all-padding
    window pools to zeros, not -inf."""
    count = m.sum(dim)                                         # (B, 1)
    mean = x.sum(dim) / count.clamp_min(1.0).to(x.dtype)
    peak = x.masked_fill(m <= 0, float("-inf")).amax(dim)
    peak = torch.where(count > 0, peak, torch.zeros_like(peak))
    return torch.cat([mean, peak], dim=-1)


def build_encoder(cfg: VAEConfig, window: int, obs_dim: int, act_dim: int) -> nn.Module:
    if cfg.encoder == "conv":
        return ConvTrajectoryEncoder(obs_dim, act_dim, tuple(cfg.conv_channels), cfg.conv_kernel,
                                     tuple(cfg.encoder_hidden), cfg.latent_dim)
    if cfg.encoder == "patch":
        return PatchTrajectoryEncoder(obs_dim, act_dim, tuple(cfg.patch_sizes), tuple(cfg.patch_channels),
                                      tuple(cfg.encoder_hidden), cfg.latent_dim)
    return TrajectoryEncoder(window, obs_dim, act_dim, tuple(cfg.encoder_hidden), cfg.latent_dim)


class HyperDecoder(nn.Module):
    """hypnettorch HMLP: z (B, latent) -> theta (B, n_params) of the policy."""

    def __init__(self, spec: PolicySpec, latent_dim: int, size: str):
        super().__init__()
        from hypnettorch.hnets import HMLP       # imported here: hypnettorch pulls in matplotlib (start-up time)
        self.hnet = HMLP(spec.target_shapes, uncond_in_size=latent_dim, cond_in_size=0,
                         layers=list(DECODER_SIZES[size]), num_cond_embs=0, verbose=False)
        self._rescale_output(spec)

    @torch.no_grad()
    def _rescale_output(self, spec: PolicySpec) -> None:
        # Start the generated policy near a fan-in-scaled init, so the first steps are not spent
        # undoing a hypernetwork output that is far too large for the 256-wide target layers.
        W_out = self.hnet.layer_weight_tensors[-1]
        b_out = self.hnet.layer_bias_vectors[-1]
        b_out.zero_()
        i = 0
        for fin, fout in spec.layer_dims:
            n = fin * fout
            W_out[i:i + n].mul_(1.0 / fin ** 0.5)
            W_out[i + n:i + n + fout].mul_(0.1 / fin ** 0.5)
            i += n + fout

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.hnet.forward(uncond_input=z, ret_format="flattened")


def fp32_inside_autocast(device_type: str) -> contextlib.AbstractContextManager:
    """Leave an enclosing autocast for fp32; outside one, do nothing (fp32 runs enter no autocast at all)."""
    if torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


class LWDVAE(nn.Module):
    def __init__(self, cfg: VAEConfig, window: int, obs_dim: int, act_dim: int, tanh_output: bool):
        super().__init__()
        self.cfg = cfg
        self.window = window
        self.spec = PolicySpec(obs_dim, act_dim, tuple(cfg.policy_hidden), tanh_output)
        self.encoder = build_encoder(cfg, window, obs_dim, act_dim)
        self.decoder = HyperDecoder(self.spec, cfg.latent_dim, cfg.decoder_size)
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))

    def set_normalizer(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.obs_mean.copy_(mean)
        self.obs_std.copy_(std.clamp_min(1e-3))

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.obs_mean) / self.obs_std

    def encode(self, obs: torch.Tensor, act: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = mask.unsqueeze(-1)
        return self.encoder(self.normalize(obs) * m, act * m, mask)

    # In a bf16 run the hypernetwork and the generated policies stay fp32 unless `vae.decoder_bf16` is set. bf16 keeps
    # 3 significant digits: PushT's policies must place a block to about 2 px, and there bf16 has not been measured.
    # Where it was (MT10, docs/performance.md), the policies' batched matmuls are compute-bound, and in bf16 the whole
    # VAE step took about 0.8x the time at equal success. Inference (no autocast) always runs in fp32.
    def _decoder_precision(self, device_type: str) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext() if self.cfg.decoder_bf16 else fp32_inside_autocast(device_type)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        with self._decoder_precision(z.device.type):
            return self.decoder(z if self.cfg.decoder_bf16 else z.float())

    def act(self, theta: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """theta (B, P), obs (B, T, obs_dim) raw -> actions (B, T, act_dim)."""
        with self._decoder_precision(theta.device.type):
            return batched_policy(self.spec, theta if self.cfg.decoder_bf16 else theta.float(), self.normalize(obs))


def kl_term(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Paper Eq. 2: sum_i (sigma_i^2 + mu_i^2 - 1 - log sigma_i^2), averaged over the batch."""
    return (logvar.exp() + mu.pow(2) - 1.0 - logvar).sum(-1).mean()


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared action error over real (mask=1) steps and action dims."""
    se = (pred - target).pow(2).sum(-1) * mask  # (B, T)
    return se.sum() / (mask.sum() * pred.shape[-1]).clamp_min(1.0)


def pick_states(mask: torch.Tensor, k: int, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """k random real steps per window, without replacement, given uniform draws keys (B, L) (the k real steps with
    the largest keys): returns idx (B, k) and their mask (B, k)."""
    idx = keys.masked_fill(mask <= 0, -1.0).topk(k, dim=1).indices
    return idx, mask.gather(1, idx)


def draw_noise(model: LWDVAE, mask: torch.Tensor,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The VAE step's random draws, in this order: eps (B, latent) for the reparameterisation, then keys (B, L) for
    the states the generated policy is scored on (None when it is scored on every step). Drawn apart from the loss
    so that the loss is a pure function of its tensors, which torch.compile can trace whole."""
    eps = torch.randn((mask.shape[0], model.cfg.latent_dim), generator=generator, device=mask.device)
    k = model.cfg.states_per_window
    keys = torch.rand(mask.shape, generator=generator, device=mask.device) if 0 < k < mask.shape[1] else None
    return eps, keys


def vae_loss(model: LWDVAE, obs: torch.Tensor, act: torch.Tensor, mask: torch.Tensor,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Eq. 2: action MSE of the generated policy on the demo states + beta_kl * KL."""
    return vae_loss_given_noise(model, obs, act, mask, *draw_noise(model, mask, generator))


def vae_loss_given_noise(model: LWDVAE, obs: torch.Tensor, act: torch.Tensor, mask: torch.Tensor, eps: torch.Tensor,
                         keys: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """vae_loss with its random draws (draw_noise) given."""
    mu, logvar = model.encode(obs, act, mask)                                  # (B, D) each
    z = mu + (0.5 * logvar).exp() * eps
    theta = model.decode(z)                                                    # (B, P)
    if keys is not None:
        idx, mask = pick_states(mask, model.cfg.states_per_window, keys)
        obs = obs.gather(1, idx.unsqueeze(-1).expand(-1, -1, obs.shape[-1]))   # (B, k, obs_dim)
        act = act.gather(1, idx.unsqueeze(-1).expand(-1, -1, act.shape[-1]))
    pred = model.act(theta, obs)                                               # (B, T, act_dim)
    mse = masked_mse(pred, act, mask)
    kl = kl_term(mu, logvar)
    return {"loss": mse + model.cfg.beta_kl * kl, "mse": mse, "kl": kl}

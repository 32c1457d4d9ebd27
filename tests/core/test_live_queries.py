"""Only live episodes are queried and counted: episodes ending at different steps each make ceil(length / H_a)
diffusion queries, with LWD re-sampled every H_a steps and with Diffusion Policy executing H_a actions a chunk."""
from __future__ import annotations

import math

import numpy as np
import pytest

from lwd_core.config import EvalConfig
from lwd_core.eval.parallel import EnvPool
from lwd_core.eval.rollout import rollout_pool
from tests.helpers import toy_run
from tests.toy_suite import ACT_DIM, OBS_DIM

LENGTHS = (3, 7, 11, 30)


class EndsEnv:
    """Random states (toy dimensions); the condition is the episode's length."""

    def __init__(self, length: int):
        self.max_episode_steps, self.length = length, length

    def reset(self, seed=None):
        self.rng, self.t = np.random.default_rng(seed), 0
        return self.rng.normal(size=OBS_DIM).astype(np.float32), {}

    def step(self, a):
        self.t += 1
        return self.rng.normal(size=OBS_DIM).astype(np.float32), 0.0, self.t >= self.length, False, {}

    def render(self):
        return np.zeros((2, 2, 3), np.uint8)

    def close(self):
        pass


class EndsSuite:
    def make(self, condition, render_mode=None, size=None):
        return EndsEnv(int(condition))


def roll(batch, h_a):
    with EnvPool(EndsSuite(), workers=1) as pool:
        pool.open([str(n) for n in LENGTHS])
        res = rollout_pool(pool, batch, list(range(len(LENGTHS))), 50)
    assert [r["length"] for r in res] == list(LENGTHS)
    return [math.ceil(n / h_a) for n in LENGTHS]


@pytest.fixture(scope="module")
def state_conditioned_run(tmp_path_factory):
    return toy_run(tmp_path_factory.mktemp("live"))


@pytest.mark.parametrize("h_a", [1, 4, 8])
def test_lwd_resamples_only_live_episodes(state_conditioned_run, h_a):
    from lwd_core.methods.lwd.inference import TrainedLWD
    lwd = TrainedLWD(state_conditioned_run)
    batch = lwd.batch_policy("lwd", 0, len(LENGTHS), EvalConfig(action_horizon=h_a, ddim_steps=3), 0, None)
    want = roll(batch, h_a)
    assert batch.queries.tolist() == want
    per_episode = lwd.extra_metrics([(0, batch)])["diffusion_queries_per_episode"]
    assert per_episode == pytest.approx(np.mean(want))


@pytest.mark.parametrize("h_a", [2, 5])
def test_diffusion_policy_queries_only_live_episodes(h_a):
    from lwd_core.methods.diffusion_policy.inference import DPBatch
    from lwd_core.methods.diffusion_policy.model import DiffusionPolicyModel, DPSpec
    m = DiffusionPolicyModel(DPSpec(OBS_DIM, ACT_DIM, 1, "small", horizon=16, n_obs=2, n_action=8))
    batch = DPBatch(m, 0, 2, seed=0, n_action=h_a)
    want = roll(batch, h_a)
    assert batch.queries.tolist() == want


def test_nearest_window_oracle_decodes_the_training_latent_of_the_nearest_first_state(state_conditioned_run):
    """vae_train with an action horizon re-chooses, every H_a steps, the latent of the training window whose first
    state is nearest: a training window's own first state gives back its own latent, a slightly moved one too, and
    these choices are not diffusion queries."""
    import torch

    from lwd_core.methods.lwd.inference import ResampledBatch, TrainedLWD
    lwd = TrainedLWD(state_conditioned_run)
    lat = lwd.latents
    pick = torch.tensor([0, len(lat["mu"]) // 2, len(lat["mu"]) - 1])
    first = lat["init_obs"][pick].numpy()
    same = lat["init_obs"][pick[:, None]] == lat["init_obs"][None]        # windows sharing a first state
    for i in range(len(pick)):
        cid = int(lat["label"][pick[i]])
        got = lwd.nearest_latents(cid, first[i:i + 1] + 1e-4)[0]
        hits = torch.nonzero(same[i].all(-1) & (lat["label"] == cid)).flatten()
        assert any(torch.equal(got, lat["mu"][j]) for j in hits), i
    batch = lwd.batch_policy("vae_train", 0, len(LENGTHS), EvalConfig(action_horizon=4), 0, None)
    assert isinstance(batch, ResampledBatch) and batch.nearest
    want_q = roll(batch, 4)
    assert batch.queries.tolist() == want_q
    assert "diffusion_queries_per_episode" not in lwd.extra_metrics([(0, batch)])

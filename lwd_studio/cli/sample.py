"""`lwd-studio sample RUN_DIR --condition NAME --out POLICY.safetensors`: one generated policy, numpy-runnable."""
from __future__ import annotations

from pathlib import Path

from lwd_core.errors import ConfigError


def add_parser(sub) -> None:
    s = sub.add_parser("sample", help="sample one policy and write it as a standalone numpy policy file")
    s.add_argument("run_dir", type=Path)
    s.add_argument("--condition", required=True)
    s.add_argument("--out", required=True, type=Path, help="policy file (.safetensors; a .json spec goes beside)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--sampler", choices=["ddim", "ddpm"], default="ddim")
    s.add_argument("--placement-seed", type=int, default=None,
                   help="for state-conditioned runs: the episode seed whose first observation conditions the sample "
                        "(default: the first held-out evaluation seed)")


def run(a) -> int:
    import numpy as np

    from lwd_core.envs.registry import get_suite
    from lwd_core.methods.lwd.inference import TrainedLWD
    if a.out.suffix != ".safetensors":
        raise ConfigError(f"--out must end in .safetensors, got {a.out.name}")
    lwd = TrainedLWD(a.run_dir)
    cid = lwd.condition_id(a.condition)
    init = None
    if lwd.cfg.ddpm.state_condition:
        suite = get_suite(lwd.env_id)
        env = suite.make(a.condition)
        try:
            seed = a.placement_seed if a.placement_seed is not None else suite.eval_seed(a.seed, 0)
            init = env.reset(seed=seed)[0][None]
        finally:
            env.close()
    z = lwd.sample_latents(np.array([cid]), a.sampler, lwd.cfg.eval.ddim_steps, seed=a.seed, init_obs=init)
    pol = lwd.policy_batch(lwd.decode(z)).policy(0)
    pol.save(a.out, {"condition": a.condition, "run": str(a.run_dir), "env_id": lwd.env_id, "seed": a.seed,
                     "sampler": a.sampler})
    print(f"wrote {a.out} and {a.out.with_suffix('.json')} ({pol.n_params} parameters, condition {a.condition})")
    return 0

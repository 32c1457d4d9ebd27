"""`lwd-studio sample RUN_DIR --condition NAME --out POLICY.safetensors`: one policy of a trained run of any method,
as one policy file (policy_file.py; LWD's generated policies run with numpy alone)."""
from __future__ import annotations

from pathlib import Path

from lwd_core.errors import ConfigError


def add_parser(sub) -> None:
    s = sub.add_parser("sample", help="sample one policy of a trained run and write it as a standalone policy file")
    s.add_argument("run_dir", type=Path)
    s.add_argument("--condition", required=True)
    s.add_argument("--out", required=True, type=Path, help="policy file (.safetensors; a .json spec goes beside)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--sampler", choices=["ddim", "ddpm"], default=None,
                   help="diffusion sampler, for methods that sample with one (default: the run's own)")
    s.add_argument("--placement-seed", type=int, default=None,
                   help="for state-conditioned runs: the episode seed whose first observation conditions the sample "
                        "(default: the first held-out evaluation seed)")


def run(a) -> int:
    from lwd_core.envs.registry import get_suite
    from lwd_core.methods.registry import load_trained, sample_policy
    from lwd_core.seeds import suite_start_seed
    if a.out.suffix != ".safetensors":
        raise ConfigError(f"--out must end in .safetensors, got {a.out.name}")
    trained = load_trained(a.run_dir)
    trained.condition_id(a.condition)

    def first_obs():
        """The first observation of the placement episode, for methods that condition a sample on it."""
        suite = get_suite(trained.env_id)
        env = suite.make(a.condition)
        try:
            seed = a.placement_seed if a.placement_seed is not None else suite_start_seed(suite, "eval", a.seed, 0)
            return env.reset(seed=seed)[0]
        finally:
            env.close()
    pol = sample_policy(trained, a.condition, a.seed, a.sampler, first_obs)
    info = {"condition": a.condition, "run": str(a.run_dir), "env_id": trained.env_id, "seed": a.seed}
    pol.save(a.out, {**info, "sampler": a.sampler} if a.sampler else info)
    n = getattr(pol, "n_params", trained.n_params)
    print(f"wrote {a.out} and {a.out.with_suffix('.json')} ({n} parameters, condition {a.condition})")
    return 0

"""`lwd-studio sample RUN_DIR --condition NAME --out POLICY.safetensors`: one policy of a trained run of any method,
as one policy file (policy_file.py; LWD's generated policies run with numpy alone). `export` (export.py) samples
through the same path."""
from __future__ import annotations

from pathlib import Path

from lwd_core.errors import ConfigError


def add_sampling_options(s) -> None:
    """The options that pick which policy of a run is sampled: shared by `sample` and `export`."""
    s.add_argument("run_dir", type=Path)
    s.add_argument("--condition", required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--sampler", choices=["ddim", "ddpm"], default=None,
                   help="diffusion sampler, for methods that sample with one (default: the run's own)")
    s.add_argument("--placement-seed", type=int, default=None,
                   help="for state-conditioned runs: the episode seed whose first observation conditions the sample "
                        "(default: the first held-out evaluation seed)")


def add_parser(sub) -> None:
    s = sub.add_parser("sample", help="sample one policy of a trained run and write it as a standalone policy file")
    add_sampling_options(s)
    s.add_argument("--out", required=True, type=Path, help="policy file (.safetensors; a .json spec goes beside)")


def sampled_policy(a) -> tuple[object, object, dict]:
    """(policy, the trained run, where the policy came from) for the options of add_sampling_options, through the
    method registry: any method's run, LWD's sampled from its diffusion model."""
    from lwd_core.envs.registry import get_suite
    from lwd_core.methods.registry import load_trained, sample_policy
    from lwd_core.seeds import suite_start_seed
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
    return pol, trained, {**info, "sampler": a.sampler} if a.sampler else info


def check_out(out: Path, suffix: str) -> None:
    """Checked before sampling, which can take a while."""
    if out.suffix != suffix:
        raise ConfigError(f"--out must end in {suffix}, got {out.name}")


def write_policy_file(pol, trained, info: dict, out: Path) -> None:
    pol.save(out, info)
    n = getattr(pol, "n_params", trained.n_params)
    print(f"wrote {out} and {out.with_suffix('.json')} ({n} parameters, condition {info['condition']})")


def run(a) -> int:
    check_out(a.out, ".safetensors")
    pol, trained, info = sampled_policy(a)
    write_policy_file(pol, trained, info, a.out)
    return 0

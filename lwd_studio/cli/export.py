"""`lwd-studio export RUN_DIR --condition NAME --format onnx|safetensors --out FILE`: one policy of a trained run,
sampled as `sample` samples it (sample.py), written as ONNX (plain MLP policies: LWD's generated policies and
MLP-BC's; needs the `onnx` extra) or as the project's policy file."""
from __future__ import annotations

from pathlib import Path

from lwd_core.errors import ConfigError

from .sample import add_sampling_options, check_out, sampled_policy, write_policy_file

FORMATS = {"onnx": ".onnx", "safetensors": ".safetensors"}


def add_parser(sub) -> None:
    s = sub.add_parser("export", help="sample one policy of a trained run and export it as ONNX or a policy file")
    add_sampling_options(s)
    s.add_argument("--format", choices=list(FORMATS), default=None, help="default: from --out's suffix")
    s.add_argument("--out", required=True, type=Path,
                   help="FILE.onnx, or FILE.safetensors (the policy file format; a .json spec goes beside)")


def run(a) -> int:
    from lwd_core.methods.registry import get_method
    from lwd_core.onnx_export import export_onnx, require_onnx
    fmt = a.format or next((f for f, suffix in FORMATS.items() if a.out.suffix == suffix), None)
    if fmt is None:
        raise ConfigError(f"--out {a.out.name}: end it in .onnx or .safetensors, or pass --format")
    check_out(a.out, FORMATS[fmt])
    if fmt == "onnx":
        require_onnx()                       # a missing extra is reported before the run is loaded and sampled
    pol, trained, info = sampled_policy(a)
    if fmt == "safetensors":
        write_policy_file(pol, trained, info, a.out)
        return 0
    method = get_method(trained.cfg.method)
    w = export_onnx(pol, a.out, {**info, "method": method.name}, name=f"{method.label}'s policy")
    n = sum(W.size + b.size for W, b in w.layers)
    print(f"wrote {a.out} (ONNX: obs (batch, {w.obs_mean.size}) -> action (batch, {w.layers[-1][1].size}); "
          f"{n} parameters, condition {a.condition})")
    return 0

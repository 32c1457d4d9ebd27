"""A generated (or any small MLP) policy as an ONNX model, for runtimes on robots and in other languages.

The graph is written node by node from the policy's numpy weights, not traced through torch.onnx: what it computes
is exactly MLPWeights' formula (export.py), whatever model class the weights came from. Input `obs` (batch, obs_dim)
float32, raw observations; output `action` (batch, act_dim); the batch dimension is dynamic."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .errors import LWDError
from .export import MLPWeights
from .io import atomic_write_bytes

# Opset 17 and IR version 8 (ONNX 1.12, 2022) rather than the installed onnx's newest: every node here exists there,
# and onnxruntime 1.12 and later load the file, so an older runtime on a robot's computer can run it.
OPSET, IR_VERSION = 17, 8
ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid"}
INSTALL_HINT = 'pip install "lwd-studio[onnx]" (or: pip install onnx)'


class MissingExtra(LWDError):
    """An optional dependency that a feature needs is not installed."""


def require_onnx():
    """The onnx package. It is an optional extra, so it is imported here, on use, rather than with this module:
    without it, everything else still works and asking for ONNX is one line of advice."""
    try:
        import onnx
    except ImportError:
        raise MissingExtra(f"ONNX export needs the onnx package, which is not installed: {INSTALL_HINT}") from None
    return onnx


def mlp_to_onnx(w: MLPWeights, metadata: Mapping[str, Any] | None = None):
    """MLPWeights -> onnx.ModelProto (checked): normalise, then MatMul + Add per layer with the hidden activation
    between layers, then tanh where the policy has it."""
    onnx = require_onnx()
    helper, numpy_helper, FLOAT = onnx.helper, onnx.numpy_helper, onnx.TensorProto.FLOAT
    if w.activation not in ACTIVATIONS:
        raise LWDError(f"cannot export a policy with hidden activation {w.activation!r} to ONNX; "
                       f"known: {', '.join(ACTIVATIONS)}")
    obs_dim, act_dim = int(w.obs_mean.size), int(w.layers[-1][1].size)
    inits = [numpy_helper.from_array(np.asarray(w.obs_mean, np.float32).reshape(obs_dim), "obs_mean"),
             numpy_helper.from_array(np.asarray(w.obs_inv_std, np.float32).reshape(obs_dim), "obs_inv_std")]
    nodes = [helper.make_node("Sub", ["obs", "obs_mean"], ["obs_centred"]),
             helper.make_node("Mul", ["obs_centred", "obs_inv_std"], ["h0"])]
    h, last = "h0", len(w.layers) - 1
    for k, (W, b) in enumerate(w.layers):
        inits += [numpy_helper.from_array(np.asarray(W, np.float32), f"W{k}"),        # (in, out)
                  numpy_helper.from_array(np.asarray(b, np.float32), f"b{k}")]        # (out,)
        nodes += [helper.make_node("MatMul", [h, f"W{k}"], [f"mm{k}"]),
                  helper.make_node("Add", [f"mm{k}", f"b{k}"], [f"z{k}"])]
        h = f"z{k}"
        if k < last:
            nodes.append(helper.make_node(ACTIVATIONS[w.activation], [h], [f"h{k + 1}"]))
            h = f"h{k + 1}"
    # an Identity where there is no tanh, so the output is always named `action`
    nodes.append(helper.make_node("Tanh" if w.tanh_output else "Identity", [h], ["action"]))
    graph = helper.make_graph(
        nodes, "lwd_policy",
        [helper.make_tensor_value_info("obs", FLOAT, ["batch", obs_dim])],
        [helper.make_tensor_value_info("action", FLOAT, ["batch", act_dim])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                              producer_name="lwd-studio")
    helper.set_model_props(model, {str(k): str(v) for k, v in (metadata or {}).items()})
    onnx.checker.check_model(model)
    return model


def export_onnx(policy, path: str | Path, info: Mapping[str, Any] | None = None,
                name: str = "this policy") -> MLPWeights:
    """Write `policy` (one that offers mlp_weights(), e.g. LWD's generated policies and MLP-BC's) to `path` as
    ONNX, atomically, and return the weights written; `info` (where it came from) goes into the model's metadata.
    `name` says in errors what the policy is."""
    weights = getattr(policy, "mlp_weights", None)
    if weights is None:
        raise LWDError(f"{name} is not a plain MLP policy, so it cannot be exported to ONNX; write it as a "
                       f"policy file (safetensors) instead")
    w = weights()
    atomic_write_bytes(path, mlp_to_onnx(w, info).SerializeToString())
    return w

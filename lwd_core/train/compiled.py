"""A training step's forward and backward, compiled with torch.compile where that is asked for and possible.

The step's loss function is compiled for the batch shape of the first batch it is given (a full batch) and runs
eagerly for any other shape (an epoch's shorter last batch), so that one compilation serves the whole phase instead
of a second, dynamic-shape one. Where compilation fails (e.g. no C++ compiler for the CPU backend), the step runs
eagerly from then on and says why once."""
from __future__ import annotations

import time
from typing import Callable

import torch

# The backend torch.compile uses; tests swap in "aot_eager" (tracing and AOTAutograd without code generation), which
# needs no compiler and compiles in a second.
BACKEND = "inductor"


def _first_line(e: BaseException) -> str:
    """The root cause's type and first line: torch.compile wraps a backend's error (BackendCompilerFailed) in a
    message whose first line does not say what failed."""
    seen = {id(e)}
    while (inner := e.__cause__ or getattr(e, "inner_exception", None)) is not None and id(inner) not in seen:
        e = inner
        seen.add(id(e))
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:160]}" if text else type(e).__name__


class CompiledLoss:
    """`loss_fn(*tensors) -> {"loss": ..., ...}` run forward and backward, compiled if `enabled`.

    `backward(*tensors)` returns the outputs after calling backward on their "loss"; the caller zeroes the gradients
    before it and steps the optimizer after it, as in an eager step."""

    def __init__(self, loss_fn: Callable[..., dict[str, torch.Tensor]], enabled: bool,
                 params: list[torch.nn.Parameter]):
        self.loss_fn = loss_fn
        self.params = params
        self.compiled = torch.compile(loss_fn, backend=BACKEND, dynamic=False) if enabled else None
        self.shapes: tuple | None = None          # the input shapes it was compiled for
        self.failure: str | None = None           # why it runs eagerly after all

    @property
    def active(self) -> bool:
        return self.compiled is not None

    def backward(self, *tensors: torch.Tensor | None) -> dict[str, torch.Tensor]:
        shapes = tuple(None if t is None else tuple(t.shape) for t in tensors)
        if self.compiled is not None and self.shapes in (None, shapes):
            try:                                  # the first call compiles the forward, its backward the backward
                out = self.compiled(*tensors)
                out["loss"].backward()
                self.shapes = shapes
                return out
            except Exception as e:                # noqa: BLE001 -- a failure to compile: train eagerly instead
                if self.shapes is not None:       # compiled already: a failure of the step itself
                    raise
                self.compiled, self.failure = None, _first_line(e)
                for p in self.params:             # a backward that failed part-way may have left gradients
                    p.grad = None
        out = self.loss_fn(*tensors)
        out["loss"].backward()
        return out

    def warm_up(self, *tensors: torch.Tensor | None) -> str:
        """Compile now, on example inputs of the training batches' shape, and leave no gradients behind: a line
        that says how long it took, or why the step stays eager."""
        if self.compiled is None:
            return "torch.compile is off for this step"
        t = time.perf_counter()
        self.backward(*tensors)
        for p in self.params:
            p.grad = None
        if self.compiled is None:
            return f"torch.compile failed ({self.failure}); training without it"
        return f"compiled the training step with torch.compile in {time.perf_counter() - t:.0f} s"

"""One service of named seed streams: every random draw in the project comes from here.

Two kinds of draws, each keyed by a stream name, the user's seed and the episode (or whatever indexes the draw):

- **Start states.** `start_seed(stream, seed, *key)` is the integer an environment's `reset(seed=...)` gets.
  It is `(pair(seed, *key) * MAX_KEYS + len(key) - 1) * MODULUS + slot(stream)`, where `pair` is the Cantor pairing
  (injective on the non-negative integers, folded left over the key), the key's length tells keys of different
  lengths apart, and every start-state stream has its own residue class modulo MODULUS. So the start
  states of two streams never meet, for any seeds and any episode counts: training and evaluation are disjoint
  by construction, not by choosing bases far apart.
- **Everything else** (collection noise, policy sampling, perturbations, a behaviour's action noise): numpy
  Generators or torch Generators from `SeedSequence(seed, spawn_key=(stream id, *key))`, independent across
  streams and keys.

A suite may keep an older scheme for its start states, if that scheme is itself disjoint by construction, by
defining `start_seed(stream, seed, *key)` (MT10 does, so its published placements stay comparable); everything
else asks `suite_start_seed`, which falls back to this module."""
from __future__ import annotations

import zlib
from typing import Any

import numpy as np

# Start-state streams and their residue classes. Slots are fixed forever (results depend on them); new streams
# take a free slot below MODULUS.
START_STREAMS = {
    "collect": 0,          # demonstrations a collector records (training data)
    "eval": 1,             # held-out evaluation episodes
    "reference": 2,        # a second, independent set of held-out episodes (e.g. Table 1's original-vs-original)
    "snapshot": 3,         # ranking behaviour-policy snapshots while choosing the shipped levels
    "card": 4,             # measuring the shipped behaviours' returns for their cards
    "play": 5,             # single episodes played in the app's viewer
}
MODULUS = 16
MAX_KEYS = 4               # (seed, episode) for most collectors; (seed, level, episode) for locomotion's

# Streams of other draws (no start states): named here so that every use is listed in one place.
DRAW_STREAMS = ("collect_noise", "policy", "perturb", "behaviour_noise", "planner")


def _check_key(stream: str, key: tuple) -> tuple[int, ...]:
    out = []
    for k in key:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) < 0:
            raise ValueError(f"seed stream {stream!r}: keys must be integers >= 0, got {k!r}")
        out.append(int(k))
    return tuple(out)


def pair(a: int, b: int) -> int:
    """Cantor's pairing: a bijection from pairs of non-negative integers onto the non-negative integers."""
    return (a + b) * (a + b + 1) // 2 + b


def start_seed(stream: str, seed: int, *key: int) -> int:
    """The reset seed of episode `key` of `stream` under the user's `seed` (see the module's docstring)."""
    if stream not in START_STREAMS:
        raise ValueError(f"unknown start-state stream {stream!r}; known: {', '.join(START_STREAMS)}")
    if not 1 <= len(key) <= MAX_KEYS:
        raise ValueError(f"start-state stream {stream!r}: 1 to {MAX_KEYS} keys after the seed, got {len(key)}")
    v, *rest = _check_key(stream, (seed, *key))
    for k in rest:
        v = pair(v, k)
    return (v * MAX_KEYS + len(rest) - 1) * MODULUS + START_STREAMS[stream]


def stream_of(reset_seed: int) -> str:
    """Which start-state stream a reset seed belongs to (tests and provenance checks)."""
    slot = int(reset_seed) % MODULUS
    for name, s in START_STREAMS.items():
        if s == slot:
            return name
    return ""


def _stream_id(stream: str) -> int:
    if stream not in DRAW_STREAMS and stream not in START_STREAMS:
        raise ValueError(f"unknown seed stream {stream!r}")
    return zlib.crc32(stream.encode())


def seed_sequence(stream: str, seed: int, *key: int) -> np.random.SeedSequence:
    seed, *key = _check_key(stream, (seed, *key))
    return np.random.SeedSequence(seed, spawn_key=(_stream_id(stream), *key))


def rng(stream: str, seed: int, *key: int) -> np.random.Generator:
    """A numpy Generator for draws of `stream` keyed by (seed, *key)."""
    return np.random.default_rng(seed_sequence(stream, seed, *key))


def int_seed(stream: str, seed: int, *key: int) -> int:
    """A 63-bit integer seed for libraries that take one (torch.Generator.manual_seed, SB3)."""
    return int(seed_sequence(stream, seed, *key).generate_state(1, np.uint64)[0] >> np.uint64(1))


def torch_generator(stream: str, seed: int, *key: int):
    import torch                                   # only callers that sample with torch pay for the import
    return torch.Generator().manual_seed(int_seed(stream, seed, *key))


def suite_start_seed(suite: Any, stream: str, seed: int, *key: int) -> int:
    """A suite's own scheme where it keeps one (`suite.start_seed`), else this module's."""
    own = getattr(suite, "start_seed", None)
    return int(own(stream, seed, *key)) if own is not None else start_seed(stream, seed, *key)

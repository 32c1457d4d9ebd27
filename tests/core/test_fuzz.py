"""Property-based tests (hypothesis): configs, `--set` strings and small HDF5 files. Whatever the input, the result
is a valid object or one of the project's own errors with a one-line message; never another exception.
600 cases in all (250 + 200 + 150)."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import h5py
import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lwd_core.config import RunConfig, config_docs, preset
from lwd_core.data.hdf5 import load_dataset
from lwd_core.data.windows import make_windows
from lwd_core.errors import LWDError
from lwd_core.train.engine import split_episodes
from lwd_studio.cli.common import parse_set

DOCS = {d.key: d for d in config_docs()}
KEYS = list(DOCS)
SECTIONS = sorted({k.split(".")[0] for k in KEYS if "." in k})
# no subnormal floats: importing the training engine flushes them to zero in this process (lwd_core/train/engine.py)
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_subnormal=False),
                        st.text(max_size=6))
json_value = st.recursive(json_scalar, lambda c: st.one_of(st.lists(c, max_size=3),
                                                           st.dictionaries(st.text(max_size=5), c, max_size=3)),
                          max_leaves=6)


def _is_project_error(e: BaseException) -> None:
    assert isinstance(e, LWDError), f"{type(e).__name__}: {e}"
    assert str(e).strip() and "\n" not in str(e).strip(), repr(str(e))


def plausible(key: str):
    """Values of the key's own type, around its limits, so that many configs are valid."""
    doc = DOCS.get(key)
    if doc is None:
        return json_value
    if doc.meta.get("choices"):
        return st.one_of(st.sampled_from(list(doc.meta["choices"])), st.text(max_size=4))
    return {"int": st.integers(-2, 64), "float": st.floats(-0.5, 1.5, allow_subnormal=False), "bool": st.booleans(),
            "str": st.text(max_size=6), "list[int]": st.lists(st.integers(-1, 64), max_size=3)}[doc.type]


@st.composite
def config_dicts(draw):
    """Real keys with values of their type (mostly) or wild ones, sometimes unknown keys, sometimes a section
    replaced by a scalar."""
    d: dict = {}
    for key in draw(st.lists(st.sampled_from(KEYS + ["bogus", "vae.bogus"]), max_size=5)):
        value = draw(plausible(key) if draw(st.integers(0, 3)) else json_value)
        if "." in key:
            sec, k = key.split(".", 1)
            if not isinstance(d.get(sec, {}), dict):
                continue
            d.setdefault(sec, {})[k] = value
        else:
            d[key] = value
    if draw(st.integers(0, 5)) == 0:
        d[draw(st.sampled_from(SECTIONS))] = draw(json_scalar)
    return d


@settings(max_examples=250, deadline=None)
@given(config_dicts())
def test_any_config_is_valid_or_a_one_line_config_error(d):
    try:
        cfg = RunConfig.from_dict(d)
    except Exception as e:  # noqa: BLE001  (the property: only the project's errors)
        _is_project_error(e)
        event("rejected")
        return
    event("accepted")
    assert RunConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg       # what loads, round-trips


set_strings = st.one_of(
    st.sampled_from(KEYS).flatmap(lambda k: plausible(k).map(lambda v: f"{k}={json.dumps(v)}")),
    st.tuples(st.one_of(st.sampled_from(KEYS), st.text(max_size=12)),
              st.one_of(json_value.map(json.dumps), st.text(max_size=10))).map(lambda kv: f"{kv[0]}={kv[1]}"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(set_strings, st.text(max_size=12)), min_size=1, max_size=3))
def test_any_set_string_is_applied_or_a_one_line_config_error(items):
    try:
        preset("toy-tiny").replace(**parse_set(items))
        event("accepted")
    except Exception as e:  # noqa: BLE001
        _is_project_error(e)
        event("rejected")


arrays = st.sampled_from(["f4"] * 12 + ["f8", "i8", "u1", "?"])       # mostly what a valid file holds
flags = st.sampled_from(["?"] * 3 + ["f4", "i8"])


@st.composite
def h5_files(draw):
    """Small files, most of them valid or nearly so, with every kind of fault now and then."""
    n = draw(st.integers(0, 40))
    od, ad = draw(st.sampled_from([0] + [1, 2, 3] * 3)), draw(st.sampled_from([0] + [1, 2] * 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    odd = lambda: draw(st.integers(0, 9)) == 0                                                    # noqa: E731

    def arr(shape, dtype):
        return (rng.normal(size=shape) * 2).astype(dtype)
    spec = {"observations": arr((n,) if odd() else (n, od), draw(arrays)),
            "actions": arr((n + 1 if odd() else n, ad), draw(arrays)),
            "rewards": arr((n, 1) if odd() else (n,), "f4"),
            "terminals": rng.integers(0, 3 if odd() else 2, n).astype(draw(flags)) * (rng.random(n) < 0.05),
            "timeouts": (np.arange(1, n + 1) % draw(st.integers(1, 12)) == 0).astype(draw(flags))}
    for k in list(spec):
        if draw(st.integers(0, 30)) == 0:
            del spec[k]                                               # a missing required key
    names = None
    if draw(st.booleans()):
        episode = np.cumsum(np.r_[0, np.asarray(spec.get("timeouts", np.zeros(n)), bool)[:-1]]) if n else []
        lab = rng.integers(-1 if odd() else 0, 4, n + 1)[episode] if n else np.zeros(0, int)    # one per episode
        if odd():
            lab = rng.integers(0, 4, n)                                                          # changes inside
        spec["labels"] = lab.astype("f4" if odd() else "i8")
        names = draw(st.one_of(st.just('["a", "b", "c", "d"]'), st.just('["a", "b"]'), st.none(),
                               json_value.map(json.dumps)))
    if odd():
        spec["infos/action_labels"] = arr((n, ad), "f4")
    cfg = {"window": draw(st.integers(0, 8)), "stride": draw(st.integers(0, 3)),
           "short_episodes": draw(st.sampled_from(["pad", "refuse"])),
           "holdout_fraction": draw(st.sampled_from([0.0, 0.0, 0.3, 0.5, 0.9]))}
    return spec, names, cfg


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(h5_files())
def test_any_small_hdf5_file_loads_and_windows_or_fails_with_one_dataset_error(case):
    spec, names, data = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.h5"
        with h5py.File(path, "w") as f:
            for k, v in spec.items():
                f.create_dataset(k, data=v)
            if names is not None and "labels" in f:
                f["labels"].attrs["label_names"] = names
        try:
            ds = load_dataset(path)
            cfg = RunConfig().replace(data=data)
            train, _ = split_episodes(ds, cfg)
            make_windows(ds, cfg.data.window, cfg.data.stride, cfg.data.short_episodes, True, episodes=train)
            event("windowed")
        except Exception as e:  # noqa: BLE001
            _is_project_error(e)
            event(f"rejected: {str(e).split(': ', 1)[-1][:25]}")

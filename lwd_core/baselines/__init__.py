"""Baselines with the same policy contract as LWD: reset(), act(obs), save(path), load(path)."""

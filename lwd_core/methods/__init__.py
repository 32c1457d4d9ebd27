"""LWD and its baselines, one package each (config in `config.py`, model, trainer, inference), behind
`registry.py`."""

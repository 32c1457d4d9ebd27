"""User-facing errors: the CLI prints these as one line, the GUI shows them."""


class LWDError(Exception):
    """Bad input or state that the user can fix (file, config value, condition name)."""


class DatasetError(LWDError):
    """A dataset file is missing, corrupt or does not fit the run."""


class ConfigError(LWDError, ValueError):
    """A configuration value is out of range or of the wrong kind."""


class RunError(LWDError):
    """A run directory is missing, incomplete or inconsistent."""


class Interrupted(LWDError):
    """The work was stopped from outside (Ctrl-C, SIGTERM), not by a fault. `how` says by what, e.g. "SIGTERM to an
    environment worker process"; `signum` is the signal, where known."""

    def __init__(self, how: str, signum: int | None = None):
        super().__init__(f"interrupted by {how}")
        self.how, self.signum = how, signum

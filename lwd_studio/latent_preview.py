"""The latent map of an LWD run still training: its VAE phase writes latents.safetensors before the diffusion
model trains, so the map can be drawn (and its points rolled out through the VAE) long before the run finishes.
Sampling from the diffusion model stays off until the run's DDPM checkpoint exists."""
from __future__ import annotations

from PySide6.QtCore import QObject

from lwd_core.methods.registry import preview_ready

NO_DIFFUSION_TIP = "the diffusion model is still training: sampling opens when its checkpoint is written"


class LatentPreview(QObject):
    """Asks the rollout service for the selected run's partial map when its latents appear: on selection, on each
    record of its training job and on each runs-list refresh, once per selection."""

    def __init__(self, win):
        super().__init__(win)
        self.win = win
        self.requested: str | None = None
        win.runs.selection_changed.connect(self._on_selection)   # after the window's own handler
        win.record_received.connect(lambda path, rec: self.check() if path == win.current else None)
        win.watcher.changed.connect(self.check)
        win.refresh_timer.timeout.connect(self.check)

    def _on_selection(self, paths) -> None:
        self.requested = None
        self.check()

    def check(self) -> None:
        w = self.win
        cur = w.current
        if not cur or w.map is not None or self.requested == cur or not preview_ready(cur):
            return
        self.requested = cur
        w.service.preview(cur)

"""The app's viewer plays a run of any method through the method registry: MLP-BC and Diffusion Policy runs load,
show no latent map, and roll out their policy for a chosen condition."""
import sys

import pytest

pytest.importorskip("PySide6")
from PySide6.QtCore import Qt  # noqa: E402

from lwd_studio.main_window import MainWindow  # noqa: E402
from tests.cli.test_sample_methods import BASELINES, train_baselines  # noqa: E402
from tests.toy_suite import LENGTH  # noqa: E402


def test_the_viewer_plays_every_method_through_the_registry(qtbot, tmp_path):
    runs = train_baselines(tmp_path)
    w = MainWindow(tmp_path / "runs", confirm=lambda t: True)
    qtbot.addWidget(w)
    w.service.frame_every = 1
    w.show()
    qtbot.waitExposed(w)
    try:
        for method, label in (("mlp_bc", "MLP-BC"), ("diffusion_policy", "Diffusion Policy")):
            with qtbot.waitSignals([w.service.run_loaded, w.service.envs_warmed], timeout=60_000):
                w.runs.select_path(str(runs[method]))
            assert w.map is None and w.run_info["method"] == label and not w.run_info["latent_map"]
            assert label in w.latents.placeholder.textItem.toPlainText()
            assert [w.viewer.condition.itemText(i) for i in range(w.viewer.condition.count())] == ["b0", "b1"]
            w.viewer.condition.setCurrentIndex(1)
            with qtbot.waitSignal(w.service.rollout_finished, timeout=60_000) as done:
                qtbot.mouseClick(w.viewer.run_btn, Qt.LeftButton)
            assert done.args[0]["condition"] == "b1" and done.args[0]["length"] == LENGTH
            assert len(w.viewer.frames) == LENGTH + 1 and w.viewer.title.text().endswith(
                f"b1, {label} policy, start seed {done.args[0]['seed']}")
        # a latent map click on a run without one is an error in the banner, not a crash
        from lwd_studio.workers import RolloutJob
        with qtbot.waitSignal(w.error_shown, timeout=10_000):
            w.service.roll(RolloutJob(str(runs["mlp_bc"]), "b0", 0, latent=[0.0, 0.0]))
        assert "no latent space" in w.banner.text()
    finally:
        w.shutdown()
    assert not w.service.isRunning()
    # the app's warm-up went through the registry: every method's training code is imported
    from lwd_core.methods.registry import get_method, method_names
    assert all(get_method(m).trainer.split(":")[0] in sys.modules for m in method_names())
    assert set(BASELINES) < set(method_names())

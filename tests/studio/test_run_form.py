"""pytest-qt tests of the New run form, driven through its widgets: the dataset is read once typing pauses, off the
GUI thread, and a file read once is not read again while it is unchanged."""
import os
import shutil
import threading

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QDialogButtonBox  # noqa: E402

from lwd_studio.jobs import JobManager  # noqa: E402
from lwd_studio.views import dataset_probe  # noqa: E402
from lwd_studio.views.run_form import RunForm  # noqa: E402


@pytest.fixture
def reads(monkeypatch):
    """Every dataset read the form causes, by path; reads.threads: the thread each ran in."""
    calls = ReadLog()
    real = dataset_probe.load_source

    def counting(spec):
        calls.append(str(spec))
        calls.threads.append(threading.current_thread().name)
        return real(spec)
    monkeypatch.setattr(dataset_probe, "load_source", counting)
    return calls


class ReadLog(list):
    def __init__(self):
        super().__init__()
        self.threads: list[str] = []


@pytest.fixture
def probes():
    """The dataset reads of a job manager, as the main window gives its forms."""
    jobs = JobManager()
    yield jobs.probes
    assert jobs.shutdown()


def test_typing_a_path_reads_the_dataset_once_and_a_second_form_reuses_it(qtbot, tmp_path, synthetic_file,
                                                                          monkeypatch, reads, probes):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "datasets").mkdir()
    shutil.copy(synthetic_file, tmp_path / "datasets" / "synth-20.h5")
    typed = "datasets/synth-20.h5"
    assert len(typed) == 20
    form = RunForm(tmp_path / "runs", probes=probes)
    qtbot.addWidget(form)
    form.show()
    form.base.setCurrentText("tiny")
    qtbot.keyClicks(form.dataset, typed)
    assert reads == []                                   # nothing read while typing
    qtbot.waitUntil(lambda: "2: b0, b1" in form.tasks.text(), timeout=5000)
    qtbot.wait(500)                                      # past another debounce: no late read of a prefix
    assert reads == [typed] and reads.threads == ["dataset-probe"]          # off the GUI thread
    assert form.buttons.button(QDialogButtonBox.Ok).isEnabled() and form.error.text() == ""
    assert form.config.data.dataset == typed

    form2 = RunForm(tmp_path / "runs", dataset=typed, probes=probes)
    qtbot.addWidget(form2)
    assert "2: b0, b1" in form2.tasks.text() and form2.config is not None    # at once, from the cache
    assert reads == [typed]
    # an edited file is read again
    shutil.copy(synthetic_file, tmp_path / "datasets" / "synth-20.h5")
    st = os.stat(typed)
    os.utime(typed, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    form3 = RunForm(tmp_path / "runs", dataset=typed, probes=probes)
    qtbot.addWidget(form3)
    qtbot.waitUntil(lambda: form3.config is not None, timeout=5000)
    assert reads == [typed, typed]


def test_ok_reads_a_dataset_still_pending_and_a_stale_answer_is_ignored(qtbot, tmp_path, synthetic_file, reads,
                                                                          probes):
    form = RunForm(tmp_path / "runs", probes=probes)
    qtbot.addWidget(form)
    form.show()
    form.base.setCurrentText("tiny")
    qtbot.keyClicks(form.dataset, str(synthetic_file))
    assert form.error.text() == "checking the dataset…" and form.buttons.button(QDialogButtonBox.Ok).isEnabled()
    qtbot.mouseClick(form.buttons.button(QDialogButtonBox.Ok), Qt.LeftButton)   # reads it now, then accepts
    assert form.result() == RunForm.Accepted and form.config.data.dataset == str(synthetic_file)
    # an answer about a path no longer in the field changes nothing
    form2 = RunForm(tmp_path / "runs", probes=probes)
    qtbot.addWidget(form2)
    qtbot.keyClicks(form2.dataset, str(tmp_path / "missing.h5"))
    form2._on_probed(str(synthetic_file), dataset_probe.inspect(str(synthetic_file)))
    assert form2.config is None and form2.tasks.text() == "(from the dataset)"
    qtbot.waitUntil(lambda: "missing.h5" in form2.error.text() or "no such" in form2.error.text().lower(),
                    timeout=5000)


def choose(qtbot, combo, text):
    """Pick an entry of a combo box the way a user does: open it and click the entry."""
    from PySide6.QtWidgets import QApplication
    i = combo.findText(text)
    assert i >= 0, text
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(lambda: view.isVisible())
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=view.visualRect(view.model().index(i, 0)).center())
    qtbot.waitUntil(lambda: not view.isVisible())
    QApplication.processEvents()
    assert combo.currentText() == text


def test_a_baseline_method_shows_only_the_fields_it_trains(qtbot, tmp_path, synthetic_file):
    form = RunForm(tmp_path / "runs", dataset=str(synthetic_file))
    qtbot.addWidget(form)
    form.show()
    qtbot.waitExposed(form)
    form.base.setCurrentText("tiny")
    lwd_only = (form.decoder, form.latent, form.beta, form.ddpm_steps, form.state_cond)
    assert all(w.isVisible() for w in lwd_only)
    assert form.form.labelForField(form.steps).text() == "VAE steps"
    for label in ("MLP-BC", "Diffusion Policy"):
        choose(qtbot, form.method, label)
        assert not any(w.isVisible() for w in lwd_only), label
        assert form.steps.isVisible() and form.batch.isVisible() and form.window.isVisible()
        assert form.form.labelForField(form.steps).text() == "Training steps"
        assert form.steps.toolTip().startswith("baseline.steps")
        # a hidden field cannot block the form, and the steps typed go to the method's own section
        form.latent.setValue(-3)
        form.steps.selectAll()
        qtbot.keyClicks(form.steps, "7")
        assert form.validate(), form.error.text()
        assert form.config.baseline.steps == 7 and form.config.method == form.method.currentData()
    choose(qtbot, form.method, "LWD")
    assert all(w.isVisible() for w in lwd_only)
    assert not form.validate() and "latent_dim" in form.error.text()

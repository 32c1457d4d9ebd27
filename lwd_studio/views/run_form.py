"""The new-run form: the main hyperparameters, validated as you type with the core config's own checks."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lwd_core.config import DECODER_SIZES, RunConfig, config_docs, preset, preset_names
from lwd_core.errors import LWDError
from lwd_core.methods.registry import get_method, method_names

from . import dataset_probe

PROBE_DELAY_MS = 300     # read the dataset once typing pauses, not at every keystroke


class _Pending(Exception):
    """The dataset is still being read in the background."""


class RunForm(QDialog):
    def __init__(self, runs_dir: Path, parent=None, dataset: str = "", probes=None):
        """`probes`: what reads a dataset off the GUI thread (the window's JobManager.probes: a start(spec) method and
        a done(spec, info) signal); without one, a dataset is read when the form asks, on the GUI thread."""
        super().__init__(parent)
        self.setWindowTitle("New run")
        self.runs_dir = Path(runs_dir)
        self.config: RunConfig | None = None
        self.name = QLineEdit("run-1")
        self.dataset = QLineEdit(dataset)
        self.name.setToolTip("the run folder's name, under the runs folder")
        self.dataset.setToolTip("an HDF5 dataset in the D4RL layout, with condition labels")
        browse = QPushButton("Browse…")
        browse.setToolTip("choose the dataset file")
        browse.clicked.connect(self._browse)
        drow = QWidget()
        dl = QHBoxLayout(drow)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addWidget(self.dataset, 1)
        dl.addWidget(browse)
        self.method = QComboBox()
        for m in method_names():
            self.method.addItem(get_method(m).label, m)
        self.method.setToolTip("LWD, or a baseline trained on the same data")
        self.base = QComboBox()
        self.base.addItems([p for p in preset_names() if p != "tiny"] + ["tiny"])
        self.base.setToolTip("the preset whose other settings the run keeps; recorded in the runs table")
        self.tasks = QLabel("(from the dataset)")
        self.window = self._spin(0, 100_000, 500, "0 = whole episodes")
        self.decoder = QComboBox()
        self.decoder.addItems(list(DECODER_SIZES))
        self.decoder.setToolTip("the hypernetwork decoder's size (paper Fig. 8)")
        self.latent = self._spin(-1_000, 4096, 256)
        self.beta = QLineEdit("1e-8")
        self.beta.setToolTip("weight of the KL term in the VAE loss (paper Eq. 2)")
        self.steps = self._spin(-1, 10_000_000, 10_000, "VAE optimisation steps")
        self.epochs = QLabel("")
        self.batch = self._spin(-1, 4096, 32)
        self.seed = self._spin(-1, 2**31 - 1, 0)
        self.ddpm_steps = self._spin(-1, 10_000_000, 6000, "diffusion optimisation steps")
        self.state_cond = QCheckBox("also condition on the first observation")
        self.state_cond.setToolTip("the diffusion model also sees the episode's first observation")
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c0392b;")
        self.error.setWordWrap(True)
        form = self.form = QFormLayout()
        for label, w in (("Name", self.name), ("Dataset file", drow), ("Method", self.method), ("Base preset", self.base),
                         ("Task set", self.tasks), ("Window length", self.window), ("Decoder size", self.decoder),
                         ("Latent dim", self.latent), ("beta_kl", self.beta), ("VAE steps", self.steps),
                         ("", self.epochs), ("Batch size", self.batch), ("Seed", self.seed),
                         ("Diffusion steps", self.ddpm_steps), ("", self.state_cond)):
            form.addRow(label, w)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.Ok).setToolTip("make the run folder with this config; Start trains it")
        self.buttons.button(QDialogButtonBox.Cancel).setToolTip("close the form without making a run")
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        # edits revalidate without waiting for the dataset: a dataset still being read shows as pending
        edited = (lambda *_: self.validate(block=False))
        for w in (self.name, self.beta):
            w.textChanged.connect(edited)
        for w in (self.window, self.latent, self.steps, self.batch, self.seed, self.ddpm_steps):
            w.valueChanged.connect(edited)
        self.decoder.currentIndexChanged.connect(edited)
        self.method.currentIndexChanged.connect(edited)
        self.state_cond.toggled.connect(edited)
        self.base.currentTextChanged.connect(self._on_base_changed)
        self.method.currentIndexChanged.connect(self._on_method_changed)
        self._tooltips_from_schema()
        self._show_method_fields()
        self._n_windows = None
        self._probed: tuple[str, dataset_probe.DatasetInfo] | None = None   # the latest background answer
        self._probe_timer = QTimer(self)
        self._probe_timer.setSingleShot(True)
        self._probe_timer.setInterval(PROBE_DELAY_MS)
        self._probe_timer.timeout.connect(self._probe)
        self.dataset.textChanged.connect(self._on_dataset_edited)
        self.probes = probes
        if probes is not None:
            probes.done.connect(self._on_probed)
        if self.dataset.text().strip():
            self._probe()
        self.validate(block=False)

    def _fields(self) -> tuple:
        """(config key, widget); steps and batch size are the chosen method's main optimiser's, in its section."""
        section = self._train_section()
        return (("name", self.name), ("data.dataset", self.dataset), ("data.window", self.window),
                ("vae.decoder_size", self.decoder), ("vae.latent_dim", self.latent), ("vae.beta_kl", self.beta),
                (f"{section}.steps", self.steps), (f"{section}.batch_size", self.batch), ("seed", self.seed),
                ("ddpm.steps", self.ddpm_steps), ("ddpm.state_condition", self.state_cond))

    def _train_section(self) -> str:
        return get_method(self.method.currentData()).train_section

    def _tooltips_from_schema(self) -> None:
        """Each field's help and limits, as the config schema states them (the same text as `train --help`)."""
        docs = {d.key: d for d in config_docs()}
        for key, w in self._fields():
            d = docs[key]
            w.setToolTip(f"{key}: {d.help}" + (f" ({d.limits})" if d.limits else ""))

    def _show_method_fields(self) -> None:
        """Only the fields of the config sections the chosen method trains: MLP-BC and Diffusion Policy have no
        VAE or latent diffusion model, so their decoder, latent, beta_kl and diffusion fields would do nothing."""
        used = self._used_sections()
        for key, w in self._fields():
            if key.startswith(("vae.", "ddpm.")):
                self.form.setRowVisible(w, key.split(".")[0] in used)
        self.form.labelForField(self.steps).setText("VAE steps" if self._train_section() == "vae" else "Training steps")

    def _used_sections(self) -> set[str]:
        """The model sections the chosen method trains (its phases, and the section of its main optimiser)."""
        spec = get_method(self.method.currentData())
        return {spec.train_section, *spec.phases}

    def _on_method_changed(self, _index: int) -> None:
        self._tooltips_from_schema()
        self._show_method_fields()
        self._set_train_values(preset(self.base.currentText()))

    def _set_train_values(self, c: RunConfig) -> None:
        sec = getattr(c, self._train_section())
        self.steps.setValue(sec.steps)
        self.batch.setValue(sec.batch_size)

    @staticmethod
    def _spin(lo, hi, val, tip=""):
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setValue(val)
        s.setToolTip(tip)
        return s

    def _browse(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Dataset", "", "HDF5 (*.h5 *.hdf5)")
        if f:
            self.dataset.setText(f)

    def _on_base_changed(self, name: str) -> None:
        c = preset(name)
        self.window.setValue(c.data.window)
        self.decoder.setCurrentText(c.vae.decoder_size)
        self.latent.setValue(c.vae.latent_dim)
        self.beta.setText(f"{c.vae.beta_kl:g}")
        self._set_train_values(c)
        self.ddpm_steps.setValue(c.ddpm.steps)
        self.state_cond.setChecked(c.ddpm.state_condition)

    def _on_dataset_edited(self, _text: str) -> None:
        self._probe_timer.start()          # restarts: only the path typed last is read
        self.validate(block=False)

    def _probe(self) -> None:
        spec = self.dataset.text().strip()
        if spec and dataset_probe.cached(spec) is None:
            if self.probes is not None:
                self.probes.start(spec)
            else:
                self._on_probed(spec, dataset_probe.inspect(spec))

    def _on_probed(self, spec: str, info) -> None:
        if spec != self.dataset.text().strip():
            return                         # an answer for a path since edited away
        self._probed = (spec, info)
        self.validate(block=False)

    def _dataset_info(self, block: bool) -> str:
        spec = self.dataset.text().strip()
        info = dataset_probe.cached(spec)
        if info is None and self._probed is not None and self._probed[0] == spec:
            info = self._probed[1]         # uncacheable (no file to stat), but answered for this very text
        if info is None:
            if not block:
                raise _Pending
            info = dataset_probe.inspect(spec)
        if info.error:
            self._n_windows = None
            self.tasks.setText("(from the dataset)")
            raise LWDError(info.error)
        self._n_windows = info.n_episodes
        names = info.names
        self.tasks.setText(f"{len(names)}: {', '.join(names[:4])}{'…' if len(names) > 4 else ''}")
        return info.env_id

    def validate(self, block: bool = True) -> bool:
        """`block`: read the dataset now if no answer is at hand (OK and explicit checks); otherwise a dataset still
        being read leaves OK enabled, since pressing it reads the dataset at once."""
        ok_btn = self.buttons.button(QDialogButtonBox.Ok)
        try:
            name = self.name.text().strip()
            if not name or "/" in name or name.startswith("."):
                raise LWDError("`name` must be a plain folder name")
            if (self.runs_dir / name).exists():
                raise LWDError(f"a run called {name!r} already exists")
            beta = None
            if "vae" in self._used_sections():
                try:
                    beta = float(self.beta.text())
                except ValueError:
                    raise LWDError(f"`vae.beta_kl` must be a number, got {self.beta.text()!r}") from None
            if not self.dataset.text().strip():
                raise LWDError("choose a dataset file")
            env = self._dataset_info(block)
            base = preset(self.base.currentText())
            # hidden fields stay out of the config: a method keeps its preset's values for sections it never trains
            used = self._used_sections()
            models = {"vae": {"decoder_size": self.decoder.currentText(), "latent_dim": self.latent.value(),
                              "beta_kl": beta},
                      "ddpm": {"steps": self.ddpm_steps.value(), "state_condition": self.state_cond.isChecked()}}
            section = self._train_section()    # where the form's steps and batch size go
            cfg = base.replace(name=name, env_id=env or base.env_id, seed=self.seed.value(),
                               method=self.method.currentData(),
                               data={"dataset": self.dataset.text().strip(), "window": self.window.value()},
                               **{k: v for k, v in models.items() if k in used})
            cfg = cfg.replace(**{section: {"steps": self.steps.value(), "batch_size": self.batch.value()}})
            if not cfg.env_id:
                raise LWDError("the dataset has no env_id attribute; it cannot be evaluated")
        except _Pending:
            self.config = None
            self.error.setText("checking the dataset…")
            ok_btn.setEnabled(True)
            return False
        except (LWDError, ValueError) as e:
            self.config = None
            self.error.setText(str(e))
            ok_btn.setEnabled(False)
            return False
        if self._n_windows:
            sec = getattr(cfg, section)
            self.epochs.setText(f"≈ {sec.steps * sec.batch_size / self._n_windows:.0f} epochs over "
                                f"{self._n_windows} episodes")
        self.config = cfg
        self.error.setText("")
        ok_btn.setEnabled(True)
        return True

    def accept(self) -> None:
        if self.validate():
            super().accept()

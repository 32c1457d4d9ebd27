"""The new-run form: the main hyperparameters, validated as you type with the core config's own checks."""
from __future__ import annotations

from pathlib import Path

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


class RunForm(QDialog):
    def __init__(self, runs_dir: Path, parent=None, dataset: str = ""):
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
        form = QFormLayout()
        for label, w in (("Name", self.name), ("Dataset file", drow), ("Method", self.method), ("Base preset", self.base),
                         ("Task set", self.tasks), ("Window length", self.window), ("Decoder size", self.decoder),
                         ("Latent dim", self.latent), ("beta_kl", self.beta), ("VAE steps", self.steps),
                         ("", self.epochs), ("Batch size", self.batch), ("Seed", self.seed),
                         ("Diffusion steps", self.ddpm_steps), ("", self.state_cond)):
            form.addRow(label, w)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        for w in (self.name, self.dataset, self.beta):
            w.textChanged.connect(self.validate)
        for w in (self.window, self.latent, self.steps, self.batch, self.seed, self.ddpm_steps):
            w.valueChanged.connect(self.validate)
        self.decoder.currentIndexChanged.connect(self.validate)
        self.method.currentIndexChanged.connect(self.validate)
        self.state_cond.toggled.connect(self.validate)
        self.base.currentTextChanged.connect(self._on_base_changed)
        self._tooltips_from_schema()
        self._n_windows = None
        self.validate()

    def _tooltips_from_schema(self) -> None:
        """Each field's help and limits, as the config schema states them (the same text as `train --help`)."""
        docs = {d.key: d for d in config_docs()}
        for key, w in (("name", self.name), ("data.dataset", self.dataset), ("data.window", self.window),
                       ("vae.decoder_size", self.decoder), ("vae.latent_dim", self.latent), ("vae.beta_kl", self.beta),
                       ("vae.steps", self.steps), ("vae.batch_size", self.batch), ("seed", self.seed),
                       ("ddpm.steps", self.ddpm_steps), ("ddpm.state_condition", self.state_cond)):
            d = docs[key]
            w.setToolTip(f"{key}: {d.help}" + (f" ({d.limits})" if d.limits else ""))

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
        self.steps.setValue(c.vae.steps)
        self.batch.setValue(c.vae.batch_size)
        self.ddpm_steps.setValue(c.ddpm.steps)
        self.state_cond.setChecked(c.ddpm.state_condition)

    def _dataset_info(self) -> str:
        from lwd_core.data.sources import load_source
        ds = load_source(self.dataset.text().strip())
        self._n_windows = len(ds.episode_bounds())
        names = ds.condition_names()
        self.tasks.setText(f"{len(names)}: {', '.join(names[:4])}{'…' if len(names) > 4 else ''}")
        return ds.env_id

    def validate(self) -> bool:
        ok_btn = self.buttons.button(QDialogButtonBox.Ok)
        try:
            name = self.name.text().strip()
            if not name or "/" in name or name.startswith("."):
                raise LWDError("`name` must be a plain folder name")
            if (self.runs_dir / name).exists():
                raise LWDError(f"a run called {name!r} already exists")
            try:
                beta = float(self.beta.text())
            except ValueError:
                raise LWDError(f"`vae.beta_kl` must be a number, got {self.beta.text()!r}") from None
            if not self.dataset.text().strip():
                raise LWDError("choose a dataset file")
            env = self._dataset_info()
            base = preset(self.base.currentText())
            cfg = base.replace(name=name, env_id=env or base.env_id, seed=self.seed.value(),
                               method=self.method.currentData(),
                               data={"dataset": self.dataset.text().strip(), "window": self.window.value()},
                               vae={"decoder_size": self.decoder.currentText(), "latent_dim": self.latent.value(),
                                    "beta_kl": beta, "steps": self.steps.value(), "batch_size": self.batch.value()},
                               ddpm={"steps": self.ddpm_steps.value(), "state_condition": self.state_cond.isChecked()})
            section = get_method(cfg.method).train_section    # where the form's steps and batch size go
            cfg = cfg.replace(**{section: {"steps": self.steps.value(), "batch_size": self.batch.value()}})
            if not cfg.env_id:
                raise LWDError("the dataset has no env_id attribute; it cannot be evaluated")
        except (LWDError, ValueError) as e:
            self.config = None
            self.error.setText(str(e))
            ok_btn.setEnabled(False)
            return False
        if self._n_windows:
            self.epochs.setText(f"≈ {cfg.vae.steps * cfg.vae.batch_size / self._n_windows:.0f} epochs over "
                                f"{self._n_windows} episodes")
        self.config = cfg
        self.error.setText("")
        ok_btn.setEnabled(True)
        return True

    def accept(self) -> None:
        if self.validate():
            super().accept()

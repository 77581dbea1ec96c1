"""The panel: a step list, the step's parameters, run/cancel, progress per stage, result, log, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lifecast_panel.controller import PanelController
from lifecast_panel.host import UsdImporter
from lifecast_panel.steps import STEPS
from lifecast_panel.widgets import ErrorBanner, LandmarkPicker, LogView, ParamForm, ResultView, StageProgressList

__all__ = ["LifecastPanel"]

PANEL_TITLE = "lifecast"
OBJECT_NAME = "lifecastPanel"


class LifecastPanel(QWidget):
    """The artist panel around a :class:`PanelController`; hosts dock or parent it."""

    def __init__(self, controller: PanelController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(OBJECT_NAME)
        self.setWindowTitle(PANEL_TITLE)
        self.controller = controller
        host = controller.host

        self.scan_edit = QLineEdit()
        self.scan_edit.setPlaceholderText("scan file (.ply, .obj, .glb, .pcd)")
        self.scan_edit.editingFinished.connect(self._scan_typed)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_scan)
        self.subject_edit = QLineEdit()
        self.subject_edit.setPlaceholderText("subject id (the scanned person)")
        self.subject_edit.editingFinished.connect(lambda: controller.set_subject(self.subject_edit.text()))
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("output folder of the asset")
        self.out_edit.editingFinished.connect(self._out_typed)

        self.steps = QListWidget()
        self.steps.addItems([s.title for s in STEPS])
        self.steps.setMaximumWidth(120)
        self.steps.currentRowChanged.connect(lambda row: controller.select_step(STEPS[row].name))

        self.step_title = QLabel()
        self.form_holder = QVBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self._run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(controller.cancel)
        self.landmarks = LandmarkPicker(controller)
        self.import_button = QPushButton(f"Import into {host.name}")
        self.import_button.clicked.connect(controller.import_asset)
        self.import_button.setVisible(isinstance(host, UsdImporter))
        self.correct_button = QPushButton("Submit correction…")
        self.correct_button.setToolTip(
            "Record your corrected albedo of this asset (PNG/EXR/TIFF, the asset's size; a <UDIM> pattern for tiles) "
            "against its subject, to train that person's adapter"
        )
        self.correct_button.clicked.connect(self._submit_correction)
        #: Asks for the corrected albedo file ("" when the artist cancels); a test replaces it.
        self.pick_fix: Callable[[], str] = self._ask_fix_file
        self.correction = QLabel()
        self.correction.setWordWrap(True)
        self.correction.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = StageProgressList()
        self.error = ErrorBanner()
        self.result = ResultView()
        self.log = LogView()

        top = QVBoxLayout()
        for label, widgets in (
            ("Scan", (self.scan_edit, browse)),
            ("Subject", (self.subject_edit,)),
            ("Output", (self.out_edit,)),
        ):
            row = QHBoxLayout()
            row.addWidget(QLabel(label))
            for w in widgets:
                row.addWidget(w)
            top.addLayout(row)
        buttons = QHBoxLayout()
        for b in (self.run_button, self.cancel_button, self.import_button, self.correct_button):
            buttons.addWidget(b)
        right = QVBoxLayout()
        right.addWidget(self.step_title)
        right.addLayout(self.form_holder)
        right.addWidget(self.landmarks)
        right.addLayout(buttons)
        right.addWidget(self.progress)
        right.addWidget(self.error)
        right.addWidget(self.correction)
        right.addWidget(self.result, 1)
        right_widget = QWidget()
        right_widget.setLayout(right)
        body = QSplitter()
        body.addWidget(self.steps)
        body.addWidget(right_widget)
        body.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(body, 1)
        layout.addWidget(self.log)
        self.log.setMaximumHeight(110)

        self._form: ParamForm | None = None
        self._form_step = ""
        controller.subscribe(self._changed)
        controller.subscribe_params(self._param_set)
        self.steps.setCurrentRow(0)
        self._changed("state")

    # ------------------------------------------------------------------ user actions

    def _browse_scan(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Pick a scan", "", "Scans (*.ply *.obj *.glb *.gltf *.pcd)")
        if path:
            self.scan_edit.setText(path)
            self._scan_typed()

    def _scan_typed(self) -> None:
        text = self.scan_edit.text().strip()
        if text:
            self.controller.set_scan(Path(text))

    def _out_typed(self) -> None:
        text = self.out_edit.text().strip()
        if text:
            self.controller.set_out_dir(Path(text))

    def _run(self) -> None:
        try:
            self.controller.run_step()
        except (ValueError, RuntimeError) as exc:
            self.controller.host.report(str(exc), "warning")
            self.error.message.setText(str(exc))
            self.error.details_button.setVisible(False)
            self.error.show()

    def _ask_fix_file(self) -> str:
        asset = self.controller.asset()
        start = str(asset.parent) if asset is not None else ""
        path, _ = QFileDialog.getOpenFileName(
            self, "Pick the corrected albedo", start, "Albedo (*.png *.exr *.tif *.tiff)"
        )
        return path

    def _submit_correction(self) -> None:
        path = self.pick_fix()
        if not path:
            return
        try:
            self.controller.submit_correction(Path(path))
        except (ValueError, RuntimeError) as exc:
            self.controller.host.report(str(exc), "warning")
            self.error.message.setText(str(exc))
            self.error.details_button.setVisible(False)
            self.error.show()

    # ------------------------------------------------------------------ drawing

    def _param_set(self, name: str, value: object) -> None:
        """A parameter was set (by the form or a script): the open form shows the model's value."""
        if self._form is not None:
            self._form.show_value(name, value)

    def _changed(self, what: str) -> None:
        c = self.controller
        step = c.step()
        if step.name != self._form_step:
            if self._form is not None:
                self._form.setParent(None)
            self._form = ParamForm(c, step)
            self.form_holder.addWidget(self._form)
            self._form_step = step.name
            self.steps.setCurrentRow([s.name for s in STEPS].index(step.name))
            self.step_title.setText(f"<b>{step.title}</b>")
        if self._form is not None and what == "state":
            self._form.show_mode()  # a template picked or cleared changes which parameters apply
        if c.scan is not None and self.scan_edit.text() != str(c.scan):
            self.scan_edit.setText(str(c.scan))
        if c.out_dir is not None and self.out_edit.text() != str(c.out_dir):
            self.out_edit.setText(str(c.out_dir))
        running = c.worker.is_running() or c.run.running
        self.run_button.setEnabled(step.runs and not running and c.scan is not None)
        self.cancel_button.setEnabled(running)
        self.import_button.setEnabled(c.can_import() and not running)
        self.correct_button.setEnabled(c.asset() is not None and not running)
        self.correction.setText(c.correction_text())
        self.correction.setVisible(bool(c.correction))
        self.landmarks.setVisible(step.name == "wrap" and bool(c.template()))
        self.landmarks.refresh(running)
        self.progress.show_run(c.run)
        self.log.show_run(c.run)
        self.error.show_error(c.run.error)
        self.result.show_result(c.results.get(step.name, {}))

"""The panel's widgets. Each draws a piece of the controller's state and sends edits back to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lifecast_panel.controller import PanelController
from lifecast_panel.host import PointSelection
from lifecast_panel.models import RunError, RunModel
from lifecast_panel.steps import Param, Step
from lifecast_panel.summaries import SummaryRow, summary_rows, summary_text
from lifecast_panel.textures import AlbedoMaps

__all__ = [
    "THUMBNAIL_SIZE",
    "ErrorBanner",
    "LandmarkPicker",
    "LogView",
    "ParamForm",
    "ResultView",
    "StageProgressList",
    "SummaryTable",
    "TexturesView",
    "load_thumbnail",
]

#: The longest side of a texture thumbnail, in pixels.
THUMBNAIL_SIZE = 256


class ParamForm(QWidget):
    """Editors for one step's parameters, filled from and written to the controller.

    It follows the controller both ways: an edit calls ``controller.set_param``, and
    :meth:`show_value` (called for every ``set_param``, whoever made it) puts the
    model's value back into the editor with the editor's signals blocked, so a value
    set from a script shows at once and never echoes back as a second edit.
    :meth:`show_mode` greys out the editors of parameters the current mode (wrap a
    template or decimate) does not use. A ``folder`` or ``path`` parameter's line edit has
    buttons beside it (``browse_buttons``) that pick one in a file dialog.
    """

    def __init__(self, controller: PanelController, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.editors: dict[str, QWidget] = {}
        self.params: dict[str, Param] = {}
        self.browse_buttons: dict[str, list[QPushButton]] = {}
        self._layout = QFormLayout(self)
        for param in step.params:
            editor = self._editor(param, controller.params[param.name])
            editor.setToolTip(param.tooltip or param.job_key)
            self.editors[param.name] = editor
            self.params[param.name] = param
            self._layout.addRow(param.label, self._with_browse(param, editor))
        if not step.params:
            self._layout.addRow(QLabel("No parameters."))
        self.show_mode()

    def _editor(self, p: Param, value: Any) -> QWidget:
        set_param = self.controller.set_param
        if p.kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(value))
            box.toggled.connect(lambda v, n=p.name: set_param(n, bool(v)))
            return box
        if p.kind == "int":
            spin = QSpinBox()
            spin.setRange(int(p.minimum or 0), int(p.maximum or 1_000_000))
            spin.setValue(int(value))
            spin.valueChanged.connect(lambda v, n=p.name: set_param(n, int(v)))
            return spin
        if p.kind == "float":
            dspin = QDoubleSpinBox()
            dspin.setRange(p.minimum or 0.0, p.maximum or 1e6)
            dspin.setValue(float(value))
            dspin.valueChanged.connect(lambda v, n=p.name: set_param(n, float(v)))
            return dspin
        if p.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(p.choices))
            _show_choice(combo, str(value))
            combo.currentTextChanged.connect(lambda v, n=p.name: set_param(n, v))
            return combo
        text = _as_text(value)
        if p.kind == "text" and p.choices:
            # Suggestions (the built-in templates) and free text (a template file) in one editable box.
            suggest = QComboBox()
            suggest.setEditable(True)
            suggest.addItems(list(p.choices))
            suggest.setCurrentText(text)
            suggest.currentTextChanged.connect(lambda v, n=p.name: set_param(n, v))
            return suggest
        edit = QLineEdit(text)
        edit.editingFinished.connect(lambda e=edit, n=p.name: set_param(n, e.text()))
        return edit

    def _with_browse(self, p: Param, editor: QWidget) -> QWidget:
        """A ``folder`` or ``path`` editor with its Folder... (and File...) buttons in a row; others as they are."""
        if p.kind not in ("folder", "path") or not isinstance(editor, QLineEdit):
            return editor
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(editor, 1)
        picks = [("File...", False)] if p.kind == "path" else []
        for text, folder in [*picks, ("Folder...", True)]:
            button = QPushButton(text)
            button.setToolTip(f"Pick the {p.label.lower()} {'folder' if folder else 'file'}")
            button.clicked.connect(lambda _=False, e=editor, f=folder, q=p: self._browse(q, e, f))
            layout.addWidget(button)
            self.browse_buttons.setdefault(p.name, []).append(button)
        return row

    def _browse(self, p: Param, edit: QLineEdit, folder: bool) -> None:
        """Pick a folder (or a file) in a dialog that opens where the current value, else the scan, is."""
        current = edit.text().strip()
        scan = self.controller.scan
        start = current or (str(scan.parent) if scan is not None else "")
        if folder:
            picked = QFileDialog.getExistingDirectory(self, p.label, start)
        else:
            picked, _ = QFileDialog.getOpenFileName(self, p.label, start, p.file_filter)
        if picked:
            edit.setText(picked)
            self.controller.set_param(p.name, picked)

    def show_value(self, name: str, value: Any) -> None:
        """Show the model's ``value`` of ``name`` in its editor (no-op for a parameter of another step).

        Only an editor that shows something else is touched, and with its signals
        blocked: the controller is not called back, and an editor the user is typing
        in keeps its cursor when the value is the one typed.
        """
        editor = self.editors.get(name)
        if editor is None:
            return
        was_blocked = editor.blockSignals(True)
        try:
            if isinstance(editor, QCheckBox):
                if editor.isChecked() != bool(value):
                    editor.setChecked(bool(value))
            elif isinstance(editor, QSpinBox):
                if editor.value() != int(value):
                    editor.setValue(int(value))
            elif isinstance(editor, QDoubleSpinBox):
                if editor.value() != float(value):
                    editor.setValue(float(value))
            elif isinstance(editor, QComboBox) and not editor.isEditable():
                _show_choice(editor, str(value))
            elif isinstance(editor, QComboBox):
                if editor.currentText() != _as_text(value):
                    editor.setCurrentText(_as_text(value))
            elif isinstance(editor, QLineEdit) and editor.text() != _as_text(value):
                editor.setText(_as_text(value))
        except (TypeError, ValueError):
            pass  # a value its editor cannot hold (udims="many"): the job reports it when it runs
        finally:
            editor.blockSignals(was_blocked)

    def show_mode(self) -> None:
        """Enable the editors the current mode uses; grey out the others, their tooltip saying why."""
        for name, editor in self.editors.items():
            param = self.params[name]
            if param.only_with_template is None:
                continue
            applies = self.controller.param_applies(name)
            editor.setEnabled(applies)
            label = self._layout.labelForField(editor)
            if label is not None:
                label.setEnabled(applies)
            usual = param.tooltip or param.job_key
            editor.setToolTip(usual if applies else f"{param.inactive_note}\n\n{usual}")


def _as_text(value: Any) -> str:
    """A value as a text editor shows it: lists comma separated."""
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def _show_choice(combo: QComboBox, text: str) -> None:
    """Make ``text`` the combo's current item, adding it when it is not a choice (so the model is what is shown)."""
    if combo.currentText() == text:
        return
    if combo.findText(text) < 0:
        combo.addItem(text)
    combo.setCurrentIndex(combo.findText(text))


class StageProgressList(QWidget):
    """One progress bar per stage of the current run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.bars: dict[str, QProgressBar] = {}

    def show_run(self, run: RunModel) -> None:
        if list(self.bars) != list(run.stages):
            for bar in self.bars.values():
                bar.setParent(None)
            self.bars = {}
            for name in run.stages:
                bar = QProgressBar()
                bar.setRange(0, 1000)
                self._layout.addWidget(bar)
                self.bars[name] = bar
        for name, st in run.stages.items():
            bar = self.bars[name]
            bar.setValue(int(st.fraction * 1000))
            note = {"cached": " (cached)", "failed": " (failed)"}.get(st.status, "")
            seconds = f" {st.seconds:.1f} s" if st.seconds is not None else ""
            bar.setFormat(f"{name}{note}{seconds}  {st.message}".rstrip())


class LogView(QPlainTextEdit):
    """The run's log and warnings, newest last."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(5000)
        self._shown = 0

    def show_run(self, run: RunModel) -> None:
        if len(run.log) < self._shown:
            self.clear()
            self._shown = 0
        for line in run.log[self._shown :]:
            prefix = {"warning": "warning: ", "error": "error: "}.get(line.level, "")
            stage = f"[{line.stage}] " if line.stage else ""
            self.appendPlainText(f"{stage}{prefix}{line.message}")
        self._shown = len(run.log)


class ErrorBanner(QFrame):
    """A failed run in one readable line; the details (the worker's stderr) one click away."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("ErrorBanner { background: #5a2626; } QLabel { color: #ffdede; }")
        layout = QVBoxLayout(self)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QPushButton("Details")
        self.details_button.setCheckable(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.hide()
        self.details_button.toggled.connect(self.details.setVisible)
        layout.addWidget(self.message)
        layout.addWidget(self.details_button)
        layout.addWidget(self.details)
        self.hide()

    def show_error(self, error: RunError | None) -> None:
        if error is None:
            self.hide()
            return
        self.message.setText(error.headline)
        details = error.details.strip() or "(the worker printed nothing else)"
        self.details.setPlainText(
            f"exit code {error.exit_code}\n{('file: ' + error.path) if error.path else ''}\n{details}"
        )
        self.details_button.setVisible(True)
        self.show()


class SummaryTable(QTableWidget):
    """A result's numbers as label/value rows; section rows in bold across both columns."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 2, parent)
        self.horizontalHeader().setVisible(False)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ContiguousSelection)
        self.setShowGrid(False)
        self.setWordWrap(True)
        self.rows: list[SummaryRow] = []

    def show_rows(self, rows: list[SummaryRow]) -> None:
        self.rows = list(rows)
        self.clearSpans()
        self.setRowCount(len(rows))
        for i, row in enumerate(rows):
            label = QTableWidgetItem(row.label)
            if row.section:
                font = label.font()
                font.setBold(True)
                label.setFont(font)
                self.setItem(i, 0, label)
                self.setItem(i, 1, QTableWidgetItem(""))
                self.setSpan(i, 0, 1, 2)
                continue
            value = QTableWidgetItem(row.value)
            value.setToolTip(row.value)
            self.setItem(i, 0, label)
            self.setItem(i, 1, value)
        self.resizeRowsToContents()


def load_thumbnail(path: Path, size: int = THUMBNAIL_SIZE) -> tuple[QPixmap, QSize]:
    """``path`` decoded at most ``size`` pixels on its longer side, and the file's own size.

    A null pixmap (and an invalid size) when Qt cannot read the file (an EXR, a missing file).
    """
    reader = QImageReader(str(path))
    full = reader.size()
    if full.isValid() and (full.width() > size or full.height() > size):
        reader.setScaledSize(full.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return (QPixmap.fromImage(image) if not image.isNull() else QPixmap()), full


def open_with_system(path: Path) -> bool:
    """Open ``path`` in the application the desktop associates with it; ``True`` if one was started."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class TexturesView(QGroupBox):
    """LOD0's albedo after a run: the raw bake and the delit albedo side by side, and the shading removed.

    Qt reads neither the shading (a linear float EXR) nor asks the worker to convert it:
    the view names the file, with an Open button that hands it to the system's image
    viewer. Thumbnails are the first UDIM tile, decoded once per set of files.
    """

    def __init__(self, parent: QWidget | None = None, opener: Callable[[Path], bool] = open_with_system) -> None:
        super().__init__("Textures", parent)
        self._opener = opener
        grid = QGridLayout(self)
        self.raw_image, self.raw_caption = self._thumbnail()
        self.albedo_image, self.albedo_caption = self._thumbnail()
        grid.addWidget(self.raw_image, 0, 0)
        grid.addWidget(self.albedo_image, 0, 1)
        grid.addWidget(self.raw_caption, 1, 0)
        grid.addWidget(self.albedo_caption, 1, 1)
        self.shading = QLabel()
        self.shading.setWordWrap(True)
        self.shading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_shading = QPushButton("Open")
        self.open_shading.setToolTip("Open the shading map (linear EXR) in the system's image viewer")
        self.open_shading.clicked.connect(self._open_shading)
        row = QHBoxLayout()
        row.addWidget(self.shading, 1)
        row.addWidget(self.open_shading)
        grid.addLayout(row, 2, 0, 1, 2)
        self.maps: AlbedoMaps | None = None
        self.hide()

    @staticmethod
    def _thumbnail() -> tuple[QLabel, QLabel]:
        image = QLabel()
        image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        image.setMinimumSize(THUMBNAIL_SIZE // 2, THUMBNAIL_SIZE // 2)
        caption = QLabel()
        caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        caption.setWordWrap(True)
        return image, caption

    def show_maps(self, maps: AlbedoMaps | None) -> None:
        """Show these files (hidden for ``None``); the same files, unchanged on disk, are not decoded again."""
        if maps == self.maps:
            return
        self.maps = maps
        if maps is None:
            self.hide()
            return
        tiles = f", {len(maps.tiles)} UDIM tiles, first shown" if len(maps.tiles) > 1 else ""
        self._show(
            self.albedo_image,
            self.albedo_caption,
            maps.albedo,
            f"Delit LOD{maps.lod}" if maps.delit else f"LOD{maps.lod} (not delit)",
        )
        if maps.raw is not None:
            self._show(self.raw_image, self.raw_caption, maps.raw, f"Raw bake LOD{maps.lod}")
            self.raw_image.show()
        else:
            self.raw_image.clear()
            self.raw_image.hide()
            self.raw_caption.setText("Delight was off: the albedo keeps the capture's lighting.")
        if maps.shading is not None:
            self.shading.setText(f"Shading{tiles}: {maps.shading}")
        else:
            self.shading.setText(f"No shading map{tiles}.")
        self.open_shading.setVisible(maps.shading is not None)
        self.show()

    @staticmethod
    def _show(image: QLabel, caption: QLabel, path: Path, title: str) -> None:
        pixmap, full = load_thumbnail(path)
        if pixmap.isNull():
            image.clear()
            image.setText(f"no preview of {path.suffix} files")
        else:
            image.setPixmap(pixmap)
        size = f" – {full.width()} × {full.height()}" if full.isValid() else ""
        caption.setText(f"{title}{size}\n{path.name}")
        caption.setToolTip(str(path))

    def _open_shading(self) -> None:
        if self.maps is not None and self.maps.shading is not None:
            self._opener(self.maps.shading)


class ResultView(QWidget):
    """A step's result: the preview image the worker rendered, the textures it made and its numbers as rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(256, 256)
        self.textures = TexturesView()
        self.numbers = SummaryTable()
        layout.addWidget(self.image, 1)
        layout.addWidget(self.textures)
        layout.addWidget(self.numbers, 1)
        self.text = ""

    def show_result(self, result: dict[str, Any]) -> None:
        preview = result.get("preview")
        if preview:
            pixmap = QPixmap(preview)
            self.image.setPixmap(
                pixmap.scaled(320, 320, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            )
        else:
            self.image.clear()
        textures = result.get("textures")
        self.textures.show_maps(textures if isinstance(textures, AlbedoMaps) else None)
        self.numbers.show_rows(summary_rows(result))
        self.text = summary_text(result)


class LandmarkPicker(QWidget):
    """The template's landmark names: list them, pick the current one, assign the DCC's selected vertex to it."""

    def __init__(self, controller: PanelController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.load_button = QPushButton("List the template's landmarks")
        self.load_button.clicked.connect(self._load)
        self.names = QListWidget()
        self.names.setMaximumHeight(160)
        self.names.itemClicked.connect(self._picked)
        self.assign_button = QPushButton("Add selected point")
        self.assign_button.clicked.connect(controller.assign_landmark)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove)
        self.status = QLabel()
        buttons = QHBoxLayout()
        buttons.addWidget(self.assign_button, 1)
        buttons.addWidget(self.remove_button)
        layout.addWidget(self.load_button)
        layout.addWidget(self.names)
        layout.addLayout(buttons)
        layout.addWidget(self.status)

    def _load(self) -> None:
        try:
            self.controller.load_template()
        except (ValueError, RuntimeError) as exc:
            self.controller.host.report(str(exc), "warning")

    def _picked(self, item: QListWidgetItem) -> None:
        self.controller.select_landmark(str(item.data(Qt.ItemDataRole.UserRole)))

    def _remove(self) -> None:
        current = self.controller.landmarks.current
        if current:
            self.controller.remove_landmark(current)

    def refresh(self, running: bool) -> None:
        c = self.controller
        marks = c.landmarks
        self.load_button.setEnabled(bool(c.template()) and not running)
        names = marks.names
        if [self.names.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.names.count())] != names:
            self.names.clear()
            for name in names:
                item = QListWidgetItem(name)
                item.setData(Qt.ItemDataRole.UserRole, name)
                self.names.addItem(item)
        for i, name in enumerate(names):
            placed = marks.placed.get(name)
            where = f"{placed.mesh or 'scan'} vertex {placed.vertex}" if placed else "not placed"
            self.names.item(i).setText(f"{name}  –  {where}")
            if name == marks.current:
                self.names.setCurrentRow(i)
        can_pick = isinstance(c.host, PointSelection)
        self.assign_button.setVisible(can_pick)
        self.assign_button.setEnabled(marks.current is not None)
        self.assign_button.setText(
            f"Add selected point as {marks.current}" if marks.current else "Add selected point (all placed)"
        )
        self.remove_button.setEnabled(marks.current is not None and marks.current in marks.placed)
        if not c.template():
            self.status.setText("No template: this step decimates the scan into LODs.")
        elif not names:
            self.status.setText("List the template's landmarks, then place them on the scan (or wrap without).")
        else:
            self.status.setText(f"{len(marks.placed)} of {len(names)} landmarks placed.")

"""The panel's widgets. Each draws a piece of the controller's state and sends edits back to it."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lifecast_panel.controller import PanelController
from lifecast_panel.models import RunError, RunModel
from lifecast_panel.steps import Param, Step

__all__ = ["ErrorBanner", "LogView", "ParamForm", "ResultView", "StageProgressList"]


class ParamForm(QWidget):
    """Editors for one step's parameters, filled from and written to the controller."""

    def __init__(self, controller: PanelController, step: Step, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.editors: dict[str, QWidget] = {}
        layout = QFormLayout(self)
        for param in step.params:
            editor = self._editor(param, controller.params[param.name])
            editor.setToolTip(param.tooltip or param.job_key)
            self.editors[param.name] = editor
            layout.addRow(param.label, editor)
        if not step.params:
            layout.addRow(QLabel("No parameters."))

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
            combo.setCurrentText(str(value))
            combo.currentTextChanged.connect(lambda v, n=p.name: set_param(n, v))
            return combo
        text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        edit = QLineEdit(text)
        edit.editingFinished.connect(lambda e=edit, n=p.name: set_param(n, e.text()))
        return edit


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


class ResultView(QWidget):
    """A step's result: the preview image the worker rendered and its numbers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(256, 256)
        self.numbers = QLabel()
        self.numbers.setWordWrap(True)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.numbers)

    def show_result(self, result: dict[str, Any]) -> None:
        preview = result.get("preview")
        if preview:
            pixmap = QPixmap(preview)
            self.image.setPixmap(
                pixmap.scaled(320, 320, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
            )
        else:
            self.image.clear()
        self.numbers.setText(summary_text(result))


def summary_text(result: dict[str, Any]) -> str:
    """The numbers of a step's result as short lines (QA report, stage summaries, asset)."""
    lines: list[str] = []
    report = result.get("report")
    if isinstance(report, dict):
        keys = ("units", "up", "vertices", "faces", "non_manifold_edges", "boundary_edges")
        lines.append("  ".join(f"{k} {report[k]}" for k in keys if k in report and not isinstance(report[k], dict)))
        comps = report.get("components")
        if isinstance(comps, dict) and "count" in comps:
            lines.append(f"components {comps['count']}")
        holes = report.get("holes")
        if isinstance(holes, list | int):
            lines.append(f"holes {holes if isinstance(holes, int) else len(holes)}")
    for stage, summary in (result.get("stages") or {}).items():
        if summary:
            cached = " (cached)" if stage in result.get("cached", []) else ""
            lines.append(f"{stage}{cached}: {json.dumps(summary, separators=(', ', ': '))[:160]}")
    if result.get("asset"):
        lines.append(f"asset: {result['asset']}")
    return "\n".join(line for line in lines if line)

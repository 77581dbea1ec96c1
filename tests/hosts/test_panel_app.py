"""Which Python runs the worker, and how the panel is parented, for every host (``lifecast_panel.app``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import require_optional

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
require_optional("PySide6", "the panel needs the 'ui' extra (PySide6-Essentials)")
require_optional("pytestqt", "pytest-qt is part of the 'dev' extra")

from tests.hosts.plugin_paths import add_plugin_paths  # noqa: E402

add_plugin_paths()

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QMainWindow  # noqa: E402

from lifecast_panel.app import WORKER_PYTHON_ENV, build_panel, resolve_worker_python  # noqa: E402
from lifecast_panel.settings import PanelSettings  # noqa: E402
from tests.hosts.panel_fakes import FakeHost  # noqa: E402


def _settings(tmp_path: Path, saved: str | None = None) -> PanelSettings:
    settings = PanelSettings(QSettings(str(tmp_path / "panel.ini"), QSettings.Format.IniFormat))
    if saved is not None:
        settings.worker_python = saved
    return settings


def test_the_environment_wins_when_its_python_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = tmp_path / "saved_python"
    saved.write_text("")
    monkeypatch.setenv(WORKER_PYTHON_ENV, sys.executable)
    assert resolve_worker_python(_settings(tmp_path, str(saved))) == sys.executable
    monkeypatch.setenv(WORKER_PYTHON_ENV, str(tmp_path / "no_such_python"))
    assert resolve_worker_python(_settings(tmp_path, str(saved))) == str(saved)  # a stale module path is skipped
    assert resolve_worker_python(_settings(tmp_path / "other")) == str(
        tmp_path / "no_such_python"
    )  # named in the error
    monkeypatch.delenv(WORKER_PYTHON_ENV)
    assert resolve_worker_python(_settings(tmp_path / "third")) == sys.executable


def test_a_floating_panel_is_a_window_over_the_host_and_a_docked_one_has_no_parent(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(WORKER_PYTHON_ENV, sys.executable)
    window = QMainWindow()
    qtbot.addWidget(window)
    host = FakeHost()
    host.main_window = lambda: window  # type: ignore[method-assign]
    floating = build_panel(host, settings=_settings(tmp_path))
    assert floating.parentWidget() is window and floating.windowFlags() & Qt.WindowType.Window
    docked = build_panel(host, docked=True, settings=_settings(tmp_path))
    qtbot.addWidget(docked)
    assert docked.parentWidget() is None and docked.controller.worker.python == sys.executable  # type: ignore[attr-defined]

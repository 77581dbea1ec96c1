"""The host contract (``host_contract.py``) over every host: fake, standalone, Maya and Houdini (on fakes)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import require_optional

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
require_optional("PySide6", "the panel needs the 'ui' extra (PySide6-Essentials)")
require_optional("pytestqt", "pytest-qt is part of the 'dev' extra")

from tests.hosts.plugin_paths import add_plugin_paths  # noqa: E402

add_plugin_paths()

from PySide6.QtWidgets import QMainWindow  # noqa: E402

from tests.hosts.host_contract import HostContract, HostHarness  # noqa: E402
from tests.hosts.host_harnesses import HARNESSES, make_harness  # noqa: E402


@pytest.fixture(params=HARNESSES)
def harness(request: pytest.FixtureRequest, qapp: object, monkeypatch: pytest.MonkeyPatch) -> HostHarness:
    window = QMainWindow()
    request.addfinalizer(window.deleteLater)
    return make_harness(str(request.param), monkeypatch, window)


class TestHostContract(HostContract):
    """Every test of the contract, once per host."""

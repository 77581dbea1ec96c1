"""Render docs/panel.png: the standalone panel on the bundled sample scan, driven by a real ``lifecast worker``.

It inspects the sample scan, opens the "Wrap or decimate" step with the ``anny-head`` template, asks the worker
for the template's landmark names and grabs the window (offscreen Qt)::

    QT_QPA_PLATFORM=offscreen .venv/bin/python plugins/panel/make_screenshot.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "panel"))

from PySide6.QtWidgets import QApplication  # noqa: E402

from lifecast_panel.controller import PanelController  # noqa: E402
from lifecast_panel.panel import LifecastPanel  # noqa: E402
from lifecast_panel.standalone import StandaloneHost  # noqa: E402
from lifecast_panel.worker_client import QProcessWorker  # noqa: E402


def wait_idle(app: QApplication, controller: PanelController, timeout: float = 600.0) -> None:
    """Pump Qt events until the worker has finished (or ``timeout`` seconds)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if not controller.worker.is_running():
            app.processEvents()
            return
        time.sleep(0.05)
    raise TimeoutError("the worker did not finish")


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    worker = QProcessWorker(sys.executable)
    controller = PanelController(StandaloneHost(dialogs=False), worker)
    panel = LifecastPanel(controller)
    panel.resize(1100, 720)
    panel.show()
    out = Path(tempfile.mkdtemp(prefix="lifecast_screenshot_"))
    controller.set_scan(ROOT / "sample_scans" / "anny_head" / "anny_head_scan.ply", out / "anny_head")
    controller.select_step("inspect")
    controller.run_step("inspect")
    wait_idle(app, controller)
    controller.set_param("template", "anny-head")  # before the step is shown, so its form shows the value
    controller.select_step("wrap")
    controller.load_template()
    wait_idle(app, controller)
    app.processEvents()
    target = ROOT / "docs" / "panel.png"
    if not panel.grab().save(str(target)):
        raise OSError(f"could not write {target}")
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

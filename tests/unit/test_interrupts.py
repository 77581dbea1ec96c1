"""A cancel (SIGTERM, Ctrl-C) that lands in an import is delivered after it, not swallowed inside it.

Each case runs in its own interpreter: the handlers, and the signals sent to
the process, must not reach pytest's.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lifecast.interrupts import importing

# A package whose ``outer`` module imports ``inner`` the way USD's C++ loader
# imports its Python submodules: anything ``inner`` raises is caught and the
# import goes on. ``inner`` signals its own process half way through.
OUTER = """
import sys
try:
    import inner
except BaseException as error:
    sys.stdout.write(f"swallowed {type(error).__name__}\\n")
"""
INNER = """
import os, signal, sys
os.kill(os.getpid(), getattr(signal, sys.argv[1]))
for _ in range(1000):  # bytecode for the handler to run in
    pass
"""
MAIN = """
import contextlib, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even when pytest runs under nohup
sys.path.insert(0, {pkg!r})
from lifecast import interrupts

@contextlib.contextmanager
def naive():
    def _raise(signum, frame):
        raise interrupts.Terminated
    signal.signal(signal.SIGTERM, _raise)
    yield

with {handlers}:
    try:
        import outer
        sys.stdout.write("imported\\n")
        time.sleep(5)
        sys.stdout.write("not interrupted\\n")
    except (interrupts.Terminated, KeyboardInterrupt) as error:
        sys.stdout.write(f"raised {{type(error).__name__}} after the import\\n")
"""


def _run(tmp_path: Path, handlers: str, signame: str) -> list[str]:
    (tmp_path / "outer.py").write_text(OUTER)
    (tmp_path / "inner.py").write_text(INNER)
    script = MAIN.format(pkg=str(tmp_path), handlers=handlers)
    proc = subprocess.run(
        [sys.executable, "-c", script, signame], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.splitlines()


def test_a_plain_handler_is_swallowed_by_a_loader_that_catches(tmp_path: Path) -> None:
    """The failure this module exists for: the cancel is lost and the job runs on."""
    assert _run(tmp_path, "naive()", "SIGTERM") == ["swallowed Terminated", "imported", "not interrupted"]


@pytest.mark.parametrize(("signame", "raised"), [("SIGTERM", "Terminated"), ("SIGINT", "KeyboardInterrupt")])
def test_a_cancel_during_an_import_is_raised_once_it_is_over(tmp_path: Path, signame: str, raised: str) -> None:
    lines = _run(tmp_path, "interrupts.as_exceptions()", signame)
    assert lines == ["imported", f"raised {raised} after the import"]


def test_an_ignored_ctrl_c_stays_ignored() -> None:
    script = textwrap.dedent(
        """
        import os, signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        from lifecast import interrupts
        with interrupts.as_exceptions():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
            print("still running")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "still running"


@pytest.mark.parametrize("delay", [0.0, 0.02, 0.04, 0.06, 0.09, 0.12])
def test_a_sigterm_while_usd_loads_leaves_usd_whole(delay: float) -> None:
    """USD's own loader, the real case: cancelled or not, ``pxr`` is never left half loaded."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys, threading, time
        from lifecast import interrupts
        with interrupts.as_exceptions():
            try:
                threading.Timer({delay}, os.kill, (os.getpid(), signal.SIGTERM)).start()
                from pxr import Sdf, Usd, UsdGeom, UsdShade
                stage = Usd.Stage.CreateInMemory()
                UsdGeom.Mesh.Define(stage, "/mesh")
                UsdShade.Material.Define(stage, "/material")
                stage.GetRootLayer().ExportToString()
                time.sleep(5)
            except interrupts.Terminated:
                sys.exit(130)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert "Error loading lib" not in proc.stderr and "postprocessing module" not in proc.stderr, proc.stderr


def test_importing_sees_the_import_machinery_on_the_stack(tmp_path: Path) -> None:
    (tmp_path / "probe_importing.py").write_text(
        "import sys\nfrom lifecast.interrupts import importing\nSEEN = importing(sys._getframe())\n"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        import probe_importing  # type: ignore[import-not-found]

        assert probe_importing.SEEN is True
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("probe_importing", None)
    assert importing(sys._getframe()) is False


def test_the_handlers_found_are_put_back_so_a_late_cancel_is_a_plain_sigterm() -> None:
    script = textwrap.dedent(
        """
        import os, signal, time
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
        from lifecast import interrupts
        with interrupts.as_exceptions():
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == -15, proc.stderr[-2000:]


# The CI failure this guards against: SIGTERM landed between ``mkdtemp`` and the
# ``try`` that removes the directory, and a cache entry's temp dir was left.
# Here the signal is sent from inside the creating call itself: the worst moment.
HELD_SCRIPT = """
import os, signal, sys, tempfile
from pathlib import Path
from lifecast import interrupts
from lifecast.pipeline import atomic

real = {{"mkdtemp": tempfile.mkdtemp, "mkstemp": tempfile.mkstemp}}

def creating_then_cancelled(name):
    def create(*args, **kwargs):
        made = real[name](*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # bytecode for the handler to run in
            pass
        return made
    return create

out = Path(sys.argv[1])
with interrupts.as_exceptions():
    for writer, name in (("atomic_dir", "mkdtemp"), ("atomic_path", "mkstemp")):
        setattr(tempfile, name, creating_then_cancelled(name))
        try:
            with getattr(atomic, writer)(out / writer):
                print("block ran", flush=True)
        except interrupts.Terminated:
            print(f"{{writer}} raised Terminated", flush=True)
        setattr(tempfile, name, real[name])
"""


def test_a_cancel_while_a_temp_is_created_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", HELD_SCRIPT.format(), str(out)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == ["atomic_dir raised Terminated", "atomic_path raised Terminated"]
    assert list(out.iterdir()) == []


def test_held_back_raises_the_first_interrupt_once_the_outermost_block_ends() -> None:
    script = textwrap.dedent(
        """
        import os, signal
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from lifecast import interrupts
        with interrupts.as_exceptions():
            try:
                with interrupts.held_back():
                    with interrupts.held_back():
                        os.kill(os.getpid(), signal.SIGTERM)
                        os.kill(os.getpid(), signal.SIGINT)
                        for _ in range(1000):
                            pass
                        print("inner block finished", flush=True)
                    print("outer block finished", flush=True)
            except interrupts.Terminated:
                print("raised Terminated", flush=True)
            for _ in range(1000):
                pass
            print("no second interrupt", flush=True)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == [
        "inner block finished",
        "outer block finished",
        "raised Terminated",
        "no second interrupt",
    ]

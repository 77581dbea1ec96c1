"""Bad input through the real CLI: exit code 2, one clear line naming the file, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import events_of, run_cli

BAD_INPUTS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
CORPUS = sorted(p for p in BAD_INPUTS.glob("*") if p.is_file() and p.suffix not in (".py", ".md"))


def assert_clean_refusal(proc_stderr: str, needle: str) -> None:
    assert "Traceback" not in proc_stderr, proc_stderr
    errors = [line for line in proc_stderr.splitlines() if line.startswith("lifecast: error:")]
    assert len(errors) == 1, proc_stderr
    assert needle in errors[0], errors[0]


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) >= 8, f"expected a corpus of bad files in {BAD_INPUTS}"


@pytest.mark.parametrize("bad", CORPUS, ids=lambda p: p.name)
def test_each_bad_file_is_refused_with_exit_2(bad: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("process", bad, "-o", out, "--lods", "500,100", "--texture-size", "256", timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert_clean_refusal(proc.stderr, bad.name)
    assert not (out / "asset.usda").exists()
    leftovers = [p for p in out.rglob("*") if p.is_file() and ".lifecast" not in p.parts] if out.exists() else []
    assert leftovers == []


def test_missing_scan(tmp_path: Path) -> None:
    proc = run_cli("process", tmp_path / "nope.ply", "-o", tmp_path / "out")
    assert proc.returncode == 2
    assert_clean_refusal(proc.stderr, "nope.ply")
    assert not (tmp_path / "out").exists()


def test_output_directory_that_is_a_file(tmp_path: Path, sample_scan: Path) -> None:
    target = tmp_path / "asset_dir"
    target.write_text("I am a file")
    proc = run_cli("process", sample_scan, "-o", target)
    assert proc.returncode == 2
    assert_clean_refusal(proc.stderr, "not a directory")
    assert target.read_text() == "I am a file"


def test_missing_texture(tmp_path: Path, sample_scan: Path) -> None:
    proc = run_cli("process", sample_scan, "-o", tmp_path / "o", "--texture", tmp_path / "gone.jpg")
    assert proc.returncode == 2
    assert_clean_refusal(proc.stderr, "gone.jpg")


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--texture-size", "1000", "power of two"),
        ("--lods", "5000,20000", "most to fewest"),
        ("--udims", "0", "UDIM"),
        ("--fill-holes", "nan", "hole-filling limit"),  # nan < 0 is false: it used to pass the check
        ("--cage", "inf", "cage distance"),
    ],
)
def test_bad_options(tmp_path: Path, sample_scan: Path, flag: str, value: str, needle: str) -> None:
    proc = run_cli("process", sample_scan, "-o", tmp_path / "o", flag, value)
    assert proc.returncode == 2
    assert_clean_refusal(proc.stderr, needle)


def test_json_mode_reports_the_error_as_an_event(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ply"
    empty.write_bytes(b"")
    proc = run_cli("process", empty, "-o", tmp_path / "o", "--json")
    assert proc.returncode == 2
    events = events_of(proc.stdout)
    errors = [e for e in events if e.type == "error"]
    assert len(errors) == 1 and errors[0].data["exit_code"] == 2 and "empty.ply" in errors[0].data["message"]
    assert events[-1].type == "done" and events[-1].data["ok"] is False


def test_inspect_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "scan.ply"
    bad.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 100\nproperty float x\nend_header\n\x00")
    proc = run_cli("inspect", bad)
    assert proc.returncode == 2
    assert_clean_refusal(proc.stderr, "scan.ply")

"""tests.conftest.require_optional: a missing extra skips a test on a user's machine and fails it in CI."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import require_optional


def test_a_present_package_is_returned() -> None:
    assert require_optional("numpy", "core dependency").__name__ == "numpy"


def test_a_missing_package_skips_on_a_users_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("LIFECAST_REQUIRE_OPTIONAL", raising=False)
    monkeypatch.setitem(sys.modules, "lifecast_missing_extra", None)  # the import raises ImportError
    with pytest.raises(pytest.skip.Exception, match="the 'demo' extra"):
        require_optional("lifecast_missing_extra", "the 'demo' extra")


@pytest.mark.parametrize("env", ["LIFECAST_REQUIRE_OPTIONAL", "CI"])
def test_a_missing_package_fails_in_ci(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("LIFECAST_REQUIRE_OPTIONAL", raising=False)
    monkeypatch.setenv(env, "1")
    monkeypatch.setitem(sys.modules, "lifecast_missing_extra", None)
    with pytest.raises(pytest.fail.Exception, match="CI\\) requires it"):
        require_optional("lifecast_missing_extra", "the 'demo' extra")

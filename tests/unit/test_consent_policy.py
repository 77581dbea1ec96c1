"""Policy checks: every way consent can be missing is refused with a reason; paths stay with their subject."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from lifecast.consent.guard import authorize_process, place_out_dir
from lifecast.consent.policy import ConsentError, require_consent
from lifecast.consent.registry import Registry
from lifecast.consent.show import Show, resolve_show
from lifecast.errors import EXIT_NO_CONSENT, InputError


def _clock(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    r = Registry(tmp_path / "lifecast.db", create=True, clock=lambda: _clock(date(2027, 1, 1)), actor="t")
    r.add_subject("ana", "Ana Example")
    r.add_subject("bob", "Bob Example")
    r.grant("ana", "P1", ["digital-double"], valid_until=date(2027, 6, 30), release_ref="R1")
    r.grant("bob", "P1", ["texture-training"])
    return r


def test_valid_consent_is_returned(reg: Registry) -> None:
    record = require_consent(reg, "ana", "P1", "digital-double", today=date(2027, 6, 30))
    assert record.subject_id == "ana" and record.release_ref == "R1"


@pytest.mark.parametrize(
    ("subject", "project", "use", "day", "why"),
    [
        ("carl", "P1", "digital-double", date(2027, 2, 1), "not in the show registry"),
        ("ana", "P2", "digital-double", date(2027, 2, 1), "no consent recorded .* on project 'P2'"),
        ("ana", None, "digital-double", date(2027, 2, 1), "per project"),
        ("ana", "P1", "shared-model", date(2027, 2, 1), "does not allow 'shared-model'"),
        ("ana", "P1", "digital-double", date(2027, 7, 1), "is expired"),
        ("ana", "P1", "digital-double", date(2026, 12, 31), "not yet valid"),
        ("bob", "P1", "digital-double", date(2027, 2, 1), "does not allow 'digital-double'"),
    ],
)
def test_refusals_say_why(reg: Registry, subject: str, project: str | None, use: str, day: date, why: str) -> None:
    with pytest.raises(ConsentError, match=why) as info:
        require_consent(reg, subject, project, use, today=day)
    assert info.value.exit_code == EXIT_NO_CONSENT


def test_revoked_consent_is_refused(reg: Registry) -> None:
    reg.revoke("ana", "P1")
    with pytest.raises(ConsentError, match="revoked"):
        require_consent(reg, "ana", "P1", "digital-double", today=date(2027, 2, 1))


def test_a_later_grant_after_revocation_is_honoured(reg: Registry) -> None:
    reg.revoke("ana", "P1")
    new = reg.grant("ana", "P1", ["digital-double"])
    assert require_consent(reg, "ana", "P1", "digital-double", today=date(2027, 2, 1)).id == new.id


def test_one_subjects_id_never_reaches_anothers_data(tmp_path: Path) -> None:
    show = Show(tmp_path)
    assert show.subject_path("ana", "assets", "head") == (tmp_path / "subjects/ana/assets/head").resolve()
    with pytest.raises(InputError, match="subject 'bob'"):
        show.subject_path("ana", "assets", "../../bob/assets/head")
    with pytest.raises(InputError, match="not valid"):
        show.subject_dir("../bob")
    (tmp_path / "subjects/bob/assets").mkdir(parents=True)
    (tmp_path / "subjects/ana/assets").mkdir(parents=True)
    (tmp_path / "subjects/ana/assets/link").symlink_to(tmp_path / "subjects/bob/assets")
    with pytest.raises(InputError, match="subject 'bob'"):
        show.subject_path("ana", "assets", "link", "head")
    assert show.owner_of(tmp_path / "subjects/bob/assets/x") == "bob"


def test_out_dir_placement(tmp_path: Path) -> None:
    show = Show(tmp_path)
    assets = (tmp_path / "subjects/ana/assets").resolve()
    assert place_out_dir(show, "ana", Path("head")) == assets / "head"
    assert place_out_dir(show, "ana", assets / "x") == assets / "x"
    with pytest.raises(InputError, match="assets live in"):
        place_out_dir(show, "ana", tmp_path / "elsewhere")


def test_show_resolution_and_process_gate(tmp_path: Path, reg: Registry) -> None:
    assert resolve_show(None, env={}) is None
    assert resolve_show(None, env={"LIFECAST_SHOW": str(tmp_path)}) == Show(tmp_path.resolve())
    common = {"out_dir": Path("head"), "cache_dir": None, "env": {}}
    assert authorize_process(show=None, subject="ana", project="P1", no_subject=False, **common) is None
    with pytest.raises(ConsentError, match="--subject"):
        authorize_process(show=tmp_path, subject=None, project="P1", no_subject=False, **common)
    with pytest.raises(InputError, match="contradict"):
        authorize_process(show=tmp_path, subject="ana", project="P1", no_subject=True, **common)
    with pytest.raises(InputError, match="no registry"):
        authorize_process(show=tmp_path / "empty", subject="ana", project="P1", no_subject=False, **common)
    prop = authorize_process(show=tmp_path, subject=None, project=None, no_subject=True, **common)
    assert prop is not None and prop.record is None
    with pytest.raises(InputError, match="subject 'ana'"):
        authorize_process(
            show=tmp_path,
            subject=None,
            project=None,
            no_subject=True,
            out_dir=tmp_path / "subjects/ana/assets/x",
            cache_dir=None,
            env={},
        )

"""Policy checks: may this subject's data be used for this, on this project, today?

Uses (what a release can allow):

``digital-double``
    scan processing and asset export for the project's digital double;
``texture-training``
    training texture models on the subject's data (for that subject only);
``shared-model``
    folding the subject's data into a model shared across subjects.

Every stage that touches a subject's data calls :func:`require_consent`
first; a refusal is a :class:`ConsentError` (exit code 3) that says what is
missing: no subject, no consent for the project, revoked, expired, not yet
valid, or a use the release does not allow.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from lifecast.errors import EXIT_NO_CONSENT, InputError, LifecastError

if TYPE_CHECKING:
    from lifecast.consent.registry import ConsentRecord, Registry

USES = ("digital-double", "texture-training", "shared-model")
#: The use ``lifecast process`` (processing and export) needs.
PROCESS_USE = "digital-double"


class ConsentError(LifecastError):
    """No valid consent for this use of a subject's data; nothing was done (exit code 3)."""

    exit_code = EXIT_NO_CONSENT

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        super().__init__(message)


def check_uses(uses: Iterable[str]) -> tuple[str, ...]:
    """Validate use names (raises :class:`InputError` naming the unknown ones); returns them de-duplicated."""
    out: list[str] = []
    for u in uses:
        u = u.strip()
        if u and u not in out:
            out.append(u)
    unknown = [u for u in out if u not in USES]
    if unknown:
        raise InputError(f"unknown use {', '.join(map(repr, unknown))}: allowed uses are {', '.join(USES)}")
    if not out:
        raise InputError(f"give at least one use: {', '.join(USES)}")
    return tuple(out)


def require_consent(
    registry: Registry,
    subject_id: str,
    project: str | None,
    use: str,
    today: date | None = None,
) -> ConsentRecord:
    """The consent record that allows ``use`` of ``subject_id``'s data on ``project`` on ``today``.

    Parameters
    ----------
    registry
        The show's registry.
    subject_id, project, use
        Whose data, for which project, for what (one of :data:`USES`).
    today
        The day to check (default: the registry clock's local date).

    Raises
    ------
    ConsentError
        When no record allows it; the message says why (unknown subject, no
        consent for the project, revoked, expired, not yet valid, use not allowed).
    """
    check_uses([use])
    day = today or registry.today()
    if registry.subject(subject_id) is None:
        raise ConsentError(f"subject {subject_id!r} is not in the show registry {registry.path}; add them first")
    if not project:
        raise ConsentError(
            f"consent is given per project: name the project (--project or LIFECAST_PROJECT) for {subject_id!r}"
        )
    records = registry.consents(subject_id, project)
    if not records:
        others = sorted({r.project for r in registry.consents(subject_id)})
        hint = f" (consent exists for: {', '.join(others)})" if others else ""
        raise ConsentError(f"no consent recorded for subject {subject_id!r} on project {project!r}{hint}")
    valid = [r for r in records if r.status_on(day) == "valid"]
    for r in sorted(valid, key=lambda r: r.recorded_at, reverse=True):
        if use in r.uses:
            return r
    if valid:
        allowed = sorted({u for r in valid for u in r.uses})
        raise ConsentError(
            f"consent of subject {subject_id!r} on project {project!r} does not allow {use!r} "
            f"(it allows {', '.join(allowed)})"
        )
    latest = max(records, key=lambda r: r.recorded_at)
    status = latest.status_on(day)
    when = {
        "revoked": f"on {latest.revoked_at}",
        "expired": f"on {latest.valid_until}",
        "not yet valid": f"until {latest.valid_from}",
    }[status]
    raise ConsentError(
        f"consent {latest.id} of subject {subject_id!r} on project {project!r} is {status} ({when}; checked {day})"
    )


__all__ = ["PROCESS_USE", "USES", "ConsentError", "check_uses", "require_consent"]

"""The consent gate of ``lifecast process``: before any work, and after publishing.

:func:`authorize_process` runs before the scan is read, hashed or cached. With
no show configured it returns ``None`` and the job runs as it always has.
Once the show has a registry:

- a scan of a person needs ``--subject ID`` and a valid ``digital-double``
  consent for ``--project`` (else :class:`~lifecast.consent.policy.ConsentError`,
  exit code 3, nothing written but the refusal's audit row);
- a prop or test chart needs an explicit ``--no-subject`` and may not be
  written into a subject's folder;
- the asset goes under ``SHOW/subjects/<id>/assets/`` (a relative ``-o`` is
  taken inside it; an absolute ``-o`` elsewhere is refused) and the stage cache
  under ``SHOW/subjects/<id>/cache/`` (a ``--cache`` outside the subject's
  folder is refused: a shared cache would mix subjects' data).

:func:`finish_process` seals the published asset (signed textures and
manifest) and records the scan session and the asset in the registry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecast.consent.c2pa_sign import SigningConfig
from lifecast.consent.policy import PROCESS_USE, ConsentError, require_consent
from lifecast.consent.provenance import SealResult, consent_provenance, seal_asset
from lifecast.consent.registry import Clock, ConsentRecord, Registry
from lifecast.consent.show import Show, resolve_show
from lifecast.errors import InputError

PROJECT_ENV = "LIFECAST_PROJECT"


@dataclass(frozen=True)
class ProcessGrant:
    """Permission to run one job, and where its outputs go."""

    show: Show
    subject_id: str | None
    record: ConsentRecord | None
    out_dir: Path
    cache_dir: Path | None

    def provenance(self) -> dict[str, Any]:
        """The consent fields for the asset's provenance (empty for a ``--no-subject`` job)."""
        if self.record is None:
            return {"consent_id": "", "no_subject": True}
        return consent_provenance(self.record)


def authorize_process(
    *,
    show: Path | None,
    subject: str | None,
    project: str | None,
    no_subject: bool,
    out_dir: Path,
    cache_dir: Path | None,
    clock: Clock | None = None,
    env: Mapping[str, str] | None = None,
) -> ProcessGrant | None:
    """Check consent for processing and place the outputs; ``None`` when no show is configured.

    Raises
    ------
    ConsentError
        No valid ``digital-double`` consent, or no ``--subject`` in a show with a registry.
    InputError
        Contradictory options, a show without a registry, or outputs outside the subject's folder.
    """
    environ = os.environ if env is None else env
    if subject and no_subject:
        raise InputError("--subject and --no-subject contradict each other")
    found = resolve_show(show, environ)
    if found is None:
        return None
    if not found.has_registry():
        raise InputError("this show has no registry yet (create it with `lifecast subject add`)", found.root)
    if no_subject:
        owner = found.owner_of(out_dir)
        if owner is not None:
            raise InputError(f"a --no-subject asset cannot be written into subject {owner!r}'s folder", out_dir)
        return ProcessGrant(found, None, None, out_dir, cache_dir)
    if not subject:
        raise ConsentError(
            f"the show {found.root} has a consent registry: name the scanned person with --subject ID "
            "(or pass --no-subject for a prop or test chart)"
        )
    project = project or environ.get(PROJECT_ENV) or None
    with Registry.for_show(found, clock=clock) as registry:
        try:
            record = require_consent(registry, subject, project, PROCESS_USE)
        except ConsentError as exc:
            registry.record("refused", subject, {"use": PROCESS_USE, "project": project, "reason": exc.message})
            raise
    return ProcessGrant(
        found, subject, record, place_out_dir(found, subject, out_dir), place_cache_dir(found, subject, cache_dir)
    )


def place_out_dir(show: Show, subject_id: str, out_dir: Path) -> Path:
    """The asset folder inside ``SHOW/subjects/<id>/assets/``.

    An ``out_dir`` already inside it is kept; a relative one is taken relative
    to it; anything else raises :class:`InputError`.
    """
    assets = show.subject_path(subject_id, "assets")
    if out_dir.resolve().is_relative_to(assets.resolve()):
        return out_dir.resolve()
    if not out_dir.is_absolute():
        return show.require_owned(subject_id, assets / out_dir)
    raise InputError(
        f"subject {subject_id!r}'s assets live in {assets}: give -o inside it, or a relative -o to place it there",
        out_dir,
    )


def place_cache_dir(show: Show, subject_id: str, cache_dir: Path | None) -> Path:
    """The stage cache: ``SHOW/subjects/<id>/cache/``, or ``cache_dir`` if it is inside the subject's folder."""
    if cache_dir is None:
        return show.subject_path(subject_id, "cache")
    return show.require_owned(subject_id, cache_dir)


def finish_process(
    grant: ProcessGrant,
    *,
    scan: Path,
    scan_sha256: str,
    provenance: Mapping[str, Any],
    signing: SigningConfig | None,
    clock: Clock | None = None,
) -> SealResult | None:
    """Seal the published asset in ``grant.out_dir`` and record it; ``None`` for a ``--no-subject`` job."""
    with Registry.for_show(grant.show, clock=clock) as registry:
        if grant.record is None:
            registry.record("process-no-subject", None, {"scan_sha256": scan_sha256})
            return None
        record = grant.record
        sealed = seal_asset(grant.out_dir, record=record, provenance=provenance, signing=signing, now=registry.clock())
        registry.add_scan_session(record.subject_id, record.project, scan.resolve(), scan_sha256)
        registry.add_asset(
            record.subject_id, record.project, record.id, grant.out_dir, sealed.files, sealed.manifest_sha256
        )
    return sealed


__all__ = ["PROJECT_ENV", "ProcessGrant", "authorize_process", "finish_process", "place_cache_dir", "place_out_dir"]

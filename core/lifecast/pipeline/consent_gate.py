"""The consent gate around ``lifecast process``: authorise before any work, sign and record after publishing.

The rules are :mod:`lifecast.consent.guard`'s; this module feeds it a job's
:class:`~lifecast.pipeline.options.ProcessOptions` and reports what it did as events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lifecast.pipeline.options import ProcessOptions
from lifecast.worker.events import Event, EventSink

if TYPE_CHECKING:
    from lifecast.consent.c2pa_sign import SigningConfig
    from lifecast.consent.guard import ProcessGrant


def authorize(opts: ProcessOptions) -> tuple[ProcessGrant | None, SigningConfig | None]:
    """The grant and the signing configuration of a job: ``(None, None)`` when no show is configured."""
    from lifecast.consent.c2pa_sign import signing_config
    from lifecast.consent.guard import authorize_process

    grant = authorize_process(
        show=opts.show,
        subject=opts.subject,
        project=opts.project,
        no_subject=opts.no_subject,
        out_dir=opts.out_dir,
        cache_dir=opts.cache_dir,
    )
    signing = signing_config(opts.sign_cert, opts.sign_key) if grant is not None else None
    return grant, signing


def seal(
    grant: ProcessGrant,
    signing: SigningConfig | None,
    opts: ProcessOptions,
    scan_hash: str,
    provenance: Mapping[str, Any],
    sink: EventSink,
) -> dict[str, str]:
    """Sign and record a published asset of a show (:func:`lifecast.consent.guard.finish_process`).

    Returns the manifest written, ``{name: path}``, or ``{}`` when nothing was sealed.
    """
    from lifecast.consent.guard import finish_process

    sealed = finish_process(grant, scan=opts.scan, scan_sha256=scan_hash, provenance=provenance, signing=signing)
    if sealed is None:
        return {}
    if not sealed.signed:
        sink.emit(Event("warning", {"stage": "export", "message": "no signing certificate configured: unsigned"}))
    sink.emit(Event("artifact", {"stage": "export", "path": str(sealed.manifest), "kind": "file"}))
    return {sealed.manifest.name: str(sealed.manifest)}


__all__ = ["authorize", "seal"]

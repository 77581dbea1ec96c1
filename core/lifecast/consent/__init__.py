"""Likeness guardrails: subjects, consent records, policy checks, provenance and purge.

A digital double is a person's likeness. Once a show has a registry
(``SHOW/lifecast.db``), every stage that touches a subject's data asks
:func:`lifecast.consent.policy.require_consent` first, assets carry their
consent record in their provenance, and a subject's data lives under
``SHOW/subjects/<id>/`` so that :func:`lifecast.consent.purge.purge_subject`
can remove all of it. See ``docs/consent.md``.

This package imports nothing heavy at module level: the CLI builds its
parsers from :mod:`lifecast.consent.commands` on every start.
"""

from __future__ import annotations

from lifecast.consent.policy import USES, ConsentError, require_consent
from lifecast.consent.registry import ConsentRecord, Registry
from lifecast.consent.show import Show, resolve_show

__all__ = ["USES", "ConsentError", "ConsentRecord", "Registry", "Show", "require_consent", "resolve_show"]

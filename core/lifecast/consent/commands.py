"""CLI commands: ``subject``, ``consent``, ``audit``, ``verify``.

``lifecast subject add ID --name NAME``        register a person (creates the show registry)
``lifecast subject list`` / ``show ID``       list subjects / one subject's consent, sessions and assets
``lifecast subject purge ID --yes``           remove everything derived from the subject
``lifecast consent grant ID --project P --uses U[,U..] [--from DATE] [--until DATE] [--release REF]``
``lifecast consent revoke ID --project P``
``lifecast consent list ID``
``lifecast consent check ID --project P --use U``   exit 0 if allowed today, 3 if not (for training jobs)
``lifecast audit ID``                         the subject's audit rows, and whether the chain holds
``lifecast verify ASSET``                     hashes, signatures, provenance and consent of an asset

The show is ``--show DIR`` or ``$LIFECAST_SHOW``. Imports stay inside the
handlers so ``lifecast --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecast.errors import EXIT_NO_CONSENT, EXIT_OK, InputError
from lifecast.worker.events import EventSink

if TYPE_CHECKING:
    from lifecast.cli import Handler


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 date like 2027-06-30, got {text!r}") from None


def _show_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--show", type=Path, help="show folder holding lifecast.db (default: $LIFECAST_SHOW)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_commands(sub: Any) -> dict[str, Handler]:
    """Add the consent command groups to the ``lifecast`` subparsers; returns their handlers."""
    subject = sub.add_parser("subject", help="scanned people of a show: add, list, show, purge")
    ssub = subject.add_subparsers(dest="subject_command", required=True, metavar="ACTION")
    p = ssub.add_parser("add", help="register a person (creates the show registry if needed)")
    p.add_argument("id")
    p.add_argument("--name", required=True, help="display name")
    _show_option(p)
    p = ssub.add_parser("list", help="list the show's subjects")
    _show_option(p)
    p = ssub.add_parser("show", help="a subject's consent records, scan sessions and assets")
    p.add_argument("id")
    _show_option(p)
    p = ssub.add_parser("purge", help="remove everything derived from a subject, and record the proof")
    p.add_argument("id")
    p.add_argument("--yes", action="store_true", help="really delete (required)")
    _show_option(p)

    consent = sub.add_parser("consent", help="consent records: grant, revoke, list, check")
    csub = consent.add_subparsers(dest="consent_command", required=True, metavar="ACTION")
    p = csub.add_parser("grant", help="record a signed release")
    p.add_argument("id")
    p.add_argument("--project", required=True)
    p.add_argument("--uses", required=True, help="digital-double, texture-training, shared-model (comma-separated)")
    p.add_argument("--from", dest="valid_from", type=_iso_date, help="first valid day (default today)")
    p.add_argument("--until", type=_iso_date, help="last valid day, ISO 8601 (default: open-ended)")
    p.add_argument("--release", default="", help="reference to the signed release document")
    _show_option(p)
    p = csub.add_parser("revoke", help="revoke a subject's consent for a project")
    p.add_argument("id")
    p.add_argument("--project", required=True)
    _show_option(p)
    p = csub.add_parser("list", help="a subject's consent records and their status today")
    p.add_argument("id")
    _show_option(p)
    p = csub.add_parser("check", help="exit 0 if the use is allowed today, 3 if not")
    p.add_argument("id")
    p.add_argument("--project", required=True)
    p.add_argument("--use", required=True)
    _show_option(p)

    p = sub.add_parser("audit", help="a subject's audit log, and whether the hash chain holds")
    p.add_argument("id")
    _show_option(p)

    p = sub.add_parser("verify", help="check an asset's hashes, signatures, provenance and consent")
    p.add_argument("asset", type=Path, help="asset folder or its asset.usda")
    p.add_argument("--trust", type=Path, help="PEM CA certificates the signer must chain to ($LIFECAST_C2PA_TRUST)")
    p.add_argument("--require-signature", action="store_true", help="fail an unsigned asset")
    _show_option(p)
    return {"subject": cmd_subject, "consent": cmd_consent, "audit": cmd_audit, "verify": cmd_verify}


def _show(args: argparse.Namespace) -> Any:
    from lifecast.consent.show import resolve_show

    show = resolve_show(args.show)
    if show is None:
        raise InputError("no show: pass --show DIR or set LIFECAST_SHOW")
    return show


def _registry(args: argparse.Namespace, create: bool = False) -> Any:
    from lifecast.consent.registry import Registry

    return Registry.for_show(_show(args), create=create)


def _emit(args: argparse.Namespace, obj: Any, text: str) -> None:
    print(json.dumps(obj, indent=1, default=str) if args.json else text)


def cmd_subject(args: argparse.Namespace, sink: EventSink) -> int:
    action = args.subject_command
    if action == "purge":
        return _purge(args)
    with _registry(args, create=action == "add") as reg:
        if action == "add":
            s = reg.add_subject(args.id, args.name)
            _emit(args, vars(s), f"added subject {s.id} ({s.display_name}) to {reg.path}")
        elif action == "list":
            subjects = reg.subjects()
            _emit(args, [vars(s) for s in subjects], "\n".join(f"{s.id}\t{s.display_name}" for s in subjects))
        else:
            s = reg.require_subject(args.id)
            consents = reg.consents(s.id)
            sessions, assets = reg.scan_sessions(s.id), reg.assets(s.id)
            today = reg.today()
            lines = [f"{s.id}  {s.display_name}  (added {s.created_at})"]
            lines += [f"  consent {c.id} {c.project} [{','.join(c.uses)}] {c.status_on(today)}" for c in consents]
            lines += [f"  scan    {x.id} {x.project} sha256 {x.scan_sha256[:12]}" for x in sessions]
            lines += [f"  asset   {a.id} {a.project} {a.path}" for a in assets]
            obj = {
                "subject": vars(s),
                "consents": [c.as_dict() | {"status": c.status_on(today)} for c in consents],
                "scan_sessions": [vars(x) for x in sessions],
                "assets": [vars(a) for a in assets],
            }
            _emit(args, obj, "\n".join(lines))
    return EXIT_OK


def _purge(args: argparse.Namespace) -> int:
    from lifecast.consent.purge import purge_subject

    if not args.yes:
        raise InputError(f"purging deletes every file and record of {args.id!r}: add --yes to do it")
    report = purge_subject(_show(args), args.id)
    text = [
        f"purged subject {report.subject_id}: {report.files_removed} files ({report.bytes_removed:,} bytes), "
        f"{sum(len(v) for v in report.rows.values())} registry records; inventories are in the audit log"
    ]
    text += [f"warning: copy of the subject's data still in the show: {p}" for p in report.leftovers]
    text += [f"note: recorded scan outside the show, not touched: {p}" for p in report.outside_show]
    _emit(args, vars(report), "\n".join(text))
    return EXIT_OK if report.clean else 1


def cmd_consent(args: argparse.Namespace, sink: EventSink) -> int:
    from lifecast.consent.policy import ConsentError, require_consent

    action = args.consent_command
    with _registry(args) as reg:
        if action == "grant":
            c = reg.grant(
                args.id,
                args.project,
                args.uses.split(","),
                valid_from=args.valid_from,
                valid_until=args.until,
                release_ref=args.release,
            )
            _emit(args, c.as_dict(), f"consent {c.id}: {c.subject_id} on {c.project} for {', '.join(c.uses)}")
        elif action == "revoke":
            reg.require_subject(args.id)
            revoked = reg.revoke(args.id, args.project)
            ids = [c.id for c in revoked]
            _emit(args, ids, f"revoked {len(ids)} consent record(s) of {args.id} on {args.project}: {' '.join(ids)}")
        elif action == "list":
            reg.require_subject(args.id)
            today = reg.today()
            records = reg.consents(args.id)
            text = "\n".join(
                f"{c.id}  {c.project}  [{','.join(c.uses)}]  {c.valid_from}..{c.valid_until or ''}  "
                f"{c.status_on(today)}  release {c.release_ref or '-'}"
                for c in records
            )
            _emit(args, [c.as_dict() | {"status": c.status_on(today)} for c in records], text)
        else:
            try:
                c = require_consent(reg, args.id, args.project, args.use)
            except ConsentError as exc:
                reg.record("refused", args.id, {"use": args.use, "project": args.project, "reason": exc.message})
                raise
            _emit(args, c.as_dict(), f"allowed: consent {c.id} covers {args.use} on {args.project} today")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace, sink: EventSink) -> int:
    with _registry(args) as reg:
        rows = reg.audit_entries(args.id)
        problems = reg.verify_audit()
    text = [f"{e.seq:>6}  {e.time}  {e.actor}  {e.action}  {json.dumps(e.details)[:160]}" for e in rows]
    text.append("chain: intact" if not problems else "chain: BROKEN: " + "; ".join(problems))
    _emit(args, {"entries": [vars(e) for e in rows], "chain_problems": problems}, "\n".join(text))
    return EXIT_OK if not problems else 1


def cmd_verify(args: argparse.Namespace, sink: EventSink) -> int:
    from lifecast.consent.verify import verify_asset

    if not args.asset.exists():
        raise InputError("asset not found", args.asset)
    report = verify_asset(
        args.asset,
        show=args.show,
        trust_pem=args.trust.read_bytes() if args.trust else None,
        require_signature=args.require_signature,
    )
    obj = {"asset": str(report.asset_dir), "exit_code": report.exit_code, "checks": [vars(c) for c in report.checks]}
    _emit(args, obj, "\n".join(c.line() for c in report.checks))
    return report.exit_code


__all__ = ["EXIT_NO_CONSENT", "add_commands"]

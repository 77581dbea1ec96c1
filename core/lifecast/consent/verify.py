"""``lifecast verify ASSET``: does the asset's chain of custody still hold?

Checks, one line each:

- the manifest is there and readable;
- every file it lists is there with the same SHA-256, and no file was added;
- the manifest's ES256 signature holds (or it says "unsigned" when the asset
  was made with no signing certificate);
- every PNG texture's C2PA manifest validates and names the same consent record;
- the USD root's ``customData`` names the same subject and consent record;
- that consent record is in the show registry and valid today for ``digital-double``.

Exit code: 2 when a file is tampered with or missing, 3 when the files hold
but the consent no longer does, 0 when everything holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifecast.consent.policy import PROCESS_USE
from lifecast.consent.provenance import MANIFEST_NAME, asset_files, canonical, check_signature
from lifecast.consent.registry import Clock, Registry
from lifecast.consent.show import REGISTRY_NAME, Show, resolve_show
from lifecast.errors import EXIT_BAD_INPUT, EXIT_NO_CONSENT, EXIT_OK

TRUST_ENV = "LIFECAST_C2PA_TRUST"


@dataclass(frozen=True)
class Check:
    """One verification line: ``kind`` is ``"integrity"`` or ``"consent"``."""

    name: str
    ok: bool
    detail: str
    kind: str = "integrity"

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


@dataclass
class VerifyReport:
    asset_dir: Path
    checks: list[Check] = field(default_factory=list)
    signed: bool = False

    def add(self, name: str, ok: bool, detail: str, kind: str = "integrity") -> None:
        self.checks.append(Check(name, ok, detail, kind))

    @property
    def exit_code(self) -> int:
        failed = {c.kind for c in self.checks if not c.ok}
        if "integrity" in failed:
            return EXIT_BAD_INPUT
        return EXIT_NO_CONSENT if "consent" in failed else EXIT_OK


def verify_asset(
    asset: Path,
    *,
    show: Path | None = None,
    trust_pem: bytes | None = None,
    require_signature: bool = False,
    clock: Clock | None = None,
    env: Mapping[str, str] | None = None,
) -> VerifyReport:
    """Verify an asset folder (or its ``asset.usda``) against its manifest and the show registry."""
    environ = os.environ if env is None else env
    asset_dir = asset.parent if asset.is_file() else asset
    report = VerifyReport(asset_dir)
    manifest_path = asset_dir / MANIFEST_NAME
    try:
        doc = json.loads(manifest_path.read_text())
        manifest, signature = doc["manifest"], doc["signature"]
    except (OSError, ValueError, KeyError) as exc:
        report.add("manifest", False, f"{manifest_path}: missing or unreadable ({exc.__class__.__name__})")
        return report
    report.add("manifest", True, f"{MANIFEST_NAME}, {len(manifest['files'])} files listed")
    _check_files(report, asset_dir, manifest["files"])
    _check_signature(report, manifest, signature, trust_pem or _trust_from(environ), require_signature)
    if report.signed:
        _check_textures(report, asset_dir, manifest)
    _check_usd(report, asset_dir, manifest)
    _check_consent(report, asset_dir, manifest, show, clock, environ)
    return report


def _trust_from(environ: Mapping[str, str]) -> bytes | None:
    path = environ.get(TRUST_ENV)
    return Path(path).read_bytes() if path else None


def _check_files(report: VerifyReport, asset_dir: Path, listed: Mapping[str, str]) -> None:
    found = asset_files(asset_dir)
    bad = False
    for rel, digest in sorted(listed.items()):
        if rel not in found:
            report.add(f"file {rel}", False, "missing")
            bad = True
        elif found[rel] != digest:
            report.add(f"file {rel}", False, "content changed since the asset was sealed (hash differs)")
            bad = True
    for rel in sorted(set(found) - set(listed)):
        report.add(f"file {rel}", False, "not in the manifest (added after sealing)")
        bad = True
    if not bad:
        report.add("files", True, f"all {len(listed)} hashes match")


def _check_signature(
    report: VerifyReport,
    manifest: Mapping[str, Any],
    signature: Mapping[str, Any],
    trust_pem: bytes | None,
    require: bool,
) -> None:
    if signature.get("alg") is None:
        report.add("signature", not require, "unsigned (no signing certificate was configured when it was made)")
        return
    try:
        ok, detail = check_signature(canonical(manifest), signature, trust_pem)
    except (ValueError, KeyError, TypeError) as exc:
        ok, detail = False, f"signature block unreadable: {exc}"
    report.signed = ok
    report.add("signature", ok, detail)


def _check_textures(report: VerifyReport, asset_dir: Path, manifest: Mapping[str, Any]) -> None:
    from lifecast.consent.c2pa_sign import read_png

    consent_id = manifest["consent"]["consent_id"]
    for rel in sorted(r for r in manifest["files"] if r.endswith(".png")):
        path = asset_dir / rel
        if not path.is_file():
            continue
        c2 = read_png(path)
        problems = list(c2.problems)
        if c2.consent is not None and c2.consent.get("consent_id") != consent_id:
            problems.append(f"names consent {c2.consent.get('consent_id')!r}, the manifest {consent_id!r}")
        report.add(f"C2PA {rel}", not problems, "; ".join(problems) or f"valid, signed by {c2.signer}")


def _check_usd(report: VerifyReport, asset_dir: Path, manifest: Mapping[str, Any]) -> None:
    root_layer = asset_dir / "asset.usda"
    if not root_layer.is_file():
        return  # reported as a missing file
    from pxr import Usd

    try:
        stage = Usd.Stage.Open(str(root_layer))
    except Exception:  # pxr raises Tf.ErrorException for a damaged layer
        report.add("USD provenance", False, "asset.usda does not open (damaged layer)")
        return
    prim = stage.GetDefaultPrim() if stage else None
    data = dict(prim.GetCustomDataByKey("provenance") or {}) if prim else {}
    want = {"subject_id": manifest["subject_id"], "consent_id": manifest["consent"]["consent_id"]}
    got = {k: data.get(k) for k in want}
    report.add(
        "USD provenance",
        got == want,
        f"customData names subject {got['subject_id']!r}, consent {got['consent_id']!r}"
        + ("" if got == want else f"; the manifest says {want}"),
    )


def _find_show(asset_dir: Path) -> Show | None:
    for parent in [asset_dir.resolve(), *asset_dir.resolve().parents]:
        if (parent / REGISTRY_NAME).is_file():
            return Show(parent)
    return None


def _check_consent(
    report: VerifyReport,
    asset_dir: Path,
    manifest: Mapping[str, Any],
    show_arg: Path | None,
    clock: Clock | None,
    environ: Mapping[str, str],
) -> None:
    found = resolve_show(show_arg, environ) or _find_show(asset_dir)
    if found is None or not found.has_registry():
        report.add("consent", False, "no show registry found to check the consent against (--show)", "consent")
        return
    consent_id = manifest["consent"]["consent_id"]
    with Registry.for_show(found, clock=clock) as registry:
        record = registry.consent(consent_id)
        today = registry.today()
    if record is None:
        report.add("consent", False, f"consent {consent_id} is not in the registry {found.registry_path}", "consent")
        return
    status = record.status_on(today)
    problems = []
    if status != "valid":
        problems.append(f"{status} (checked {today})")
    if record.subject_id != manifest["subject_id"]:
        problems.append(f"belongs to subject {record.subject_id!r}, not {manifest['subject_id']!r}")
    if PROCESS_USE not in record.uses:
        problems.append(f"does not allow {PROCESS_USE}")
    detail = "; ".join(problems) or (
        f"valid today ({today}) for project {record.project!r}, uses {', '.join(record.uses)}"
    )
    report.add(f"consent {consent_id}", not problems, detail, "consent")


__all__ = ["TRUST_ENV", "Check", "VerifyReport", "verify_asset"]

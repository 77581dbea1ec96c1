"""Provenance of an asset: what the USD's ``customData`` carries and the signed manifest beside it.

``lifecast_manifest.json`` sits in the asset folder, lifecast's own signed
manifest for the asset as a whole (C2PA defines no container for USD
layers)::

    {"manifest": {"format": "lifecast-manifest/1", "subject_id", "project",
                  "consent": {"id", "uses", "release_ref", "valid_from", "valid_until"},
                  "provenance": {...the USD customData...}, "files": {relpath: sha256}, "sealed_at"},
     "signature": {"alg": "ES256", "certificate_chain": PEM, "value": base64 DER}  |  {"alg": null}}

The signature is ES256 over the canonical JSON of ``manifest`` (sorted keys,
no spaces), with the same certificate that signs the textures' C2PA
manifests. The PNG textures are signed first, so the manifest hashes the
signed files.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lifecast.consent.c2pa_sign import SigningConfig, sign_png
from lifecast.consent.registry import ConsentRecord
from lifecast.pipeline.atomic import atomic_path
from lifecast.pipeline.hashing import hash_file

MANIFEST_NAME = "lifecast_manifest.json"
MANIFEST_FORMAT = "lifecast-manifest/1"


def consent_provenance(record: ConsentRecord) -> dict[str, Any]:
    """The consent part of an asset's provenance (USD ``customData`` and C2PA assertion)."""
    return {
        "consent_id": record.id,
        "subject_id": record.subject_id,
        "project": record.project,
        "allowed_uses": list(record.uses),
        "release_ref": record.release_ref,
    }


def asset_files(asset_dir: Path) -> dict[str, str]:
    """SHA-256 of every file of the asset (relative POSIX path -> hex), without the manifest and hidden folders."""
    out: dict[str, str] = {}
    for p in sorted(asset_dir.rglob("*")):
        rel = p.relative_to(asset_dir)
        if not p.is_file() or rel.name == MANIFEST_NAME or any(part.startswith(".") for part in rel.parts):
            continue
        out[rel.as_posix()] = hash_file(p)
    return out


def canonical(obj: Mapping[str, Any]) -> bytes:
    """The bytes a manifest signature covers."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign_bytes(data: bytes, signing: SigningConfig) -> dict[str, Any]:
    """An ES256 signature block over ``data`` with the configured key and chain."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_private_key(signing.key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        from lifecast.errors import InputError

        raise InputError("the signing key must be an EC P-256 key (ES256)")
    leaf = x509.load_pem_x509_certificates(signing.cert_chain_pem)[0]
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if leaf.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        from lifecast.errors import InputError

        raise InputError("the signing key does not belong to the first certificate of the chain")
    value = key.sign(data, ec.ECDSA(hashes.SHA256()))
    return {
        "alg": "ES256",
        "certificate_chain": signing.cert_chain_pem.decode(),
        "value": base64.b64encode(value).decode(),
    }


def check_signature(data: bytes, block: Mapping[str, Any], trust_pem: bytes | None = None) -> tuple[bool, str]:
    """Check an ES256 signature block over ``data``; returns (holds, what was found).

    With ``trust_pem`` (the studio's CA certificates) the leaf must also be
    issued by one of them.
    """
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if block.get("alg") != "ES256":
        return False, f"unsupported signature algorithm {block.get('alg')!r}"
    chain = x509.load_pem_x509_certificates(str(block["certificate_chain"]).encode())
    leaf = chain[0]
    public = leaf.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        return False, "the signing certificate has no EC key"
    try:
        public.verify(base64.b64decode(block["value"]), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False, "signature does not match the manifest (manifest edited after signing)"
    who = leaf.subject.rfc4514_string()
    if trust_pem is None:
        return True, f"signed by {who} (issuer not checked: no trust anchors given)"
    for anchor in x509.load_pem_x509_certificates(trust_pem):
        try:
            leaf.verify_directly_issued_by(anchor)
            return True, f"signed by {who}, issued by trusted {anchor.subject.rfc4514_string()}"
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False, f"signed by {who}, but not issued by any of the trust anchors"


@dataclass(frozen=True)
class SealResult:
    """A sealed asset: its manifest file, the manifest's hash and the files it lists."""

    manifest: Path
    manifest_sha256: str
    files: dict[str, str]
    signed: bool


def seal_asset(
    asset_dir: Path,
    *,
    record: ConsentRecord,
    provenance: Mapping[str, Any],
    signing: SigningConfig | None,
    now: datetime,
) -> SealResult:
    """Sign the asset's PNG textures (C2PA) and write its signed manifest.

    Parameters
    ----------
    asset_dir
        The published asset folder (``asset.usda``, layers, ``maps/``...).
    record
        The consent record the asset was made under.
    provenance
        The provenance mapping stored in the USD root's ``customData``.
    signing
        The studio's certificate and key; ``None`` writes an unsigned manifest
        (``lifecast verify`` then says "unsigned").
    now
        The sealing time.
    """
    consent = consent_provenance(record)
    if signing is not None:
        for png in sorted(asset_dir.rglob("*.png")):
            sign_png(png, signing, consent, title=png.name)
    files = asset_files(asset_dir)
    manifest = {
        "format": MANIFEST_FORMAT,
        "subject_id": record.subject_id,
        "project": record.project,
        "consent": consent
        | {
            "valid_from": record.valid_from.isoformat(),
            "valid_until": record.valid_until.isoformat() if record.valid_until else None,
        },
        "provenance": json.loads(json.dumps(dict(provenance), default=str)),
        "files": files,
        "sealed_at": now.isoformat(timespec="seconds"),
    }
    signature = sign_bytes(canonical(manifest), signing) if signing is not None else {"alg": None}
    path = asset_dir / MANIFEST_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"manifest": manifest, "signature": signature}, indent=1, sort_keys=True))
    return SealResult(path, hash_file(path), files, signing is not None)


__all__ = [
    "MANIFEST_NAME",
    "SealResult",
    "asset_files",
    "canonical",
    "check_signature",
    "consent_provenance",
    "seal_asset",
    "sign_bytes",
]

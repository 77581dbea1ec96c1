"""C2PA manifests in PNG textures, through c2pa-python (the ``consent`` extra).

Each texture gets a C2PA manifest with a ``c2pa.actions`` assertion
(``c2pa.created`` by lifecast) and a custom ``org.lifecast.consent``
assertion holding the subject id, the consent record id, the project, the
allowed uses and the signed release's reference. Studios sign with their own
certificate (ES256: an EC P-256 key and its certificate chain, PEM):
``--sign-cert/--sign-key`` or ``$LIFECAST_C2PA_CERT``/``$LIFECAST_C2PA_KEY``.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lifecast
from lifecast.errors import InputError, MissingDependencyError
from lifecast.pipeline.atomic import atomic_path

CONSENT_ASSERTION = "org.lifecast.consent"
#: Textures are computed from a photogrammetry capture of the subject.
SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/computationalCapture"
CERT_ENV = "LIFECAST_C2PA_CERT"
KEY_ENV = "LIFECAST_C2PA_KEY"
#: Validation codes that are not a broken file: a certificate outside C2PA's
#: own trust list is normal for a studio's certificate.
TRUST_ONLY_CODES = frozenset({"signingCredential.untrusted"})


@dataclass(frozen=True)
class SigningConfig:
    """A signing certificate chain (leaf first) and its private key, both PEM."""

    cert_chain_pem: bytes
    key_pem: bytes
    source: str


def signing_config(
    cert: Path | None = None, key: Path | None = None, env: Mapping[str, str] | None = None
) -> SigningConfig | None:
    """The signing configuration from arguments or the environment; ``None`` when none is set.

    Raises :class:`InputError` when only one of certificate and key is given or
    a file cannot be read.
    """
    environ = os.environ if env is None else env
    cert = cert or (Path(environ[CERT_ENV]) if environ.get(CERT_ENV) else None)
    key = key or (Path(environ[KEY_ENV]) if environ.get(KEY_ENV) else None)
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise InputError(f"signing needs both a certificate and a key (--sign-cert/--sign-key or {CERT_ENV}/{KEY_ENV})")
    for p in (cert, key):
        if not p.is_file():
            raise InputError("signing certificate or key not found", p)
    return SigningConfig(cert.read_bytes(), key.read_bytes(), f"{cert}")


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise MissingDependencyError("c2pa-python", "signing textures with C2PA", "consent") from exc
    return c2pa


def sign_png(path: Path, signing: SigningConfig, consent_assertion: Mapping[str, Any], title: str) -> None:
    """Embed a signed C2PA manifest into the PNG at ``path`` (rewritten via temp + rename)."""
    c2pa = _c2pa()
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(alg=b"es256", sign_cert=signing.cert_chain_pem, private_key=signing.key_pem, ta_url=None)
    )
    manifest = {
        "claim_generator_info": [{"name": "lifecast", "version": lifecast.__version__}],
        "title": title,
        "format": "image/png",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": SOURCE_TYPE}]},
            },
            {"label": CONSENT_ASSERTION, "data": dict(consent_assertion)},
        ],
    }
    with atomic_path(path) as tmp:
        builder = c2pa.Builder(manifest)
        try:
            with open(path, "rb") as src, open(tmp, "wb") as dst:
                builder.sign(signer, "image/png", src, dst)
        finally:
            builder.close()
            signer.close()


@dataclass
class C2paReport:
    """What a PNG's C2PA manifest says and what does not hold."""

    present: bool
    problems: list[str] = field(default_factory=list)
    consent: dict[str, Any] | None = None
    signer: str = ""
    trusted: bool = False


def read_png(path: Path) -> C2paReport:
    """Read and validate the C2PA manifest of a PNG (hashes, signature, the consent assertion)."""
    c2pa = _c2pa()
    data = path.read_bytes()
    try:
        reader = c2pa.Reader("image/png", io.BytesIO(data))
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in str(exc):
            return C2paReport(present=False, problems=["no C2PA manifest"])
        return C2paReport(present=False, problems=[f"C2PA manifest unreadable: {exc}"])
    try:
        store = json.loads(reader.json())
    finally:
        reader.close()
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    codes = [s.get("code", "") for s in store.get("validation_status", [])]
    report = C2paReport(present=True, trusted="signingCredential.untrusted" not in codes)
    report.problems = [f"C2PA: {c}" for c in codes if c not in TRUST_ONLY_CODES]
    info = active.get("signature_info", {})
    report.signer = f"{info.get('common_name', '?')} ({info.get('issuer', '?')})"
    for a in active.get("assertions", []):
        if a.get("label") == CONSENT_ASSERTION:
            report.consent = dict(a.get("data", {}))
    if report.consent is None:
        report.problems.append(f"C2PA manifest has no {CONSENT_ASSERTION} assertion")
    return report


def c2pa_available() -> bool:
    """Whether c2pa-python can be imported here."""
    try:
        _c2pa()
    except MissingDependencyError:
        return False
    return True


__all__ = [
    "CERT_ENV",
    "CONSENT_ASSERTION",
    "KEY_ENV",
    "C2paReport",
    "SigningConfig",
    "c2pa_available",
    "read_png",
    "sign_png",
    "signing_config",
]

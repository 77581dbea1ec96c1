"""The consent gate on real runs: refusals write nothing, assets are sealed and verified, purge leaves nothing.

Tiny scans (an icosphere with vertex colours, two small LODs) keep each run to a couple of seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pytest

from lifecast.consent.policy import ConsentError
from lifecast.consent.purge import purge_subject
from lifecast.consent.registry import Registry
from lifecast.consent.show import Show
from lifecast.consent.verify import verify_asset
from lifecast.errors import EXIT_BAD_INPUT, EXIT_NO_CONSENT, EXIT_OK
from lifecast.pipeline.hashing import hash_file
from lifecast.pipeline.options import ProcessOptions
from lifecast.pipeline.scan_to_asset import process_scan
from tests.cli_helpers import run_cli
from tests.conftest import require_optional

require_optional("c2pa", "signed assets need the 'consent' extra (c2pa-python)")
TINY = {"lods": (500, 100), "texture_size": 256}


def _cert_chain(folder: Path) -> tuple[Path, Path]:
    """A test CA and an ES256 leaf (digitalSignature, emailProtection), as a studio's signing setup."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lifecast test CA")])

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(sign, False, False, False, False, not sign, not sign, False, False)

    ca = (
        x509.CertificateBuilder(
            ca_name,
            ca_name,
            ca_key.public_key(),
            x509.random_serial_number(),
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=30),
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lifecast test signer")])
    leaf = (
        x509.CertificateBuilder(
            ca_name,  # issuer
            leaf_name,  # subject
            key.public_key(),
            x509.random_serial_number(),
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=30),
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    cert, key_path = folder / "chain.pem", folder / "key.pem"
    cert.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    return cert, key_path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import trimesh

    root = tmp_path_factory.mktemp("consent")
    ball = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    ball.visual.vertex_colors = (np.random.default_rng(0).random((len(ball.vertices), 4)) * 255).astype(np.uint8)
    scan = root / "ball.ply"
    ball.export(scan)
    ball.visual.vertex_colors = (np.random.default_rng(1).random((len(ball.vertices), 4)) * 255).astype(np.uint8)
    other = root / "other.ply"  # another person's scan
    ball.export(other)
    cert, key = _cert_chain(root)
    return {"root": root, "scan": scan, "other": other, "cert": cert, "key": key, "ca": root / "ca.pem"}


def _new_show(folder: Path) -> Show:
    show = Show(folder)
    with Registry.for_show(show, create=True, actor="t") as reg:
        reg.add_subject("ana", "Ana Example")
        reg.add_subject("bob", "Bob Example")
        reg.grant(
            "ana", "P1", ["digital-double"], valid_until=dt.date.today() + dt.timedelta(days=30), release_ref="R1"
        )
        reg.grant("ana", "P3", ["texture-training"])
        expired = dt.date.today() - dt.timedelta(days=1)
        reg.grant("ana", "OLD", ["digital-double"], valid_from=expired - dt.timedelta(days=9), valid_until=expired)
        reg.grant("ana", "GONE", ["digital-double"])
        reg.revoke("ana", "GONE")
    return show


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.parametrize(
    ("subject", "project", "why"),
    [
        ("carl", "P1", "not in the show registry"),  # no subject, so no consent at all
        ("bob", "P1", "no consent recorded"),  # missing
        ("ana", "OLD", "expired"),
        ("ana", "GONE", "revoked"),
        ("ana", "P2", "no consent recorded .* on project 'P2'"),  # another project
        ("ana", "P3", "does not allow 'digital-double'"),  # another use
    ],
)
def test_refused_runs_write_nothing(
    setup: dict[str, Path], tmp_path: Path, subject: str, project: str, why: str
) -> None:
    show = _new_show(tmp_path / "show")
    before = _files_under(show.root)
    opts = ProcessOptions(
        scan=setup["scan"], out_dir=Path("ball"), subject=subject, show=show.root, project=project, **TINY
    )
    with pytest.raises(ConsentError, match=why):
        process_scan(opts)
    assert _files_under(show.root) == before, "only the registry, no asset, no cache"
    assert not (show.root / "subjects").exists() and not Path("ball").exists()
    with Registry.for_show(show) as reg:
        assert reg.audit_entries()[-1].action == "refused"


def test_cli_refusal_exit_code_and_subject_required(setup: dict[str, Path], tmp_path: Path) -> None:
    show = _new_show(tmp_path / "show")
    args = ("process", setup["scan"], "-o", "ball", "--show", show.root, "--lods", "500,100", "--texture-size", "256")
    proc = run_cli(*args, "--subject", "ana", "--project", "P2")
    assert proc.returncode == EXIT_NO_CONSENT and "no consent recorded" in proc.stderr
    proc = run_cli(*args)
    assert proc.returncode == EXIT_NO_CONSENT and "--subject" in proc.stderr
    assert not (show.root / "subjects").exists()


@pytest.fixture(scope="module")
def sealed(setup: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Show, Path]:
    show = _new_show(tmp_path_factory.mktemp("sealed") / "show")
    opts = ProcessOptions(
        scan=setup["scan"],
        out_dir=Path("ball"),
        subject="ana",
        show=show.root,
        project="P1",
        sign_cert=setup["cert"],
        sign_key=setup["key"],
        **TINY,
    )
    result = process_scan(opts)
    assert result.asset is not None
    return show, result.asset.parent


def test_asset_lives_under_the_subject_and_carries_its_consent(sealed: tuple[Show, Path]) -> None:
    show, asset_dir = sealed
    assert asset_dir == show.subject_path("ana", "assets", "ball")
    assert _files_under(show.subject_path("ana", "cache")), "the stage cache is the subject's too"
    from pxr import Usd

    stage = Usd.Stage.Open(str(asset_dir / "asset.usda"))
    prov = dict(stage.GetDefaultPrim().GetCustomDataByKey("provenance"))
    with Registry.for_show(show) as reg:
        (asset,) = reg.assets("ana")
        consent = reg.consent(prov["consent_id"])
    assert consent is not None and consent.project == "P1" and prov["subject_id"] == "ana"
    assert list(prov["allowed_uses"]) == ["digital-double"] and prov["release_ref"] == "R1"
    assert prov["inputs"]["scan"]["sha256"] and prov["parameters"]["lods"] == [500, 100]
    assert asset.files == {k: hash_file(asset_dir / k) for k in asset.files}


def test_verify_holds_then_catches_tampering_and_revocation(
    sealed: tuple[Show, Path], setup: dict[str, Path], tmp_path: Path
) -> None:
    import shutil

    show, original = sealed
    report = verify_asset(original, trust_pem=setup["ca"].read_bytes(), env={})
    assert report.exit_code == EXIT_OK, [c.line() for c in report.checks]
    assert any(c.name.startswith("C2PA maps/") and c.ok for c in report.checks)
    assert any("issued by trusted" in c.detail for c in report.checks)

    # Each tampering on its own copy of the asset (kept inside the show so the registry is found).
    for target in ("maps/ball_lod0_albedo.1001.png", "asset.usda", "lifecast_manifest.json"):
        copy = show.subject_path("ana", "assets", f"copy_{Path(target).stem}")
        shutil.copytree(original, copy)
        path = copy / target
        if target.endswith(".json"):
            doc = json.loads(path.read_text())
            doc["manifest"]["subject_id"] = "bob"
            path.write_text(json.dumps(doc))
        else:
            data = bytearray(path.read_bytes())
            data[len(data) // 2] ^= 0xFF
            path.write_bytes(bytes(data))
        report = verify_asset(copy, env={})
        assert report.exit_code == EXIT_BAD_INPUT, target
        assert any(not c.ok for c in report.checks)
        shutil.rmtree(copy)

    proc = run_cli("verify", original)
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    with Registry.for_show(show) as reg:
        reg.revoke("ana", "P1")
    proc = run_cli("verify", original)
    assert proc.returncode == EXIT_NO_CONSENT and "revoked" in proc.stdout


def test_unsigned_assets_say_so(setup: dict[str, Path], tmp_path: Path) -> None:
    show = _new_show(tmp_path / "show")
    env_backup = {k: os.environ.pop(k) for k in ("LIFECAST_C2PA_CERT", "LIFECAST_C2PA_KEY") if k in os.environ}
    try:
        result = process_scan(
            ProcessOptions(scan=setup["scan"], out_dir=Path("b"), subject="ana", show=show.root, project="P1", **TINY)
        )
    finally:
        os.environ.update(env_backup)
    assert result.asset is not None
    report = verify_asset(result.asset, env={})
    sig = next(c for c in report.checks if c.name == "signature")
    assert sig.ok and "unsigned" in sig.detail and report.exit_code == EXIT_OK
    assert verify_asset(result.asset, require_signature=True, env={}).exit_code == EXIT_BAD_INPUT


def test_no_subject_runs_for_props(setup: dict[str, Path], tmp_path: Path) -> None:
    show = _new_show(tmp_path / "show")
    out = tmp_path / "prop"
    result = process_scan(ProcessOptions(scan=setup["scan"], out_dir=out, show=show.root, no_subject=True, **TINY))
    assert result.asset == out / "asset.usda"
    assert not (show.root / "subjects").exists()


def test_purge_leaves_nothing_of_the_subject(setup: dict[str, Path], tmp_path: Path) -> None:
    show = _new_show(tmp_path / "show")
    for subject, project, scan in (("ana", "P1", "scan"), ("bob", "PB", "other")):
        if subject == "bob":
            with Registry.for_show(show) as reg:
                reg.grant("bob", "PB", ["digital-double"])
        process_scan(
            ProcessOptions(
                scan=setup[scan],
                out_dir=Path("ball"),
                subject=subject,
                show=show.root,
                project=project,
                sign_cert=setup["cert"],
                sign_key=setup["key"],
                **TINY,
            )
        )
    ana_files = _files_under(show.subject_dir("ana"))
    ana_hashes = {hash_file(p) for p in ana_files}
    bob_before = {p: hash_file(p) for p in _files_under(show.subject_dir("bob"))}
    assert ana_files and bob_before

    stray = show.root / "dailies" / "stray.png"  # someone copied a texture out of the subject's folder
    stray.parent.mkdir()
    stray.write_bytes(next(p for p in ana_files if p.suffix == ".png").read_bytes())
    report = purge_subject(show, "ana", actor="t")
    assert report.leftovers == ["dailies/stray.png"] and not report.clean, "copies elsewhere are found and reported"
    stray.unlink()
    assert report.files_removed == len(ana_files)

    everything = _files_under(show.root)
    assert not any("subjects/ana" in p.as_posix() for p in everything)
    # Bob's data is untouched (same texture bytes are fine: his own run made them).
    assert {p: hash_file(p) for p in _files_under(show.subject_dir("bob"))} == bob_before
    db_bytes = b"".join(p.read_bytes() for p in everything if p.name.startswith("lifecast.db"))
    assert b"Ana Example" not in db_bytes and b"Bob Example" in db_bytes
    with Registry.for_show(show) as reg:
        assert reg.subject("ana") is None and reg.consents("ana") == [] and reg.assets("ana") == []
        purge = reg.audit_entries("ana")[-1]
        assert reg.verify_audit() == []
    assert purge.action == "subject-purge" and purge.details["after"]["files_left"] == 0
    recorded = {e["sha256"] for e in purge.details["before"]["files"]}
    assert recorded == ana_hashes
    assert "ball" not in json.dumps(purge.details), "paths are kept as hashes only"

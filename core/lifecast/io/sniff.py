"""Tell a file's real format from its first bytes, to catch renamed or wrong files early."""

from __future__ import annotations

from pathlib import Path

#: Signatures of formats people often feed a scan reader by mistake.
_FOREIGN_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x76\x2f\x31\x01", "an OpenEXR image"),
    (b"PK\x03\x04", "a ZIP archive (unpack it first)"),
    (b"\x1f\x8b", "a gzip archive (unpack it first)"),
    (b"%PDF", "a PDF document"),
    (b"#usda", "a USD file"),
    (b"PXR-USDC", "a USD file"),
    (b"Kaydara FBX Binary", "an FBX file"),
    (b"solid ", "an STL file"),
)


def sniff_format(path: Path, size: int = 4096) -> str:
    """The format a file's first bytes suggest.

    Returns
    -------
    str
        ``"ply"``, ``"glb"``, ``"gltf"``, ``"pcd"``, ``"text"`` (could be an
        OBJ), or a description of a foreign format such as ``"a JPEG image"``;
        ``"binary data"`` when nothing matches and the bytes are not text.
    """
    with path.open("rb") as fh:
        head = fh.read(size)
    if head.startswith(b"ply"):
        return "ply"
    if head.startswith(b"glTF"):
        return "glb"
    for signature, name in _FOREIGN_SIGNATURES:
        if head.startswith(signature):
            return name
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return "gltf"
    if stripped.startswith((b"# .PCD", b"VERSION", b"FIELDS")):
        return "pcd"
    if b"\x00" in head:
        return "binary data"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return "binary data"
    return "text"

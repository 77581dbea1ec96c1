"""Write the corpus of bad scan files that lifecast must refuse with a clear InputError.

Run ``python tests/data/bad_inputs/make_corpus.py`` to regenerate the files
beside this script. Each file is tiny; ``EXPECTED`` in
``tests/unit/test_io_bad_inputs.py`` names what each refusal must say.
Every file in this folder except this script and README.md must be refused,
including the .mtl and .png helpers (unsupported as scans).
"""

from __future__ import annotations

import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent

TETRA_V = "0 0 0\n1 0 0\n0 1 0\n0 0 1\n"
TETRA_F = "3 0 1 2\n3 0 3 1\n3 0 2 3\n3 1 3 2\n"

# A minimal 8x8 baseline JPEG (134 bytes; OpenCV decodes it as black), so the corpus needs no image library.
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d"
    "1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080008000801011100ffc4001f00000105010101"
    "01010100000000000000000102030405060708090a0bffda0008010100003f00f9fe8a28a0ffd9"
)


def ascii_ply(vertices: str, n_vertices: int, faces: str = "", n_faces: int = 0, comments: str = "") -> str:
    header = f"ply\nformat ascii 1.0\n{comments}element vertex {n_vertices}\n"
    header += "property float x\nproperty float y\nproperty float z\n"
    if n_faces:
        header += f"element face {n_faces}\nproperty list uchar int vertex_indices\n"
    return header + "end_header\n" + vertices + faces


def binary_tetra_ply() -> bytes:
    header = (
        b"ply\nformat binary_little_endian 1.0\nelement vertex 4\nproperty float x\nproperty float y\n"
        b"property float z\nelement face 4\nproperty list uchar int vertex_indices\nend_header\n"
    )
    verts = struct.pack("<12f", 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1)
    faces = b"".join(struct.pack("<B3i", 3, *f) for f in ((0, 1, 2), (0, 3, 1), (0, 2, 3), (1, 3, 2)))
    return header + verts + faces


def corpus() -> dict[str, bytes]:
    """File name -> contents of every bad input."""
    tri_obj = "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\n"
    binary = binary_tetra_ply()
    files: dict[str, str | bytes] = {
        "empty.ply": b"",
        "jpeg_renamed.ply": TINY_JPEG,
        "jpeg_renamed.obj": TINY_JPEG,
        "notes.txt": "this is a text file, not a scan\n",
        "truncated_binary.ply": binary[: len(binary) - 30],
        "no_end_header.ply": "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n",
        "zero_vertices.ply": ascii_ply("", 0),
        "all_nan.ply": ascii_ply("nan nan nan\ninf 0 0\nnan 1 -inf\n", 3),
        "kilometres_across.ply": ascii_ply("0 0 0\n5000 0 0\n0 1 0\n", 3, comments="comment units m\n"),
        "nanometres_across.ply": ascii_ply("0 0 0\n1e-5 0 0\n0 1e-5 0\n", 3, comments="comment units mm\n"),
        "face_out_of_range.ply": ascii_ply(TETRA_V, 4, "3 0 1 2\n3 0 3 9\n", 2),
        "face_out_of_range.obj": "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nf 1 2 7\n",
        "uv_out_of_range.obj": tri_obj + "f 1/1 2/2 3/9\n",
        "malformed_number.obj": "v 0 0 0\nv 1 zero 0\nv 0 1 0\nf 1 2 3\n",
        "binary_garbage.obj": bytes(range(256)) * 4,
        "missing_texture.obj": "mtllib missing_texture.mtl\n" + tri_obj + "usemtl skin\nf 1/1 2/2 3/3\n",
        "missing_texture.mtl": "newmtl skin\nmap_Kd textures/gone.png\n",
        "corrupt_texture.obj": "mtllib corrupt_texture.mtl\n" + tri_obj + "usemtl skin\nf 1/1 2/2 3/3\n",
        "corrupt_texture.mtl": "newmtl skin\nmap_Kd corrupt_texture.png\n",
        "corrupt_texture.png": b"\x89PNG\r\n\x1a\n" + bytes(40),
        "text_renamed.glb": "not a binary glTF\n",
        "json_not_gltf.gltf": '{"meshes": []}\n',
        "missing_buffer.gltf": '{"asset": {"version": "2.0"}, "buffers": [{"uri": "gone.bin", "byteLength": 36}]}\n',
        "no_points.pcd": (
            "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 0\nHEIGHT 1\n"
            "VIEWPOINT 0 0 0 1 0 0 0\nPOINTS 0\nDATA ascii\n"
        ),
    }
    return {name: body.encode() if isinstance(body, str) else body for name, body in files.items()}


def main() -> None:
    for name, body in corpus().items():
        (HERE / name).write_bytes(body)
    print(f"wrote {len(corpus())} files to {HERE}")


if __name__ == "__main__":
    main()

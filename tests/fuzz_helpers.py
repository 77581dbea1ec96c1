"""Seed files and mutation strategies for the fuzzed-reader tests (tests/unit/test_fuzz_readers.py).

Every seed is a small valid file made here (nothing is copied from ../shared/scans). Mutations work on bytes
(flips, truncation, inserted, deleted or duplicated ranges, 4-byte words overwritten with NaN/inf/-1/huge
values) and on lines and words (header lines dropped, duplicated or swapped, a word replaced by a lying count,
a wrong type, NaN, a negative or huge index, junk). JSON and TOML files also get structured junk values.
"""

from __future__ import annotations

import faulthandler
import json
import math
import os
import re
import signal
import struct
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from hypothesis import strategies as st

from lifecast.errors import InputError

T = TypeVar("T")

#: Examples per property; CI runs the default, ``LIFECAST_FUZZ_EXAMPLES=2000`` hunts for bugs.
EXAMPLES = int(os.environ.get("LIFECAST_FUZZ_EXAMPLES", "120"))
#: Seconds one read may take before it counts as a hang.
TIME_LIMIT_S = float(os.environ.get("LIFECAST_FUZZ_TIME_LIMIT", "5"))
#: Peak Python/numpy memory one read of a small file may take (a lying count must not be allocated).
MEMORY_LIMIT_BYTES = 256 << 20

# ---------------------------------------------------------------------------- bounded runs


class ReaderTimeoutError(Exception):
    """Raised by SIGALRM inside a read that took too long (a reader's broad ``except`` may swallow it)."""


@dataclass
class Outcome:
    """What one bounded read did: its result or its InputError, its time and peak memory."""

    result: Any = None
    error: InputError | None = None
    peak_bytes: int = 0


def listing(folder: Path) -> dict[str, int]:
    """Every path under ``folder`` and its size (to catch a reader writing anything)."""
    return {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*"))}


@contextmanager
def _alarm(seconds: float) -> Iterator[list[bool]]:
    """SIGALRM after ``seconds``; the yielded flag says whether it fired. A hang in C code that never
    returns to Python is ended by faulthandler (it prints every thread's stack and exits)."""
    fired = [False]

    def on_alarm(signum: int, frame: object) -> None:
        fired[0] = True
        raise ReaderTimeoutError(f"the read took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(seconds * 6 + 30, exit=True)
    try:
        yield fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        faulthandler.cancel_dump_traceback_later()
        signal.signal(signal.SIGALRM, previous)


def bounded(call: Callable[[], T], folder: Path) -> Outcome:
    """Run a reader: it must return or raise :class:`InputError` with a one-line message, within
    :data:`TIME_LIMIT_S` and :data:`MEMORY_LIMIT_BYTES`, writing nothing under ``folder``.

    Any other exception propagates (Hypothesis then shrinks the input that caused it).
    """
    before = listing(folder)
    outcome = Outcome()
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        with _alarm(TIME_LIMIT_S) as fired:
            try:
                outcome.result = call()
            except InputError as exc:
                outcome.error = exc
        assert not fired[0], f"the read took longer than {TIME_LIMIT_S} s (a hang)"
    finally:
        outcome.peak_bytes = tracemalloc.get_traced_memory()[1]
        if not tracing:
            tracemalloc.stop()
    assert outcome.peak_bytes < MEMORY_LIMIT_BYTES, f"the read allocated {outcome.peak_bytes / 2**20:.0f} MiB"
    if outcome.error is not None:
        message = str(outcome.error)
        assert message.strip(), "an InputError with an empty message"
        assert "\n" not in message and "\r" not in message, f"a multi-line InputError: {message!r}"
        assert "Traceback" not in message
    assert listing(folder) == before, "the reader wrote or removed files next to its input"
    return outcome


@contextmanager
def keep_failure(label: str, files: dict[str, bytes]) -> Iterator[None]:
    """With ``LIFECAST_FUZZ_SAVE=DIR``, write the files of a failing example to ``DIR/label-ErrorType/``.

    Hypothesis replays the shrunk example last, so what is left there is the minimal failing input.
    """
    if save := os.environ.get("LIFECAST_FUZZ_SAVE"):  # the input of a crash (a segfault) is the last one written
        (Path(save) / "last").mkdir(parents=True, exist_ok=True)
        write_files(Path(save) / "last", files)
    try:
        yield
    except Exception as exc:
        if save := os.environ.get("LIFECAST_FUZZ_SAVE"):
            folder = Path(save) / f"{label}-{type(exc).__name__}"
            folder.mkdir(parents=True, exist_ok=True)
            write_files(folder, files)
            (folder / "error.txt").write_text(f"{type(exc).__name__}: {str(exc)[:2000]}\n")
        raise


def write_files(folder: Path, files: dict[str, bytes]) -> None:
    """Write each ``{name: bytes}`` into ``folder``."""
    for name, data in files.items():
        (folder / name).write_bytes(data)


@contextmanager
def scratch() -> Iterator[Path]:
    """A fresh folder per Hypothesis example (pytest's tmp_path is shared by all examples)."""
    with tempfile.TemporaryDirectory(prefix="lifecast-fuzz-") as name:
        yield Path(name)


# ---------------------------------------------------------------------------- seeds

TETRA = np.array([[0, 0, 0], [0.2, 0, 0], [0, 0.2, 0], [0, 0, 0.2]], np.float32)
TETRA_FACES = np.array([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]], np.int32)
TETRA_UV = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
TETRA_RGB = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]], np.uint8)


def ply_header(fmt: str) -> bytes:
    return (
        f"ply\nformat {fmt} 1.0\ncomment units m\ncomment up y\nelement vertex 4\n"
        "property float x\nproperty float y\nproperty float z\nproperty float nx\nproperty float ny\n"
        "property float nz\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n"
        "property float s\nproperty float t\nelement face 4\nproperty list uchar int vertex_indices\nend_header\n"
    ).encode()


def ply_ascii() -> bytes:
    """A tetrahedron with normals, uchar colours and vertex UVs, ASCII."""
    rows = [
        " ".join([*(f"{x:g}" for x in TETRA[i]), *(f"{x:g}" for x in TETRA[i] - 0.05), *map(str, TETRA_RGB[i])])
        + " "
        + " ".join(f"{x:g}" for x in TETRA_UV[i])
        for i in range(4)
    ]
    faces = ["3 " + " ".join(map(str, f)) for f in TETRA_FACES]
    return ply_header("ascii") + ("\n".join(rows + faces) + "\n").encode()


def ply_binary(endian: str = "<") -> bytes:
    """The same tetrahedron, binary (little or big endian)."""
    fmt = "binary_little_endian" if endian == "<" else "binary_big_endian"
    body = b"".join(
        struct.pack(endian + "6f3B2f", *TETRA[i], *(TETRA[i] - 0.05), *TETRA_RGB[i], *TETRA_UV[i]) for i in range(4)
    )
    body += b"".join(struct.pack(endian + "B3i", 3, *f) for f in TETRA_FACES)
    return ply_header(fmt) + body


def png(width: int = 4, height: int = 4) -> bytes:
    import cv2

    pixels = np.full((height, width, 3), (40, 90, 200), np.uint8)
    ok, data = cv2.imencode(".png", pixels)
    assert ok
    return data.tobytes()


def obj_files() -> dict[str, bytes]:
    """An OBJ (positions with colours, UVs, normals, a quad) with its MTL and a 4x4 PNG texture."""
    obj = "# seed\nmtllib skin.mtl\n"
    obj += "".join(f"v {x:g} {y:g} {z:g} 0.5 0.25 1\n" for x, y, z in TETRA)
    obj += "".join(f"vt {u:g} {v:g}\n" for u, v in TETRA_UV)
    obj += "vn 0 0 1\nusemtl skin\n"
    obj += "".join("f " + " ".join(f"{i + 1}/{i + 1}/1" for i in f) + "\n" for f in TETRA_FACES)
    obj += "f 1/1 2/2 3/3 4/4\nf -1/-1 -2/-2 -3/-3\n"
    mtl = "newmtl skin\nKd 1 1 1\nmap_Kd -s 1 1 1 skin.png\n"
    return {"scan.obj": obj.encode(), "skin.mtl": mtl.encode(), "skin.png": png()}


def _textured_box() -> Any:
    import PIL.Image
    import trimesh

    box = trimesh.creation.box(extents=(0.2, 0.3, 0.1))
    uv = (box.vertices[:, :2] - box.vertices[:, :2].min(0)) / np.ptp(box.vertices[:, :2], axis=0)
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=PIL.Image.new("RGB", (4, 4), (200, 100, 50)))
    return box


@cache
def glb() -> bytes:
    """A textured box (UVs + an embedded 4x4 PNG) as binary glTF, written by trimesh."""
    return bytes(_textured_box().export(file_type="glb"))


@cache
def gltf() -> bytes:
    """The same box as a glTF JSON file with its buffer embedded as a data URI."""
    files = _textured_box().export(file_type="gltf", embed_buffers=True)
    return bytes(files["model.gltf"])


@cache
def pcd(kind: str) -> bytes:
    """A 20-point cloud with colours and normals, written by open3d as ascii, binary or binary_compressed."""
    import open3d as o3d

    rng = np.random.default_rng(3)
    cloud = o3d.geometry.PointCloud()
    cloud.points = o3d.utility.Vector3dVector(rng.uniform(-0.3, 0.3, (20, 3)))
    cloud.colors = o3d.utility.Vector3dVector(rng.uniform(0, 1, (20, 3)))
    cloud.normals = o3d.utility.Vector3dVector(rng.normal(size=(20, 3)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "seed.pcd"
        ok = o3d.io.write_point_cloud(
            str(path), cloud, write_ascii=kind == "ascii", compressed=kind == "binary_compressed"
        )
        assert ok
        data = path.read_bytes()
    assert f"DATA {kind}".encode() in data
    return data


LANDMARKS: dict[str, Any] = {
    "nose_tip": [0.05, 0.05, 0.0],
    "chin": {"vertex": 2},
    "left_eye": {"vertex": 1, "position": [0.2, 0.0, 0.0]},
}

#: A template markup object for the 4x4 grid template (16 vertices).
MARKUP: dict[str, Any] = {
    "kind": "head",
    "landmarks": {"nose_tip": 5, "chin": {"vertices": [0, 1, 4], "weights": [0.2, 0.3, 0.5]}, "brow": 15},
    "exclude": [[10, 11], 3],
    "rigid": [[12, 13]],
}


def template_obj() -> bytes:
    """A 4x4 grid of quads with UVs: the template mesh the markup fuzzing uses."""
    lines = []
    for j in range(4):
        for i in range(4):
            lines.append(f"v {i * 0.1:g} {j * 0.1:g} 0")
            lines.append(f"vt {i / 3:g} {j / 3:g}")
    for j in range(3):
        for i in range(3):
            a = j * 4 + i + 1
            lines.append(f"f {a}/{a} {a + 1}/{a + 1} {a + 5}/{a + 5} {a + 4}/{a + 4}")
    return ("\n".join(lines) + "\n").encode()


MANIFEST = """\
[defaults]
lods = [500, 100]
texture_size = 256
keep_ground = true
fill_holes = 10.0

[subjects]
s01 = { note = "seed" }

[[scans]]
scan = "scans/a.ply"
subject = "s01"

[[scans]]
scan = "scans/b.obj"
out = "bee"
texture_size = 512
units = "mm"
up = "z"
landmarks = "clicks.json"
"""

# ---------------------------------------------------------------------------- mutations

#: Words that make headers and data lie: counts, indices, types, numbers and junk.
TOKENS = [
    "0", "1", "2", "3", "-1", "-2", "255", "256", "65536", "2147483647", "2147483648", "-2147483649",
    "4294967295", "4294967296", "1000000000000", "18446744073709551616", "99999999999999999999999",
    "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e308", "-1e308", "1e400", "1e-320", "0x10", "1.5", "-0",
    "3.", ".", "e", "abc", "\x00", "\xff", "€",
    "char", "uchar", "short", "ushort", "int", "uint", "float", "double", "int8", "uint8", "float64", "list",
    "vertex", "face", "element", "property", "x", "red", "s", "vertex_indices", "end_header", "ascii",
    "binary_little_endian", "binary_big_endian", "binary_compressed", "binary", "F", "I", "U", "rgb",
    "/", "//", "1/1/1", "-5/-5", "1//1", "0/0",
]  # fmt: skip

#: Whole lines worth inserting into a header or an OBJ/MTL.
LINES = [
    "element vertex 1000000000000", "element face 4294967295", "element vertex -1", "element vertex 4",
    "property float x", "property list uchar int vertex_indices", "property list int int vertex_indices",
    "property list uint uint vertex_indices", "property double q", "property list uchar float texcoord",
    "format binary_little_endian 1.0", "format ascii 1.0", "comment units km", "comment up x",
    "comment TextureFile /nonexistent/giant.png", "comment TextureFile ../../../../etc/passwd", "end_header",
    "POINTS 1000000000000", "WIDTH 4294967295", "HEIGHT 0", "SIZE 8 8 8", "TYPE I I I", "COUNT 0 0 0",
    "FIELDS x", "DATA ascii", "DATA binary", "DATA binary_compressed", "VIEWPOINT 0 0 0 1 0 0 0",
    "v nan nan nan", "v inf 0 0", "v 1e400 1 1", "vt nan 0", "f 1 2 1000000000000", "f -100 -1 -2", "f 0 1 2",
    "f 1/9999 2/2 3/3", "f 1 2", "mtllib /dev/zero", "mtllib ../../../../etc/passwd", "usemtl nothing",
    "map_Kd /dev/zero", "map_Kd giant.png", "map_Kd", "newmtl skin", "map_Kd -o 1e400 skin.png",
]  # fmt: skip

#: 4-byte words overwritten into binary data: indices and floats that break naive readers.
WORDS = [
    struct.pack("<i", v) for v in (-1, 0, 1, 3, 4, 2**31 - 1, -(2**31), 255, 1_000_000)
] + [struct.pack(">i", v) for v in (-1, 4, 2**31 - 1)] + [
    struct.pack("<f", v) for v in (math.nan, math.inf, -math.inf, 1e30, -1e30, 1e-40)
] + [b"\xff\xff\xff\xff", b"\x00\x00\x00\x80", b"\x7f\xc0\x00\x00"]  # fmt: skip


def _byte_op() -> st.SearchStrategy[tuple[Any, ...]]:
    pos = st.integers(0, 1 << 20)
    return st.one_of(
        st.tuples(st.just("flip"), pos, st.integers(1, 255)),
        st.tuples(st.just("set"), pos, st.sampled_from([0, 0xFF, 0x7F, 0x80, 0x0A, 0x0D, 0x20, 0x2D, 0x39])),
        st.tuples(st.just("truncate"), pos),
        st.tuples(st.just("delete"), pos, st.integers(1, 64)),
        st.tuples(st.just("insert"), pos, st.binary(min_size=1, max_size=16)),
        st.tuples(st.just("dup"), pos, st.integers(1, 256), st.integers(1, 4)),
        st.tuples(st.just("word"), pos, st.sampled_from(WORDS)),
    )


def _line_op() -> st.SearchStrategy[tuple[Any, ...]]:
    line = st.integers(0, 1 << 12)
    return st.one_of(
        st.tuples(st.just("drop"), line),
        st.tuples(st.just("dupline"), line, st.integers(1, 3)),
        st.tuples(st.just("swap"), line, line),
        st.tuples(st.just("word"), line, st.integers(0, 8), st.sampled_from(TOKENS)),
        st.tuples(st.just("newline"), line, st.sampled_from(LINES)),
    )


def apply_byte_op(data: bytes, op: tuple[Any, ...]) -> bytes:
    if not data:
        return data
    kind, pos = op[0], op[1] % (len(data) + 1)
    at = min(pos, len(data) - 1)
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ op[2]]) + data[at + 1 :]
    if kind == "set":
        return data[:at] + bytes([op[2]]) + data[at + 1 :]
    if kind == "truncate":
        return data[:pos]
    if kind == "delete":
        return data[:pos] + data[pos + op[2] :]
    if kind == "insert":
        return data[:pos] + op[2] + data[pos:]
    if kind == "dup":
        chunk = data[pos : pos + op[2]]
        return data[:pos] + chunk * (op[3] + 1) + data[pos + len(chunk) :]
    if kind == "word":
        return data[:pos] + op[2] + data[pos + 4 :]
    raise AssertionError(kind)


def apply_line_op(data: bytes, op: tuple[Any, ...], limit: int | None = None) -> bytes:
    """A line operation; ``limit`` keeps it within the first lines (a header)."""
    lines = data.split(b"\n")
    n = min(len(lines), limit) if limit else len(lines)
    i = op[1] % n
    kind = op[0]
    if kind == "drop":
        del lines[i]
    elif kind == "dupline":
        lines[i:i] = [lines[i]] * op[2]
    elif kind == "swap":
        j = op[2] % n
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "word":
        words = lines[i].split(b" ")
        words[op[2] % len(words)] = op[3].encode("utf-8")
        lines[i] = b" ".join(words)
    elif kind == "newline":
        lines.insert(i, op[2].encode())
    return b"\n".join(lines)


def header_lines(data: bytes, end_marker: bytes) -> int:
    """Number of lines up to and including the line that starts with ``end_marker`` (all lines if none)."""
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(end_marker):
            return i + 1
    return len(lines)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes, header_end: bytes | None = None) -> bytes:
    """``seed`` with one to four byte, line or header-line mutations."""
    ops = draw(
        st.lists(
            st.one_of(
                _byte_op().map(lambda op: ("byte", op)),
                _line_op().map(lambda op: ("line", op)),
                _line_op().map(lambda op: ("header", op)),
            ),
            min_size=1,
            max_size=4,
        )
    )
    data = seed
    for where, op in ops:
        if where == "byte":
            data = apply_byte_op(data, op)
        elif where == "line" or header_end is None:
            data = apply_line_op(data, op)
        else:
            data = apply_line_op(data, op, limit=header_lines(data, header_end))
    return data


#: Counts a header may claim: around the truth, zero, negative, past 32 bits, absurd.
COUNTS = [0, 1, 3, 5, 8, 100, 65535, 2**31 - 1, 2**32 + 3, 10**12, 10**19, -1, -(10**12)]


@st.composite
def lying_ply(draw: st.DrawFn, seed: bytes) -> bytes:
    """A PLY whose element counts (and maybe property types) lie about its data."""
    data = seed
    for _ in range(draw(st.integers(1, 2))):
        which = draw(st.sampled_from([b"vertex", b"face"]))
        count = draw(st.sampled_from(COUNTS) | st.integers(0, 12))
        data = re.sub(rb"element " + which + rb" -?\d+", b"element " + which + b" " + str(count).encode(), data)
    if draw(st.booleans()):
        types = [b"char", b"uchar", b"short", b"int", b"uint", b"float", b"double", b"list", b"float128", b""]
        props = [m.start() for m in re.finditer(rb"property ", data[: data.find(b"end_header")])]
        start = props[draw(st.integers(0, len(props) - 1))] + len(b"property ")
        end = data.index(b" ", start)
        data = data[:start] + draw(st.sampled_from(types)) + data[end:]
    return data


@st.composite
def lying_pcd(draw: st.DrawFn, seed: bytes) -> bytes:
    """A PCD whose POINTS / WIDTH / HEIGHT / SIZE / COUNT lines lie about its data."""
    data = seed
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from([b"POINTS", b"WIDTH", b"HEIGHT", b"SIZE", b"COUNT", b"TYPE"]))
        if key in (b"POINTS", b"WIDTH", b"HEIGHT"):
            value = str(draw(st.sampled_from(COUNTS) | st.integers(0, 40))).encode()
        else:
            value = b" ".join(draw(st.lists(st.sampled_from([b"0", b"1", b"4", b"8", b"F", b"U", b"I", b"x"]))))
        data = re.sub(rb"(?m)^" + key + rb" [^\n]*", key + b" " + value, data, count=1)
    if b"binary_compressed" in data and draw(st.booleans()):
        at = data.index(b"DATA binary_compressed\n") + len(b"DATA binary_compressed\n")
        sizes = st.sampled_from([0, 1, 100, 2**31, 2**32 - 1]) | st.integers(0, 2000)
        data = data[:at] + struct.pack("<II", draw(sizes), draw(sizes)) + data[at + 8 :]
    return data


@st.composite
def lying_glb(draw: st.DrawFn, seed: bytes) -> bytes:
    """A GLB whose JSON accessors and buffer views lie (counts, offsets, lengths, types) or whose chunk headers lie."""
    length = struct.unpack("<I", seed[12:16])[0]
    doc = json.loads(seed[20 : 20 + length])
    for _ in range(draw(st.integers(1, 3))):
        table = draw(st.sampled_from(["accessors", "bufferViews", "buffers", "images", "meshes", "nodes"]))
        items = doc.get(table) or [{}]
        item = items[draw(st.integers(0, len(items) - 1))]
        key = draw(
            st.sampled_from(
                ["count", "byteOffset", "byteLength", "byteStride", "componentType", "type", "bufferView",
                 "buffer", "mimeType", "uri", "mesh", "indices", "matrix", "scale", "children", "min", "max"]
            )
        )  # fmt: skip
        item[key] = draw(json_junk())
    body = json.dumps(doc).encode()
    body += b" " * (-len(body) % 4)
    chunks = struct.pack("<I4s", len(body), b"JSON") + body + seed[20 + length :]
    out = struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks
    if draw(st.booleans()):
        field = draw(st.sampled_from([8, 12, 20 + len(body)]))
        value = draw(st.sampled_from([c for c in COUNTS if 0 <= c < 2**32]))
        out = out[:field] + struct.pack("<I", value) + out[field + 4 :]
    return out


def json_junk() -> st.SearchStrategy[Any]:
    """Values of every JSON type, with the numbers that break readers and some nesting."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from([0, 1, -1, 2, 3, 2**31 - 1, 2**53 + 1, 10**12, 10**30, 10**400, -(10**400)]),
        st.integers(-5, 50),
        st.sampled_from([0.5, -0.0, 1e308, -1e308, math.nan, math.inf, -math.inf, 1e-320]),
        st.text(max_size=8),
        st.sampled_from(["VEC3", "SCALAR", "MAT4", "../../x", "data:,", "data:application/octet-stream;base64,@@"]),
    )
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=8,
    )


def huge_json(kind: str) -> str:
    """JSON that is large or deep by construction (kept to a few hundred KiB)."""
    if kind == "deep_list":
        return "[" * 100_000 + "]" * 100_000
    if kind == "deep_object":
        return '{"a":' * 50_000 + "1" + "}" * 50_000
    if kind == "long_list":
        return json.dumps({"nose_tip": list(range(100_000))})
    if kind == "many_keys":
        return json.dumps({f"k{i}": [0.0, 0.0, 0.0] for i in range(20_000)})
    raise AssertionError(kind)

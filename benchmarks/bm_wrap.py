"""Template wrap: lifecast against trimesh.registration.nricp_amberg on the same inputs, in one run.

Input: ICT-FaceKit's generic face (28.9k vertices) and a scan made from identity000's face and head
(~118k triangles of another topology, four 10 mm holes, no noise, no pose change, in cm), with the 68
Multi-PIE landmarks given exactly. Scored vertex by vertex against identity000 over ICT's face area (mm).

    .venv/bin/python benchmarks/bm_wrap.py [--device cuda]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from lifecast.wrap.ict import FACE_AREA, FITTED, MULTI_PIE_68, ict_template
from lifecast.wrap.polygon_obj import read_polygon_obj
from lifecast.wrap.synthetic import make_scan
from lifecast.wrap.wrap import wrap_scan

SCANS = Path(os.environ.get("LIFECAST_SHARED_SCANS", Path(__file__).resolve().parents[2] / "shared" / "scans"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    folder = SCANS / "ict_facekit" / "FaceXModel"
    template = ict_template(folder / "generic_neutral_mesh.obj")
    identity = read_polygon_obj(folder / "identity000.obj")
    shown = template.faces[(template.faces <= FITTED[1]).all(1)]
    syn = make_scan(identity.vertices, shown, target_faces=118_000, holes=4, hole_radius=1.0, scale=1.0, seed=1)
    scan = syn.mesh.with_(vertices=syn.transform.inverse().apply(syn.mesh.vertices).astype(np.float32))
    truth = identity.vertices
    idx = np.asarray(MULTI_PIE_68)
    marks = {f"multipie_{k:02d}": truth[i] for k, i in enumerate(idx)}

    def face_error(v: np.ndarray) -> tuple[float, float]:
        e = 10.0 * np.linalg.norm(np.asarray(v, np.float64)[: FACE_AREA[1] + 1] - truth[: FACE_AREA[1] + 1], axis=1)
        return float(e.mean()), float(np.percentile(e, 95))

    wrap_scan(scan, template, scan_landmarks=marks, device=args.device)  # warm-up (torch, open3d)
    t0 = time.perf_counter()
    ours = wrap_scan(scan, template, scan_landmarks=marks, device=args.device)
    t_ours = time.perf_counter() - t0

    import trimesh
    from trimesh.registration import nricp_amberg

    m_ours, p_ours = face_error(ours.vertices)
    print(
        f"lifecast wrap_scan ({args.device}): {t_ours:.2f} s, face mean {m_ours:.3f} mm, p95 {p_ours:.3f} mm",
        flush=True,
    )

    source = trimesh.Trimesh(template.vertices, template.faces, process=False)
    target = trimesh.Trimesh(scan.vertices, scan.faces, process=False)
    t0 = time.perf_counter()
    theirs = nricp_amberg(source, target, source_landmarks=idx, target_positions=truth[idx])
    t_theirs = time.perf_counter() - t0

    m_ours, p_ours = face_error(ours.vertices)
    m_theirs, p_theirs = face_error(theirs)
    print(f"scan {len(scan.faces):,} triangles, template {len(template.vertices):,} vertices, device {args.device}")
    print("| wrap | seconds | face mean (mm) | face p95 (mm) |")
    print("|---|---|---|---|")
    print(f"| trimesh nricp_amberg | {t_theirs:.2f} | {m_theirs:.3f} | {p_theirs:.3f} |")
    print(f"| lifecast wrap_scan ({args.device}) | {t_ours:.2f} | {m_ours:.3f} | {p_ours:.3f} |")
    print(f"speed-up x{t_theirs / t_ours:.1f}")


if __name__ == "__main__":
    main()

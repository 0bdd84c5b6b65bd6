#!/usr/bin/env python3
"""Compare csfleak's NIfTI output with dcm2niix's, by world position (used by tests/dcm2niix.rs).

    compare_nifti.py OURS_DIR THEIRS_DIR [CASE]

For every csfleak volume in OURS_DIR (`*.nii` / `*.nii.gz` with a `.json` sidecar), the
dcm2niix outputs in THEIRS_DIR with the same SeriesNumber and the same voxel count are
candidates. The two grids are compared through voxel centres in world (RAS) space, not raw
matrices (dcm2niix flips rows and may reverse slices):

  M = inv(A_theirs) @ A_ours maps our voxel index to theirs; it must be a signed permutation
  plus an integer shift. The geometry error is the largest distance between A_ours @ c and
  A_theirs @ (M c rounded) over the 8 corners; the value error is the largest difference
  between our voxel and theirs at the same world position (nibabel's scaled values).

Also checks our own header with nibabel: sform_code = qform_code = 1 and qform == sform.
Prints one JSON object per csfleak volume; exit status 0 even on mismatch (the caller judges).
"""

import glob
import json
import os
import sys

import nibabel as nib
import numpy as np

GEOMETRY_TOL_MM = 1e-3


def load(path):
    img = nib.load(path)
    data = img.get_fdata(dtype=np.float64)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    return img, data


def sidecar(path):
    base = path[:-7] if path.endswith(".nii.gz") else path[:-4]
    try:
        with open(base + ".json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def corners(shape):
    return np.array(
        [[a * (shape[0] - 1), b * (shape[1] - 1), c * (shape[2] - 1)]
         for a in (0, 1) for b in (0, 1) for c in (0, 1)], dtype=float).T


def compare(ours_path, theirs_path):
    oi, od = load(ours_path)
    ti, td = load(theirs_path)
    res = {"theirs": os.path.basename(theirs_path)}
    if od.ndim != 3 or td.ndim != 3:
        res.update(ok=False, note="not 3D: %s vs %s" % (od.shape, td.shape))
        return res
    a1, a2 = oi.affine, ti.affine
    m = np.linalg.inv(a2) @ a1
    r = np.round(m[:3, :3])
    t = np.round(m[:3, 3])
    perm_ok = (np.abs(r).sum(axis=0) == 1).all() and (np.abs(r).sum(axis=1) == 1).all()
    if not perm_ok:
        res.update(ok=False, note="grids are not aligned (M = %s)" % np.round(m, 3).tolist())
        return res
    c1 = corners(od.shape)
    p1 = (a1 @ np.vstack([c1, np.ones(c1.shape[1])]))[:3]
    c2 = r @ c1 + t[:, None]
    p2 = (a2 @ np.vstack([c2, np.ones(c2.shape[1])]))[:3]
    res["max_mm"] = float(np.abs(p1 - p2).max())
    idx1 = np.indices(od.shape).reshape(3, -1)
    idx2 = (r @ idx1 + t[:, None]).astype(np.int64)
    inside = all((idx2[a] >= 0).all() and (idx2[a] < td.shape[a]).all() for a in range(3))
    if not inside or od.size != td.size:
        res.update(ok=False, note="grid extents differ: %s vs %s" % (od.shape, td.shape))
        return res
    v1 = od.reshape(-1)
    v2 = td[idx2[0], idx2[1], idx2[2]]
    res["max_value_diff"] = float(np.abs(v1 - v2).max())
    scale = max(1.0, float(np.abs(v1).max()))
    values_ok = res["max_value_diff"] <= 1e-4 * scale
    res["ok"] = bool(res["max_mm"] <= GEOMETRY_TOL_MM and values_ok)
    return res


def own_header(ours_path):
    img = nib.load(ours_path)
    h = img.header
    s, scode = img.get_sform(coded=True)
    q, qcode = img.get_qform(coded=True)
    out = {"sform_code": int(scode), "qform_code": int(qcode)}
    if s is not None and q is not None:
        c = corners(img.shape[:3])
        ps = (s @ np.vstack([c, np.ones(c.shape[1])]))[:3]
        pq = (q @ np.vstack([c, np.ones(c.shape[1])]))[:3]
        out["qform_vs_sform_mm"] = float(np.abs(ps - pq).max())
    out["units"] = list(h.get_xyzt_units())
    return out


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    ours_dir, theirs_dir = sys.argv[1], sys.argv[2]
    case = sys.argv[3] if len(sys.argv) == 4 else os.path.basename(ours_dir.rstrip("/"))
    ours = sorted(glob.glob(os.path.join(ours_dir, "*.nii")) +
                  glob.glob(os.path.join(ours_dir, "*.nii.gz")))
    theirs = sorted(glob.glob(os.path.join(theirs_dir, "*.nii")))
    theirs_meta = [(p, sidecar(p), nib.load(p)) for p in theirs]
    for path in ours:
        meta = sidecar(path)
        img = nib.load(path)
        row = {"case": case, "ours": os.path.basename(path), "dims": list(img.shape),
               "series_number": meta.get("SeriesNumber"),
               "flags": sorted({f.get("code") for f in
                                meta.get("csfleak", {}).get("quality_flags", [])})}
        if img.ndim != 3:
            row.update(ok=None, note="planar/4D: not compared")
            print(json.dumps(row))
            continue
        row["own_header"] = own_header(path)
        n = int(np.prod(img.shape))
        cands = [p for p, m, ti in theirs_meta
                 if m.get("SeriesNumber") == meta.get("SeriesNumber")
                 and int(np.prod(ti.shape)) == n]
        if not cands:
            row.update(ok=False, note="no dcm2niix output with this series number and size")
            print(json.dumps(row))
            continue
        best = None
        for c in cands:
            r = compare(path, c)
            if best is None or (r.get("ok") and not best.get("ok")) or (
                    r.get("ok") == best.get("ok")
                    and r.get("max_mm", 1e9) < best.get("max_mm", 1e9)):
                best = r
        row.update(best)
        print(json.dumps(row))


if __name__ == "__main__":
    main()

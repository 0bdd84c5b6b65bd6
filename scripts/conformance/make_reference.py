#!/usr/bin/env python3
"""pydicom's reference decoding of every file of the conformance corpus.

Usage: make_reference.py FILES_DIR REF_DIR

For each file under FILES_DIR (recursively) this writes, under REF_DIR:
  * <sha1 of the path>.bin: the reference voxel values, little-endian, in the smallest dtype that holds them
    exactly (u8, i16, u16, i32) else float32, in the order [frame][row][col][sample];
  * manifest.json: one record per file (path relative to FILES_DIR, status, shape, dtype,
    photometric interpretation, transfer syntax, lossy or not, which modality LUT was applied,
    or the reason pydicom itself cannot read or decode the file).

The reference is what a pydicom user gets: ``ds.pixel_array`` (pydicom 3 defaults, so
YCbCr photometric interpretations are converted to RGB and palette colour images stay indices)
followed by ``pydicom.pixels.apply_modality_lut`` for single-sample images. pydicom's
``apply_modality_lut`` does not look inside the functional groups of enhanced objects, so when a
file has no top-level Modality LUT but has a Pixel Value Transformation Sequence in the Per-frame
(else Shared) Functional Groups, this script applies that slope/intercept per frame itself, as
dicom-rs and csfleak do (recorded as ``modality_lut: "functional_groups"``). A file without a Transfer Syntax UID
(no or incomplete File Meta group) is decoded with the encoding pydicom detected while reading
it, as a pydicom user would set it (recorded as ``transfer_syntax_inferred``).

Idempotent: a file whose size and mtime are unchanged since the last run, with this same script,
is not decoded again.
"""

import hashlib
import json
import os
import sys
import warnings

import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut

# Transfer syntaxes whose decoding is not bit-exact across decoders (lossy codecs).
LOSSY_TS = {
    "1.2.840.10008.1.2.4.50": "JPEG Baseline",
    "1.2.840.10008.1.2.4.51": "JPEG Extended",
    "1.2.840.10008.1.2.4.91": "JPEG 2000",
    "1.2.840.10008.1.2.4.203": "HTJ2K",
}
PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def script_version():
    with open(__file__, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def smallest_dtype(arr):
    """The smallest little-endian dtype that holds every value of `arr` exactly."""
    if arr.size == 0:
        return np.dtype("<f4")
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
        return np.dtype("<f4")
    lo, hi = float(arr.min()), float(arr.max())
    for name, (a, b) in (("u1", (0, 255)), ("<i2", (-32768, 32767)), ("<u2", (0, 65535)),
                         ("<i4", (-(2**31), 2**31 - 1))):
        if a <= lo and hi <= b:
            return np.dtype(name)
    return np.dtype("<f4")


def functional_group_rescale(ds, frames):
    """Per-frame (slope, intercept) from the functional groups, or None."""

    def from_item(item):
        seq = item.get("PixelValueTransformationSequence")
        if not seq:
            return None
        p = seq[0]
        slope = p.get("RescaleSlope")
        intercept = p.get("RescaleIntercept")
        if slope is None and intercept is None:
            return None
        return (float(slope) if slope is not None else 1.0,
                float(intercept) if intercept is not None else 0.0)

    per = ds.get("PerFrameFunctionalGroupsSequence")
    shared = ds.get("SharedFunctionalGroupsSequence")
    shared_r = from_item(shared[0]) if shared else None
    out = []
    any_found = shared_r is not None
    for i in range(frames):
        r = None
        if per is not None and i < len(per):
            r = from_item(per[i])
        if r is not None:
            any_found = True
        out.append(r or shared_r or (1.0, 0.0))
    return out if any_found else None


def reference(path):
    """(record, array or None) for one file."""
    rec = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True)
    except Exception as e:  # noqa: BLE001 - any failure is data here
        rec["status"] = "pydicom_unreadable"
        rec["reason"] = f"{type(e).__name__}: {e}"[:300]
        rec["pixel_bearing"] = False
        return rec, None
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    rec["transfer_syntax"] = ts
    rec["has_file_meta"] = bool(meta is not None and len(meta) > 0)
    with open(path, "rb") as f:
        raw = f.read()
    # the Pixel Data tag (7FE0,0010) in little or big endian
    rec["pixel_bearing"] = (any(t in ds for t in PIXEL_TAGS)
                            or b"\xe0\x7f\x10\x00" in raw or b"\x7f\xe0\x00\x10" in raw)
    if not any(t in ds for t in PIXEL_TAGS):
        if rec["pixel_bearing"]:
            rec["status"] = "pydicom_error"
            rec["reason"] = "pydicom read no Pixel Data element (truncated or malformed file)"
            return rec, None
        rec["status"] = "no_pixels"
        # a file pydicom only "reads" with force=True and finds nothing in is not DICOM
        if len(ds) == 0 or (not rec["has_file_meta"] and "SOPClassUID" not in ds):
            rec["status"] = "not_dicom"
        return rec, None
    rec["photometric"] = str(ds.get("PhotometricInterpretation", ""))
    rec["samples"] = int(ds.get("SamplesPerPixel", 1) or 1)
    rec["bits_allocated"] = int(ds.get("BitsAllocated", 0) or 0)
    rec["lossy"] = ts in LOSSY_TS or str(ds.get("LossyImageCompression", "")) == "01"
    if not ts and getattr(ds, "original_encoding", (None, None))[0] is not None:
        # no Transfer Syntax UID (no or incomplete File Meta group): a pydicom user sets the
        # one pydicom detected while reading, as csfleak does; recorded as inferred
        implicit, little = ds.original_encoding
        inferred = (pydicom.uid.ImplicitVRLittleEndian if implicit
                    else pydicom.uid.ExplicitVRLittleEndian if little
                    else pydicom.uid.ExplicitVRBigEndian)
        ds.file_meta = getattr(ds, "file_meta", None) or pydicom.dataset.FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = inferred
        rec["transfer_syntax_inferred"] = str(inferred)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = ds.pixel_array
    except Exception as e:  # noqa: BLE001
        rec["status"] = "pydicom_error"
        rec["reason"] = f"{type(e).__name__}: {e}"[:300]
        return rec, None
    rows = int(ds.Rows)
    cols = int(ds.Columns)
    samples = rec["samples"]
    frames = arr.size // (rows * cols * samples) if rows * cols * samples else 0
    arr4 = arr.reshape(frames, rows, cols, samples)
    mlut = "none"
    if samples == 1:
        if "ModalityLUTSequence" in ds:
            mlut = "lut_sequence"
        elif "RescaleSlope" in ds or "RescaleIntercept" in ds:
            mlut = "rescale"
        if mlut != "none":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = apply_modality_lut(arr, ds)
            arr4 = np.asarray(out).reshape(frames, rows, cols, samples)
        else:
            fg = functional_group_rescale(ds, frames)
            if fg is not None:
                mlut = "functional_groups"
                arr4 = arr4.astype(np.float64)
                for i, (slope, intercept) in enumerate(fg):
                    arr4[i] = arr4[i] * slope + intercept
    rec["modality_lut"] = mlut
    rec["status"] = "ok"
    rec["shape"] = [int(x) for x in arr4.shape]
    as_f = arr4.astype(np.float64)
    dtype = smallest_dtype(as_f)
    rec["dtype"] = dtype.name if dtype.itemsize == 1 else dtype.str
    rec["min"] = float(as_f.min()) if as_f.size else 0.0
    rec["max"] = float(as_f.max()) if as_f.size else 0.0
    return rec, np.ascontiguousarray(arr4.astype(dtype))


def main():
    files_dir, ref_dir = sys.argv[1], sys.argv[2]
    os.makedirs(ref_dir, exist_ok=True)
    manifest_path = os.path.join(ref_dir, "manifest.json")
    version = script_version()
    old = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            prev = json.load(f)
        if prev.get("script_version") == version:
            old = {r["path"]: r for r in prev["files"]}

    paths = []
    for dirpath, _dirs, names in os.walk(files_dir):
        for n in names:
            paths.append(os.path.relpath(os.path.join(dirpath, n), files_dir))
    paths.sort()

    records = []
    redone = 0
    for rel in paths:
        full = os.path.join(files_dir, rel)
        st = os.stat(full)
        ref_name = hashlib.sha1(rel.encode()).hexdigest()[:16] + ".bin"
        prev = old.get(rel)
        if (prev is not None and prev.get("size") == st.st_size
                and prev.get("mtime_ns") == st.st_mtime_ns
                and (prev.get("status") != "ok"
                     or (prev.get("ref") and os.path.exists(os.path.join(ref_dir, prev["ref"]))))):
            records.append(prev)
            continue
        redone += 1
        rec, arr = reference(full)
        rec = {"path": rel, "size": st.st_size, "mtime_ns": st.st_mtime_ns, **rec}
        if arr is not None:
            rec["ref"] = ref_name
            tmp = os.path.join(ref_dir, ref_name + ".tmp")
            arr.tofile(tmp)
            os.replace(tmp, os.path.join(ref_dir, ref_name))
        records.append(rec)

    keep = {r["ref"] for r in records if r.get("ref")}
    for n in os.listdir(ref_dir):
        if n.endswith(".bin") and n not in keep:
            os.remove(os.path.join(ref_dir, n))
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"script_version": version, "pydicom": pydicom.__version__, "files": records},
                  f, indent=1)
    os.replace(tmp, manifest_path)

    counts = {}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    print(f"make_reference: {len(records)} files ({redone} decoded now): {summary}")


if __name__ == "__main__":
    main()
